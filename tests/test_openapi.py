"""ETagPlugin: each tagged operation documents its validators, preconditions and answers.

GET/HEAD: If-None-Match and 304 (RFC 9110 §13.1.2, §15.4.5); writes: If-Match and 412
(§13.1.1, §15.5.13), required with 428 only under require_if_match (RFC 6585 §3), and the
tag a JSON body may carry instead with its 400.  Item schemas get their ``etag`` member on
request, batch routes their entries, results and refusals; what the documents promise is
checked against what the routes send (RFC 9457 problems included).
"""

from __future__ import annotations

import sys
import time
import types
from copy import deepcopy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask, request
from flask.views import MethodView
from openapi_schema_validator import OAS30Validator, OAS31Validator
from openapi_spec_validator import validate
from support_databases import dispose_after_test
from test_batches import _Keyed, keyed_client
from test_example import products

from flask_etag import (
    ETag,
    ETagConfigurationError,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    etag,
    require_if_match,
)
from flask_etag.openapi import BatchWrites, ETagPlugin, etag_member_schema

_versions = VersionGenerator(lambda product_id: 1)
_stamps = TimestampGenerator(lambda note_id: datetime(2024, 5, 6, tzinfo=timezone.utc))

PATH_ID = "[{in: path, name: %s, required: true, schema: {type: integer}}]"
PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = "application/merge-patch+json"
_STRING = {"type": "string"}


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
    assert set(patch["responses"]) == {"200", "400", "412", "428"}
    failed = resolve_in(document, patch["responses"]["412"])
    problem = resolve_in(document, failed["content"]["application/problem+json"]["schema"])
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "reason", "etag"}
    assert set(problem["properties"]["reason"]["enum"]) == {
        "stale", "weak-tag", "missing", "exists", "matched", "modified-since",
        "cannot-evaluate", "required",
    }  # fmt: skip
    assert "ETag" in failed["headers"]
    assert "ETag" in patch["responses"]["200"]["headers"]


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_an_optional_compare_and_set_write_documents_409_rfc9110_15_5_10(version: str) -> None:
    """A ``ModelVersionGenerator`` write that need not send a precondition can lose the
    compare-and-set to another client's and is answered 409 (RFC 9110 §15.5.10); one that
    must send If-Match is answered 428 without it, so it never gets a 409."""
    import sqlalchemy as sa
    from flask_sqlalchemy import SQLAlchemy

    from flask_etag.sqlalchemy import ModelVersionGenerator

    db = SQLAlchemy()

    class Memo(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "openapi_memos"
        id = sa.Column(sa.Integer, primary_key=True)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)
    memos = ModelVersionGenerator(Memo, db.session)

    @app.put("/memos/<int:memo_id>")
    @etag(memos)
    def put_memo(memo_id: int) -> Any:
        return {}

    @app.patch("/memos/<int:memo_id>")
    @require_if_match(memos)
    def patch_memo(memo_id: int) -> Any:
        return {}

    for view, method in ((put_memo, "put"), (patch_memo, "patch")):
        view.__doc__ = (
            f"---\n{method}:\n  parameters: {PATH_ID % 'memo_id'}\n"
            "  responses: {200: {description: Written}}\n"
        )
    document = build_spec(app, version)
    put = operation(document, "/memos/{memo_id}", "put")
    assert set(put["responses"]) == {"200", "400", "409", "412"}
    conflict = resolve_in(document, put["responses"]["409"])
    problem = resolve_in(document, conflict["content"]["application/problem+json"]["schema"])
    assert problem["properties"]["reason"]["enum"] == ["conflict"]
    assert "ETag" in conflict["headers"]
    assert "409" not in operation(document, "/memos/{memo_id}", "patch")["responses"]


def test_delete_has_no_etag_on_its_2xx(document: dict[str, Any]) -> None:
    """A deleted resource has no representation, so no tag (§8.8.3)."""
    delete = operation(document, "/products/{product_id}", "delete")
    assert set(delete["responses"]) == {"204", "400", "412", "428"}
    assert "headers" not in delete["responses"]["204"]


def test_optional_write_keeps_the_documented_header(document: dict[str, Any]) -> None:
    """@etag writes: If-Match optional, 412 but no 428; the view's own If-Match stays alone."""
    put = operation(document, "/drafts/{product_id}", "put")
    assert headers_of(document, put) == {"if-match": False, "if-none-match": False}
    mine = [p for p in put["parameters"] if p.get("name") == "if-match"]
    assert mine[0]["description"] == "Mine"
    assert set(put["responses"]) == {"200", "400", "412"}


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


@pytest.mark.parametrize(
    "config",
    [{"ETAG_RELEASE": "r2"}, {"SECRET_KEY": "k", "ETAG_SCOPE": lambda: "alice"}],
    ids=["release", "scope"],
)
def test_a_date_that_decides_no_read_is_not_offered_rfc9110_13_1_3(config: dict[str, Any]) -> None:
    """Under ETAG_RELEASE or a scope a timestamp route ignores If-Modified-Since (the date
    names no release nor user, docs/guides/scopes.md): its spec must not offer it, while
    Last-Modified is still sent and a write's If-Unmodified-Since still judged."""
    app = build_app(**config)
    document = build_spec(app)
    get = operation(document, "/notes/{note_id}", "get")
    put = operation(document, "/notes/{note_id}", "put")
    assert headers_of(document, get) == {"if-none-match": False}
    assert "if-unmodified-since" in headers_of(document, put)
    assert "Last-Modified" in get["responses"]["200"]["headers"]
    client = app.test_client()
    dated = client.get("/notes/1").headers["Last-Modified"]
    assert client.get("/notes/1", headers={"If-Modified-Since": dated}).status_code == 200


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


def test_a_header_documented_by_a_component_is_not_added_again_openapi_4_8_10() -> None:
    """A header the operation documents by a parameter component of the app's own is kept
    as it is: a second one of that name would break OpenAPI 3.1.0 §4.8.10 (parameters are
    unique by name and location)."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/reports")
    @etag(VersionGenerator(lambda: 1))
    def reports() -> Any:
        return {}

    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=app)])
    header = {"name": "If-None-Match", "schema": _STRING}
    spec.components.parameter("IfNoneMatchHeader", "header", header)
    get = {
        "parameters": ["IfNoneMatchHeader"],
        "responses": {"200": {"description": "The reports"}},
    }
    spec.path("/reports", operations={"get": get}, view=reports)
    document = spec.to_dict()
    validate(document)
    get = operation(document, "/reports", "get")
    assert get["parameters"] == [{"$ref": "#/components/parameters/IfNoneMatchHeader"}]
    assert app.test_client().get("/reports", headers={"If-None-Match": '"1"'}).status_code == 304


@pytest.mark.parametrize("cache_control", [None, "no-cache"])
def test_auto_mode_under_etag_scope_documents_the_private_tag_it_sends_rfc9111_5_2_2_7(
    cache_control: str | None,
) -> None:
    """ETAG_AUTO under ETAG_SCOPE folds the caller into each body's tag and makes the 200
    ``private`` (RFC 9111 §5.2.2.7), as a scoped ``@etag`` route does: the spec said a
    shared tag and the app's ``ETAG_CACHE_CONTROL`` as it is, or no Cache-Control at all."""
    app = build_app(
        ETAG_AUTO=True,
        ETAG_SCOPE=lambda: request.headers.get("X-User"),
        ETAG_CACHE_CONTROL=cache_control,
        SECRET_KEY="not for production",
    )
    document = build_spec(app)
    headers = operation(document, "/health", "get")["responses"]["200"]["headers"]
    client = app.test_client()
    served = client.get("/health", headers={"X-User": "ada"})
    other = client.get("/health", headers={"X-User": "bob"})
    assert served.headers["ETag"] != other.headers["ETag"]  # each caller's own
    assert "caller's own" in resolve_in(document, headers["ETag"])["description"]
    assert headers["Cache-Control"]["schema"]["example"] == served.headers["Cache-Control"]


@pytest.mark.parametrize("batch", [None, BatchWrites()], ids=["tagged", "batch"])
def test_a_2xx_response_given_by_reference_is_left_as_it_is_openapi_4_8_23(
    batch: BatchWrites | None,
) -> None:
    """A Reference Object allows nothing beside ``$ref`` but a summary and a description
    (OpenAPI 3.1.0 §4.8.23; 3.0.3 §4.7.23 ignores anything else): the ``ETag`` header, or
    a batch's results, went beside it and made the document invalid."""
    app = build_app()
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=app)])
    spec.components.response("Draft", {"description": "The draft"})
    put = {
        "parameters": [{"in": "path", "name": "product_id", "required": True, "schema": _STRING}],
        "responses": {"200": {"$ref": "#/components/responses/Draft"}},
    }
    operations = {"get": deepcopy(put), "put": put}
    view = app.view_functions["draft" if batch is None else "health"]  # a batch: untagged
    spec.path("/drafts/{product_id}", operations=operations, view=view, etag_batch=batch)
    document = spec.to_dict()
    validate(document)
    for method in ("get", "put"):
        responses = operation(document, "/drafts/{product_id}", method)["responses"]
        assert responses["200"] == {"$ref": "#/components/responses/Draft"}
    assert app.test_client().get("/drafts/1").headers["ETag"] == '"1"'


@pytest.mark.parametrize("judged", [False, True], ids=["bare", "current"])
def test_writes_to_a_body_hash_route_offer_if_match_only_where_it_is_judged_rfc9110_13_1_1(
    judged: bool,
) -> None:
    """A bare ``@etag`` cannot know its current hash before a write, so every write that
    carries a precondition is refused 412 (cannot-evaluate): the spec offered If-Match there
    as "412 if it is no longer current", and a client sending the tag it had just read never
    wrote.  ``HashGenerator(current=...)`` judges it, and the spec says so."""
    app = Flask(__name__)
    ETag(app)

    def current_report(report_id: int) -> Any:
        return {"id": report_id}

    generator = HashGenerator(current=current_report if judged else None)

    @app.route("/reports/<int:report_id>", methods=["GET", "PUT"])
    @etag(generator)
    def report(report_id: int) -> Any:
        """---
        get:
          parameters: REPORT_ID
          responses: {200: {description: The report}}
        put:
          parameters: REPORT_ID
          responses: {200: {description: Replaced}}
        """
        return current_report(report_id)

    report.__doc__ = str(report.__doc__).replace("REPORT_ID", PATH_ID % "report_id")
    document = build_spec(app)
    put = operation(document, "/reports/{report_id}", "put")
    client = app.test_client()
    tag = client.get("/reports/1").headers["ETag"]
    written = client.put("/reports/1", json={}, headers={"If-Match": tag})
    assert (written.status_code == 200) is judged
    assert ("if-match" in headers_of(document, put)) is judged
    assert ("412" in put["responses"]) is judged
    assert client.put("/reports/1", json={}).status_code == 200  # what the spec offers


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


def test_rfc9110_13_1_a_decorated_view_of_an_app_without_init_app_is_refused() -> None:
    """Its spec used to leave out If-Match, 412 and 428, as if the route took no conditions."""
    app = Flask(__name__)

    @app.route("/products/<int:product_id>", methods=["GET", "PATCH"])
    @require_if_match(VersionGenerator(lambda product_id: 1))
    def product(product_id: int) -> Any:
        """---
        patch:
          responses: {200: {description: OK}}
        """
        return {"id": product_id}

    spec = APISpec("x", "1", "3.1.0", plugins=[FlaskPlugin(), ETagPlugin(app=app)])
    with app.test_request_context(), pytest.raises(ETagConfigurationError, match="init_app"):
        spec.path(view=product)


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


# --- the tag in a write's JSON body (flask_etag.body_preconditions) -------------------------


def if_match_of(document: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """The operation's ``If-Match`` parameter, resolved."""
    parameters = [resolve_in(document, parameter) for parameter in op["parameters"]]
    return next(p for p in parameters if p["in"] == "header" and p["name"].lower() == "if-match")


def test_writes_document_the_body_member_and_its_400_rfc9110_13_1_1(
    document: dict[str, Any],
) -> None:
    """ETAG_BODY_MEMBER (``etag``): If-Match says the body may carry the tag instead, and the
    400 a bad one gets lists its reasons; reads take no body tag."""
    patch = operation(document, "/products/{product_id}", "patch")
    if_match = if_match_of(document, patch)
    assert if_match["required"] is True
    assert "JSON body's `etag` member" in if_match["description"]
    assert "If-None-Match: *" in if_match["description"]
    invalid = resolve_in(document, patch["responses"]["400"])
    assert "`etag`" in invalid["description"]
    problem = invalid["content"][PROBLEM_JSON]["schema"]
    assert problem["properties"]["reason"]["enum"] == ["bad-body-tag", "body-disagrees"]
    optional = if_match_of(document, operation(document, "/notes/{note_id}", "put"))
    assert "required" not in optional
    assert "JSON body's `etag` member" in optional["description"]
    assert "400" not in operation(document, "/products/{product_id}", "get")["responses"]


def test_without_a_body_member_writes_document_the_header_alone() -> None:
    """ETAG_BODY_MEMBER = None: nothing about bodies, and none of their components."""
    document = build_spec(build_app(ETAG_BODY_MEMBER=None))
    patch = operation(document, "/products/{product_id}", "patch")
    assert set(patch["responses"]) == {"200", "412", "428"}
    assert "body" not in if_match_of(document, patch)["description"]
    components = document["components"]
    assert set(components["responses"]) == {"NotModified", "PreconditionFailed",
                                             "PreconditionRequired"}  # fmt: skip
    assert "schemas" not in components  # no batch route, so no BatchResults


def test_the_body_member_is_the_apps_own() -> None:
    document = build_spec(build_app(ETAG_BODY_MEMBER="@odata.etag"))
    patch = operation(document, "/products/{product_id}", "patch")
    assert "JSON body's `@odata.etag` member" in if_match_of(document, patch)["description"]
    assert "`@odata.etag`" in resolve_in(document, patch["responses"]["400"])["description"]


def test_two_apps_with_other_body_members_get_components_of_their_own() -> None:
    """One spec, two apps: each If-Match and 400 reads as its own app answers."""
    spec = APISpec("x", "1", "3.1.0", plugins=[FlaskPlugin(), ETagPlugin()])
    for app in (build_app(), build_app(ETAG_BODY_MEMBER=None)):
        with app.test_request_context():
            spec.path(view=app.view_functions["product"], app=app)
    document = spec.to_dict()
    validate(document)
    parameters = document["components"]["parameters"]
    assert "`etag` member" in parameters["IfMatchRequired"]["description"]
    assert "body" not in parameters["IfMatchRequired.none"]["description"]
    patch = operation(document, "/products/{product_id}", "patch")  # the second app's
    assert {"$ref": "#/components/parameters/IfMatchRequired.none"} in patch["parameters"]
    assert "400" not in patch["responses"]


def test_the_documented_400_is_what_a_bad_body_tag_gets_rfc9457() -> None:
    """The 400's schema describes the problem the route sends, reason and all."""
    app = build_app()
    document = build_spec(app)
    put = operation(document, "/drafts/{product_id}", "put")
    schema = resolve_in(document, put["responses"]["400"])["content"][PROBLEM_JSON]["schema"]
    client = app.test_client()
    for headers, body, reason in [
        ({}, {"etag": 7}, "bad-body-tag"),
        ({}, {"etag": "*"}, "bad-body-tag"),
        ({"If-Match": '"1"'}, {"etag": '"2"'}, "body-disagrees"),
    ]:
        answer = client.put("/drafts/1", json=body, headers=headers)
        assert (answer.status_code, answer.mimetype) == (400, PROBLEM_JSON)
        problem = answer.get_json()
        OAS31Validator(schema).validate(problem)
        assert problem["reason"] == reason
        assert set(problem) <= set(schema["properties"])
    assert client.put("/drafts/1", json={"etag": '"1"'}).status_code == 200  # as If-Match


def test_inline_json_bodies_of_writes_get_the_member_components_do_not() -> None:
    """The member joins an operation's own JSON object schema; a shared component, which
    other operations use too, is left to ``etag_member=``."""
    app = build_app()
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=app)])
    spec.components.schema("Draft", {"type": "object", "properties": {"text": _STRING}})
    inline = {"type": "object", "properties": {"text": _STRING}}
    put = {
        "parameters": [{"in": "path", "name": "product_id", "required": True, "schema": _STRING}],
        "requestBody": {
            "content": {
                MERGE_PATCH: {"schema": inline},
                "application/json": {"schema": "Draft"},
                "text/plain": {"schema": {"type": "object", "properties": {}}},
            }
        },
        "responses": {"200": {"description": "Replaced"}},
    }
    spec.path("/drafts/{product_id}", operations={"put": put}, view=app.view_functions["draft"])
    document = spec.to_dict()
    validate(document)
    content = operation(document, "/drafts/{product_id}", "put")["requestBody"]["content"]
    assert set(content[MERGE_PATCH]["schema"]["properties"]) == {"text", "etag"}
    assert content["text/plain"]["schema"]["properties"] == {}
    assert set(document["components"]["schemas"]["Draft"]["properties"]) == {"text"}


# --- each item's own tag in a body (flask_etag.item_etag) -----------------------------------


@pytest.mark.parametrize(
    ("config", "etag_member", "name", "writable"),
    [
        ({}, True, "etag", True),
        ({"ETAG_BODY_MEMBER": None}, True, "etag", False),
        ({}, "tag", "tag", False),
        ({"ETAG_BODY_MEMBER": "tag"}, "tag", "tag", True),
    ],
    ids=["body-member", "no-body-member", "other-member", "renamed-body-member"],
)
def test_item_schema_gets_its_etag_member_rfc9110_8_8_3(
    config: dict[str, Any], etag_member: bool | str, name: str, writable: bool
) -> None:
    """``etag_member=`` adds the member; readOnly unless a write may send it back."""
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=build_app(**config))])
    spec.components.schema(
        "Product", {"type": "object", "properties": {"id": {"type": "integer"}}},
        etag_member=etag_member,
    )  # fmt: skip
    spec.components.schema("Plain", {"type": "object", "properties": {}})
    document = spec.to_dict()
    validate(document)
    schemas = document["components"]["schemas"]
    assert set(schemas["Product"]["properties"]) == {"id", name}
    member = schemas["Product"]["properties"][name]
    assert member == etag_member_schema(writable=writable)
    assert member.get("readOnly", False) is not writable
    assert schemas["Plain"]["properties"] == {}


def test_etag_member_joins_a_marshmallow_schema() -> None:
    """After MarshmallowPlugin, the member joins the fields it converted."""
    import marshmallow
    from apispec.ext.marshmallow import MarshmallowPlugin

    class ProductSchema(marshmallow.Schema):
        id = marshmallow.fields.Integer()
        name = marshmallow.fields.String()

    plugins = [MarshmallowPlugin(), ETagPlugin(app=build_app())]
    spec = APISpec("x", "1", "3.0.3", plugins=plugins)
    spec.components.schema("Product", schema=ProductSchema, etag_member=True)
    properties = spec.to_dict()["components"]["schemas"]["Product"]["properties"]
    assert set(properties) == {"id", "name", "etag"}


def test_etag_member_needs_the_app() -> None:
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin()])
    with pytest.raises(ETagConfigurationError, match="app"):
        spec.components.schema("Product", {"type": "object"}, etag_member=True)


# --- batch writes (flask_etag.sqlalchemy.write_batch), on the example -----------------------


def example_spec(app: Flask, batch: BatchWrites, version: str = "3.1.0") -> dict[str, Any]:
    """The example's list, its batch route and its item PATCH, documented."""
    spec = APISpec("Products", "1.0", version, plugins=[FlaskPlugin(), ETagPlugin(app=app)])
    fields = {"name": _STRING, "price": {"type": "number"}, "stock": {"type": "integer"}}
    spec.components.schema(
        "Product", {"type": "object", "properties": {"id": {"type": "integer"}, **fields}},
        etag_member=True,
    )  # fmt: skip
    spec.components.schema("ProductPatch", {"type": "object", "properties": fields})
    listed = {"type": "array", "items": "Product"}
    with app.test_request_context():
        spec.path(
            view=products.list_products,
            operations={"get": {"responses": {"200": {
                "description": "A page of products",
                "content": {"application/json": {"schema": listed}},
            }}}},
        )  # fmt: skip
        spec.path(view=products.patch_products, operations={"patch": {}}, etag_batch=batch)
    document = spec.to_dict()
    validate(document)
    return document


EITHER = BatchWrites(
    atomic=None,
    id_schema={"type": "integer"},
    changes="ProductPatch",
    media_types=(MERGE_PATCH, "application/json"),
)


@pytest.fixture
def example(tmp_path: Path) -> Flask:
    """The example app, with products 101 (seeded) and 102."""
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database})
    dispose_after_test(app)
    app.test_client().post("/api/products", json={"name": "Mouse", "price": 10, "stock": 5})
    return app


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_batch_route_documents_its_entries_results_and_refusals_rfc9110_13_1_1(
    example: Flask, version: str
) -> None:
    document = example_spec(example, EITHER, version)
    patch = operation(document, "/api/products", "patch")
    for media_type in (MERGE_PATCH, "application/json"):
        entries = patch["requestBody"]["content"][media_type]["schema"]
        changes, entry = entries["items"]["allOf"]
        assert changes == {"$ref": "#/components/schemas/ProductPatch"}
        assert entry["required"] == ["id", "etag"]
        assert entry["properties"]["id"]["type"] == "integer"
    assert patch["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchResults"
    }
    assert {code: response.get("$ref") for code, response in patch["responses"].items()} == {
        "200": None,
        "400": "#/components/responses/BadBatch",
        "412": "#/components/responses/BatchPreconditionFailed",
        "428": "#/components/responses/BatchPreconditionRequired",
    }
    failed = resolve_in(document, patch["responses"]["412"])
    problem = failed["content"][PROBLEM_JSON]["schema"]
    assert {"stale", "missing"} <= set(problem["properties"])
    assert problem["properties"]["reason"]["enum"] == ["stale", "missing"]
    assert "headers" not in failed  # a batch has no one current tag


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_a_collection_read_documents_the_date_it_sends_and_judges_rfc9110_13_1_3(
    example: Flask, version: str
) -> None:
    """A CollectionGenerator list sends Last-Modified (its tables' last committed write) and
    answers If-Modified-Since with 304, so its spec says both, as a timestamp route's does."""
    document = example_spec(example, EITHER, version)
    get = operation(document, "/api/products", "get")
    assert headers_of(document, get) == {
        "if-none-match": False,
        "if-modified-since": False,
    }
    assert set(get["responses"]["200"]["headers"]) >= {"ETag", "Last-Modified"}
    time.sleep(1.05)  # the date of the fixture's write is sent once its second is over
    client = example.test_client()
    dated = client.get("/api/products").headers["Last-Modified"]
    assert client.get("/api/products", headers={"If-Modified-Since": dated}).status_code == 304


def test_per_entry_batches_document_no_whole_batch_refusal() -> None:
    """``atomic=False``: every entry is answered in the results, never by a 412 or 428."""
    app = build_app()
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=app)])
    written = {"200": {"description": "Each entry's result"}}
    spec.path("/batch", operations={"post": {"responses": written}, "get": {"responses": written}},
              etag_batch=BatchWrites(atomic=False))  # fmt: skip
    document = spec.to_dict()
    validate(document)
    post = operation(document, "/batch", "post")
    assert set(post["responses"]) == {"200", "400"}
    assert post["responses"]["200"]["description"] == "Each entry's result"
    assert "requestBody" not in operation(document, "/batch", "get")
    assert set(document["components"]["responses"]) == {"BadBatch"}


def test_etag_batch_takes_batch_writes() -> None:
    spec = APISpec("x", "1", "3.1.0", plugins=[ETagPlugin(app=build_app())])
    with pytest.raises(ETagConfigurationError, match="BatchWrites"):
        spec.path("/batch", operations={"post": {}}, etag_batch={"atomic": True})


def test_the_documented_batch_answers_are_what_the_example_sends_rfc9457(
    example: Flask,
) -> None:
    """Listed items, results, and the 400/412/428 problems match the documented schemas."""
    document = example_spec(example, EITHER)
    patch = operation(document, "/api/products", "patch")

    def conforms(answer: Any, code: str) -> Any:
        documented = resolve_in(document, patch["responses"][code])
        media_type = "application/json" if code == "200" else PROBLEM_JSON
        assert (str(answer.status_code), answer.mimetype) == (code, media_type)
        schema = resolve_in(document, documented["content"][media_type]["schema"])
        body = answer.get_json()
        OAS31Validator(schema).validate(body)
        known = schema["items"]["properties"] if code == "200" else schema["properties"]
        for member in body if code == "200" else [body]:
            assert set(member) <= set(known)
        return body

    client = example.test_client()
    listed = client.get("/api/products").get_json()
    product = resolve_in(document, {"$ref": "#/components/schemas/Product"})
    for item in listed:
        OAS31Validator(product).validate(item)
        assert set(item) == set(product["properties"])
    tags = {item["id"]: item["etag"] for item in listed}

    def batch(entries: Any, atomic: bool = True) -> Any:
        url = "/api/products" if atomic else "/api/products?atomic=false"
        return client.patch(url, json=entries, headers={"Content-Type": MERGE_PATCH})

    refused = conforms(batch([{"id": 101, "etag": '"old"'}, {"id": 999, "etag": '"x"'}]), "412")
    assert (refused["stale"], refused["missing"]) == ([{"id": 101, "etag": tags[101]}], [999])
    assert conforms(batch([{"id": 101, "stock": 1}]), "428")["reason"] == "required"
    assert conforms(batch({"id": 101}), "400")["reason"] == "bad-batch"
    written = conforms(
        batch([{"id": n, "etag": tag, "stock": 2} for n, tag in tags.items()]), "200"
    )
    assert [result["status"] for result in written] == [200, 200]
    mixed = [{"id": 101, "etag": tags[101]}, {"id": 102, "etag": written[1]["etag"], "price": -1},
             {"id": 999, "etag": '"x"'}, {"id": 102}]  # fmt: skip
    results = conforms(batch(mixed[:3], atomic=False), "200")
    assert [result["status"] for result in results] == [412, 422, 404]
    assert conforms(batch(mixed[3:], atomic=False), "200")[0]["status"] == 428


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_rfc9110_13_1_1_a_batch_of_another_id_member_documents_the_answers_it_sends(
    tmp_path: Path, version: str
) -> None:
    """A batch whose entries name their item by ``sku`` answers by ``sku``: its documented
    results and 412 name that member, in components of their own, while a batch by ``id``
    on the same spec keeps the shared ones."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'keyed.sqlite3'}")
    _Keyed.metadata.create_all(engine)
    app = keyed_client(engine, "string", id_member="sku").application
    spec = APISpec("Items", "1.0", version, plugins=[ETagPlugin(app=app)])
    sku = BatchWrites(id_member="sku", id_schema={"type": "string"})
    spec.path("/items", operations={"patch": {}}, etag_batch=sku)
    spec.path("/other", operations={"patch": {}}, etag_batch=BatchWrites())
    document = spec.to_dict()
    validate(document)
    other = operation(document, "/other", "patch")["responses"]
    assert other["412"] == {"$ref": "#/components/responses/BatchPreconditionFailed"}
    responses = operation(document, "/items", "patch")["responses"]
    results = resolve_in(document, responses["200"]["content"]["application/json"]["schema"])
    failed = resolve_in(document, responses["412"])["content"][PROBLEM_JSON]["schema"]
    client = app.test_client()
    tag = client.get("/items/lamp").headers["ETag"]
    written = client.patch("/items", json=[{"sku": "lamp", "etag": tag, "stock": 1}])
    stale = client.patch("/items", json=[{"sku": "lamp", "etag": tag, "stock": 2}])
    assert (written.status_code, stale.status_code) == (200, 412)
    assert results["items"]["required"] == ["sku", "status"]
    OAS31Validator(results).validate(written.get_json())
    assert set(written.get_json()[0]) <= set(results["items"]["properties"])
    stale_entry = failed["properties"]["stale"]["items"]["properties"]
    assert set(stale.get_json()["stale"][0]) == set(stale_entry) == {"sku", "etag"}
    engine.dispose()


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_rfc6585_3_a_tag_member_sent_as_null_is_documented_as_nullable(
    example: Flask, version: str
) -> None:
    """A null tag member is no tag (a 428 where one is required, RFC 6585 §3), not a bad
    body: a batch entry's and a write body's tag member take null, as the document's
    version spells it (3.0: ``nullable``; 3.1, JSON Schema: ``"null"`` among the types), so
    a client generated from it may send the null the server answers."""
    document = example_spec(example, EITHER, version)
    patch = operation(document, "/api/products", "patch")
    entry = patch["requestBody"]["content"]["application/json"]["schema"]["items"]["allOf"][1]
    app = build_app()
    spec = APISpec("x", "1", version, plugins=[ETagPlugin(app=app)])
    put = {"requestBody": {"content": {MERGE_PATCH: {"schema": {"type": "object"}}}},
           "responses": {"200": {"description": "Replaced"}}}  # fmt: skip
    spec.path("/drafts/{product_id}", operations={"put": put}, view=app.view_functions["draft"])
    drafts = spec.to_dict()
    body = operation(drafts, "/drafts/{product_id}", "put")["requestBody"]["content"][MERGE_PATCH]
    validator = OAS30Validator if version.startswith("3.0") else OAS31Validator
    for member in (entry["properties"]["etag"], body["schema"]["properties"]["etag"]):
        assert ("nullable" in member) is version.startswith("3.0")
        validator(member).validate(None)
        validator(member).validate('"7f3a"')
    client = example.test_client()
    answer = client.patch("/api/products", json=[{"id": 101, "etag": None, "stock": 1}],
                          headers={"Content-Type": MERGE_PATCH})  # fmt: skip
    assert answer.status_code == 428
    assert "428" in patch["responses"]
