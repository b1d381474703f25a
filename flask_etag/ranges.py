"""Range requests beside conditional ones: If-Range (RFC 9110 §13.1.5) and the order of
§13.2.2, which judges preconditions before ``Range`` (§14.2).

A route decided before its view drops a ``Range`` whose If-Range fails before the view runs.
Where only the view's response can decide the preconditions (a body hash, a date the view
sets), ``Range`` is held back from the view, which runs once and sends the whole
representation; once that is judged, the range is served from it (:func:`part_of_whole`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from flask import Request, Response
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .body_tags import body_validators
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
        take_range(served)
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


def keep_unsatisfiable(unsatisfiable: Unsatisfiable) -> Response:
    """The view's 416 stands: returned as it was, or raised again."""
    if isinstance(unsatisfiable, Response):
        return unsatisfiable
    raise unsatisfiable


def take_range(served: Request) -> str | None:
    """Take ``Range`` out of the environ, so that the view sends the whole representation;
    returns it (None: the request had none).

    §13.2.2 step 5: ``Range`` applies only once every precondition has passed, and is
    ignored where If-Range does not match (§13.1.5).
    """
    range_field: str | None = served.environ.pop("HTTP_RANGE", None)
    if range_field is not None:
        _forget_parsed_range(served)
    return range_field


def hold_byte_range(served: Request) -> str | None:
    """§13.2.2 step 5: take a ``bytes`` ``Range`` out of the environ until the preconditions,
    which only the view's response can decide, have passed; returns it (None: nothing held).

    Another unit stays for the view: only ``bytes`` can be served from the whole
    (:func:`part_of_whole`), as ``send_file`` serves it.
    """
    range_field = served.environ.get("HTTP_RANGE")
    if not isinstance(range_field, str) or not _in_bytes(range_field):
        return None
    return take_range(served)


def part_of_whole(served: Request, whole: Response, range_field: str) -> Response:
    """§14.2: the ``Range`` taken from the request (:func:`take_range`), put back and served
    from the whole representation once every precondition passed, where the view serves byte
    ranges (its 200 says ``Accept-Ranges: bytes``, as ``send_file``'s does): a view that
    serves none keeps its 200.  So does a range in another unit, which must be ignored, and
    one that is not valid ``bytes`` syntax, which may be (§14.2).

    werkzeug's ``make_conditional`` cuts the part; the other ``If-*`` fields were taken, so
    it judges nothing else.  ``If-Range`` is judged here first (§13.1.5): werkzeug drops the
    weakness of the whole's tag, so ``"v1"`` would pass ``W/"v1"``.  It cuts one range only,
    and raises 416 for several, which says none could be served (§15.5.17): several get the
    whole, as a server may ignore a ``Range`` (§14.2).

    :raises RequestedRangeNotSatisfiable: for a range the whole cannot satisfy (416).
    """
    served.environ["HTTP_RANGE"] = range_field
    _forget_parsed_range(served)
    accepted = field(whole.headers, "accept-ranges")
    if whole.status_code != 200 or accepted is None or not _in_bytes(accepted):
        return whole
    asked = served.range  # parsed as make_conditional parses it
    length = whole.content_length
    if asked is None or asked.units != "bytes" or len(asked.ranges) > 1 or not length:
        return whole
    if_range = served.environ.get("HTTP_IF_RANGE")
    if if_range is not None and not if_range_allows_partial(if_range, validators_of(whole)):
        return whole
    whole.make_conditional(served.environ, accept_ranges=accepted, complete_length=length)
    return whole  # cut in place: make_conditional returns it, typed as werkzeug's class


def served_part(exchange: Exchange, whole: Response, range_field: str) -> Response:
    """A decorated route's :func:`part_of_whole`: its 416 is raised, as ``send_file`` raises
    it, so the app's error handlers render it; the whole, never sent, is closed first.

    If-Range is judged here by the whole's validators, strictly (§13.1.5), then taken out of
    the environ: werkzeug's check, which matches weak tags and later dates, never sees it.
    """
    if_range = exchange.request.environ.pop("HTTP_IF_RANGE", None)
    if if_range is not None and _if_range_fails(exchange, if_range, whole):
        return whole
    try:
        return part_of_whole(exchange.request, whole, range_field)
    except RequestedRangeNotSatisfiable:
        whole.close()  # a send_file whole holds an open file
        raise


def _if_range_fails(exchange: Exchange, if_range: str, whole: Response) -> bool:
    """§13.1.5: True when ``if_range`` does not match the whole representation: Range is
    ignored, and the whole is sent."""
    if _a_date_for_every_scope(exchange, if_range):
        return True
    return not if_range_allows_partial(if_range, validators_of(whole))


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
    range_field = take_range(served)
    try:
        yield
    finally:
        if range_field is not None:
            served.environ["HTTP_RANGE"] = range_field
        _forget_parsed_range(served)


def render_whole(exchange: Exchange, view: View, call: ViewCaller | None = None) -> Response:
    """The whole representation: the route's view once more, without ``Range``.

    It runs twice only where a request meets its view with ``Range``: a 416 to a unit the
    view does not understand, and on a body-hash route a part the view cut without a tag.
    A body-hash request with preconditions or If-Range never does (``Range`` is held back).

    :param call: how the route's generator runs its view (:func:`~flask_etag.exchange.run_view`).
    """
    with _without_range(exchange.request):
        return run_view(exchange, call, view, exchange.view_args)


def tagged_as_whole(
    exchange: Exchange, generator: HashGenerator, view: View, partial: Response
) -> Response:
    """§15.3.7: a body-hash view's own 206 carries the whole representation's tag, not a hash
    of the part.

    A part the view tagged keeps its tag.  One whose body cannot be hashed (a file passed
    through, ``send_file`` of a ``BytesIO``) needs none, since its 200 has none either, and
    stands as the view's one run made it.  Otherwise only the part is there to hash, so the
    whole is rendered once more and its hash tags the part.  If the whole cannot be hashed
    (streamed, not a 200), the whole is served instead: a server may ignore Range (§14.2).
    """
    if "ETag" in partial.headers or body_bytes(partial) is None:
        return partial
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


def _a_date_for_every_scope(exchange: Exchange, if_range: str) -> bool:
    """Whether ``if_range`` is a date on a scoped route or under ``ETAG_RELEASE``, where it
    never matches (§13.1.5).

    Every user's body there has the one date its view sets, and so has every release's, so
    that date is no strong validator (§8.8.2.2): a 206 by it could splice one user's bytes,
    or one release's, onto another's, as :func:`~flask_etag.view_dates.undated_read` keeps
    from a looked-up route.  The tag decides.
    """
    return dates_decide_no_read(exchange) and parse_http_date(if_range) is not None
