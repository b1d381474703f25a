"""ETagPlugin: each tagged operation documents its validators, preconditions and answers.

GET/HEAD: If-None-Match and 304 (RFC 9110 §13.1.2, §15.4.5); writes: If-Match and 412
(§13.1.1, §15.5.13), required with 428 only under require_if_match (RFC 6585 §3).
"""

from __future__ import annotations

import sys
import types
from datetime import datetime, timezone
from typing import Any

import pytest
from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask
from flask.views import MethodView
from openapi_spec_validator import validate

from flask_etag import (
    ETag,
    ETagConfigurationError,
    TimestampGenerator,
    VersionGenerator,
    etag,
    require_if_match,
)
from flask_etag.openapi import ETagPlugin

_versions = VersionGenerator(lambda product_id: 1)
_stamps = TimestampGenerator(lambda note_id: datetime(2024, 5, 6, tzinfo=timezone.utc))

PATH_ID = "[{in: path, name: %s, required: true, schema: {type: integer}}]"


def build_app(**config: Any) -> Flask:
    """Routes documented with YAML docstrings, as apispec-webframeworks reads them."""
    app = Flask(__name__)
    app.config.update(config)
    ETag(app)

    @app.route("/products/<int:product_id>", methods=["GET", "PATCH", "DELETE"])
    @require_if_match(_versions, cache_control="no-cache")
    def product(product_id: int) -> Any:
        """A product.
        ---
        get:
          parameters: PRODUCT_ID
          responses: {200: {description: The product}}
        patch:
          parameters: PRODUCT_ID
          responses: {200: {description: Changed}}
        delete:
          parameters: PRODUCT_ID
          responses: {204: {description: Deleted}}
        """
        return {}

    @app.route("/drafts/<int:product_id>", methods=["GET", "PUT"])
    @etag(_versions)
    def draft(product_id: int) -> Any:
        """A draft: conditional writes are optional.
        ---
        get:
          parameters: PRODUCT_ID
          responses: {200: {description: The draft}}
        put:
          parameters:
          - {in: path, name: product_id, required: true, schema: {type: integer}}
          - {in: header, name: if-match, description: Mine, schema: {type: string}}
          responses: {200: {description: Replaced}}
        """
        return {}

    class Notes(MethodView):
        decorators = [etag(_stamps)]  # noqa: RUF012

        def get(self, note_id: int) -> Any:
            """---
            responses: {200: {description: The note}}
            parameters: NOTE_ID
            """
            return {}

        def put(self, note_id: int) -> Any:
            """---
            responses: {200: {description: Replaced}}
            parameters: NOTE_ID
            """
            return {}

    app.add_url_rule("/notes/<int:note_id>", view_func=Notes.as_view("notes"))

    @app.route("/health", methods=["GET", "POST"])
    def health() -> Any:
        """Untagged unless ETAG_AUTO.
        ---
        get:
          responses: {200: {description: OK}}
        post:
          responses: {200: {description: OK}}
        """
        return "ok"

    for view in app.view_functions.values():
        for holder in (view, getattr(view, "view_class", None)):
            for target in (holder, getattr(holder, "get", None), getattr(holder, "put", None)):
                if target is not None and target.__doc__:
                    target.__doc__ = target.__doc__.replace("PRODUCT_ID", PATH_ID % "product_id")
                    target.__doc__ = target.__doc__.replace("NOTE_ID", PATH_ID % "note_id")
    return app


def build_spec(app: Flask, version: str = "3.1.0", **plugin_options: Any) -> dict[str, Any]:
    spec = APISpec(
        "Products", "1.0", version, plugins=[FlaskPlugin(), ETagPlugin(**plugin_options)]
    )
    with app.test_request_context():
        for endpoint, view in app.view_functions.items():
            if endpoint != "static":
                spec.path(view=view, app=app)
    document = spec.to_dict()
    validate(document)
    return document


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]  # type: ignore[no-any-return]


def headers_of(document: dict[str, Any], op: dict[str, Any]) -> dict[str, bool]:
    """Header parameters of an operation: name -> required."""
    found = {}
    for parameter in op.get("parameters", []):
        parameter = resolve_in(document, parameter)
        if parameter["in"] == "header":
            found[parameter["name"].lower()] = bool(parameter.get("required", False))
    return found


def resolve_in(document: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref``."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture(params=["3.0.3", "3.1.0"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The spec of build_app(), validated against the OpenAPI schema of that version."""
    return build_spec(build_app(), request.param)


def test_get_documents_if_none_match_304_and_etag(document: dict[str, Any]) -> None:
    """§13.1.2, §15.4.5: a GET can be revalidated; its 200 carries ETag and Cache-Control."""
    get = operation(document, "/products/{product_id}", "get")
    assert headers_of(document, get) == {"if-none-match": False}
    assert set(get["responses"]) == {"200", "304"}
    not_modified = resolve_in(document, get["responses"]["304"])
    assert "ETag" in not_modified["headers"]
    ok = get["responses"]["200"]
    assert set(ok["headers"]) == {"ETag", "Cache-Control"}
    assert ok["headers"]["Cache-Control"]["schema"]["example"] == "no-cache"


def test_required_write_documents_if_match_412_and_428(document: dict[str, Any]) -> None:
    """RFC 6585 §3: If-Match is required, 428 documented; no 304 on a write."""
    patch = operation(document, "/products/{product_id}", "patch")
    assert headers_of(document, patch) == {"if-match": True, "if-none-match": False}
    assert set(patch["responses"]) == {"200", "412", "428"}
    failed = resolve_in(document, patch["responses"]["412"])
    problem = resolve_in(document, failed["content"]["application/problem+json"]["schema"])
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "reason", "etag"}
    assert set(problem["properties"]["reason"]["enum"]) == {
        "stale", "weak-tag", "missing", "exists", "matched", "modified-since",
        "cannot-evaluate", "required",
    }  # fmt: skip
    assert "ETag" in failed["headers"]
    assert "ETag" in patch["responses"]["200"]["headers"]


def test_delete_has_no_etag_on_its_2xx(document: dict[str, Any]) -> None:
    """A deleted resource has no representation, so no tag (§8.8.3)."""
    delete = operation(document, "/products/{product_id}", "delete")
    assert set(delete["responses"]) == {"204", "412", "428"}
    assert "headers" not in delete["responses"]["204"]


def test_optional_write_keeps_the_documented_header(document: dict[str, Any]) -> None:
    """@etag writes: If-Match optional, 412 but no 428; the view's own If-Match stays alone."""
    put = operation(document, "/drafts/{product_id}", "put")
    assert headers_of(document, put) == {"if-match": False, "if-none-match": False}
    mine = [p for p in put["parameters"] if p.get("name") == "if-match"]
    assert mine[0]["description"] == "Mine"
    assert set(put["responses"]) == {"200", "412"}


def test_timestamp_method_view_documents_dates(document: dict[str, Any]) -> None:
    """§13.1.3/§13.1.4: a timestamp route takes the date conditions and sends Last-Modified."""
    get = operation(document, "/notes/{note_id}", "get")
    put = operation(document, "/notes/{note_id}", "put")
    assert headers_of(document, get) == {"if-none-match": False, "if-modified-since": False}
    assert headers_of(document, put) == {
        "if-match": False,
        "if-none-match": False,
        "if-unmodified-since": False,
    }
    assert set(get["responses"]["200"]["headers"]) == {"ETag", "Last-Modified"}


def test_untagged_route_is_left_alone(document: dict[str, Any]) -> None:
    get = operation(document, "/health", "get")
    assert get == {"responses": {"200": {"description": "OK"}}}


def test_auto_mode_documents_reads_only() -> None:
    """ETAG_AUTO tags GET/HEAD responses after the view and judges no write."""
    document = build_spec(build_app(ETAG_AUTO=True))
    get, post = operation(document, "/health", "get"), operation(document, "/health", "post")
    assert set(get["responses"]) == {"200", "304"}
    assert headers_of(document, get) == {"if-none-match": False}
    assert post == {"responses": {"200": {"description": "OK"}}}


def test_components_only_when_used() -> None:
    """A spec without tagged routes carries none of the plugin's components."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/plain")
    def plain() -> str:
        """---
        get:
          responses: {200: {description: OK}}
        """
        return "plain"

    document = build_spec(app)
    assert document.get("components", {}) == {}


def test_problem_details_can_be_left_out() -> None:
    """An app rendering its own 412/428 documents them without the problem+json body."""
    document = build_spec(build_app(), problem_details=False)
    patch = operation(document, "/products/{product_id}", "patch")
    assert "content" not in resolve_in(document, patch["responses"]["412"])


def test_openapi_2_is_refused() -> None:
    with pytest.raises(ETagConfigurationError, match="OpenAPI 3"):
        APISpec("x", "1", "2.0", plugins=[ETagPlugin()])


def test_app_is_needed() -> None:
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin()])
    view = etag(lambda: "x")
    with pytest.raises(ETagConfigurationError, match="app"):
        spec.path("/x", operations={"get": {"responses": {"200": {"description": "x"}}}}, view=view)


def test_the_paths_docs_openapi_md_shows_are_what_its_code_builds() -> None:
    """docs/guides/openapi.md prints a spec's paths: they are what its own code produces."""
    import yaml
    from test_docs import ROOT, blocks

    page = ROOT / "docs/guides/openapi.md"
    module = types.ModuleType("docs_openapi_paths")
    namespace = module.__dict__
    sys.modules[module.__name__] = module
    try:
        for block in blocks(page)[:2]:  # the app, then the spec
            exec(compile(block.code, str(page), "exec"), namespace)
    finally:
        del sys.modules[module.__name__]
    text = page.read_text(encoding="utf-8")
    shown = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(shown)["paths"] == namespace["spec"].to_dict()["paths"]
