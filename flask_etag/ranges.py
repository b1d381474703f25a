"""Range requests beside conditional ones: If-Range (RFC 9110 §13.1.5) and the order of
§13.2.2, which judges preconditions before ``Range`` (§14.2).

A route decided before its view drops a ``Range`` whose If-Range fails before the view runs.
A body-hash route learns its tag from the whole representation only, so where a view answered
a part (206) or an unsatisfiable range (416) that the preconditions or If-Range must overrule,
the whole representation is rendered once more, without ``Range``, by the same view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from flask import Request, Response
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .body_tags import body_validators, judge_by_body, tag_body
from .conditions import Validators, if_range_allows_partial, parse_http_date
from .exchange import Exchange, View, run_view
from .folding import dates_decide_no_read, folded_validators, scope_of
from .generators import HashGenerator, ViewCaller
from .responses import body_bytes, field, validators_of

#: A view's answer to an unsatisfiable ``Range``: raised (``send_file``) or returned.
Unsatisfiable = Response | RequestedRangeNotSatisfiable


def ignore_range_unless_if_range_matches(served: Request, current: Validators) -> None:
    """§13.1.5: when If-Range does not match, the Range header is ignored."""
    environ = served.environ
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range is None or "HTTP_RANGE" not in environ:
        return
    if not if_range_allows_partial(if_range, current):
        environ.pop("HTTP_RANGE")
        _forget_parsed_range(served)
    else:  # decided: the view serves a plain Range request (werkzeug would judge it again)
        del environ["HTTP_IF_RANGE"]


def unit_not_understood(served: Request, unsatisfiable: Unsatisfiable) -> bool:
    """§14.2: an origin server MUST ignore a ``Range`` in a unit it does not understand.

    werkzeug's ``send_file`` answers ``Range: items=0-5`` 416 in bytes; a 416 in bytes to a
    request in another unit shows the view did not understand that unit, so the whole
    representation is due.  A view that answers its own unit's 416 in that unit keeps it.
    """
    if isinstance(unsatisfiable, RequestedRangeNotSatisfiable):
        answered = unsatisfiable.units
    else:
        answered = (field(unsatisfiable.headers, "content-range") or "").partition(" ")[0]
    asked = served.environ.get("HTTP_RANGE", "").partition("=")[0]
    return answered.lower() == "bytes" and asked.strip(" \t").lower() != "bytes"


def whole_for_unknown_unit(
    exchange: Exchange, view: View, unsatisfiable: Unsatisfiable
) -> Response | None:
    """The whole representation, rendered without ``Range``, where the view's 416 came from a
    unit it does not understand (:func:`unit_not_understood`); else None."""
    if not unit_not_understood(exchange.request, unsatisfiable):
        return None
    release(unsatisfiable)
    return render_whole(exchange, view)


def release(unsatisfiable: Unsatisfiable) -> None:
    """Close a returned 416 that will not be sent (a raised one holds nothing)."""
    if isinstance(unsatisfiable, Response):
        unsatisfiable.close()


def ignore_range(served: Request) -> None:
    """§13.2.2 step 5: ``Range`` applies only once every precondition has passed.  When a
    304 waits only on the view's own date (a 412 if that date fails step 2), neither a 206
    nor a 416 can be the answer, so the view must not see the range."""
    if served.environ.pop("HTTP_RANGE", None) is not None:
        _forget_parsed_range(served)


def hold_byte_range(served: Request) -> str | None:
    """§13.2.2 step 5: take a ``bytes`` ``Range`` out of the environ until the preconditions,
    which only the view's response can decide, have passed; returns it (None: nothing held).

    Another unit stays for the view: only ``bytes`` can be served from the whole
    (:func:`part_of_whole`), as ``send_file`` serves it.
    """
    environ = served.environ
    range_field = environ.get("HTTP_RANGE")
    if not isinstance(range_field, str) or not _in_bytes(range_field):
        return None
    del environ["HTTP_RANGE"]
    _forget_parsed_range(served)
    return range_field


def put_back_range(served: Request, range_field: str) -> None:
    """The ``Range`` :func:`hold_byte_range` took, in the environ again."""
    served.environ["HTTP_RANGE"] = range_field
    _forget_parsed_range(served)


def part_of_whole(served: Request, whole: Response) -> Response:
    """§14.2: the request's ``Range`` served from the whole representation, once every
    precondition passed, where the view serves byte ranges (its 200 says
    ``Accept-Ranges: bytes``, as ``send_file``'s does): a view that serves none keeps its 200.

    werkzeug's ``make_conditional`` cuts the part; the other ``If-*`` fields were taken, so
    it judges nothing else.  ``If-Range`` is judged here first (§13.1.5): werkzeug drops the
    weakness of the whole's tag, so ``"v1"`` would pass ``W/"v1"``.  It cuts one range only,
    and raises 416 for several, which says none could be served (§15.5.17): several get the
    whole, as a server may ignore a ``Range`` (§14.2).

    :raises RequestedRangeNotSatisfiable: for a range the whole cannot satisfy (416).
    """
    accepted = field(whole.headers, "accept-ranges")
    length = whole.content_length
    if whole.status_code != 200 or accepted is None or not _in_bytes(accepted) or not length:
        return whole
    asked = served.range
    if asked is not None and len(asked.ranges) > 1:
        return whole
    if_range = served.environ.get("HTTP_IF_RANGE")
    if if_range is not None and not if_range_allows_partial(if_range, validators_of(whole)):
        return whole
    whole.make_conditional(served.environ, accept_ranges=accepted, complete_length=length)
    return whole  # cut in place: make_conditional returns it, typed as werkzeug's class


def _in_bytes(value: str) -> bool:
    """Whether a ``Range`` (``bytes=0-9``) or ``Accept-Ranges`` (``bytes``) names bytes; a
    range unit is case-insensitive (§14.1)."""
    return value.partition("=")[0].strip(" \t").lower() == "bytes"


def _forget_parsed_range(served: Request) -> None:
    """``Request.range`` is a cached property; deleting it clears the parse (werkzeug's
    documented way), so the view reads the environ as it is now."""
    with suppress(KeyError, AttributeError):  # never read yet
        del served.range


@contextmanager
def _without_range(served: Request) -> Iterator[None]:
    """The request without ``Range`` while the whole representation is rendered."""
    environ = served.environ
    range_field = environ.pop("HTTP_RANGE", None)
    _forget_parsed_range(served)
    try:
        yield
    finally:
        if range_field is not None:
            environ["HTTP_RANGE"] = range_field
        _forget_parsed_range(served)


def render_whole(exchange: Exchange, view: View, call: ViewCaller | None = None) -> Response:
    """The whole representation: the route's view once more, without ``Range``.

    :param call: how the route's generator runs its view (:func:`~flask_etag.exchange.run_view`).
    """
    with _without_range(exchange.request):
        return run_view(exchange, call, view, exchange.view_args)


def judged_by_whole_date(unsatisfiable: Unsatisfiable, judge: Callable[[], Response]) -> Response:
    """§13.2.2: the date conditions, judged by the whole representation's ``Last-Modified``,
    come before an unsatisfiable ``Range`` (§14.2): their 304 or 412, else the view's 416.

    :param judge: judges the whole representation; returns it (as a 304, or unchanged when
        the conditions pass) or raises the 412.
    """
    try:
        decided = judge()
    except Exception:
        release(unsatisfiable)
        raise
    if decided.status_code == 304:
        release(unsatisfiable)
        return decided
    return keep_unsatisfiable(unsatisfiable, decided)


def keep_unsatisfiable(unsatisfiable: Unsatisfiable, whole: Response | None) -> Response:
    """The view's 416 stands: release the whole representation rendered to judge it."""
    if whole is not None:
        whole.close()
    if isinstance(unsatisfiable, Response):
        return unsatisfiable
    raise unsatisfiable


def settle_partial(
    exchange: Exchange, generator: HashGenerator, view: View, partial: Response
) -> Response:
    """A body-hash view's own 206, made to follow §13.1.5 and §15.3.7.

    A part without an ``ETag`` is tagged as its whole, unless its body cannot be hashed (a
    file passed through, ``send_file`` of a ``BytesIO``): its whole could not be either,
    and its 200 has no ``ETag``, so the part needs none (§15.3.7) and stands as the view's
    one run made it (rendering the whole again would run the view and its
    ``after_this_request`` functions twice, to serve a 200 no better tagged).
    """
    if "ETag" not in partial.headers and body_bytes(partial) is not None:
        partial = _tagged_as_whole(exchange, generator, view, partial)
    if partial.status_code == 206 and _if_range_fails(exchange, generator, partial):
        partial.close()  # a send_file 206 holds an open file
        return render_whole(exchange, view)
    return partial


def _tagged_as_whole(
    exchange: Exchange, generator: HashGenerator, view: View, partial: Response
) -> Response:
    """§15.3.7: a 206 carries the whole representation's tag, not a hash of the part.

    A view that builds its own 206 without an ``ETag`` leaves only the part to hash, so the
    whole is rendered once more and its hash tags the part.  If the whole cannot be hashed
    (streamed, not a 200), the whole is served instead: a server may ignore Range (§14.2).
    """
    whole = render_whole(exchange, view)
    validators = None
    if whole.status_code == 200:
        validators = body_validators(whole, generator, exchange.settings)
    if validators is not None and "ETag" not in whole.headers and scope_of(exchange) is not None:
        # As tag_body tags the whole: a body hash folds the route's scope (folding.py).
        validators = folded_validators(exchange, validators, lookup=False)
    if validators is None or validators.etag_header is None:
        partial.close()
        return whole
    whole.close()
    partial.headers["ETag"] = validators.etag_header
    return partial


def _if_range_fails(exchange: Exchange, generator: HashGenerator, response: Response) -> bool:
    """True for a 206 that §13.1.5 forbids (werkzeug's If-Range check is weak and date-lax).
    A part that could not be hashed is judged by its own validators (its ``Last-Modified``)."""
    if_range = exchange.request.environ.get("HTTP_IF_RANGE")
    if if_range is None:
        return False
    if _a_date_for_every_scope(exchange, if_range):
        return True
    current = body_validators(response, generator, exchange.settings) or validators_of(response)
    return not if_range_allows_partial(if_range, current)


def judged_before_range(exchange: Exchange) -> bool:
    """Whether anything must be judged before an unsatisfiable Range is answered 416."""
    return exchange.preconditions is not None or "HTTP_IF_RANGE" in exchange.request.environ


def unsatisfiable_range_after_preconditions(
    exchange: Exchange, view: View, unsatisfiable: Response | RequestedRangeNotSatisfiable
) -> Response | None:
    """§13.2.2 judges preconditions and If-Range before Range (§14.2): a view's 416 waits.

    The whole representation is rendered without ``Range`` to learn whether the answer is
    304 or 412, and whether If-Range matches it (§13.1.5: if not, Range is ignored and the
    whole is sent).  Otherwise the 416 stands: None means the raised one.
    """
    generator = exchange.spec.generator
    assert isinstance(generator, HashGenerator)
    whole = render_whole(exchange, view)
    try:
        etag_header = tag_body(exchange, generator, whole, whole.status_code)
        decided = judge_by_body(exchange, whole, etag_header)
    except Exception:
        release(unsatisfiable)
        raise
    if decided.status_code == 304 or _if_range_fails_whole(exchange, decided):
        release(unsatisfiable)
        return decided
    decided.close()
    return unsatisfiable if isinstance(unsatisfiable, Response) else None


def _if_range_fails_whole(exchange: Exchange, whole: Response) -> bool:
    """§13.1.5: True when the request's If-Range does not match the whole representation."""
    if_range = exchange.request.environ.get("HTTP_IF_RANGE")
    if if_range is None:
        return False
    if _a_date_for_every_scope(exchange, if_range):
        return True
    return not if_range_allows_partial(if_range, validators_of(whole))


def _a_date_for_every_scope(exchange: Exchange, if_range: str) -> bool:
    """Whether ``if_range`` is a date on a scoped route or under ``ETAG_RELEASE``, where it
    never matches (§13.1.5).

    Every user's body there has the one date its view sets, and so has every release's, so
    that date is no strong validator (§8.8.2.2): a 206 by it could splice one user's bytes,
    or one release's, onto another's, as :func:`~flask_etag.view_dates.undated_read` keeps
    from a looked-up route.  The tag decides.
    """
    return dates_decide_no_read(exchange) and parse_http_date(if_range) is not None
