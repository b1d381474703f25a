"""One request to a decorated route, and the stages every kind of route shares: reading
the preconditions (stage 1), running the view (stage 4), and refusing with 412 or 428.

The order of the stages is :func:`flask_etag.pipeline.serve`'s; this module holds what the
body-hash stages (:mod:`flask_etag.body_tags`) need of them too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Flask, Request, Response

from .conditions import Preconditions
from .exceptions import ETagError
from .settings import Settings
from .signals import announce_error
from .spec import RouteSpec

View = Callable[..., Any]


class Exchange(NamedTuple):
    """One request to a decorated route, and what every stage needs to know of it."""

    app: Flask
    request: Request
    spec: RouteSpec
    settings: Settings
    view_args: dict[str, Any]
    preconditions: Preconditions | None
    method: str
    #: GET or HEAD: a read (RFC 9110 §9.2.1).
    safe: bool


def read_preconditions(served: Request) -> Preconditions | None:
    """Stage 1: the request's ``If-*`` fields (§13.1); None when it has none, as most have."""
    environ = served.environ
    if (  # nearly every request has none: four membership tests are the cheapest check
        "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    ):
        return Preconditions.from_environ(environ)
    return None


def refuse(error: ETagError) -> None:
    """Answer 412 or 428: announce it (:mod:`flask_etag.signals`), then raise it, so the
    app's error handlers render it and its ``after_request`` hooks see it."""
    announce_error(error.code or 0, error.etag)
    raise error


# --- stage 4 --------------------------------------------------------------------------


#: The fields this extension decides itself (§13.2.2).  A view's own ``make_conditional``
#: (``send_file`` calls it) must not judge them again by werkzeug's rules, which answer
#: ``If-Match: *`` with 412 and compare If-Match weakly.  If-Range stays: the view needs it
#: to build a 206, and the extension checks that 206 strictly.
_DECIDED_BY_THE_EXTENSION = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def consume_preconditions(served: Request) -> None:
    """Take the decided ``If-*`` fields of a read out of the environ.

    A later component that calls werkzeug's ``make_conditional`` (Flask-Compress does, on the
    response it codes) would judge them again by werkzeug's rules, against the coded tag,
    and turn a passing ``If-Match`` into a 412.  They have been decided (§13.2.2).
    """
    environ = served.environ
    for key in _DECIDED_BY_THE_EXTENSION:
        environ.pop(key, None)


def run_view(
    exchange: Exchange,
    call: Callable[[View, dict[str, Any]], Any] | None,
    view: View,
    view_args: dict[str, Any],
) -> Response:
    """Stage 4: run the view this request was routed to, as a response.

    :param call: how the generator runs the view (a model generator turns a write conflict
        into a 412); None to call it as Flask would.

    The precondition fields are out of its environ while it runs, then put back.  A 412 the
    view raises itself (a compare-and-set that matched no row) is announced here.
    """
    environ = exchange.request.environ
    hidden = {}
    if exchange.preconditions is not None:
        hidden = {key: environ.pop(key) for key in _DECIDED_BY_THE_EXTENSION if key in environ}
    try:
        result = view(**view_args) if call is None else call(view, view_args)
    except ETagError as error:
        environ.update(hidden)  # the signal reports the client's fields
        hidden = {}
        announce_error(error.code or 0, error.etag)
        raise
    finally:
        if hidden:
            environ.update(hidden)
    if isinstance(result, exchange.app.response_class):
        return result
    return exchange.app.make_response(result)
