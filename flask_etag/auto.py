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

from flask import Flask, Response, after_this_request, current_app, request

from .body_tags import judge_by_body, tag_body
from .compression import identity_bytes
from .conditions import SAFE_METHODS, Preconditions
from .exceptions import ETagPreconditionFailed
from .exchange import Exchange, read_preconditions
from .generators import HashGenerator
from .responses import field, has_representation, withhold_running_date
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


#: Where :func:`_take_preconditions` leaves what it took for :func:`tag_automatically`.
_TAKEN_KEY = "flask_etag.auto.preconditions"


def install(app: Flask) -> None:
    """Register the auto-mode hooks on ``app``, where ``ETAG_AUTO`` is on."""
    if current_settings(app).auto:
        app.before_request(_take_preconditions_after_view)
        app.after_request(tag_automatically)


def _take_preconditions_after_view() -> None:
    """``before_request``: take a read's ``If-*`` fields once its view has run.

    An ``after_this_request`` function runs before every ``after_request`` hook, so a hook
    registered after ``ETag(app)`` (Flask-Compress's, which calls ``make_conditional``) runs
    before the auto-mode hook yet finds nothing to judge by werkzeug's rules (RFC 9110
    §13.2.2); the view itself (``send_file``) still sees the fields, as without auto mode.
    """
    if request.method in SAFE_METHODS:
        after_this_request(_take_preconditions)


def _take_preconditions(response: Response) -> Response:
    """Take the fields where the auto-mode hook will judge them; a response that carries its
    own tag (``set_etag``) is left to be judged as without auto mode."""
    if _tagged_here(response):
        served = request._get_current_object()  # type: ignore[attr-defined]
        served.environ[_TAKEN_KEY] = read_preconditions(served)
    return response


def _tagged_here(response: Response) -> bool:
    """Whether auto mode tags ``response``: an untagged 2xx with a representation, not a 206
    (whose tag must be the whole representation's, §15.3.7).  The caller checked the method."""
    status = response.status_code
    return has_representation(status) and status != 206 and field(response.headers, "etag") is None


def tag_automatically(response: Response) -> Response:
    """``after_request``: tag an untagged GET/HEAD 2xx by its body, then judge the request."""
    served = request._get_current_object()  # type: ignore[attr-defined]
    if served.method not in SAFE_METHODS or not _tagged_here(response):
        return response
    status = response.status_code
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = current_settings(app)
    preconditions = _taken_preconditions(served.environ) or read_preconditions(served)
    exchange = Exchange(app, served, AUTO_SPEC, settings, {}, preconditions, served.method, True)
    body = identity_bytes(response)
    etag_header = None
    if body is not None:  # not streamed, nor coded in a way this Python cannot read back
        etag_header = tag_body(exchange, AUTO_GENERATOR, response, status, body=body)
    elif preconditions is None:  # else judge_by_body withholds it
        withhold_running_date(response.headers)
    try:
        return judge_by_body(exchange, response, etag_header)
    except ETagPreconditionFailed as error:
        return _refused_in_place(response, error)


def _taken_preconditions(environ: dict[str, object]) -> Preconditions | None:
    """What :func:`_take_preconditions` took; None where it did not run (a ``before_request``
    hook answered first) or the request had none."""
    taken = environ.get(_TAKEN_KEY)
    return taken if isinstance(taken, Preconditions) else None


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
