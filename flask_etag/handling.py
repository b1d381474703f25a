"""Request-time mechanics shared by the decorators and auto mode.

Version and timestamp routes are decided before the view (RFC 9110 §13.2.1 lets a server
evaluate preconditions before performing the method); body-hash routes after it.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import Flask, Response, request

from . import context
from .conditions import (
    MISSING,
    SAFE_METHODS,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    if_range_allows_partial,
)
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator, _LookupGenerator
from .responses import (
    add_validators,
    is_success,
    not_modified,
    not_modified_like,
    validator_headers,
    validators_of,
)
from .settings import Settings

View = Callable[..., Any]


def respond_with_known_validators(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    generator: _LookupGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
) -> Response:
    """Decide the request from a version or timestamp before running the view."""
    method = request.method
    checked, current = generator.current(view_args, settings.weak)
    safe = method in SAFE_METHODS
    if not (safe and not current.exists):
        # §13.2.1: on a missing resource a GET answers 404 from the view, so it is not judged.
        outcome = evaluate_preconditions(method, preconditions, current)
        if outcome is Outcome.NOT_MODIFIED:
            return not_modified(validator_headers(current, cache_control))
        if outcome is Outcome.PRECONDITION_FAILED:
            raise ETagPreconditionFailed()
    if safe:
        _ignore_range_unless_if_range_matches(current)
    context.remember_checked(checked)
    response = app.make_response(generator.call_view(view, view_args))
    if is_success(response):
        final = _validators_of_response_state(generator, view_args, settings, current, safe)
        if final.exists:
            add_validators(response, final, cache_control)
    return response


def _validators_of_response_state(
    generator: _LookupGenerator,
    view_args: dict[str, Any],
    settings: Settings,
    checked: Validators,
    safe: bool,
) -> Validators:
    """The state the response body describes: as the view reported it, else the best guess.

    A read falls back to the checked state (never newer than the body read after it); a write
    falls back to a fresh lookup, which a concurrent write can make newer than the body, hence
    :func:`~flask_etag.set_response_version`.
    """
    reported = context.response_version()
    if not context.is_unset(reported):
        if reported is None:
            return MISSING
        return generator.validators_for(reported, generator.weak_or(settings.weak))
    return checked if safe else generator.current(view_args, settings.weak)[1]


def _ignore_range_unless_if_range_matches(current: Validators) -> None:
    """RFC 9110 §13.1.5: when If-Range does not match, the Range header is ignored."""
    environ = request.environ
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range is not None and "HTTP_RANGE" in environ:
        if not if_range_allows_partial(if_range, current):
            del environ["HTTP_RANGE"]


def respond_with_body_hash(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    generator: HashGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
) -> Response:
    """Run the view, tag its body, then answer 304 or 412 where the request asks."""
    method = request.method
    if method not in SAFE_METHODS and preconditions is not None:
        current = representation_validators_by_get(app, generator, settings)
        if evaluate_preconditions(method, preconditions, current) is not Outcome.PROCEED:
            raise ETagPreconditionFailed()
    response = app.make_response(view(**view_args))
    if _partial_despite_if_range(response, generator, settings):
        del request.environ["HTTP_RANGE"]
        response = app.make_response(view(**view_args))
    return conditional_body_response(response, generator, settings, cache_control, preconditions)


def _partial_despite_if_range(
    response: Response, generator: HashGenerator, settings: Settings
) -> bool:
    """True for a 206 that §13.1.5 forbids (werkzeug's If-Range check is weak and date-lax)."""
    if response.status_code != 206:
        return False
    if_range = request.environ.get("HTTP_IF_RANGE")
    if if_range is None:
        return False
    current = body_validators(response, generator, settings)
    return current is not None and not if_range_allows_partial(if_range, current)


def body_validators(
    response: Response, generator: HashGenerator, settings: Settings
) -> Validators | None:
    """The response's validators: its own ``ETag``, else a hash of its body; None if streamed."""
    if "ETag" in response.headers:
        return validators_of(response)
    if response.is_streamed or response.direct_passthrough:
        return None
    opaque = generator.opaque_tag(response.get_data(), settings.digest)
    return Validators(
        etag=opaque,
        weak=generator.weak_or(settings.weak),
        last_modified=validators_of(response).last_modified,
    )


def conditional_body_response(
    response: Response,
    generator: HashGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
) -> Response:
    """Tag a 2xx response by its body and apply GET/HEAD preconditions (§13.2.2)."""
    if not is_success(response):
        return response
    current = body_validators(response, generator, settings)
    if current is None:
        return response  # streamed and untagged: passed through untouched
    add_validators(response, current, cache_control)
    method = request.method
    if method not in SAFE_METHODS:
        return response  # a write's preconditions were decided before the view
    outcome = evaluate_preconditions(method, preconditions, current)
    if outcome is Outcome.NOT_MODIFIED:
        return not_modified_like(response)
    if outcome is Outcome.PRECONDITION_FAILED:
        raise ETagPreconditionFailed()
    return response


def representation_validators_by_get(
    app: Flask, generator: HashGenerator, settings: Settings
) -> Validators:
    """Validators of what a GET of this URL returns now (RFC 9110 §13.2.1, selected representation).

    A body hash is only known by rendering the representation, so a write to a body-hash route
    that carries preconditions renders the GET first, without its conditional headers.
    """
    environ = {
        key: value
        for key, value in request.environ.items()
        if not key.startswith(("HTTP_IF_", "HTTP_RANGE", "werkzeug."))
    }
    environ.update(REQUEST_METHOD="GET", CONTENT_LENGTH="0")
    environ["wsgi.input"] = BytesIO()
    environ.pop("CONTENT_TYPE", None)
    with app.request_context(environ):
        response = app.full_dispatch_request()
        if not is_success(response):
            return MISSING
        current = body_validators(response, generator, settings)
    return MISSING if current is None else current
