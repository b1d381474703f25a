"""Body-hash routes (``@etag`` with a :class:`~flask_etag.HashGenerator`): the stages that
need the response, since a hash is only known once the view has rendered the body.

A read is tagged and judged (304 or 412) right after its view, and judged again after the
request's ``after_this_request`` functions if one of them rewrote the body (RFC 9110 §8.8.3:
a strong tag names exactly the bytes sent).  A write is judged before its view by the hash of
the representation ``HashGenerator(current=...)`` renders: never by running another method's
view.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from flask import Response, after_this_request
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable

from . import ranges
from .compression import tag_coded_representation, tag_held_by_client
from .conditions import (
    MISSING,
    SAFE_METHODS,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    is_exact_revalidation,
)
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator
from .responses import (
    apply_cache_policy,
    body_bytes,
    has_representation,
    is_success,
    parse_last_modified,
    turn_not_modified,
    validators_of,
)
from .settings import Settings
from .tags import format_entity_tag, strip_coding

if TYPE_CHECKING:
    from .pipeline import Exchange, View


def read(exchange: Exchange, generator: HashGenerator, view: View) -> Response:
    """A GET or HEAD: run the view (stage 4), tag its body (5), judge the request (6)."""
    from .pipeline import call_view, run_view

    try:
        response = run_view(exchange, call_view, view, exchange.view_args)
    except RequestedRangeNotSatisfiable as unsatisfiable:  # how send_file answers 416
        if not ranges.judged_before_range(exchange):
            raise
        decided = ranges.unsatisfiable_range_after_preconditions(exchange, view, unsatisfiable)
        if decided is None:
            raise
        return decided
    if response.status_code == 416 and ranges.judged_before_range(exchange):
        decided = ranges.unsatisfiable_range_after_preconditions(exchange, view, response)
        return response if decided is None else decided
    if response.status_code == 206:
        response = ranges.settle_partial(exchange, generator, view, response)
    etag_header = tag_body(exchange, generator, response)
    if exchange.preconditions is None or response.status_code == 204:
        return response  # §15.3.5: a 204 has no representation to judge
    return judge_by_body(exchange, response, etag_header)


def tag_body(
    exchange: Exchange,
    generator: HashGenerator,
    response: Response,
    *,
    body: bytes | None = None,
) -> str | None:
    """Stage 5: the response's ``ETag``: its own (``send_file``'s), else its body's hash.

    A 206 carries the whole representation's tag, never a hash of the part (§15.3.7); a
    streamed body has none.  The route's ``Cache-Control`` and ``Vary`` go on every 2xx.

    :param body: the identity bytes, from a caller that runs after every rewrite (auto
        mode); otherwise the body is read here and checked again after rewrites.
    """
    status = response.status_code
    if not has_representation(status):
        return None
    spec, settings = exchange.spec, exchange.settings
    headers = response.headers
    etag_header = headers.get("ETag")
    if etag_header is None and status != 206:
        final = body is not None
        body = body if final else body_bytes(response)
        if body is not None:
            etag_header = body_etag_header(body, generator, settings)
            headers["ETag"] = etag_header
            if not final:
                _judge_again_after_rewrites(exchange, generator, response, body)
    apply_cache_policy(headers, spec.cache_control, settings.cache_control)
    if spec.vary:
        response.vary.update(spec.vary)
    if etag_header is not None and "Content-Encoding" in headers:
        tag_coded_representation(response)  # a view that compressed its own output
        etag_header = headers.get("ETag")
    return etag_header


def body_etag_header(body: bytes, generator: HashGenerator, settings: Settings) -> str:
    """The ``ETag`` field value of ``body`` by ``generator``, or by the app's defaults."""
    if generator.uses_app_defaults:
        return settings.tag_body(body)
    opaque = generator.opaque_tag(body, settings.digest)
    return format_entity_tag(opaque, generator.weak_or(settings.weak))


def judge_by_body(exchange: Exchange, response: Response, etag_header: str | None) -> Response:
    """Stage 6: answer a GET or HEAD 304 or 412 by the validators ``response`` carries.

    A streamed response has no tag (its body is never buffered), but it exists and may carry
    ``Last-Modified``: ``If-Match``, ``If-None-Match: *`` and the date conditions still apply.
    """
    preconditions = exchange.preconditions
    if preconditions is None or not is_success(response):
        return response
    if etag_header is not None and is_exact_revalidation(preconditions, etag_header):
        return turn_not_modified(response)
    current = validators_of(response)
    if current.etag is not None and not current.weak:
        # A compressor's "x:gzip" is judged as the state "x" it codes, like the client's tags.
        current = dataclasses.replace(current, etag=strip_coding(current.etag))
    outcome = evaluate_preconditions(exchange.method, preconditions, current)
    return apply_outcome(exchange, response, outcome, current)


def apply_outcome(
    exchange: Exchange, response: Response, outcome: Outcome, current: Validators
) -> Response:
    """Make ``response`` the 304 that ``outcome`` asks for, or raise the 412."""
    if outcome is Outcome.NOT_MODIFIED:
        etag_header = response.headers.get("ETag")
        if etag_header is not None:
            held = tag_held_by_client(etag_header, exchange.request.environ)
            if held != etag_header:
                response.headers["ETag"] = held
        return turn_not_modified(response)
    if outcome is Outcome.PRECONDITION_FAILED:
        from .pipeline import refuse

        response.close()  # the body is never sent: release a send_file's open file
        refuse(ETagPreconditionFailed(etag=current.etag_header))
    return response


def _judge_again_after_rewrites(
    exchange: Exchange, generator: HashGenerator, tagged: Response, hashed: bytes
) -> None:
    """Tag again, and judge again, a body that an ``after_this_request`` function rewrote.

    Those functions run after the view returns (a view's, or a ``before_request`` hook's):
    one that adds a token to a page makes the bytes sent differ from the bytes hashed, and
    the tag must name the bytes sent (§8.8.3).  Registered now, this runs after them.
    """
    preconditions = exchange.preconditions
    settings = exchange.settings

    def tag_bytes_sent(response: Response) -> Response:
        if response is not tagged or response.status_code == 304:
            return response
        if "Content-Encoding" in response.headers:
            return response  # coded from the bytes hashed
        sent = body_bytes(response)
        if sent is hashed or sent == hashed:
            return response
        if sent is None:
            response.headers.remove("ETag")  # streamed now: no tag can describe it
            return response
        etag_header = body_etag_header(sent, generator, settings)
        response.headers["ETag"] = etag_header
        if (
            preconditions is not None
            and exchange.method in SAFE_METHODS
            and is_exact_revalidation(preconditions, etag_header)
        ):
            return turn_not_modified(response)
        return response

    after_this_request(tag_bytes_sent)


def body_validators(
    response: Response, generator: HashGenerator, settings: Settings
) -> Validators | None:
    """The response's validators: its own ``ETag``, else a hash of its body; None if streamed."""
    if "ETag" in response.headers:
        return validators_of(response)
    body = body_bytes(response)
    if body is None:
        return None
    return Validators(
        etag=generator.opaque_tag(body, settings.digest),
        weak=generator.weak_or(settings.weak),
        last_modified=parse_last_modified(response.headers.get("Last-Modified")),
    )


# --- writes -----------------------------------------------------------------------------------


def write(exchange: Exchange, generator: HashGenerator, view: View) -> Response:
    """A write to a body-hash route: judged by the current representation, then performed.

    Its response is tagged only when it is the target's new representation (RFC 9110
    §9.3.4, §8.7): a status document such as ``{"saved": true}`` is not what the next GET
    returns, and a client chaining ``If-Match`` on its hash would always get 412.
    """
    from .pipeline import call_view, refuse, run_view

    preconditions = exchange.preconditions
    if preconditions is not None and _judged_on_writes(preconditions):
        current = current_representation(exchange, generator)
        if current is None:
            refuse(ETagPreconditionFailed(description=_CANNOT_JUDGE))
        elif evaluate_preconditions(exchange.method, preconditions, current) is not Outcome.PROCEED:
            refuse(ETagPreconditionFailed(etag=current.etag_header))
    response = run_view(exchange, call_view, view, exchange.view_args)
    if not has_representation(response.status_code):
        return response
    if not _describes_the_target(exchange, response):
        apply_cache_policy(
            response.headers, exchange.spec.cache_control, exchange.settings.cache_control
        )
        return response
    tag_body(exchange, generator, response)
    return response


_CANNOT_JUDGE = (
    "This route tags its representation by a hash of the body and has no way to render the "
    "current one before a write, so the precondition cannot be evaluated and nothing was "
    "changed. (Server set-up: give its generator current=..., or use a VersionGenerator.)"
)


def _judged_on_writes(preconditions: Preconditions) -> bool:
    """The fields a write is judged by; If-Modified-Since is for GET and HEAD (§13.1.3)."""
    return (
        preconditions.if_match is not None
        or preconditions.if_none_match is not None
        or preconditions.if_unmodified_since is not None
    )


def current_representation(exchange: Exchange, generator: HashGenerator) -> Validators | None:
    """The validators of the target's current representation, from ``generator.current``.

    None when the route has no such function: a hash cannot be known otherwise.  A function
    that returns None, answers an error or aborts (404) says there is no representation.
    """
    render = generator.current
    if render is None:
        return None
    try:
        result = render(**exchange.view_args)
    except HTTPException:
        return MISSING
    if result is None:
        return MISSING
    response = exchange.app.make_response(result)
    try:
        if not is_success(response):
            return MISSING
        current = body_validators(response, generator, exchange.settings)
    finally:
        response.close()  # only its validators are needed; a stream is never consumed
    # An existing representation whose streamed body cannot be hashed matches no tag.
    return Validators(exists=True) if current is None else current


def _describes_the_target(exchange: Exchange, response: Response) -> bool:
    """§8.7: a ``Content-Location`` naming the request's URI says the body is its representation."""
    location = response.headers.get("Content-Location")
    if location is None:
        return False
    url = exchange.request.url
    return urljoin(url, location) == url
