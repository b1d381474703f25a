"""flask_etag inside flask-smorest, APIFlask, Flask-RESTX and with Flask-Login, the real packages.

Every framework serves the same resource, ``/items/<id>``: a version-tagged GET and a PUT
under ``require_if_match``, with the framework's own request validation and response schema
(the stored item has a ``secret`` field that only a schema keeps out of the body).  Each row
of ``FRAMEWORK_STYLES`` runs the same RFC 9110 flow: 200 with the tag, a 304 that runs no view,
412 on a stale ``If-Match``, 428 without one, and the framework's 422/400 still answered.

Then the decorator orders: the right one for each framework, and each wrong one failing
loudly, when it decorates where flask_etag can see it and on the route's first request where
it cannot (a decorator applied above ``@etag`` later calls no flask_etag code).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import apiflask
import flask_restx
import flask_smorest
import marshmallow as ma
import pytest
from flask import Flask, abort, jsonify
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_login import LoginManager, UserMixin, fresh_login_required, login_required, login_user
from openapi_spec_validator import validate

from flask_etag import (
    ETag,
    ETagConfigurationError,
    ETagError,
    HashGenerator,
    VersionGenerator,
    etag,
    require_if_match,
)
from flask_etag.frameworks import (
    ACCESS_CHECKS,
    CACHES,
    CONFLICTING,
    PARSERS,
    SERIALISERS,
)
from flask_etag.internals import wrapper_codes
from flask_etag.openapi import ETagPlugin

URL = "/items/1"
VALID = {"name": "renamed"}
INVALID = {"name": 5}


@dataclass
class Store:
    """One item, its version, and a count of version lookups and view calls."""

    items: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {1: {"id": 1, "name": "one", "secret": "hidden", "version": 1}}
    )
    calls: Counter[str] = field(default_factory=Counter)

    def version(self, item_id: int) -> int | None:
        self.calls["lookup"] += 1
        item = self.items.get(item_id)
        return None if item is None else item["version"]

    def read(self, item_id: int) -> dict[str, Any]:
        self.calls["read"] += 1
        if item_id not in self.items:
            abort(404)
        return self.items[item_id]

    def write(self, item_id: int, name: str) -> dict[str, Any]:
        self.calls["write"] += 1
        item = self.items[item_id]
        item.update(name=name, version=item["version"] + 1)
        return item


# --- the three frameworks, each serving /items/<id> ------------------------------------------


class SmorestItem(ma.Schema):
    id = ma.fields.Int(dump_only=True)
    name = ma.fields.Str(required=True)


def smorest_app(store: Store, style: str) -> Flask:
    """@blp.route, @etag/@require_if_match, @blp.arguments, @blp.response, the view."""
    app = Flask(__name__)
    app.testing = True
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    ETag(app)
    api = flask_smorest.Api(
        app, spec_kwargs={"extra_plugins": [ETagPlugin(app=app, problem_details=False)]}
    )
    blp = flask_smorest.Blueprint("items", __name__)
    versions = VersionGenerator(store.version)
    if style == "function":

        @blp.route("/items/<int:item_id>", methods=["GET"])
        @etag(versions)
        @blp.response(200, SmorestItem)
        def get_item(item_id: int) -> Any:
            return store.read(item_id)

        @blp.route("/items/<int:item_id>", methods=["PUT"], endpoint="put_item")
        @require_if_match(versions)
        @blp.arguments(SmorestItem)
        @blp.response(200, SmorestItem)
        def put_item(data: dict[str, Any], item_id: int) -> Any:
            return store.write(item_id, data["name"])

    else:

        @blp.route("/items/<int:item_id>")
        class ItemView(MethodView):
            decorators = [require_if_match(versions)]  # noqa: RUF012

            @blp.response(200, SmorestItem)
            def get(self, item_id: int) -> Any:
                return store.read(item_id)

            @blp.arguments(SmorestItem)
            @blp.response(200, SmorestItem)
            def put(self, data: dict[str, Any], item_id: int) -> Any:
                return store.write(item_id, data["name"])

    api.register_blueprint(blp)
    app.extensions["test_api"] = api
    return app


class ApiflaskItemIn(apiflask.Schema):
    name = apiflask.fields.String(required=True)


class ApiflaskItemOut(apiflask.Schema):
    id = apiflask.fields.Integer()
    name = apiflask.fields.String()


def apiflask_app(store: Store, style: str) -> Flask:
    """@app.get, @etag/@require_if_match, @app.input, @app.output, the view."""
    app = apiflask.APIFlask(__name__, title="Items", version="1")
    app.testing = True
    ETag(app)
    app.spec_plugins.append(ETagPlugin(app=app, problem_details=False))
    versions = VersionGenerator(store.version)
    if style == "function":

        @app.get("/items/<int:item_id>")
        @etag(versions)
        @app.output(ApiflaskItemOut)
        def get_item(item_id: int) -> Any:
            return store.read(item_id)

        @app.put("/items/<int:item_id>")
        @require_if_match(versions)
        @app.input(ApiflaskItemIn)
        @app.output(ApiflaskItemOut)
        def put_item(item_id: int, json_data: dict[str, Any]) -> Any:
            return store.write(item_id, json_data["name"])

    else:

        @app.route("/items/<int:item_id>")
        class ItemView(apiflask.views.MethodView):
            decorators = [require_if_match(versions)]  # noqa: RUF012

            @app.output(ApiflaskItemOut)
            def get(self, item_id: int) -> Any:
                return store.read(item_id)

            @app.input(ApiflaskItemIn)
            @app.output(ApiflaskItemOut)
            def put(self, item_id: int, json_data: dict[str, Any]) -> Any:
                return store.write(item_id, json_data["name"])

    return app


def restx_app(store: Store, style: str, **config: Any) -> Flask:
    """A Resource with flask_etag in ``decorators`` (or ``method_decorators``)."""
    app = Flask(__name__)
    app.testing = True
    app.config.update(config)
    ETag(app)
    api = flask_restx.Api(app)
    ns = api.namespace("items", path="/items")
    model = api.model(
        "Item",
        {
            "id": flask_restx.fields.Integer(readonly=True),
            "name": flask_restx.fields.String(required=True),
        },
    )

    class ItemResource(flask_restx.Resource):
        @ns.marshal_with(model)
        def get(self, item_id: int) -> Any:
            return store.read(item_id)

        @ns.expect(model, validate=True)
        @ns.marshal_with(model)
        def put(self, item_id: int) -> Any:
            return store.write(item_id, api.payload["name"])

    guard = require_if_match(VersionGenerator(store.version))
    setattr(ItemResource, style, [guard])  # "decorators" or "method_decorators"
    ns.add_resource(ItemResource, "/<int:item_id>")
    return app


@dataclass(frozen=True)
class Framework:
    build: Callable[[Store, str], Flask]
    style: str
    #: What the framework answers a body its schema refuses.
    invalid_status: int


FRAMEWORK_STYLES = {
    "smorest-function": Framework(smorest_app, "function", 422),
    "smorest-methodview": Framework(smorest_app, "methodview", 422),
    "apiflask-function": Framework(apiflask_app, "function", 422),
    "apiflask-methodview": Framework(apiflask_app, "methodview", 422),
    "restx-decorators": Framework(restx_app, "decorators", 400),
    "restx-method_decorators": Framework(restx_app, "method_decorators", 400),
}


@dataclass
class Served:
    app: Flask
    client: FlaskClient
    store: Store
    framework: Framework


@pytest.fixture(params=list(FRAMEWORK_STYLES))
def served(request: pytest.FixtureRequest) -> Served:
    framework = FRAMEWORK_STYLES[request.param]
    store = Store()
    app = framework.build(store, framework.style)
    return Served(app, app.test_client(), store, framework)


# --- the RFC 9110 flow, in every framework and style -----------------------------------------


def test_200_carries_the_tag_and_the_schema_applies_rfc9110_8_8_3(served: Served) -> None:
    response = served.client.get(URL)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.get_json() == {"id": 1, "name": "one"}  # the schema left the secret out


def test_304_runs_no_view_rfc9110_13_1_2(served: Served) -> None:
    response = served.client.get(URL, headers={"If-None-Match": '"1"'})
    assert response.status_code == 304
    assert response.headers["ETag"] == '"1"'
    assert response.get_data() == b""
    assert served.store.calls["read"] == 0
    assert served.store.calls["lookup"] == 1


def test_stale_if_match_is_412_and_writes_nothing_rfc9110_13_1_1(served: Served) -> None:
    response = served.client.put(URL, json=VALID, headers={"If-Match": '"0"'})
    assert response.status_code == 412
    assert served.store.calls["write"] == 0
    assert served.store.items[1]["name"] == "one"


def test_write_without_if_match_is_428_rfc6585_3(served: Served) -> None:
    response = served.client.put(URL, json=VALID)
    assert response.status_code == 428
    assert served.store.calls["write"] == 0


def test_current_if_match_writes_and_answers_the_new_tag_rfc9110_8_8_3(served: Served) -> None:
    response = served.client.put(URL, json=VALID, headers={"If-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.get_json() == {"id": 1, "name": "renamed"}
    assert served.client.put(URL, json=VALID, headers={"If-Match": '"1"'}).status_code == 412


def test_the_framework_still_validates_the_body(served: Served) -> None:
    response = served.client.put(URL, json=INVALID, headers={"If-Match": '"1"'})
    assert response.status_code == served.framework.invalid_status
    assert served.store.calls["write"] == 0


def test_preconditions_are_judged_before_the_content_rfc9110_13_2_1(served: Served) -> None:
    """A stale write with a bad body is 412: preconditions come before processing the content.

    Flask-RESTX's ``method_decorators`` is the exception: it validates ``@ns.expect`` before
    calling the decorated method, which is why the guide puts flask_etag in ``decorators``.
    """
    response = served.client.put(URL, json=INVALID, headers={"If-Match": '"0"'})
    if served.framework.style == "method_decorators":
        assert response.status_code == 400
    else:
        assert response.status_code == 412


@pytest.mark.parametrize("style", ["decorators", "method_decorators"])
def test_auto_mode_leaves_a_restx_route_to_judge_before_its_view_rfc9110_13_2_1(
    style: str,
) -> None:
    """Under ``ETAG_AUTO`` a Resource's flask_etag decorator still judges the request before
    the view: ``method_decorators`` wraps it per request, so the registered view carries no
    decorator, and the auto-mode hook, which took the ``If-*`` fields before the view, left
    the route none to judge: its view ran for the 304 and the 412."""
    store = Store()
    client = restx_app(store, style, ETAG_AUTO=True).test_client()
    not_modified = client.get(URL, headers={"If-None-Match": '"1"'})
    assert (not_modified.status_code, not_modified.headers["ETag"]) == (304, '"1"')
    refused = client.get(URL, headers={"If-Match": '"0"'})
    assert (refused.status_code, refused.headers["ETag"]) == (412, '"1"')
    assert store.calls["read"] == 0
    assert client.get(URL).status_code == 200


# --- flask-smorest ---------------------------------------------------------------------------


def new_smorest_app(**config: Any) -> tuple[Flask, flask_smorest.Api, flask_smorest.Blueprint]:
    app = Flask(__name__)
    app.testing = True
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.0.3", **config)
    ETag(app)
    return app, flask_smorest.Api(app), flask_smorest.Blueprint("items", __name__)


@pytest.mark.parametrize("style", ["function", "methodview"])
def test_smorest_spec_documents_the_conditional_requests_rfc9110_13_1(style: str) -> None:
    app = smorest_app(Store(), style)
    document = app.extensions["test_api"].spec.to_dict()
    validate(document)
    get, put = (document["paths"]["/items/{item_id}"][method] for method in ("get", "put"))
    assert {"$ref": "#/components/parameters/IfNoneMatch"} in get["parameters"]
    assert get["responses"]["304"] == {"$ref": "#/components/responses/NotModified"}
    assert "ETag" in get["responses"]["200"]["headers"]
    assert {"$ref": "#/components/parameters/IfMatchRequired"} in put["parameters"]
    assert {"412", "422", "428"} <= set(put["responses"])


def test_smorest_blp_etag_route_in_an_auto_app_documents_if_none_match_once_openapi_4_7_10() -> (
    None
):
    """ETAG_AUTO leaves a ``@blp.etag`` response, which carries its own tag, to flask-smorest,
    whose spec names If-None-Match by its own component: the plugin used to add a second
    If-None-Match, which OpenAPI 3.0.3 §4.7.10 forbids (a parameter of an operation is
    unique by name and location)."""
    app = Flask(__name__)
    app.testing = True
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.0.3", ETAG_AUTO=True)
    ETag(app)
    api = flask_smorest.Api(
        app, spec_kwargs={"extra_plugins": [ETagPlugin(app=app, problem_details=False)]}
    )
    blp = flask_smorest.Blueprint("items", __name__, url_prefix="/api")

    @blp.route("/old/<int:item_id>")
    @blp.etag
    @blp.response(200, SmorestItem)
    def old(item_id: int) -> Any:
        return {"id": item_id, "name": "one"}

    api.register_blueprint(blp)
    document = api.spec.to_dict()
    validate(document)
    get = document["paths"]["/api/old/{item_id}"]["get"]
    assert get["parameters"] == [{"$ref": "#/components/parameters/IF_NONE_MATCH"}]
    client = app.test_client()
    tag = client.get("/api/old/1").headers["ETag"]
    assert client.get("/api/old/1", headers={"If-None-Match": tag}).status_code == 304


def test_smorest_blp_etag_runs_the_view_for_a_304_and_flask_etag_does_not() -> None:
    """The migration's reason: ``@blp.etag`` hashes the result, so its view must run first."""
    store = Store()
    app, api, blp = new_smorest_app()

    @blp.route("/old/<int:item_id>")
    @blp.etag
    @blp.response(200, SmorestItem)
    def old(item_id: int) -> Any:
        return store.read(item_id)

    @blp.route("/new/<int:item_id>")
    @etag(VersionGenerator(store.version))
    @blp.response(200, SmorestItem)
    def new(item_id: int) -> Any:
        return store.read(item_id)

    api.register_blueprint(blp)
    client = app.test_client()
    for url in ("/old/1", "/new/1"):
        tag = client.get(url).headers["ETag"]
        store.calls.clear()
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
        assert store.calls["read"] == (1 if url == "/old/1" else 0), url


def test_smorest_error_handler_keeps_the_current_tag_on_412_rfc9110_15_5_13() -> None:
    """flask-smorest renders every HTTPException itself; the guide's handler adds the tag back."""
    store = Store()
    app, api, blp = new_smorest_app()

    @app.errorhandler(ETagError)
    def etag_error(error: ETagError) -> Any:
        payload, status, headers = api.handle_http_exception(error)
        if error.etag is not None:
            headers = {**headers, "ETag": error.etag}
        return payload, status, headers

    @blp.route("/items/<int:item_id>", methods=["PUT"])
    @require_if_match(VersionGenerator(store.version))
    @blp.arguments(SmorestItem)
    @blp.response(200, SmorestItem)
    def put_item(data: dict[str, Any], item_id: int) -> Any:
        return store.write(item_id, data["name"])

    api.register_blueprint(blp)
    client = app.test_client()
    failed = client.put(URL, json=VALID, headers={"If-Match": '"0"'})
    assert (failed.status_code, failed.headers["ETag"]) == (412, '"1"')
    assert failed.get_json() == {"code": 412, "status": "Precondition Failed"}
    required = client.put(URL, json=VALID)
    assert required.status_code == 428 and "ETag" not in required.headers


@pytest.mark.parametrize(
    "generator", [VersionGenerator(lambda item_id: 1), HashGenerator()], ids=["version", "hash"]
)
def test_smorest_response_above_etag_fails_on_the_first_request(generator: Any) -> None:
    """Above @etag, @blp.response would get the response @etag made from the raw result and
    send it as it is: the secret, unfiltered by the schema.  An error instead."""
    store = Store()
    app, api, blp = new_smorest_app()

    @blp.route("/items/<int:item_id>")
    @blp.response(200, SmorestItem)
    @etag(generator)
    def get_item(item_id: int) -> Any:
        return store.read(item_id)

    api.register_blueprint(blp)
    message = r"@blp\.response wraps @etag .* @blp\.route, @etag \(or @require_if_match\), @blp"
    for _ in range(2):  # and on every request after, until the order is fixed
        with pytest.raises(ETagConfigurationError, match=message):
            app.test_client().get(URL)


def test_smorest_arguments_above_require_if_match_fails_on_the_first_request() -> None:
    """@blp.arguments passes the parsed body positionally, and parses it before the
    preconditions are judged (RFC 9110 §13.2.1)."""
    store = Store()
    app, api, blp = new_smorest_app()

    @blp.route("/items/<int:item_id>", methods=["PUT"])
    @blp.arguments(SmorestItem)
    @require_if_match(VersionGenerator(store.version))
    @blp.response(200, SmorestItem)
    def put_item(data: dict[str, Any], item_id: int) -> Any:
        return store.write(item_id, data["name"])

    api.register_blueprint(blp)
    with pytest.raises(ETagConfigurationError, match=r"@blp\.arguments wraps @etag"):
        app.test_client().put(URL, json=VALID, headers={"If-Match": '"1"'})
    assert store.calls["write"] == 0


def test_smorest_blp_etag_under_etag_fails_at_decoration() -> None:
    _, _, blp = new_smorest_app()
    with pytest.raises(ETagConfigurationError, match=r"@blp\.etag and flask_etag both decide"):

        @etag
        @blp.etag
        def get_item(item_id: int) -> Any:
            return {}


def test_smorest_blp_etag_above_etag_fails_on_the_first_request() -> None:
    app, api, blp = new_smorest_app()

    @blp.route("/items/<int:item_id>")
    @blp.etag
    @etag
    @blp.response(200, SmorestItem)
    def get_item(item_id: int) -> Any:
        return {"id": item_id, "name": "one"}

    api.register_blueprint(blp)
    with pytest.raises(ETagConfigurationError, match=r"remove @blp\.etag"):
        app.test_client().get(URL)


def test_smorest_blp_etag_on_a_method_under_class_decorators_fails_rfc6585_3() -> None:
    """A MethodView whose ``decorators`` have flask_etag's and a method still ``@blp.etag``
    (a migration half done): flask_etag takes If-Match, so flask-smorest found none and
    answered 428 to every write that sent the current tag.  Refused like any other pairing."""
    store = Store()
    app, api, blp = new_smorest_app()

    @blp.route("/items/<int:item_id>")
    class ItemView(MethodView):
        decorators = [require_if_match(VersionGenerator(store.version))]  # noqa: RUF012

        @blp.etag
        @blp.arguments(SmorestItem)
        @blp.response(200, SmorestItem)
        def put(self, data: dict[str, Any], item_id: int) -> Any:
            return store.write(item_id, data["name"])

    api.register_blueprint(blp)
    with pytest.raises(ETagConfigurationError, match=r"remove @blp\.etag"):
        app.test_client().put(URL, json={"name": "two"}, headers={"If-Match": '"1"'})
    assert store.calls["write"] == 0


def test_smorest_documentation_decorators_may_go_above_etag() -> None:
    """Only parsers and serialisers are refused above @etag: @blp.doc and @blp.alt_response
    document and pass the call through, so they may go anywhere."""
    store = Store()
    app, api, blp = new_smorest_app()

    @blp.route("/items/<int:item_id>")
    @blp.alt_response(404, description="No such item")
    @blp.doc(summary="An item")
    @etag(VersionGenerator(store.version))
    @blp.response(200, SmorestItem)
    def get_item(item_id: int) -> Any:
        return store.read(item_id)

    api.register_blueprint(blp)
    client = app.test_client()
    assert client.get(URL).headers["ETag"] == '"1"'
    assert client.get(URL, headers={"If-None-Match": '"1"'}).status_code == 304


# --- APIFlask --------------------------------------------------------------------------------


def new_apiflask_app() -> apiflask.APIFlask:
    app = apiflask.APIFlask(__name__, title="Items", version="1")
    app.testing = True
    ETag(app)
    return app


@pytest.mark.parametrize("style", ["function", "methodview"])
def test_apiflask_spec_documents_the_conditional_requests_rfc9110_13_1(style: str) -> None:
    app = apiflask_app(Store(), style)
    document = app.spec
    assert isinstance(document, dict)
    validate(document)
    get, put = (document["paths"]["/items/{item_id}"][method] for method in ("get", "put"))
    assert {"$ref": "#/components/parameters/IfNoneMatch"} in get["parameters"]
    assert get["responses"]["304"] == {"$ref": "#/components/responses/NotModified"}
    assert get["responses"]["200"]["headers"]["ETag"] == {"$ref": "#/components/headers/ETag"}
    assert {"$ref": "#/components/parameters/IfMatchRequired"} in put["parameters"]
    assert {"200", "412", "422", "428"} <= set(put["responses"])
    assert "content" not in document["components"]["responses"]["PreconditionFailed"]


def test_apiflask_served_spec_is_documented_too() -> None:
    """``/openapi.json`` builds the spec in a request, through APIFlask's cache."""
    app = apiflask_app(Store(), "function")
    served = app.test_client().get("/openapi.json").get_json()
    assert "304" in served["paths"]["/items/{item_id}"]["get"]["responses"]


def test_apiflask_output_above_etag_fails_on_the_first_request() -> None:
    store = Store()
    app = new_apiflask_app()

    @app.get("/items/<int:item_id>")
    @app.output(ApiflaskItemOut)
    @etag(VersionGenerator(store.version))
    def get_item(item_id: int) -> Any:
        return store.read(item_id)

    message = r"@app\.output wraps @etag .* @app\.get \(or @app\.route\), @app\.auth_required"
    with pytest.raises(ETagConfigurationError, match=message):
        app.test_client().get(URL)


def test_apiflask_input_above_require_if_match_fails_on_the_first_request() -> None:
    store = Store()
    app = new_apiflask_app()

    @app.put("/items/<int:item_id>")
    @app.input(ApiflaskItemIn)
    @require_if_match(VersionGenerator(store.version))
    @app.output(ApiflaskItemOut)
    def put_item(item_id: int, json_data: dict[str, Any]) -> Any:
        return store.write(item_id, json_data["name"])

    with pytest.raises(ETagConfigurationError, match=r"@app\.input .* wraps @etag"):
        app.test_client().put(URL, json=VALID, headers={"If-Match": '"1"'})
    assert store.calls["write"] == 0


def test_apiflask_doc_may_go_above_etag() -> None:
    store = Store()
    app = new_apiflask_app()

    @app.get("/items/<int:item_id>")
    @app.doc(summary="An item")
    @etag(VersionGenerator(store.version))
    @app.output(ApiflaskItemOut)
    def get_item(item_id: int) -> Any:
        return store.read(item_id)

    client = app.test_client()
    assert client.get(URL).get_json() == {"id": 1, "name": "one"}
    assert client.get(URL, headers={"If-None-Match": '"1"'}).status_code == 304


def token_auth() -> apiflask.HTTPTokenAuth:
    auth = apiflask.HTTPTokenAuth()

    @auth.verify_token
    def verify(token: str) -> str | None:
        return "reader" if token == "good" else None

    return auth


def test_apiflask_auth_required_above_etag_answers_401_before_any_tag_rfc9110_13_2_1() -> None:
    store = Store()
    app, auth = new_apiflask_app(), token_auth()

    @app.get("/items/<int:item_id>")
    @app.auth_required(auth)
    @etag(VersionGenerator(store.version))
    @app.output(ApiflaskItemOut)
    def get_item(item_id: int) -> Any:
        return store.read(item_id)

    client = app.test_client()
    refused = client.get(URL, headers={"If-None-Match": '"1"'})
    assert refused.status_code == 401 and "ETag" not in refused.headers
    assert store.calls["lookup"] == 0
    allowed = client.get(URL, headers={"If-None-Match": '"1"', "Authorization": "Bearer good"})
    assert allowed.status_code == 304 and store.calls["read"] == 0


def test_apiflask_auth_required_under_etag_fails_at_decoration() -> None:
    app, auth = new_apiflask_app(), token_auth()
    with pytest.raises(ETagConfigurationError, match=r"@app\.auth_required\) is under @etag"):

        @app.get("/items/<int:item_id>")
        @etag(VersionGenerator(lambda item_id: 1))
        @app.auth_required(auth)
        @app.output(ApiflaskItemOut)
        def get_item(item_id: int) -> Any:
            return {}


def test_apiflask_auth_required_on_a_method_under_class_decorators_fails_rfc9110_13_2_1() -> None:
    """A method's ``@app.auth_required`` runs under the class's ``decorators``: a version
    route answered 304 (and 412, with the current tag) to a client without a token before
    the check ran.  Refused on the route's first request, naming where the check goes."""
    store = Store()
    app, auth = new_apiflask_app(), token_auth()

    class ItemView(apiflask.views.MethodView):
        decorators = [etag(VersionGenerator(store.version))]  # noqa: RUF012

        @app.auth_required(auth)
        @app.output(ApiflaskItemOut)
        def get(self, item_id: int) -> Any:
            return store.read(item_id)

    app.add_url_rule("/items/<int:item_id>", view_func=ItemView.as_view("item"))
    with pytest.raises(ETagConfigurationError, match=r"in its `decorators` after"):
        app.test_client().get(URL, headers={"If-None-Match": '"1"'})
    assert store.calls["lookup"] == 0


def test_an_access_check_on_the_writes_of_a_class_with_a_public_read_is_served() -> None:
    """A public GET and a guarded PUT in one class: the tag is no secret, so the check may
    stay on the write.  The refusal stopped every request of such an app, its GETs too."""
    store = Store()
    app, auth = new_apiflask_app(), token_auth()

    class ItemView(apiflask.views.MethodView):
        decorators = [require_if_match(VersionGenerator(store.version))]  # noqa: RUF012

        @app.output(ApiflaskItemOut)
        def get(self, item_id: int) -> Any:
            return store.read(item_id)

        @app.auth_required(auth)
        def put(self, item_id: int) -> Any:
            return {"id": item_id}

    app.add_url_rule("/items/<int:item_id>", view_func=ItemView.as_view("item"))
    client = app.test_client()
    read = client.get(URL)
    assert read.status_code == 200
    assert client.get(URL, headers={"If-None-Match": read.headers["ETag"]}).status_code == 304
    assert client.put(URL, headers={"If-Match": read.headers["ETag"]}).status_code == 401
    allowed = {"If-Match": read.headers["ETag"], "Authorization": "Bearer good"}
    assert client.put(URL, headers=allowed).status_code == 200


def test_an_access_check_in_class_decorators_after_etag_answers_401_rfc9110_13_2_1() -> None:
    """Where the refusal sends it: ``decorators = [etag(...), auth_required]``."""
    store = Store()
    app, auth = new_apiflask_app(), token_auth()

    class ItemView(apiflask.views.MethodView):
        decorators = [etag(VersionGenerator(store.version)), app.auth_required(auth)]  # noqa: RUF012

        @app.output(ApiflaskItemOut)
        def get(self, item_id: int) -> Any:
            return store.read(item_id)

    app.add_url_rule("/items/<int:item_id>", view_func=ItemView.as_view("item"))
    client = app.test_client()
    refused = client.get(URL, headers={"If-None-Match": '"1"'})
    assert refused.status_code == 401 and "ETag" not in refused.headers
    allowed = client.get(URL, headers={"If-None-Match": '"1"', "Authorization": "Bearer good"})
    assert allowed.status_code == 304


# --- Flask-RESTX and classes -----------------------------------------------------------------


def test_restx_method_decorated_directly_fails_and_names_decorators() -> None:
    """A Resource method is called with ``self``: flask_etag belongs in ``decorators``, and
    says so when the class is defined."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    ns = flask_restx.Api(app).namespace("items", path="/items")

    with pytest.raises(TypeError, match="list the decorator in its `decorators` attribute"):

        @ns.route("/<int:item_id>")
        class ItemResource(flask_restx.Resource):
            @etag(VersionGenerator(lambda item_id: 1))
            def get(self, item_id: int) -> Any:
                return {"id": item_id}


@pytest.mark.parametrize(
    "method_decorator",
    [require_if_match(VersionGenerator(lambda item_id: 1)), etag],
    ids=["require_if_match", "bare-etag"],
)
def test_rfc6585_3_restx_flask_etag_in_decorators_and_method_decorators_fails_first_request(
    method_decorator: Any,
) -> None:
    """``method_decorators`` wrap the method again on every request, inside the class's
    ``decorators``: the inner flask_etag decorator is hidden by the outer one, and an inner
    ``require_if_match`` under ``etag`` let a PUT without ``If-Match`` through (200, not the
    428 of RFC 6585 §3).  Refused on the first request, naming the fix."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    ns = flask_restx.Api(app).namespace("items", path="/items")

    @ns.route("/<int:item_id>")
    class ItemResource(flask_restx.Resource):
        decorators: ClassVar = [etag(VersionGenerator(lambda item_id: 1))]
        method_decorators: ClassVar = [method_decorator]

        def get(self, item_id: int) -> Any:
            return {"id": item_id}

        def put(self, item_id: int) -> Any:
            return {"id": item_id}

    client = app.test_client()
    for method in ("PUT", "GET"):
        with pytest.raises(ETagConfigurationError, match="`decorators` or in `method_decorators`"):
            client.open("/items/1", method=method)


def restx_route() -> Any:
    app = Flask(__name__)
    ETag(app)
    return flask_restx.Api(app).namespace("items", path="/items").route("/<int:item_id>")


def smorest_route() -> Any:
    return new_smorest_app()[2].route("/items/<int:item_id>")


def apiflask_route() -> Any:
    return new_apiflask_app().route("/items/<int:item_id>")


@pytest.mark.parametrize(
    ("route", "base"),
    [
        (restx_route, flask_restx.Resource),
        (smorest_route, MethodView),
        (apiflask_route, apiflask.views.MethodView),
    ],
    ids=["restx-ns.route", "smorest-blp.route", "apiflask-app.route"],
)
def test_etag_above_the_route_of_a_class_fails_at_decoration(
    route: Callable[[], Any], base: type
) -> None:
    """The route decorator returns the class it registered, untagged: refuse to wrap it."""
    with pytest.raises(TypeError, match="list the decorator in the class's `decorators`"):

        @etag
        @route()
        class ItemView(base):  # type: ignore[misc,valid-type]
            def get(self, item_id: int) -> Any:
                return {"id": item_id}


# --- Flask-Login -----------------------------------------------------------------------------


class User(UserMixin):
    id = "reader"


def login_app() -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = "test"
    ETag(app)
    logins = LoginManager(app)
    logins.user_loader(lambda user_id: User() if user_id == "reader" else None)

    @app.post("/login")
    def log_in() -> str:
        login_user(User())
        return "in"

    return app


def test_login_required_above_etag_answers_401_before_any_tag_rfc9110_13_2_1() -> None:
    """An access check above a version route runs before the lookup: nothing is revealed."""
    store = Store()
    app = login_app()

    @app.get("/items/<int:item_id>")
    @login_required
    @etag(VersionGenerator(store.version))
    def get_item(item_id: int) -> Any:
        return jsonify(store.read(item_id))

    client = app.test_client()
    refused = client.get(URL, headers={"If-None-Match": '"1"'})
    assert refused.status_code == 401 and "ETag" not in refused.headers
    assert store.calls["lookup"] == 0
    client.post("/login")
    allowed = client.get(URL, headers={"If-None-Match": '"1"'})
    assert allowed.status_code == 304 and store.calls["read"] == 0


@pytest.mark.parametrize("check", [login_required, fresh_login_required])
@pytest.mark.parametrize(
    "decorator",
    [
        etag(VersionGenerator(lambda item_id: 1)),
        require_if_match(VersionGenerator(lambda item_id: 1)),
        etag(HashGenerator(current=lambda item_id: {})),
    ],
    ids=["etag", "require_if_match", "body-hash-judged-by-current"],
)
def test_login_required_under_a_route_judged_before_its_view_fails_at_decoration(
    check: Callable[..., Any], decorator: Callable[..., Any]
) -> None:
    with pytest.raises(ETagConfigurationError, match=rf"@{check.__name__} is under @etag"):
        decorator(check(lambda item_id: {}))


def test_login_required_under_a_body_hash_route_is_allowed() -> None:
    """A body-hash route runs its view, and the check in it, before any tag exists."""
    store = Store()
    app = login_app()

    @app.get("/items/<int:item_id>")
    @etag
    @login_required
    def get_item(item_id: int) -> Any:
        return jsonify(store.read(item_id))

    refused = app.test_client().get(URL, headers={"If-None-Match": "*"})
    assert refused.status_code == 401 and "ETag" not in refused.headers


def test_login_required_in_method_view_decorators_goes_last() -> None:
    """``decorators`` are applied first to last, so the last one is the outermost."""
    store = Store()
    app = login_app()
    versions = VersionGenerator(store.version)

    class Right(MethodView):
        decorators = [etag(versions), login_required]  # noqa: RUF012

        def get(self, item_id: int) -> Any:
            return jsonify(store.read(item_id))

    class Wrong(Right):
        decorators = [login_required, etag(versions)]  # noqa: RUF012

    app.add_url_rule("/items/<int:item_id>", view_func=Right.as_view("item"))
    assert app.test_client().get(URL, headers={"If-None-Match": '"1"'}).status_code == 401
    with pytest.raises(ETagConfigurationError, match="@login_required is under @etag"):
        Wrong.as_view("wrong")


# --- recognising the frameworks' decorators ---------------------------------------------------


def known_decorators() -> Iterator[tuple[str, str, tuple[str, ...], str]]:
    yield from (*ACCESS_CHECKS, *PARSERS, *SERIALISERS, *CONFLICTING, *CACHES)


@pytest.mark.parametrize("known", list(known_decorators()), ids=lambda known: known[1])
def test_every_known_decorator_is_recognised(known: tuple[str, str, tuple[str, ...], str]) -> None:
    """The one reach into these packages' internals: fails loudly when a release changes it."""
    module, decorator, nested, _ = known
    importlib.import_module(module)
    assert wrapper_codes(module, decorator, nested), f"{module}.{decorator} changed shape"
