"""Request-time mechanics shared by the decorators and auto mode.

Version and timestamp routes are decided before the view (RFC 9110 §13.2.1 lets a server
evaluate preconditions before performing the method); body-hash routes after it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

from flask import Flask, Request, Response, after_this_request, request
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable

from . import context
from .compression import tag_coded_representation, tag_held_by_client
from .conditions import (
    MISSING,
    SAFE_METHODS,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    if_range_allows_partial,
    is_exact_revalidation,
    parse_http_date,
)
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator, _LookupGenerator
from .internals import (
    header_list,
    hooks_after_this_request,
    send_fields_as_built,
    serving_context,
    status_code_of,
)
from .responses import (
    add_validators,
    apply_cache_policy,
    body_bytes,
    field_value,
    is_success,
    not_modified,
    not_modified_like,
    parse_last_modified,
    set_route_validators,
    turn_not_modified,
    validator_fields,
    validator_headers,
    validators_of,
)
from .settings import Settings
from .spec import RouteSpec
from .tags import format_entity_tag, strip_coding, variant_opaque_tag

View = Callable[..., Any]

#: Attribute of a body-hash response whose tag and decision wait for the app's last
#: ``after_request`` hook: the bytes hashed and the generator (see :mod:`flask_etag.finishing`).
HASHED_BODY = "_flask_etag_hashed_body"


def current_request() -> Request:
    """The request being served, read once.

    Every attribute read through Flask's ``request`` proxy repeats a context lookup; on a
    request that costs a few dozen microseconds in all, those lookups are measurable.
    """
    return serving_context().request


#: Off only in the test that proves every fast path answers as the general path beside it.
FAST_PATHS = True


def respond_with_known_validators(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions | None,
    method: str,
    served: Request,
) -> Response:
    """Decide the request from a version or timestamp before running the view."""
    generator: _LookupGenerator = spec.generator  # type: ignore[assignment]
    checked = context.UNSET
    if (
        method in SAFE_METHODS
        and FAST_PATHS
        and not spec.vary
        and "HTTP_IF_RANGE" not in served.environ
    ):
        if preconditions is None:
            return _plain_read_with_known_validators(app, view, view_args, spec, settings)
        checked = generator.lookup(**view_args)
        not_modified_response = _exact_revalidation(
            generator, checked, spec, settings, preconditions
        )
        if not_modified_response is not None:
            return not_modified_response
    if checked is context.UNSET:
        checked = generator.lookup(**view_args)
    state = generator.validators_of_value(checked, settings.weak)
    current = negotiated(state, spec)
    cache_control = spec.cache_control or settings.cache_control
    safe = method in SAFE_METHODS
    if not (safe and not current.exists):
        # §13.2.1: on a missing resource a GET answers 404 from the view, so it is not judged.
        outcome = evaluate_preconditions(method, preconditions, current)
        if outcome is Outcome.NOT_MODIFIED and not _view_date_may_fail(preconditions, current):
            return not_modified(_echoed(validator_headers(current, cache_control, spec.vary)))
        if outcome is Outcome.PRECONDITION_FAILED:
            raise ETagPreconditionFailed(etag=current.etag_header)
    if safe:
        _ignore_range_unless_if_range_matches(current)
    request_state = context.remember_checked(checked)
    response = app.make_response(
        _call_with_preconditions_hidden(generator.call_view, view, view_args)
    )
    if not is_success(response):
        return response
    final = _validators_of_response_state(
        generator, view_args, settings, state, request_state, safe, response
    )
    if safe and request_state.response_version is not context.UNSET:
        spec.learned.view_reports_version = True
    final = negotiated(final, spec)
    if not final.exists:
        return response
    add_validators(response, final, spec.cache_control, settings.cache_control, spec.vary)
    tag_coded_representation(response)
    if safe and preconditions is not None and final.last_modified is None:
        return _judged_by_view_last_modified(response, final, method, preconditions)
    return response


def _exact_revalidation(
    generator: _LookupGenerator,
    checked: Any,
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions,
) -> Response | None:
    """The fast path of a revalidation: ``If-None-Match`` naming exactly the current tag.

    §13.2.2 has nothing else to check (:func:`~flask_etag.conditions.is_exact_revalidation`),
    so the 304 is built from the tag alone; anything else returns None for the general path.
    """
    if checked is None:
        return None
    etag_header, last_modified = generator.response_fields(
        checked, settings.weak if generator.weak is None else generator.weak
    )
    if not is_exact_revalidation(preconditions, etag_header):
        return None
    fields = [("ETag", etag_header)]
    if last_modified is not None:
        fields.append(("Last-Modified", last_modified))
    cache_control = spec.cache_control or settings.cache_control
    if cache_control is not None:
        fields.append(("Cache-Control", cache_control))
    return not_modified(fields)


def _plain_read_with_known_validators(
    app: Flask, view: View, view_args: dict[str, Any], spec: RouteSpec, settings: Settings
) -> Response:
    """The fast path of a version or timestamp route: a GET or HEAD with no precondition.

    Nearly every read is one.  There is nothing to decide, so the view runs at once and the
    response is tagged with the state its body describes.  When the route's view reports the
    version it read (:func:`~flask_etag.set_response_version`), that report is the tag and
    the lookup is not made at all: one query per read.  A view that stops reporting gets no
    tag on that response (a later lookup could be newer than its body), and the route goes
    back to looking up first.  ``tests/test_fast_paths.py`` proves this answers every request
    as the general path does.
    """
    generator: _LookupGenerator = spec.generator  # type: ignore[assignment]
    learned = spec.learned
    if learned.view_reports_version:
        state = context.remember_checked(
            context.UNSET, functools.partial(generator.lookup, **view_args)
        )
    else:
        state = context.remember_checked(generator.lookup(**view_args))
    result = generator.call_view(view, view_args)
    response = result if isinstance(result, app.response_class) else app.make_response(result)
    if not 200 <= response.status_code < 300:
        return response
    described = state.response_version
    if described is context.UNSET:
        described = state.checked
        learned.view_reports_version = False
    else:
        learned.view_reports_version = True
    if described is None or described is context.UNSET:
        return response  # missing, or not known to match the body: untagged
    if _state_unconfirmed(generator, described, view_args, response):
        return response
    etag_header, last_modified = generator.response_fields(
        described, settings.weak if generator.weak is None else generator.weak
    )
    coded = set_route_validators(
        response, etag_header, last_modified, spec.cache_control, settings.cache_control
    )
    if coded:
        tag_coded_representation(response)  # a view that compressed its own output
    return response


def negotiated(current: Validators, spec: RouteSpec) -> Validators:
    """On a route with ``vary=``, the tag of the representation this request negotiates."""
    if not spec.vary or current.etag is None:
        return current
    values = spec.negotiated_values(current_request().environ)
    return dataclasses.replace(
        current, etag=variant_opaque_tag(current.etag, values), state=current.etag
    )


def _echoed(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A before-the-view 304's fields, its ``ETag`` in the form the 200 would carry."""
    environ = current_request().environ
    return [
        (name, tag_held_by_client(value, environ) if name == "ETag" else value)
        for name, value in headers
    ]


def _view_date_may_fail(preconditions: Preconditions | None, current: Validators) -> bool:
    """§13.2.2 step 2 comes before step 3: an If-Unmodified-Since that the view's own
    ``Last-Modified`` (``send_file``'s) may make false must be judged before a 304.  One that
    is not a valid HTTP-date is ignored (§13.1.4), so it defers nothing."""
    return (
        preconditions is not None
        and preconditions.if_unmodified_since is not None
        and preconditions.if_match is None
        and current.last_modified is None
        and parse_http_date(preconditions.if_unmodified_since) is not None
    )


def _judged_by_view_last_modified(
    response: Response, final: Validators, method: str, preconditions: Preconditions
) -> Response:
    """§13.1.3, §13.1.4: a GET's date conditions, judged by the ``Last-Modified`` the view set.

    A version carries no date, so before the view If-Modified-Since and If-Unmodified-Since
    had nothing to compare with; a view such as ``send_file`` supplies one.
    """
    if preconditions.if_modified_since is None and preconditions.if_unmodified_since is None:
        return response
    modified = parse_last_modified(field_value(response.headers, "last-modified"))
    # Without a date from the view the answer is the one deferred by _view_date_may_fail.
    dated = final if modified is None else dataclasses.replace(final, last_modified=modified)
    return _apply_outcome(response, evaluate_preconditions(method, preconditions, dated), dated)


def _validators_of_response_state(
    generator: _LookupGenerator,
    view_args: dict[str, Any],
    settings: Settings,
    checked: Validators,
    request_state: context.RequestState,
    safe: bool,
    response: Response,
) -> Validators:
    """The state the response body describes: as the view reported it, else the best guess.

    A read falls back to the checked state (never newer than the body read after it); a write
    falls back to a fresh lookup, which a concurrent write can make newer than the body, hence
    :func:`~flask_etag.set_response_version`.
    """
    reported = request_state.response_version
    if reported is not context.UNSET:
        if reported is None:
            return MISSING
        return generator.validators_for(reported, generator.weak_or(settings.weak))
    if not safe:
        return generator.current(view_args, settings.weak)[1]
    if _state_unconfirmed(generator, request_state.checked, view_args, response):
        return MISSING
    return checked


def _state_unconfirmed(
    generator: _LookupGenerator, checked: Any, view_args: dict[str, Any], response: Response
) -> bool:
    """For a generator that rechecks after the view (a collection): True when the state
    looked up before it may not be what the body shows, so the body goes out untagged.

    That is when a write committed while the view read, or when the body is streamed: its
    rows are then read while it is sent, after any check could be made.
    """
    if not generator.rechecks_after_view:
        return False
    return response.is_streamed or not generator.still_current(checked, view_args)


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
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions | None,
    method: str,
    served: Request,
) -> Response:
    """A body-hash route: run the view, tag its body, answer 304 or 412 where asked.

    This is the fast path, for a GET or HEAD without ``Range`` on a route and app with no
    policy to apply: nearly every read.  When the view answers a 200 whose body is one
    in-memory chunk, with no tag or coding of its own, the body is hashed, the tag appended
    and an exact revalidation answered 304 right here.  Every other request goes to
    :func:`_respond_with_body_hash_in_general`, and every other response to
    :func:`conditional_body_response`: the general path, which ``tests/test_fast_paths.py``
    proves this one agrees with.
    """
    environ = served.environ
    if not (
        FAST_PATHS
        and spec.plain
        and settings.plain
        and method in SAFE_METHODS
        and "HTTP_RANGE" not in environ
        and "HTTP_IF_RANGE" not in environ
    ):
        return _respond_with_body_hash_in_general(
            app, view, view_args, spec, settings, preconditions, method, served
        )
    if preconditions is not None:
        result = _call_with_fields_hidden(environ, view, **view_args)
    elif view_args:
        result = view(**view_args)
    else:  # a route without URL arguments, such as a collection: no keyword dict to build
        result = view()
    response = result if isinstance(result, app.response_class) else app.make_response(result)
    generator: HashGenerator = spec.generator  # type: ignore[assignment]
    chunks = response.response
    fields = header_list(response.headers)
    built_by_werkzeug = (  # the two fields werkzeug gives every body a view returns
        len(fields) == 2 and fields[0][0] == "Content-Type" and fields[1][0] == "Content-Length"
    )
    if not (
        type(chunks) is list
        and len(chunks) == 1
        and type(chunks[0]) is bytes
        and status_code_of(response) == 200
        and not response.direct_passthrough
        and (built_by_werkzeug or _no_tag_or_coding(fields))
        and not hooks_after_this_request()  # none may rewrite the body after the tag
    ):
        return conditional_body_response(
            response,
            generator,
            settings,
            spec,
            preconditions,
            method=method,
            status=response.status_code,
        )
    if spec.app_default_hash:  # body_etag_header's first step, without its call
        etag_header = settings.tag_body(chunks[0])
    else:
        etag_header = body_etag_header(chunks[0], generator, settings)
    fields.append(("ETag", etag_header))
    if preconditions is None:
        send_fields_as_built(response)
        return response
    if built_by_werkzeug and is_exact_revalidation(preconditions, etag_header):
        del fields[:2]  # Content-Type and Content-Length: a 304 carries no such metadata
        return turn_not_modified(response)
    return judge_safe_request(response, etag_header, method, preconditions)


def body_etag_header(body: bytes, generator: HashGenerator, settings: Settings) -> str:
    """The ``ETag`` field value of ``body`` by ``generator``, or by the app's defaults."""
    if generator.uses_app_defaults:
        return settings.tag_body(body)
    opaque = generator.opaque_tag(body, settings.digest)
    return format_entity_tag(opaque, generator.weak_or(settings.weak))


def _no_tag_or_coding(fields: list[tuple[str, str]]) -> bool:
    """True when no header field is an ``ETag`` or ``Content-Encoding`` of the view's own."""
    for name, _ in fields:
        size = len(name)
        if (size == 4 or size == 16) and name.lower() in ("etag", "content-encoding"):
            return False
    return True


def _respond_with_body_hash_in_general(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions | None,
    method: str,
    served: Request,
) -> Response:
    """The general path of a body-hash route: writes, ``Range`` and ``If-Range``, policies."""
    generator: HashGenerator = spec.generator  # type: ignore[assignment]
    if method not in SAFE_METHODS:
        return _write_with_body_hash(app, view, view_args, spec, settings, preconditions, method)
    environ = served.environ
    if preconditions is None and "HTTP_IF_RANGE" not in environ:
        result = view(**view_args)  # nothing to hide from the view, and a 416 stands
    else:
        try:
            result = _call_with_preconditions_hidden(view, **view_args)
        except RequestedRangeNotSatisfiable as unsatisfiable:  # how send_file answers 416
            return _unsatisfiable_range_after_preconditions(
                app, view, view_args, unsatisfiable, spec, settings, preconditions
            )
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
    elif status == 416 and (preconditions is not None or "HTTP_IF_RANGE" in served.environ):
        return _unsatisfiable_range_after_preconditions(
            app, view, view_args, response, spec, settings, preconditions
        )
    return conditional_body_response(
        response, generator, settings, spec, preconditions, method=method, status=status
    )


def _write_with_body_hash(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions | None,
    method: str,
) -> Response:
    """A write to a body-hash route: judged against what a GET answers now, then performed.

    Its response is tagged only when it is the target's new representation (RFC 9110
    §9.3.4, §8.7): a status document such as ``{"saved": true}`` is not what the next GET
    returns, and a client chaining ``If-Match`` on its hash would always get 412.
    """
    generator: HashGenerator = spec.generator  # type: ignore[assignment]
    if preconditions is not None:
        current = current_representation_validators(app, generator, settings)
        if evaluate_preconditions(method, preconditions, current) is not Outcome.PROCEED:
            raise ETagPreconditionFailed(etag=current.etag_header)
        result = _call_with_preconditions_hidden(view, **view_args)
    else:
        result = view(**view_args)
    response = result if isinstance(result, app.response_class) else app.make_response(result)
    status = response.status_code
    if not 200 <= status < 300 or status == 204:
        return response
    if not _describes_the_target(response):
        apply_cache_policy(response.headers, spec.cache_control, settings.cache_control)
        return response
    return conditional_body_response(
        response, generator, settings, spec, None, method=method, status=status
    )


def _describes_the_target(response: Response) -> bool:
    """§8.7: a ``Content-Location`` naming the request's URI says the body is its representation."""
    location = field_value(response.headers, "content-location")
    if location is None:
        return False
    served = current_request()
    return urljoin(served.url, location) == served.url


def _unsatisfiable_range_after_preconditions(
    app: Flask,
    view: View,
    view_args: dict[str, Any],
    unsatisfiable: Response | RequestedRangeNotSatisfiable,
    spec: RouteSpec,
    settings: Settings,
    preconditions: Preconditions | None,
) -> Response:
    """§13.2.2 judges preconditions and If-Range before Range (§14.2): a view's 416 waits.

    ``send_file`` answers an unsatisfiable Range with 416 (raised) before anything else; the
    whole representation is rendered again without Range to learn whether the answer is 304
    or 412, and whether If-Range matches it (§13.1.5: if not, Range is ignored and the whole
    is sent).  Otherwise the 416 stands.
    """
    served = current_request()
    whole = _render_whole(app, view, view_args, served)
    try:
        decided = conditional_body_response(
            whole,
            spec.generator,  # type: ignore[arg-type]
            settings,
            spec,
            preconditions,
            method=served.method,
            status=whole.status_code,
            final=True,
        )
    except ETagPreconditionFailed:
        if isinstance(unsatisfiable, Response):
            unsatisfiable.close()
        raise
    if decided.status_code == 304 or _if_range_fails(decided, served):
        if isinstance(unsatisfiable, Response):
            unsatisfiable.close()
        return decided
    decided.close()
    if isinstance(unsatisfiable, RequestedRangeNotSatisfiable):
        raise unsatisfiable
    return unsatisfiable


def _render_whole(app: Flask, view: View, view_args: dict[str, Any], served: Request) -> Response:
    """Render the whole representation once more, without ``Range``, then restore it."""
    range_field = served.environ.get("HTTP_RANGE")
    _forget_range(served)
    try:
        return app.make_response(_call_with_preconditions_hidden(view, **view_args))
    finally:
        if range_field is not None:
            served.environ["HTTP_RANGE"] = range_field
        served.__dict__.pop("range", None)


def _if_range_fails(whole: Response, served: Request) -> bool:
    """§13.1.5: True when the request's If-Range does not match the whole representation."""
    if_range = served.environ.get("HTTP_IF_RANGE")
    return if_range is not None and not if_range_allows_partial(if_range, validators_of(whole))


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
    whole = _render_whole(app, view, view_args, served)
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


def _take_fields(environ: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    hidden = {}
    for key in keys:  # a loop, not a comprehension: one frame less
        if key in environ:
            hidden[key] = environ.pop(key)
    return hidden


def _call_with_preconditions_hidden(function: View, /, *args: Any, **kwargs: Any) -> Any:
    """Run ``function`` (the view, or a generator's wrapper of it) without the precondition
    fields in the environ, then put them back."""
    return _call_with_fields_hidden(current_request().environ, function, *args, **kwargs)


def _call_with_fields_hidden(
    environ: dict[str, Any], function: View, /, *args: Any, **kwargs: Any
) -> Any:
    """:func:`_call_with_preconditions_hidden` for a caller that holds the environ already."""
    hidden = _take_fields(environ, _DECIDED_BY_THE_EXTENSION)
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
    spec: RouteSpec | None,
    preconditions: Preconditions | None,
    *,
    method: str,
    status: int,
    final: bool = False,
) -> Response:
    """Tag a 2xx response by its body and apply GET/HEAD preconditions (§13.2.2).

    :param spec: the decorated route's spec; None in auto mode.
    :param final: no other ``after_request`` hook will see the response after this call.
    """
    if not 200 <= status < 300 or status == 204:
        # §13.2.1: only a 2xx is judged; §15.3.5: a 204 has no representation to hash.
        return response
    headers = response.headers
    etag_header = None
    coded = False
    fields = header_list(headers)
    for name, value in fields:  # one pass for both fields, without Headers' calls
        if len(name) == 4 and name.lower() == "etag":
            etag_header = value if etag_header is None else etag_header
        elif len(name) == 16 and name.lower() == "content-encoding":
            coded = True
    body = None
    if etag_header is None and status != 206:  # §15.3.7: a hash of a part is not the whole's tag
        body = body_bytes(response)
        if body is not None:
            etag_header = body_etag_header(body, generator, settings)
            # Appended directly: the value is quoted hex made just above, so the check
            # Headers.add spends on every value (a regex search for line breaks) never fails.
            fields.append(("ETag", etag_header))
    if spec is None:
        apply_cache_policy(headers, None, settings.cache_control)
    else:
        if spec.cache_control is not None or settings.cache_control is not None:
            apply_cache_policy(headers, spec.cache_control, settings.cache_control)
        if spec.vary:
            response.vary.update(spec.vary)
    if coded and etag_header is not None:
        tag_coded_representation(response)  # a view that compressed its own output
    if body is not None and not final and _deferred_to_last_hook(settings):
        # Another hook may still rewrite the body: the last one checks the tag against the
        # bytes really sent, then judges the request (flask_etag.finishing).
        setattr(response, HASHED_BODY, (body, generator))
        return response
    if preconditions is None or method not in SAFE_METHODS:
        return response
    return judge_safe_request(response, etag_header, method, preconditions)


def _deferred_to_last_hook(settings: Settings) -> bool:
    """Whether the tag and the decision wait for a hook that runs after every rewrite: the
    app's last ``after_request`` hook when it has others, else one registered here, after the
    request's ``after_this_request`` functions (a view's, or a ``before_request`` hook's)."""
    if settings.finish_in_hook:
        return True
    if not hooks_after_this_request():
        return False
    from .finishing import finish_response  # finishing builds on this module

    after_this_request(finish_response)  # in ETAG_AUTO the app's own then finds nothing left
    return True


def judge_safe_request(
    response: Response, etag_header: str | None, method: str, preconditions: Preconditions
) -> Response:
    """Answer a GET or HEAD 304 or 412 by the validators ``response`` carries (§13.2.2).

    A streamed response has no tag (its body is never buffered), but it exists and may carry
    ``Last-Modified``: ``If-Match``, ``If-None-Match: *`` and the date conditions still apply.
    """
    if etag_header is not None and is_exact_revalidation(preconditions, etag_header):
        return not_modified_like(response)
    current = validators_of(response)
    if current.etag is not None and not current.weak:
        # A compressor's "x:gzip" is judged as the state "x" it codes, like the client's tags.
        current = dataclasses.replace(current, etag=strip_coding(current.etag))
    return _apply_outcome(response, evaluate_preconditions(method, preconditions, current), current)


def _apply_outcome(response: Response, outcome: Outcome, current: Validators) -> Response:
    if outcome is Outcome.NOT_MODIFIED:
        etag_header = field_value(response.headers, "etag")
        if etag_header is not None:
            held = tag_held_by_client(etag_header, current_request().environ)
            if held != etag_header:
                response.headers.set("ETag", held)
        return not_modified_like(response)
    if outcome is Outcome.PRECONDITION_FAILED:
        response.close()  # the body is never sent: release a send_file's open file
        raise ETagPreconditionFailed(etag=current.etag_header)
    return response


def current_representation_validators(
    app: Flask, generator: HashGenerator, settings: Settings
) -> Validators:
    """Validators of what a GET of this URL answers now (§13.2.1, the selected representation).

    A body hash is only known by rendering the representation, so the GET view of this URL is
    called here, in this request's own context: no second dispatch, so the app's request
    hooks and signals run once, and what they set up (``g.db``) is there for it.  A GET that
    answers 2xx means the resource exists, even when its streamed body cannot be hashed;
    its tag is then unknown and matches nothing (fail safe: 412, nothing written).
    """
    served = current_request()
    try:
        rule, args = app.create_url_adapter(served).match(method="GET", return_rule=True)  # type: ignore[union-attr]
    except HTTPException:
        return MISSING  # no GET at this URL: there is no representation to compare
    view = app.view_functions[rule.endpoint]
    with _serving_as_get(served, rule, args):
        try:
            response = app.make_response(app.ensure_sync(view)(**args))
        except HTTPException:
            return MISSING  # the GET would answer an error (abort(404), a redirect)
        try:
            if not is_success(response):
                return MISSING
            current = body_validators(response, generator, settings)
        finally:
            response.close()  # only its validators are needed; a stream is never consumed
    return Validators(exists=True) if current is None else current


@contextmanager
def _serving_as_get(served: Request, rule: Any, args: Mapping[str, Any]) -> Iterator[None]:
    """Let ``served`` look like the plain GET of its URL while the GET view renders it."""
    environ = served.environ
    saved = (served.method, served.url_rule, served.view_args)
    hidden = _take_fields(environ, (*_DECIDED_BY_THE_EXTENSION, "HTTP_RANGE", "HTTP_IF_RANGE"))
    method_field = environ.get("REQUEST_METHOD")
    served.method, served.url_rule, served.view_args = "GET", rule, dict(args)
    environ["REQUEST_METHOD"] = "GET"
    served.__dict__.pop("range", None)
    try:
        yield
    finally:
        served.method, served.url_rule, served.view_args = saved
        environ["REQUEST_METHOD"] = method_field
        environ.update(hidden)
        served.__dict__.pop("range", None)
