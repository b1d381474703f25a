"""Body-hash routes (``@etag`` with a :class:`~flask_etag.HashGenerator`): the stages that
need the response, since a hash is only known once the view has rendered the body.

A read is tagged and judged (304 or 412) right after its view, before the app's
``after_request`` hooks run: a 412 is rendered by the app's error handlers, and the hooks
add their fields to the 304 and the 412 as to any response.  A write is judged before its
view by the hash of the representation ``HashGenerator(current=...)`` renders: never by
running another method's view.
"""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable, abort

from . import ranges
from .body_tags import body_validators, judge_by_body, tag_body
from .conditions import MISSING, Outcome, Preconditions, Validators, evaluate_preconditions
from .cors import expose_view_etag
from .exceptions import ETagPreconditionFailed
from .exchange import Exchange, View, refuse, run_view
from .folding import apply_route_policy, folded_validators, scope_of
from .generators import HashGenerator
from .reasons import CANNOT_EVALUATE, failure_reason
from .responses import field, has_representation, is_success, names_the_target, quote_own_etag


def read(exchange: Exchange, generator: HashGenerator, view: View) -> Response:
    """A GET or HEAD: run the view (stage 4), tag its body (5), judge the request (6)."""
    environ = exchange.request.environ
    if "HTTP_RANGE" in environ and (
        exchange.preconditions is not None or "HTTP_IF_RANGE" in environ
    ):
        return _range_after_preconditions(exchange, generator, view)
    try:
        response = run_view(exchange, None, view, exchange.view_args)
    except RequestedRangeNotSatisfiable as raised:  # how send_file answers 416
        return _after_unsatisfiable(exchange, generator, view, raised)
    status = response.status_code
    if status == 416:
        return _after_unsatisfiable(exchange, generator, view, response)
    if status == 206:
        response = ranges.tagged_as_whole(exchange, generator, view, response)
        status = response.status_code
    etag_header = tag_body(exchange, generator, response, status)
    if exchange.preconditions is None or status == 204:  # §15.3.5: a 204 has nothing to judge
        return response
    return judge_by_body(exchange, response, etag_header)


def _range_after_preconditions(
    exchange: Exchange, generator: HashGenerator, view: View
) -> Response:
    """§13.2.2: the preconditions (steps 1 to 4) and If-Range (§13.1.5) come before
    ``Range`` (step 5), and only the whole representation's tag decides them.

    So the view runs once, without ``Range``, and sends the whole, which is tagged and
    judged (304, 412); only then is the range served from it (:func:`ranges.served_part`).
    A view that met the range would answer a part or a 416 that only a second run of the
    view, for the whole, could overrule.
    """
    range_field = ranges.take_range(exchange.request)
    assert range_field is not None  # read() saw it
    whole = read(exchange, generator, view)
    return ranges.served_part(exchange, whole, range_field)


def _after_unsatisfiable(
    exchange: Exchange, generator: HashGenerator, view: View, unsatisfiable: ranges.Unsatisfiable
) -> Response:
    """A view's 416, to a request without preconditions or If-Range (with them the view never
    meets ``Range``): the whole representation where the view did not understand the range's
    unit (§14.2), else the 416 itself (raised again if it was raised)."""
    whole = ranges.whole_for_unknown_unit(exchange, view, unsatisfiable)
    if whole is None:
        return ranges.keep_unsatisfiable(unsatisfiable)
    status = whole.status_code
    etag_header = tag_body(exchange, generator, whole, status)
    return whole if status == 204 else judge_by_body(exchange, whole, etag_header)


def write(exchange: Exchange, generator: HashGenerator, view: View) -> Response:
    """A write to a body-hash route: judged by the current representation, then performed.

    Its response is tagged only when it is the target's new representation (RFC 9110
    §9.3.4, §8.7): a status document such as ``{"saved": true}`` is not what the next GET
    returns, and a client chaining ``If-Match`` on its hash would always get 412.
    """
    preconditions = exchange.preconditions
    if preconditions is not None and _judged_on_writes(preconditions):
        current = current_representation(exchange, generator)
        if current is None:
            refuse(ETagPreconditionFailed(reason=CANNOT_EVALUATE))
        elif (
            evaluate_preconditions(
                exchange.method, preconditions, current, exchange.settings.accept_weakened
            )
            is not Outcome.PROCEED
        ):
            reason = failure_reason(preconditions, current, exchange.settings.accept_weakened)
            refuse(ETagPreconditionFailed(etag=current.etag_header, reason=reason))
    response = run_view(exchange, None, view, exchange.view_args)
    if not has_representation(response.status_code):
        return response
    if not _describes_the_target(exchange, response):
        quote_own_etag(response.headers)  # the new state's tag, quoted as a read's (§8.8.3)
        apply_route_policy(exchange, response.headers)
        expose_view_etag(response.headers, exchange.request.environ, exchange.settings)
        return response
    try:
        tag_body(exchange, generator, response, response.status_code)
    except HTTPException:  # the scope aborts: the view signed the caller out, as in pipeline
        apply_route_policy(exchange, response.headers)
    return response


def _judged_on_writes(preconditions: Preconditions) -> bool:
    """The fields a write is judged by; If-Modified-Since is for GET and HEAD (§13.1.3)."""
    return (
        preconditions.if_match is not None
        or preconditions.if_none_match is not None
        or preconditions.if_unmodified_since is not None
    )


#: What ``current=`` answers for a target without a representation (RFC 9110 §15.5.5,
#: §15.5.11).
_ABSENT = frozenset({404, 410})


def _status_of(error: HTTPException) -> int | None:
    """The status ``error`` answers with: ``abort(response)`` (a JSON 404) carries no code of
    its own, only its response's."""
    return error.code if error.response is None else error.response.status_code


def current_representation(exchange: Exchange, generator: HashGenerator) -> Validators | None:
    """The validators of the target's current representation, from ``generator.current``.

    None when the route has no such function: a hash cannot be known otherwise.  A function
    that returns None, or answers or aborts with 404 or 410, says there is no representation.
    Any other error (an access check's 403, an outage's 503) says nothing of it, and is the
    write's answer, as a lookup's is: taken for absence, it let ``If-None-Match: *`` through.
    """
    render = generator.current
    if render is None:
        return None
    try:
        result = render(**exchange.view_args)
    except HTTPException as error:
        if _status_of(error) in _ABSENT:
            return MISSING
        raise
    except TypeError as error:  # a set-up mistake, where url_value_preprocessors hid it
        explained = generator.explain_current_error(exchange.view_args)
        if explained is None:
            raise
        raise explained from error
    if result is None:
        return MISSING
    response = exchange.app.make_response(result)
    if response.status_code >= 400 and response.status_code not in _ABSENT:
        abort(response)
    try:
        if not is_success(response):
            return MISSING
        current = body_validators(response, generator, exchange.settings)
        own_tag = field(response.headers, "etag") is not None
    finally:
        response.close()  # only its validators are needed; a stream is never consumed
    # An existing representation whose streamed body cannot be hashed matches no tag.
    if current is None:
        return Validators(exists=True)
    # As tag_body: a body hash folds a scope, nothing else, and the view's own tag
    # (send_file's) is sent as it is, so the 412 names the tag the GET sends (§8.8.3).
    if own_tag or scope_of(exchange) is None:
        return current
    return folded_validators(exchange, current, lookup=False)


def _describes_the_target(exchange: Exchange, response: Response) -> bool:
    """§8.7: a ``Content-Location`` naming the request's URI says the body is its representation."""
    location = field(response.headers, "content-location")
    return location is not None and names_the_target(exchange.request, location)
