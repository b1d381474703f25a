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

from flask import Flask, Response, current_app, request

from .body_tags import judge_by_body, tag_body
from .compression import identity_bytes
from .conditions import SAFE_METHODS
from .exceptions import ETagPreconditionFailed
from .exchange import Exchange, read_preconditions
from .generators import HashGenerator
from .responses import field, has_representation
from .settings import current_settings
from .spec import RouteSpec

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


def install(app: Flask) -> None:
    """Register the auto-mode hook on ``app``, where ``ETAG_AUTO`` is on."""
    if current_settings(app).auto:
        app.after_request(tag_automatically)


def tag_automatically(response: Response) -> Response:
    """``after_request``: tag an untagged GET/HEAD 2xx by its body, then judge the request."""
    served = request._get_current_object()  # type: ignore[attr-defined]
    status = response.status_code
    if (
        served.method not in SAFE_METHODS
        or not has_representation(status)
        or status == 206
        or field(response.headers, "etag") is not None
    ):
        return response
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = current_settings(app)
    preconditions = read_preconditions(served)
    exchange = Exchange(app, served, AUTO_SPEC, settings, {}, preconditions, served.method, True)
    body = identity_bytes(response)
    etag_header = None
    if body is not None:  # not streamed, nor coded in a way this Python cannot read back
        etag_header = tag_body(exchange, AUTO_GENERATOR, response, status, body=body)
    try:
        return judge_by_body(exchange, response, etag_header)
    except ETagPreconditionFailed as error:
        return _refused_in_place(response, error)


def _refused_in_place(response: Response, error: ETagPreconditionFailed) -> Response:
    """The 412 of an auto-tagged response, made of the response itself.

    An ``after_request`` hook may not raise (Flask would answer 500), and a new response
    would lose the fields the app's other hooks set (HSTS, CORS, a request id): so the
    status, body and representation fields change, and every other field stays.  A hook
    registered before :class:`~flask_etag.ETag` runs after this one and sees the 412.
    """
    headers = response.headers
    for name in _OF_THE_REPRESENTATION:
        headers.remove(name)
    response.set_data(error.get_body())
    response.status_code = error.code or 412
    for name, value in error.get_headers():
        headers[name] = value
    return response
