"""``flask etag routes``: which endpoints are tagged, how, and which need If-Match.

The table is read from the decorated views themselves (see :mod:`flask_etag.routes`), so it
shows what the app does, not what its documentation says.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .conditions import IGNORED_METHODS, SAFE_METHODS
from .route_order import misplaced_endpoints
from .routes import RouteTagging, describe_view

etag_cli = AppGroup("etag", help="ETags and conditional requests (flask_etag).")

#: Methods every rule answers implicitly; ``flask routes`` leaves them out too.
_IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
_NONE = "-"
#: The cells of a route whose ``@etag`` is above its route decorator: it is served untagged.
_MISPLACED = ("UNTAGGED: @etag is above the route decorator", _NONE, _NONE, _NONE, _NONE)
_HEADINGS = (
    "Endpoint", "Methods", "Rule", "Tag", "Strength", "If-Match", "Cache-Control", "Scope"
)  # fmt: skip


@etag_cli.command("routes")
@click.option("--tagged", is_flag=True, help="Only list endpoints flask_etag tags.")
def routes_command(tagged: bool) -> None:
    """List every endpoint with how its ETag is made and which preconditions it needs."""
    rows: list[tuple[str, ...]] = []
    misplaced = {endpoint for endpoint, _ in misplaced_endpoints(current_app)}
    for rule in sorted(
        current_app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint)
    ):
        view = current_app.view_functions.get(rule.endpoint)
        tagging = None if view is None else describe_view(current_app, view, rule.endpoint)
        if tagging is not None and tagging.auto and not (rule.methods or set()) & SAFE_METHODS:
            tagging = None  # ETAG_AUTO tags GET and HEAD responses only
        if tagged and tagging is None and rule.endpoint not in misplaced:
            continue
        methods = ", ".join(sorted((rule.methods or set()) - _IMPLICIT_METHODS))
        writes = bool((rule.methods or set()) - SAFE_METHODS - IGNORED_METHODS)
        cells = _MISPLACED if rule.endpoint in misplaced else _tagging_cells(tagging, writes)
        rows.append((rule.endpoint, methods, rule.rule, *cells))
    if not rows:
        click.echo("No routes.")
        return
    _echo_table(rows)


def _tagging_cells(tagging: RouteTagging | None, writes: bool) -> tuple[str, str, str, str, str]:
    """The Tag, Strength, If-Match, Cache-Control and Scope cells of one route; ``writes``:
    whether its rule takes an unsafe method, the only kind a 428 answers (RFC 6585 §3)."""
    if tagging is None:
        return (_NONE, _NONE, _NONE, _NONE, _NONE)
    if_match = "required" if tagging.requires_if_match and writes else "optional"
    if tagging.auto:
        if_match = _NONE  # auto mode judges GET and HEAD only
    return (
        tagging.generator,
        "weak" if tagging.weak else "strong",
        if_match,
        tagging.cache_control or _NONE,
        tagging.scope or _NONE,
    )


def _echo_table(rows: list[tuple[str, ...]]) -> None:
    widths = [
        max(len(row[column]) for row in (_HEADINGS, *rows)) for column in range(len(_HEADINGS))
    ]
    for row in (_HEADINGS, tuple("-" * width for width in widths), *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
