"""One request to a decorated route, and the stages every kind of route shares: reading
the preconditions (stage 1), running the view (stage 4), and refusing with 412 or 428.

The order of the stages is :func:`flask_etag.pipeline.serve`'s; this module holds what the
body-hash stages (:mod:`flask_etag.body_tags`) need of them too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from flask import Flask, Request, Response

from .conditions import PRECONDITIONS_KEY, Preconditions
from .exceptions import NAMED_STATE, ETagError
from .folding import folded_validators
from .generators import _LookupGenerator
from .settings import Settings
from .signals import announce_error
from .spec import RouteSpec

View = Callable[..., Any]
_Error = TypeVar("_Error", bound=ETagError)


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
    """Stage 1: take the request's ``If-*`` fields (§13.1); None when it has none, as most have.

    They are taken out of the environ, once, and kept under
    :data:`~flask_etag.conditions.PRECONDITIONS_KEY`: from here on only the extension judges
    them.  A view's own ``make_conditional`` (``send_file``
    calls it), or a later component's (Flask-Compress calls it on the response it codes),
    would judge them again by werkzeug's rules, which answer ``If-Match: *`` with 412,
    compare ``If-Match`` weakly, and judge against a coded tag.  ``If-Range`` stays: a view
    needs it to build a 206, and the extension checks that 206 strictly.
    """
    environ = served.environ
    if not (  # nearly every request has none: four membership tests are the cheapest check
        "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    ):
        return None
    preconditions = Preconditions.take_from(environ)
    environ[PRECONDITIONS_KEY] = preconditions
    return preconditions


def refuse(error: ETagError) -> None:
    """Answer 412 or 428: announce it (:mod:`flask_etag.signals`), then raise it, so the
    app's error handlers render it and its ``after_request`` hooks see it."""
    announce_error(error.code or 0, error.etag)
    raise error


# --- stage 4 --------------------------------------------------------------------------


def run_view(
    exchange: Exchange,
    call: Callable[[View, dict[str, Any]], Any] | None,
    view: View,
    view_args: dict[str, Any],
) -> Response:
    """Stage 4: run the view this request was routed to, as a response.

    :param call: how the generator runs the view (a model generator turns a write conflict
        into a 412); None to call it as Flask would.

    A 412 the view raises itself (a compare-and-set that matched no row) is announced here,
    tagged as the route tags the state that won where the generator, or the view's
    ``version=``, said which it was.
    """
    try:
        result = view(**view_args) if call is None else call(view, view_args)
    except ETagError as error:
        if hasattr(error, NAMED_STATE):
            _tag_as_the_route(exchange, error)
        announce_error(error.code or 0, error.etag)
        raise
    if isinstance(result, exchange.app.response_class):
        return result
    return exchange.app.make_response(result)


def naming_state(error: _Error, state: Any) -> _Error:
    """``error``, noted as naming the looked-up ``state`` (the write that won a race).

    A generator tags such an error with :meth:`~flask_etag.VersionGenerator.etag_for`, which
    knows the app's folds but not the route's (``vary=``, ``scope=``); :func:`run_view`
    tags it again as the route tags that state for this request: a 412's ``ETag`` is the
    one a GET would send, which the client's next ``If-None-Match`` holds (RFC 9110 §8.8.3).
    """
    setattr(error, NAMED_STATE, state)
    return error


def _tag_as_the_route(exchange: Exchange, error: ETagError) -> None:
    """Give ``error`` the ``ETag`` this route sends for the state it names, folds and all;
    once: an enclosing decorated view's route is not the one that looked the state up.

    A state the route's generator refuses (a row for its version, NaN, an int on a
    timestamp route) is the view's mistake, logged: the write was still refused, so the
    412 or 409 goes out as it was raised, untagged, never as a 500 (RFC 9110 §15.5.13).
    """
    state = getattr(error, NAMED_STATE)
    delattr(error, NAMED_STATE)
    generator = exchange.spec.generator
    if state is not None and isinstance(generator, _LookupGenerator):
        try:
            current = generator.validators_of_value(state, exchange.settings.weak)
        except (TypeError, ValueError):
            message = "%s(version=%r) names no state the route tags: sent as raised, untagged"
            exchange.app.logger.error(message, type(error).__name__, state, exc_info=True)
            return
        error.etag = folded_validators(exchange, current, lookup=True).etag_header
