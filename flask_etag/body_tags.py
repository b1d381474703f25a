"""Stages 5 and 6 of a body-hash response: its tag is the hash of its body, and what a
read asks is judged by that tag (RFC 9110 §8.8.3, §13.2.2).  Decorated body-hash routes and
auto mode (:mod:`flask_etag.auto`) both tag and judge here.
"""

from __future__ import annotations

import dataclasses

from flask import Response
from werkzeug.http import unquote_etag

from .compression import tag_coded_representation, tag_held_by_client
from .conditions import (
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    is_exact_revalidation,
)
from .cors import expose_etag
from .exceptions import ETagPreconditionFailed
from .exchange import Exchange, refuse
from .folding import INHERIT, apply_route_policy, dates_decide_no_read, folded_tag
from .generators import HashGenerator
from .reasons import failure_reason
from .responses import (
    body_bytes,
    field,
    has_representation,
    is_success,
    quote_own_etag,
    quote_view_etag,
    turn_not_modified,
    validators_of,
    view_date,
    withhold_running_date,
)
from .settings import Settings
from .tags import format_entity_tag, strip_coding


def tag_body(
    exchange: Exchange,
    generator: HashGenerator,
    response: Response,
    status: int,
    *,
    body: bytes | None = None,
) -> str | None:
    """Stage 5: the response's ``ETag``: its own (``send_file``'s), else its body's hash.

    A 206 carries the whole representation's tag, never a hash of the part (§15.3.7); a
    streamed body has none.  The route's ``Cache-Control`` and ``Vary`` go on every 2xx.
    The tag names the bytes the view returned: code that rewrites them later (an
    ``after_request`` hook, an ``after_this_request`` function) must do so the same way
    each time, so that the tag still changes exactly when the bytes sent do (§8.8.1).

    :param body: the identity bytes to hash, from a caller that read them itself (auto
        mode decodes a coded body); by default the response's own body.
    """
    if not has_representation(status):
        return None
    spec, settings = exchange.spec, exchange.settings
    headers = response.headers
    etag_header = coding = modified = None
    for name, value in headers:  # one pass for the three fields
        size = len(name)
        if size == 4 and etag_header is None and name.lower() == "etag":
            etag_header = value  # the first line, as every other stage reads it
        elif size == 16 and name.lower() == "content-encoding":
            coding = value
        elif size == 13 and modified is None and name.lower() == "last-modified":
            modified = value
    if modified is not None and not (exchange.safe and exchange.preconditions is not None):
        withhold_running_date(headers, modified)  # else judge_by_body withholds it
    if etag_header is not None:
        etag_header = quote_view_etag(headers, etag_header)  # §8.8.3: sent quoted
    elif status != 206:
        body = body_bytes(response) if body is None else body
        if body is not None:
            etag_header = body_etag_header(body, generator, settings)
            if spec.scope is not None and (spec.scope is not INHERIT or settings.scope):
                etag_header = _scoped(exchange, etag_header)
            headers.add("ETag", etag_header)
    apply_route_policy(exchange, headers)
    if spec.vary:
        response.vary.update(spec.vary)
    if etag_header is not None and coding is not None:
        tag_coded_representation(response)  # a view that compressed its own output
        etag_header = field(headers, "etag")
    if etag_header is not None and "HTTP_ORIGIN" in exchange.request.environ:
        expose_etag(headers, settings)
    return etag_header


def _scoped(exchange: Exchange, etag_header: str) -> str:
    """A body hash tag with the route's scope folded in (:mod:`flask_etag.folding`)."""
    opaque, weak = unquote_etag(etag_header)
    assert opaque is not None  # made by body_etag_header just before
    return format_entity_tag(folded_tag(exchange, opaque, lookup=False), weak)


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
    settings = exchange.settings
    if preconditions.if_modified_since is not None and (
        (settings.folds_anything or exchange.spec.may_fold) and dates_decide_no_read(exchange)
    ):  # every user's, every release's body has the view's one date: the tag decides (§13.1.3)
        preconditions = preconditions._replace(if_modified_since=None)
    current = validators_of(response)
    if current.etag is not None and not current.weak:
        # A compressor's "x:gzip" is judged as the state "x" it codes, like the client's tags.
        current = dataclasses.replace(current, etag=strip_coding(current.etag))
    accept_weakened = settings.accept_weakened
    outcome = evaluate_preconditions(exchange.method, preconditions, current, accept_weakened)
    return apply_outcome(exchange, response, outcome, current)


def apply_outcome(
    exchange: Exchange, response: Response, outcome: Outcome, current: Validators
) -> Response:
    """Make ``response`` the 304 that ``outcome`` asks for, or raise the 412.

    A view's ``Last-Modified`` of a second still running is withheld from the 2xx, as
    ``tag_body`` withholds it, and from the 304, which carries what the 200 would (§8.8.2.2,
    §15.4.5).
    """
    if not current.second_over:
        response.headers.remove("Last-Modified")
    if outcome is Outcome.NOT_MODIFIED:
        etag_header = field(response.headers, "etag")
        if etag_header is not None:
            held = tag_held_by_client(etag_header, exchange.preconditions, exchange.request.environ)
            if held != etag_header:
                response.headers["ETag"] = held
        return turn_not_modified(response)
    if outcome is Outcome.PRECONDITION_FAILED:
        response.close()  # the body is never sent: release a send_file's open file
        reason = failure_reason(
            exchange.preconditions or Preconditions(), current, exchange.settings.accept_weakened
        )
        refuse(ETagPreconditionFailed(etag=current.etag_header, reason=reason))
    return response


def body_validators(
    response: Response, generator: HashGenerator, settings: Settings
) -> Validators | None:
    """The response's validators: its own ``ETag``, else a hash of its body; None if streamed."""
    if quote_own_etag(response.headers) is not None:  # judged as tag_body sends it (§8.8.3)
        return validators_of(response)
    body = body_bytes(response)
    if body is None:
        return None
    modified, second_over = view_date(response.headers, field(response.headers, "last-modified"))
    return Validators(
        etag=generator.opaque_tag(body, settings.digest),
        weak=generator.weak_or(settings.weak),
        last_modified=modified,
        second_over=second_over,
    )


# --- writes -----------------------------------------------------------------------------------
