"""The one way a request to a decorated route flows, in the order of RFC 9110 §13.2.2.

:func:`serve` takes every request of a route decorated with ``@etag`` or
``@require_if_match`` through these stages, each a function below:

1. :func:`~flask_etag.exchange.read_preconditions`: the four conditional fields (§13.1),
   taken out of the environ once, so that nothing else judges them again; for a write,
   :func:`~flask_etag.body_preconditions.read_body_precondition`: a tag its JSON body
   carries where it sent no ``If-Match``.
2. :func:`require_write_guard`: 428 for a write without ``If-Match`` where the route asks for
   one (RFC 6585 §3).
3. :func:`judge_before_view`: a lookup generator's state (version, timestamp, collection)
   decides 304 or 412 before the view runs (§13.2.1 allows it); the lookup always runs, so
   an access check or ``abort(404)`` inside it always wins.
4. :func:`~flask_etag.exchange.run_view`: the view the request was routed to, and no other.
5. :func:`~flask_etag.state_tags.tag_known_state` / :func:`~flask_etag.body_tags.tag_body`:
   the validators of the state the body describes (§8.8), on a 2xx that carries a
   representation.
6. :func:`~flask_etag.body_tags.judge_by_body` and
   :func:`~flask_etag.view_dates.judge_by_view_date`: what needs the
   response (a body hash, a ``Last-Modified`` the view set) is judged after it (§13.2.2).

A 304 or 412 is an ordinary response of the app (a 412 is raised, so the app's error
handlers render it), and every one passes through the app's ``after_request`` hooks.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from . import body_hash, context, ranges
from .body_preconditions import read_body_precondition
from .compression import tag_held_by_client
from .conditions import (
    IGNORED_METHODS,
    SAFE_METHODS,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    is_exact_revalidation,
    parse_http_date,
)
from .cors import expose_etag
from .exceptions import ETagPreconditionFailed, ETagPreconditionRequired
from .exchange import Exchange, View, read_preconditions, refuse, run_view
from .folding import (
    default_cache_control,
    scope_of,
)
from .generators import HashGenerator, _LookupGenerator
from .invalidation import add_surrogate_keys, announcing_writes
from .reasons import failure_reason
from .responses import (
    has_representation,
)
from .settings import SETTINGS_KEY, current_settings
from .signals import announce_not_modified
from .spec import RouteSpec
from .state_tags import negotiated, tag_known_state
from .view_dates import judge_by_view_date, undated_read


def serve(spec: RouteSpec, view: View, view_args: dict[str, Any]) -> Any:
    """Answer one request to a decorated route: every stage, in order."""
    served: Request = request._get_current_object()  # type: ignore[attr-defined]
    method = served.method
    if method in IGNORED_METHODS:  # §13.2.1: OPTIONS, CONNECT and TRACE ignore them
        return view(**view_args)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    exchange = Exchange(
        app,
        served,
        spec,
        app.extensions.get(SETTINGS_KEY) or current_settings(app),
        view_args,
        read_preconditions(served),
        method,
        method in SAFE_METHODS,
    )
    if exchange.safe:
        response = _respond(exchange, view)
        if spec.keyed and exchange.settings.surrogate_keys:
            add_surrogate_keys(response, spec, exchange.settings, view_args)
        return response
    if context.WRITING_KEY in served.environ:  # called by a write's view or current=
        return _respond(exchange, view)
    with context.serving_write(served.environ):
        exchange = read_body_precondition(exchange)
        require_write_guard(exchange)
        with announcing_writes(spec, view_args) as announce:
            return announce(_respond(exchange, view))


def _respond(exchange: Exchange, view: View) -> Response:
    generator = exchange.spec.generator
    if isinstance(generator, _LookupGenerator):
        return _respond_with_known_state(exchange, generator, view)
    assert isinstance(generator, HashGenerator)  # the only other kind RouteSpec admits
    if exchange.safe:
        return body_hash.read(exchange, generator, view)
    return body_hash.write(exchange, generator, view)


# --- stage 2 ---------------------------------------------------------------------------------


def require_write_guard(exchange: Exchange) -> None:
    """Stage 2, RFC 6585 §3: on a route that asks for it, an unsafe request without
    ``If-Match`` (or ``If-None-Match: *``, create only if absent) is answered 428."""
    if not exchange.spec.requires_if_match:
        return
    preconditions = exchange.preconditions
    if preconditions is None or not preconditions.asks_for_write_guard:
        if isinstance(exchange.spec.generator, _LookupGenerator):  # nothing was checked
            exchange.request.environ.setdefault(context.CHECKED_KEY, None)
        refuse(ETagPreconditionRequired())


# --- a route whose state is looked up: version, timestamp, collection -----------------------


def _respond_with_known_state(
    exchange: Exchange, generator: _LookupGenerator, view: View
) -> Response:
    try:  # generator.look_up, without its call on every request
        checked = generator.lookup(**exchange.view_args)
    except Exception as error:
        # abort(404), an access check, a database down: nothing was checked, which
        # checked_version() says (None) in the app's after_request hooks.
        exchange.request.environ.setdefault(context.CHECKED_KEY, None)
        if isinstance(error, TypeError):
            explained = generator.explain_lookup_error(exchange.view_args)
            if explained is not None:
                raise explained from error
        raise
    environ = exchange.request.environ
    held = None
    if exchange.preconditions is not None or "HTTP_IF_RANGE" in environ:
        if exchange.settings.folds_anything or exchange.spec.may_fold:
            exchange = undated_read(exchange)  # a date names no release nor user
        # For checked_version() in after_request hooks, as on a 200: kept if an enclosing
        # view's state is there already, as context.enter_view keeps it.
        environ.setdefault(context.CHECKED_KEY, checked)
        decided = judge_before_view(exchange, generator, checked)
        if decided is not None:
            return decided
        if "HTTP_RANGE" in environ and _dates_wait_on_view(exchange, generator, checked):
            held = ranges.take_range(exchange.request)  # §13.2.2: the view's date first
    enclosing = context.enter_view(environ, checked)  # for checked_version()
    unsatisfiable: ranges.Unsatisfiable | None = None
    try:
        response = run_view(exchange, generator.view_caller, view, exchange.view_args)
    except RequestedRangeNotSatisfiable as raised:  # how send_file answers 416
        unsatisfiable = raised
    finally:
        reported = context.leave_view(environ, enclosing)
    if unsatisfiable is None:
        status = response.status_code
        if status != 416:
            judged = _tag_and_judge(exchange, generator, checked, reported, response, status)
            return judged if held is None else ranges.served_part(exchange, judged, held)
        unsatisfiable = response
    return _whole_for_unknown_unit(exchange, generator, checked, view, unsatisfiable)


def _tag_and_judge(
    exchange: Exchange,
    generator: _LookupGenerator,
    checked: Any,
    reported: Any,
    response: Response,
    status: int,
) -> Response:
    """Stages 5 and 6 of a looked-up route: tag the view's 2xx, then judge what waited on it."""
    if not has_representation(status):
        return response
    value = tag_known_state(exchange, generator, checked, reported, response)
    if value is not None and exchange.safe and exchange.preconditions is not None:
        return judge_by_view_date(exchange, generator, value, response)
    return response


def _whole_for_unknown_unit(
    exchange: Exchange,
    generator: _LookupGenerator,
    checked: Any,
    view: View,
    unsatisfiable: ranges.Unsatisfiable,
) -> Response:
    """The view's 416, unless it came from a range unit the view does not understand
    (``items=0-9`` to ``send_file``): an origin server must ignore such a ``Range`` (§14.2),
    so the whole is rendered without it, tagged and judged.

    Date conditions that the view's own ``Last-Modified`` decides never meet a 416 here: the
    view ran without ``Range`` (§13.2.2 judges them, steps 2 and 4, before step 5).
    """
    if not ranges.unit_not_understood(exchange.request, unsatisfiable):
        return ranges.keep_unsatisfiable(unsatisfiable)
    ranges.release(unsatisfiable)
    environ = exchange.request.environ
    enclosing = context.enter_view(environ, checked)
    try:
        whole = ranges.render_whole(exchange, view, generator.view_caller)
    finally:
        reported = context.leave_view(environ, enclosing)
    return _tag_and_judge(exchange, generator, checked, reported, whole, whole.status_code)


def _dates_wait_on_view(exchange: Exchange, generator: _LookupGenerator, checked: Any) -> bool:
    """Whether a read's date conditions were left to the view's ``Last-Modified``: the
    looked-up state exists but has no date of its own (:func:`judge_by_view_date`)."""
    preconditions = exchange.preconditions
    if preconditions is None or not exchange.safe or checked is None:
        return False
    if preconditions.if_modified_since is None and preconditions.if_unmodified_since is None:
        return False
    weak = generator.weak_or(exchange.settings.weak)
    return generator.validators_for(checked, weak).last_modified is None


def judge_before_view(
    exchange: Exchange, generator: _LookupGenerator, checked: Any
) -> Response | None:
    """Stage 3: decide by the looked-up state what needs no view (§13.2.2 steps 1-4).

    Returns the 304 or raises the 412; None lets the view run.  The usual revalidation, an
    ``If-None-Match`` holding exactly the current tag, is told from the tag's text alone
    (:func:`~flask_etag.conditions.is_exact_revalidation`).
    """
    preconditions = exchange.preconditions
    if_range = exchange.safe and "HTTP_IF_RANGE" in exchange.request.environ
    if preconditions is None and not if_range:
        return None
    weak = generator.weak_or(exchange.settings.weak)
    # Nothing folded into the tag (the usual route): its text alone decides (folding.py).
    plain = not (exchange.spec.may_fold or exchange.settings.folds_anything)
    exact_possible = plain and exchange.safe and checked is not None
    if preconditions is not None and exact_possible:
        etag_header, last_modified = generator.response_fields(checked, weak)
        if is_exact_revalidation(preconditions, etag_header):
            return _not_modified_before_view(exchange, etag_header, last_modified, plain)
    current = negotiated(exchange, generator.validators_of_value(checked, exchange.settings.weak))
    # §13.2.1: a read of a missing resource is answered 404 by the view, so it is not judged.
    if preconditions is not None and (current.exists or not exchange.safe):
        outcome = evaluate_preconditions(
            exchange.method, preconditions, current, exchange.settings.accept_weakened
        )
        if outcome is Outcome.NOT_MODIFIED:
            if _view_date_may_fail(preconditions, current):
                ranges.take_range(exchange.request)  # a 304 or a 412 is due, never a 206
                return None
            return _not_modified_before_view(
                exchange, current.etag_header, current.date_field, plain
            )
        if outcome is Outcome.PRECONDITION_FAILED:
            reason = failure_reason(preconditions, current, exchange.settings.accept_weakened)
            refuse(ETagPreconditionFailed(etag=current.etag_header, reason=reason))
    if if_range:
        ranges.ignore_range_unless_if_range_matches(exchange.request, current)
    return None


def _not_modified_before_view(
    exchange: Exchange, etag_header: str | None, last_modified: str | None, plain: bool
) -> Response:
    """The 304 of a route decided before the view: the validators its 200 would carry, with
    the route's ``Cache-Control`` and ``Vary`` (§15.4.5), the ``ETag`` in the form the client
    holds (a coded ``"x:gzip"`` stays coded)."""
    response = exchange.app.response_class(status=304)
    headers = response.headers
    if etag_header is not None:
        held = tag_held_by_client(etag_header, exchange.preconditions, exchange.request.environ)
        headers.add("ETag", held)
    if last_modified:  # "": the state's date is withheld (Validators.date_field)
        headers.add("Last-Modified", last_modified)
    spec = exchange.spec
    cache_control = spec.cache_control
    if cache_control is None:
        settings = exchange.settings
        cache_control = settings.cache_control if plain else default_cache_control(exchange)
    elif not plain and scope_of(exchange) is not None:
        cache_control = spec.scoped_cache_control
    if cache_control is not None:
        headers.add("Cache-Control", cache_control)
    if spec.vary:
        headers.add("Vary", ", ".join(spec.vary))
    if "HTTP_ORIGIN" in exchange.request.environ:
        expose_etag(headers, exchange.settings)
    announce_not_modified(response)
    return response


def _view_date_may_fail(preconditions: Preconditions, current: Validators) -> bool:
    """§13.2.2 step 2 comes before step 3: an If-Unmodified-Since that the view's own
    ``Last-Modified`` (``send_file``'s) may make false must be judged before a 304.  One that
    is not a valid HTTP-date is ignored (§13.1.4), so it defers nothing."""
    return (
        preconditions.if_unmodified_since is not None
        and preconditions.if_match is None
        and current.last_modified is None
        and parse_http_date(preconditions.if_unmodified_since) is not None
    )
