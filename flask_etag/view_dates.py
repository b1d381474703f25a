"""Stage 6 of a looked-up route whose state has no date of its own: a read's date
conditions are judged by the ``Last-Modified`` the view set (``send_file``'s file mtime),
as a looked-up date would be (RFC 9110 §8.8.2, §13.1.3, §13.1.4)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response

from . import ranges
from .body_tags import apply_outcome
from .conditions import Preconditions, evaluate_preconditions, parse_http_date
from .exchange import Exchange
from .folding import folded_validators, scope_of
from .generators import _LookupGenerator
from .responses import field, view_date, withhold_running_date


def judge_by_view_date(
    exchange: Exchange, generator: _LookupGenerator, value: Any, response: Response
) -> Response:
    """Stage 6, §13.1.3 and §13.1.4: a read's date conditions, by the ``Last-Modified`` the
    view set (``send_file``'s) where the state had no date of its own.  That date is judged
    as the state's would be (§8.8.2), and withheld from a 2xx while its second runs."""
    preconditions = exchange.preconditions
    assert preconditions is not None
    if preconditions.if_modified_since is None and preconditions.if_unmodified_since is None:
        withhold_running_date(response.headers)
        return response
    tagged = generator.validators_for(value, generator.weak_or(exchange.settings.weak))
    if tagged.last_modified is not None:
        withhold_running_date(response.headers)
        return response
    modified, second_over = view_date(response.headers, field(response.headers, "last-modified"))
    # Without a date from the view the answer is the one deferred by pipeline._view_date_may_fail.
    dated = (
        tagged
        if modified is None
        else dataclasses.replace(tagged, last_modified=modified, second_over=second_over)
    )
    current = folded_validators(exchange, dated, lookup=True)  # as negotiated() folds
    outcome = evaluate_preconditions(
        exchange.method, preconditions, current, exchange.settings.accept_weakened
    )
    return apply_outcome(exchange, response, outcome, current)


def undated_read(exchange: Exchange) -> Exchange:
    """A read of a looked-up route whose tags fold ``ETAG_RELEASE`` or a scope, judged
    without dates: the state's date names neither.

    A deploy changes the representation (its serializers) without changing the state's date,
    and every user's representation of a state has that one date, so a date a client holds
    from before the deploy, or from another user's page, still matches: ``If-Modified-Since``
    would answer 304 to that body (RFC 9110 §13.1.3), and an ``If-Range`` date would have a
    206 splice these bytes onto those (§13.1.5).  So the first is ignored and the second never
    matches: the tag, which folds both, decides.  A write's ``If-Unmodified-Since`` asks about
    the state (§13.1.4), and stays.
    """
    if not exchange.safe or (exchange.settings.release is None and scope_of(exchange) is None):
        return exchange
    if_range = exchange.request.environ.get("HTTP_IF_RANGE")
    if if_range is not None and parse_http_date(if_range) is not None:
        ranges.take_range(exchange.request)
    preconditions = exchange.preconditions
    if preconditions is None or preconditions.if_modified_since is None:
        return exchange
    remaining = preconditions._replace(if_modified_since=None)
    return exchange._replace(preconditions=None if remaining == Preconditions() else remaining)
