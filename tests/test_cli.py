"""``flask etag routes``: one row per URL rule, read from the decorated views themselves."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from conftest import MakeApp
from flask import Flask

from flask_etag import ETag, HashGenerator, VersionGenerator, etag, require_if_match

Row = dict[str, str]


def routes_table(app: Flask, *args: str) -> dict[str, Row]:
    """Run the command and parse its table: endpoint -> {column: cell}."""
    result = app.test_cli_runner().invoke(args=["etag", "routes", *args])
    assert result.exit_code == 0, result.output
    heading, dashes, *lines = result.output.splitlines()
    spans, start = [], 0
    for dash in dashes.split("  "):
        spans.append((start, start + len(dash)))
        start += len(dash) + 2
    names = [heading[a:b].strip() for a, b in spans]
    rows = [
        {name: line[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)}
        for line in lines
    ]
    return {row["Endpoint"]: row for row in rows}


def row(tag: str, strength: str, if_match: str, cache_control: str) -> dict[str, str]:
    return {"Tag": tag, "Strength": strength, "If-Match": if_match, "Cache-Control": cache_control}


def tagging_of(table: dict[str, Row], endpoint: str) -> dict[str, str]:
    cells = table[endpoint]
    return {key: cells[key] for key in ("Tag", "Strength", "If-Match", "Cache-Control")}


@pytest.mark.parametrize("view_style", ["function", "async"])
def test_function_views(make_app: MakeApp, view_style: str) -> None:
    """Version, weak, timestamp and hash routes, each with what it sets."""
    table = routes_table(make_app(view_style))
    assert table["items.GET"]["Rule"] == "/items/<int:item_id>"
    assert table["items.GET"]["Methods"] == "GET"
    assert tagging_of(table, "items.GET") == row("version", "strong", "optional", "no-cache")
    assert tagging_of(table, "items.PATCH") == row("version", "strong", "required", "-")
    assert tagging_of(table, "optional.PUT") == row("version", "strong", "optional", "-")
    assert tagging_of(table, "weak.GET") == row("version", "weak", "optional", "-")
    assert tagging_of(table, "stamped.GET") == row("timestamp", "strong", "optional", "-")
    assert tagging_of(table, "hashed.GET") == row("hash (blake3)", "strong", "optional", "-")
    assert tagging_of(table, "plain.GET") == row("-", "-", "-", "-")
    assert tagging_of(table, "static") == row("-", "-", "-", "-")


def test_method_views(make_app: MakeApp) -> None:
    """A MethodView's ``decorators`` wrap its as_view function: one row per class."""
    table = routes_table(make_app("methodview"))
    readers, writers = table["items.0"], table["items.1"]
    assert (readers["Methods"], writers["Methods"]) == ("GET", "DELETE, PATCH, PUT")
    assert tagging_of(table, "items.0") == row("version", "strong", "optional", "no-cache")
    assert tagging_of(table, "items.1") == row("version", "strong", "required", "-")


def test_auto_mode_and_app_defaults(make_app: MakeApp) -> None:
    """ETAG_AUTO tags untagged GET routes; ETAG_WEAK and ETAG_CACHE_CONTROL are the defaults."""
    app = make_app(ETAG_AUTO=True, ETAG_WEAK=True, ETAG_CACHE_CONTROL="max-age=5")
    table = routes_table(app)
    assert tagging_of(table, "plain.GET") == row("auto hash (blake3)", "weak", "-", "max-age=5")
    assert tagging_of(table, "hashed.GET") == row("hash (blake3)", "weak", "optional", "max-age=5")
    assert tagging_of(table, "items.GET") == row("version", "strong", "optional", "no-cache")
    assert tagging_of(table, "static") == row("-", "-", "-", "-")  # send_file's own tag


def test_auto_mode_leaves_routes_without_get_untagged() -> None:
    """ETAG_AUTO tags GET and HEAD answers only: a POST-only route goes out untagged, and
    the table says so (with --tagged it is left out)."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, ETAG_CACHE_CONTROL="max-age=5")
    ETag(app)
    app.add_url_rule("/submit", "submit", lambda: {"ok": True}, methods=["POST"])
    app.add_url_rule("/form", "form", lambda: {"ok": True}, methods=["GET", "POST"])
    sent = app.test_client().post("/submit")
    assert "ETag" not in sent.headers and "Cache-Control" not in sent.headers
    table = routes_table(app)
    assert tagging_of(table, "submit") == row("-", "-", "-", "-")
    assert tagging_of(table, "form") == row("auto hash (blake3)", "strong", "-", "max-age=5")
    assert "submit" not in routes_table(app, "--tagged")


def test_rfc6585_3_a_read_only_require_if_match_route_shows_if_match_optional() -> None:
    """A GET is never answered 428, so a read-only ``@require_if_match`` route does not
    require ``If-Match``: the table said ``required``."""
    app = Flask(__name__)
    ETag(app)
    versions = VersionGenerator(lambda: 1)
    app.add_url_rule("/read", "read", require_if_match(versions)(lambda: "x"))
    app.add_url_rule(
        "/both", "both", require_if_match(versions)(lambda: "x"), methods=["GET", "PUT"]
    )
    assert app.test_client().get("/read").status_code == 200
    assert app.test_client().put("/both").status_code == 428
    table = routes_table(app)
    assert tagging_of(table, "read") == row("version", "strong", "optional", "-")
    assert tagging_of(table, "both") == row("version", "strong", "required", "-")


def test_tagged_only(make_app: MakeApp) -> None:
    table = routes_table(make_app(), "--tagged")
    assert "plain.GET" not in table
    assert "static" not in table
    assert "items.GET" in table


def _logged(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        return view(**kwargs)

    return wrapper


def _unwrapped_copy(view: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(**kwargs: Any) -> Any:
        return view(**kwargs)

    wrapper.__wrapped__ = view  # type: ignore[attr-defined]
    return wrapper


@pytest.mark.parametrize("outer", [_logged, _unwrapped_copy], ids=["wraps", "__wrapped__"])
def test_outer_decorators_are_seen_through(outer: Callable[..., Any]) -> None:
    """A decorator above @etag (login_required, say) hides nothing."""
    app = Flask(__name__)
    ETag(app)
    app.add_url_rule(
        "/report", "report", outer(etag(HashGenerator("sha256"), weak=True)(lambda: "r"))
    )
    assert tagging_of(routes_table(app), "report") == row("hash (sha256)", "weak", "optional", "-")


def test_help_names_the_command() -> None:
    app = Flask(__name__)
    ETag(app)
    result = app.test_cli_runner().invoke(args=["etag", "--help"])
    assert result.exit_code == 0
    assert "routes" in result.output
