"""``ETAG_AUTO``: every untagged GET or HEAD 2xx of the app gets a body-hash tag, and the
request is judged by it, like Django's ConditionalGetMiddleware or Spring's
ShallowEtagHeaderFilter: no view runs less, but an unchanged body is not sent again.

It runs the same stages as a decorated body-hash route (:mod:`flask_etag.body_hash`), in an
``after_request`` hook that :class:`~flask_etag.ETag` registers only where auto mode is on, so
an app without it pays nothing per request.  Flask runs the hooks registered after it first:
a hook registered after ``ETag(app)`` that rewrites a body (Flask-Compress, a token injector)
has done so when the tag is taken.  A body already coded is tagged by its identity bytes.
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable

from . import ranges
from .body_tags import judge_by_body, tag_body
from .compression import identity_bytes
from .conditions import SAFE_METHODS, Preconditions
from .cors import expose_view_etag
from .exceptions import ETagPreconditionFailed
from .exchange import Exchange, read_preconditions
from .generators import HashGenerator
from .responses import (
    field,
    has_representation,
    is_success,
    quote_own_etag,
    withhold_running_date,
)
from .routes import route_spec_of
from .settings import current_settings
from .spec import RouteSpec
from .tags import is_one_entity_tag

#: What an automatically tagged route asks for: a hash by the app's algorithm, no policy.
AUTO_GENERATOR = HashGenerator()
AUTO_SPEC = RouteSpec.build(AUTO_GENERATOR, None, False, ())

#: Fields of the 200 that describe its representation, which a 412 made from it must not
#: keep: its metadata, where it lives (RFC 9110 §8.7), and its freshness.  With
#: ``Cache-Control`` or ``Expires`` a shared cache could store the 412 and serve it to every
#: later plain GET; without them none does, as a 412 is not heuristically cacheable (RFC 9111
#: §4.2.2).
_OF_THE_REPRESENTATION = (
    "Content-Encoding",
    "Content-Language",
    "Content-Range",
    "Content-Location",
    "Content-Disposition",
    "Last-Modified",
    "Cache-Control",
    "Expires",
)


#: Where :func:`_take_preconditions_before_view` leaves what it took for
#: :func:`tag_automatically`.
_TAKEN_KEY = "flask_etag.auto.preconditions"
#: Where :func:`_hold_range` keeps a ``Range`` the view must not meet before the
#: preconditions are judged.
_HELD_RANGE_KEY = "flask_etag.auto.range"


def install(app: Flask) -> None:
    """Register the auto-mode hooks on ``app``, where ``ETAG_AUTO`` is on."""
    if current_settings(app).auto:
        app.before_request(_take_preconditions_before_view)
        app.after_request(tag_automatically)


def _take_preconditions_before_view() -> None:
    """``before_request``: take an undecorated read's ``If-*`` fields before its view runs,
    so that only the extension judges them (RFC 9110 §13.2.2), as on a decorated route.

    ``send_file`` (Flask's static files too) would judge them by werkzeug's rules, which
    answer ``If-Match: *`` with 412 and ignore ``If-Unmodified-Since``, and so would a hook
    registered after ``ETag(app)`` (Flask-Compress's calls ``make_conditional``).  A view
    reads what was taken under :data:`~flask_etag.conditions.PRECONDITIONS_KEY`.
    """
    served = request._get_current_object()  # type: ignore[attr-defined]
    if served.method in SAFE_METHODS and not _decorated(served):
        served.environ[_TAKEN_KEY] = read_preconditions(served)
        if_range = served.environ.get("HTTP_IF_RANGE")
        if if_range is not None and not _is_strong_tag(if_range):
            ranges.take_range(served)  # the whole is sent (§14.2)
        if "HTTP_RANGE" in served.environ and served.environ[_TAKEN_KEY] is not None:
            _hold_range(served)


def _hold_range(served: Request) -> None:
    """§13.2.2: preconditions come before ``Range`` (step 5), and here only the view's
    response can decide them.  A view that met the range would answer an unsatisfiable one
    416 before they were judged (``send_file`` raises it), and a hook cannot run the view
    again: so the view sends the whole, and :func:`tag_automatically` serves the range from
    it once they pass."""
    held = ranges.hold_byte_range(served)
    if held is not None:
        served.environ[_HELD_RANGE_KEY] = held


def _is_strong_tag(if_range: str) -> bool:
    """§13.1.5: only an ``If-Range`` holding a strong tag is left to the view's
    ``make_conditional``, which compares it exactly.  werkzeug also matches a weak tag, and
    any date not earlier than the file's (not only the exact one), so with those a 206 could
    splice another version's bytes onto the client's: the whole is sent instead (a server
    may ignore ``Range``, §14.2)."""
    return is_one_entity_tag(if_range) and not if_range.lstrip(" \t").startswith("W/")


def _decorated(served: Request) -> bool:
    """Whether the request's view may be decorated, and so takes the fields itself: a
    function that carries the decorator (a ``MethodView`` lists it in its ``decorators``,
    never on a method), or a Flask-RESTX ``Resource`` with ``method_decorators``, which
    wraps its method per request, so the registered view cannot show what they hold."""
    view = current_app.view_functions.get(served.endpoint or "")
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    return route_spec_of(view) is not None or bool(getattr(view_class, "method_decorators", None))


def _tagged_here(response: Response) -> bool:
    """Whether auto mode tags ``response``: an untagged 2xx with a representation, not a 206
    (whose tag must be the whole representation's, §15.3.7).  The caller checked the method."""
    status = response.status_code
    return has_representation(status) and status != 206 and field(response.headers, "etag") is None


def tag_automatically(response: Response) -> Response:
    """``after_request``: tag an untagged GET/HEAD 2xx by its body, then judge the request;
    judge a 2xx that carries its own validators (``send_file``'s) by them."""
    served = request._get_current_object()  # type: ignore[attr-defined]
    if served.method not in SAFE_METHODS:
        return response
    if _HELD_RANGE_KEY in served.environ:  # a Range beside preconditions: rare
        return _range_after_preconditions(served, response)
    taken = _taken_preconditions(served.environ)
    if not _tagged_here(response):
        if _TAKEN_KEY in served.environ and is_success(response):  # an undecorated read's
            return _judged_by_own_validators(served, taken, response)
        return response
    preconditions = taken or read_preconditions(served)
    exchange = _exchange(served, preconditions)
    body = identity_bytes(response)
    etag_header = None
    if body is not None:  # not streamed, nor coded in a way this Python cannot read back
        try:
            etag_header = tag_body(
                exchange, AUTO_GENERATOR, response, response.status_code, body=body
            )
        except HTTPException as refused:  # the scope's abort(401), which a hook may not raise
            return _refused_in_place(response, refused)
    elif preconditions is None:  # else judge_by_body withholds it
        withhold_running_date(response.headers)
    return _judged(exchange, response, etag_header)


def _range_after_preconditions(served: Request, response: Response) -> Response:
    """§13.2.2: the whole the view sent is judged first; then, where every precondition
    passed, the held ``Range`` is served from it (a 206, or a 416 made of the response in
    place, since a hook may not raise)."""
    range_field = served.environ.pop(_HELD_RANGE_KEY)
    judged = tag_automatically(response)  # as the view saw it: without the Range
    try:
        return ranges.part_of_whole(served, judged, range_field)
    except RequestedRangeNotSatisfiable as unsatisfiable:
        return _refused_in_place(judged, unsatisfiable)


def _judged_by_own_validators(
    served: Request, taken: Preconditions | None, response: Response
) -> Response:
    """An undecorated read's 2xx that carries its own validators (``send_file``'s): its tag
    is listed for a cross-origin script, as an auto-tagged one is (:mod:`~flask_etag.cors`),
    since the request is judged by it (the 304, the 412 naming it), then judged."""
    settings = current_settings(current_app)
    quote_own_etag(response.headers)  # §8.8.3: sent and judged quoted
    expose_view_etag(response.headers, served.environ, settings)
    if taken is None:
        return response
    return _judged(_exchange(served, taken), response, field(response.headers, "etag"))


def _exchange(served: Request, preconditions: Preconditions | None) -> Exchange:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = current_settings(app)
    return Exchange(app, served, AUTO_SPEC, settings, {}, preconditions, served.method, True)


def _judged(exchange: Exchange, response: Response, etag_header: str | None) -> Response:
    """Stage 6 in the hook: the 304, or the 412 made of the response itself."""
    try:
        return judge_by_body(exchange, response, etag_header)
    except ETagPreconditionFailed as error:
        return _refused_in_place(response, error)


def _taken_preconditions(environ: dict[str, object]) -> Preconditions | None:
    """What :func:`_take_preconditions_before_view` took; None where it did not run (a
    decorated route, or a ``before_request`` hook answered first) or the request had none."""
    taken = environ.get(_TAKEN_KEY)
    return taken if isinstance(taken, Preconditions) else None


def _refused_in_place(response: Response, error: HTTPException) -> Response:
    """The 412 of an auto-tagged response, or the error an ``ETAG_SCOPE`` aborted with (a
    401 for a caller it cannot name), made of the response itself.

    An ``after_request`` hook may not raise (Flask would answer 500), and a new response
    would lose the fields the app's other hooks set (HSTS, CORS, a request id): so the
    status, body and representation fields change, and every other field stays.  A hook
    registered before :class:`~flask_etag.ETag` runs after this one and sees the error.
    Flask has no public way to reach the app's error handlers from a hook, so the body is
    werkzeug's for the error (a decorated route's scope is answered by the app's handler).
    """
    headers = response.headers
    for name in _OF_THE_REPRESENTATION:
        headers.remove(name)
    body = response.response
    if hasattr(body, "close"):  # a file send_file opened
        body.close()
    # abort(a response): its status, body and fields, in place too (as the app's class)
    own = None if error.response is None else current_app.make_response(error.response)
    response.set_data(error.get_body() if own is None else own.get_data())
    response.status_code = own.status_code if own is not None else error.code or 412
    # An empty environ: the problem's own fields only.  tag_body listed ETag for a
    # cross-origin request already, beside what the app's CORS hook listed (kept).
    fields = Headers(error.get_headers({}) if own is None else own.headers)
    for name in {name.lower(): name for name, _ in fields}.values():
        headers.setlist(name, fields.getlist(name))  # each line of a repeated field
    return response
