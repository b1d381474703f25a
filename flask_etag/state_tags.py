"""Stage 5 of a version, timestamp or collection route: the tag of the state a 2xx's body
describes (RFC 9110 §8.8), with the route's folds (:mod:`~flask_etag.folding`) and
``Cache-Control``, as :mod:`~flask_etag.body_tags` tags a body-hash route's by its bytes.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

from . import context
from .compression import tag_coded_representation
from .conditions import Validators
from .cors import expose_etag, expose_view_etag
from .exchange import Exchange
from .folding import (
    apply_route_policy,
    cache_default,
    folded_validators,
    keep_private,
    route_cache_control,
    route_scope,
)
from .generators import _LookupGenerator
from .responses import apply_cache_policy, describes_another_resource, set_validators


def negotiated(exchange: Exchange, current: Validators) -> Validators:
    """The tag of the representation this request gets: the state's, with the negotiated
    fields, the scope and the release folded in (:mod:`flask_etag.folding`)."""
    return folded_validators(exchange, current, lookup=True)


def tag_known_state(
    exchange: Exchange, generator: _LookupGenerator, checked: Any, reported: Any, response: Response
) -> Any:
    """Stage 5: tag a 2xx with the state its body describes; returns that state, or None
    when it is not known (the response then goes out untagged).

    That is the version the view reported (:func:`~flask_etag.set_response_version`), which
    may differ from the lookup's; else, for a read, the state looked up before it (never
    newer than the body read after it), and for a write a fresh lookup.
    """
    settings = exchange.settings
    value = reported
    if value is context.UNSET:
        if not exchange.safe:
            if describes_another_resource(exchange.request, response):
                # The view's own validators, if any, describe that resource.
                expose_view_etag(response.headers, exchange.request.environ, settings)
                return None
            value = generator.look_up_written(exchange.view_args)
        elif generator.rechecks_after_view and not _still_describes(
            generator, checked, exchange.view_args, response
        ):
            value = None
        else:
            value = checked
    if value is None:  # missing, deleted by the write, or changed while the view read
        apply_route_policy(exchange, response.headers)
        return None
    spec = exchange.spec
    weak = generator.weak_or(settings.weak)
    judged = exchange.safe and exchange.preconditions is not None  # by judge_by_view_date
    if spec.may_fold or settings.folds_anything:
        try:
            folded = _tag_folded(exchange, generator, value, weak, response, judged)
        except HTTPException:
            if exchange.safe:
                raise
            # A scope that aborts after a write's view (which signed the caller out) names
            # no one the new state's tag is for: the done write's 2xx stands, untagged, as
            # where the lookup aborts after it (RFC 9110 §9.3.4).
            apply_route_policy(exchange, response.headers)
            return None
        coded, explicit, default = folded
    else:  # the usual route: the state's own tag, the app's policy
        etag_header, last_modified = generator.response_fields(value, weak)
        coded = set_validators(response, etag_header, last_modified, view_date_judged=judged)
        explicit, default = spec.cache_control, settings.cache_control
    if explicit is not None or default is not None:
        apply_cache_policy(response.headers, explicit, default)
    if "HTTP_ORIGIN" in exchange.request.environ:
        expose_etag(response.headers, settings)
    if coded:
        tag_coded_representation(response)  # a view that compressed its own output
    return value


def _tag_folded(
    exchange: Exchange,
    generator: _LookupGenerator,
    value: Any,
    weak: bool,
    response: Response,
    judged: bool,
) -> tuple[bool, str | None, str | None]:
    """Tag with the negotiated fields, scope and release folded in (:mod:`~flask_etag.folding`);
    returns whether the body is coded, and the route's own and default ``Cache-Control``."""
    spec, settings = exchange.spec, exchange.settings
    scope = route_scope(spec, settings)
    if spec.vary or scope is not None or settings.release is not None:
        validators = negotiated(exchange, generator.validators_for(value, weak))
        coded = set_validators(
            response,
            validators.etag_header,
            validators.date_field,
            view_date_judged=judged,
        )
        if spec.vary:
            response.vary.update(spec.vary)
    else:
        etag_header, last_modified = generator.response_fields(value, weak)
        coded = set_validators(response, etag_header, last_modified, view_date_judged=judged)
    if scope is not None and spec.cache_control is None:
        keep_private(response.headers)
    scoped = scope is not None
    return coded, route_cache_control(spec, scoped), cache_default(scoped, settings.cache_control)


def _still_describes(
    generator: _LookupGenerator, checked: Any, view_args: dict[str, Any], response: Response
) -> bool:
    """For a generator that rechecks after the view (a collection): whether the state looked
    up before it is still what the body shows.  Not when a write committed while the view
    read, nor when the body is streamed: its rows are read while it is sent."""
    return not response.is_streamed and generator.still_current(checked, view_args)
