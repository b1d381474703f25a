"""Request-time mechanics shared by the decorators and auto mode.

Version and timestamp routes are decided before the view (RFC 9110 §13.2.1 lets a server
evaluate preconditions before performing the method); body-hash routes after it.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import Flask, Request, Response, request

from . import context
from .conditions import (
    MISSING,
    SAFE_METHODS,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    if_range_allows_partial,
    is_exact_revalidation,
)
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator, _LookupGenerator
from .responses import (
    add_validators,
    body_bytes,
    is_success,
    not_modified,
    not_modified_like,
    parse_last_modified,
    validator_fields,
    validator_headers,
    validators_of,
)
from .settings import Settings

View = Callable[..., Any]


def current_request() -> Request:
    """The request being served, read once.

    Every attribute read through Flask's ``request`` proxy repeats a context lookup; on a
    request that costs a few dozen microseconds in all, those lookups are measurable.
    """
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def respond_with_known_validators(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    generator: _LookupGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
    *,
    method: str | None = None,
) -> Response:
    """Decide the request from a version or timestamp before running the view.

    :param method: the request method, when the caller has read it already.
    """
    if method is None:
        method = current_request().method
    checked, current = generator.current(view_args, settings.weak)
    safe = method in SAFE_METHODS
    if not (safe and not current.exists):
        # §13.2.1: on a missing resource a GET answers 404 from the view, so it is not judged.
        outcome = evaluate_preconditions(method, preconditions, current)
        if outcome is Outcome.NOT_MODIFIED:
            return not_modified(validator_headers(current, cache_control))
        if outcome is Outcome.PRECONDITION_FAILED:
            raise ETagPreconditionFailed(etag=current.etag_header)
    if safe:
        _ignore_range_unless_if_range_matches(current)
    context.remember_checked(checked)
    response = app.make_response(
        _call_with_preconditions_hidden(generator.call_view, view, view_args)
    )
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
    served = current_request()
    environ = served.environ
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range is not None and "HTTP_RANGE" in environ:
        if not if_range_allows_partial(if_range, current):
            _forget_range(served)
        else:  # decided: the view serves a plain Range request (werkzeug would re-judge it)
            del environ["HTTP_IF_RANGE"]


def respond_with_body_hash(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    generator: HashGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
    *,
    method: str | None = None,
) -> Response:
    """Run the view, tag its body, then answer 304 or 412 where the request asks.

    :param method: the request method, when the caller has read it already.
    """
    if method is None:
        method = current_request().method
    if method not in SAFE_METHODS and preconditions is not None:
        current = representation_validators_by_get(app, generator, settings)
        if evaluate_preconditions(method, preconditions, current) is not Outcome.PROCEED:
            raise ETagPreconditionFailed(etag=current.etag_header)
    if preconditions is None:
        result = view(**view_args)  # no precondition field to hide from it
    else:
        result = _call_with_preconditions_hidden(view, **view_args)
    # A view returning a response object (the usual case) needs no conversion.
    response = result if isinstance(result, app.response_class) else app.make_response(result)
    status = response.status_code
    if status == 206:
        if "ETag" not in response.headers:
            response = _partial_tagged_as_whole(app, view, view_args, response, generator, settings)
        if _partial_despite_if_range(response, generator, settings):
            response.close()  # a send_file 206 holds an open file
            _forget_range(current_request())
            response = app.make_response(_call_with_preconditions_hidden(view, **view_args))
        status = response.status_code
    return conditional_body_response(
        response, generator, settings, cache_control, preconditions, method=method, status=status
    )


def _forget_range(served: Request) -> None:
    """Remove ``Range``, and werkzeug's cached parse of it, so the view serves everything."""
    served.environ.pop("HTTP_RANGE", None)
    served.__dict__.pop("range", None)  # ``Request.range`` is a cached_property


def _partial_tagged_as_whole(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    partial: Response,
    generator: HashGenerator,
    settings: Settings,
) -> Response:
    """RFC 9110 §15.3.7: a 206 carries the whole representation's tag, not a hash of the part.

    A view that builds its own 206 without an ``ETag`` leaves only the part to hash, so the
    whole representation is rendered once more, without ``Range``, and its hash tags the
    part.  If the whole cannot be hashed (streamed, not a 200), the whole is served instead:
    a server may always ignore ``Range`` (§14.2).
    """
    served = current_request()
    range_field = served.environ.get("HTTP_RANGE")
    _forget_range(served)
    try:
        whole = app.make_response(_call_with_preconditions_hidden(view, **view_args))
    finally:
        if range_field is not None:
            served.environ["HTTP_RANGE"] = range_field
        served.__dict__.pop("range", None)
    validators = body_validators(whole, generator, settings) if whole.status_code == 200 else None
    if validators is None or validators.etag_header is None:
        partial.close()
        return whole
    whole.close()
    partial.headers["ETag"] = validators.etag_header
    return partial


#: The fields this extension decides itself (§13.2.2).  A view's own ``make_conditional``
#: (``send_file`` calls it) must not judge them again by werkzeug's rules, which answer
#: ``If-Match: *`` with 412 and compare If-Match weakly.  If-Range stays: the view needs it
#: to build a 206, and :func:`_partial_despite_if_range` checks that 206 strictly.
_DECIDED_BY_THE_EXTENSION = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def _take_preconditions(environ: dict[str, Any]) -> dict[str, Any]:
    hidden = {}
    for key in _DECIDED_BY_THE_EXTENSION:  # a loop, not a comprehension: one frame less
        if key in environ:
            hidden[key] = environ.pop(key)
    return hidden


def _call_with_preconditions_hidden(function: View, /, *args: Any, **kwargs: Any) -> Any:
    """Run ``function`` (the view, or a generator's wrapper of it) without the precondition
    fields in the environ, then put them back."""
    environ = current_request().environ
    hidden = _take_preconditions(environ)
    try:
        return function(*args, **kwargs)
    finally:
        environ.update(hidden)


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
    etag_header, modified_header = validator_fields(response.headers)
    if etag_header is not None:
        return validators_of(response)
    body = body_bytes(response)
    if body is None:
        return None
    opaque = generator.opaque_tag(body, settings.digest)
    return Validators(
        etag=opaque,
        weak=generator.weak_or(settings.weak),
        last_modified=None if modified_header is None else parse_last_modified(modified_header),
    )


def conditional_body_response(
    response: Response,
    generator: HashGenerator,
    settings: Settings,
    cache_control: str | None,
    preconditions: Preconditions | None,
    *,
    method: str | None = None,
    status: int | None = None,
) -> Response:
    """Tag a 2xx response by its body and apply GET/HEAD preconditions (§13.2.2).

    :param method: the request method, when the caller has read it already.
    :param status: the response's status code, when the caller has read it already.
    """
    if status is None:
        status = response.status_code
    if not 200 <= status < 300 or status == 204:
        # §13.2.1: only a 2xx is judged; §15.3.5: a 204 has no representation to hash.
        return response
    # Inlined rather than body_validators + add_validators: this runs on every response of
    # every body-hash route, and the usual request (no conditional field) needs no Validators.
    headers = response.headers
    etag_header = None
    for name, value in headers._list:  # field_value(headers, "etag"), without its two calls
        if len(name) == 4 and name.lower() == "etag":
            etag_header = value
            break
    if etag_header is None:
        if status == 206:
            return response  # §15.3.7: a hash of the part would not be the whole's tag
        body = body_bytes(response)
        if body is None:
            return response  # streamed and untagged: passed through untouched
        # HashGenerator.opaque_tag and format_entity_tag, inlined: this runs for every tagged
        # response.
        opaque = (generator._digest or settings.digest)(body)
        weak = settings.weak if generator.weak is None else generator.weak
        etag_header = f'W/"{opaque}"' if weak else f'"{opaque}"'
        # Appended directly: the value is quoted hex made just above, so the check Headers.add
        # spends on every value (a regex search for line breaks) could never fail here.
        headers._list.append(("ETag", etag_header))
    if cache_control is not None:
        headers.set("Cache-Control", cache_control)
    if preconditions is None:
        return response
    if method is None:
        method = current_request().method
    if method not in SAFE_METHODS:
        return response  # a write's preconditions were decided before the view
    if is_exact_revalidation(preconditions, etag_header):
        return not_modified_like(response)
    current = validators_of(response)
    outcome = evaluate_preconditions(method, preconditions, current)
    if outcome is Outcome.NOT_MODIFIED:
        return not_modified_like(response)
    if outcome is Outcome.PRECONDITION_FAILED:
        response.close()  # the body is never sent: release a send_file's open file
        raise ETagPreconditionFailed(etag=current.etag_header)
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
        try:
            if not is_success(response):
                return MISSING
            current = body_validators(response, generator, settings)
        finally:
            response.close()  # only its validators are needed
    return MISSING if current is None else current
