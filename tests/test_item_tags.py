"""Tags in bodies (``item_etag``) and preconditions in bodies (``ETAG_BODY_MEMBER``).

A list carries each item's tag as a member, exactly the item's ``ETag`` field value, so a
client can send it as ``If-Match`` (RFC 9110 §8.8.3, §13.1.1); a write whose JSON body
carries the member instead of ``If-Match`` is judged as if it had sent it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask, g, jsonify, request
from flask.testing import FlaskClient
from flask.views import MethodView
from support_databases import dispose_after_test
from test_example import COLLECTION, ITEM, current, products

from flask_etag import (
    ETag,
    ETagConfigurationError,
    HashGenerator,
    VersionGenerator,
    etag,
    item_etag,
    require_if_match,
)

NOTES = {1: 3, 2: 8}
MERGE_PATCH = "application/merge-patch+json"


def example_client_with(tmp_path: Path, **config: Any) -> FlaskClient:
    """The example on a SQLite file of the test's own, holding the seeded product 101."""
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, **config})
    return dispose_after_test(app).test_client()


@pytest.fixture
def example_client(tmp_path: Path) -> FlaskClient:
    return example_client_with(tmp_path)


def notes_app(**config: Any) -> FlaskClient:
    """Notes with versions; ``GET /notes`` lists them with each one's tag."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s3cret", **config)
    ETag(app)
    versions = dict(NOTES)

    @app.get("/notes/<int:number>")
    @etag(VersionGenerator(lambda number: versions.get(number)), vary=("Accept-Language",))
    def note(number: int) -> dict[str, int]:
        return {"number": number}

    @app.patch("/notes/<int:number>")
    @require_if_match(
        VersionGenerator(lambda number: versions.get(number)), vary=("Accept-Language",)
    )
    def write_note(number: int) -> dict[str, Any]:
        versions[number] += 1
        return {"number": number, "document": request.get_json()}

    @app.get("/notes")
    def notes() -> Any:
        return jsonify([{"number": n, "etag": item_etag(note, v)} for n, v in versions.items()])

    @app.get("/by-endpoint")
    def by_endpoint() -> Any:
        return jsonify([item_etag("note", v) for v in versions.values()])

    return app.test_client()


# --------------------------------------------------------------------------- tags in bodies


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="plain"),
        pytest.param({"ETAG_SCOPE": lambda: g.get("user")}, id="scoped"),
        pytest.param({"ETAG_RELEASE": "2026.12"}, id="release"),
        pytest.param({"ETAG_WEAK": True}, id="weak"),
    ],
)
def test_a_listed_tag_is_the_items_own_etag_rfc9110_8_8_3(config: dict[str, Any]) -> None:
    client = notes_app(**config)
    headers = {"Accept-Language": "fr"}
    listed = client.get("/notes", headers=headers).get_json()
    for entry in listed:
        item = client.get(f"/notes/{entry['number']}", headers=headers)
        assert entry["etag"] == item.headers["ETag"]
    assert client.get("/by-endpoint", headers=headers).get_json() == [e["etag"] for e in listed]


def test_a_listed_tag_follows_the_items_negotiation_rfc9110_12_5_5() -> None:
    """The item route varies by language: the list's tag is that of the reader's language."""
    client = notes_app()
    french = client.get("/notes", headers={"Accept-Language": "fr"}).get_json()
    german = client.get("/notes", headers={"Accept-Language": "de"}).get_json()
    assert french[0]["etag"] != german[0]["etag"]


def test_a_listed_tag_works_as_if_match_rfc9110_13_1_1() -> None:
    client = notes_app()
    tag = client.get("/notes").get_json()[0]["etag"]
    assert client.patch("/notes/1", json={}, headers={"If-Match": tag}).status_code == 200
    assert client.patch("/notes/1", json={}, headers={"If-Match": tag}).status_code == 412


def test_the_examples_list_carries_each_items_tag_rfc9110_8_8_3(
    example_client: FlaskClient,
) -> None:
    listed = example_client.get(COLLECTION).get_json()
    assert [entry["etag"] for entry in listed] == [current(example_client)[1]]


def test_a_method_views_endpoint_names_its_get() -> None:
    app = Flask(__name__)
    ETag(app)

    class Note(MethodView):
        decorators: ClassVar[list[Any]] = [etag(VersionGenerator(lambda number: 4))]

        def get(self, number: int) -> str:
            return "note"

    app.add_url_rule("/notes/<int:number>", view_func=Note.as_view("note"))

    @app.get("/tag")
    def tag() -> str:
        return item_etag("note", 4) or ""

    assert app.test_client().get("/tag").text == app.test_client().get("/notes/1").headers["ETag"]


@pytest.mark.parametrize(
    "view",
    [pytest.param("nowhere", id="unknown endpoint"), pytest.param("plain", id="undecorated")],
)
def test_item_etag_names_a_view_that_has_no_tag(view: str) -> None:
    app = Flask(__name__)
    ETag(app)
    app.add_url_rule("/plain", "plain", lambda: "plain")
    with app.test_request_context(), pytest.raises(ETagConfigurationError, match="@etag"):
        item_etag(view, 1)


def test_item_etag_refuses_a_body_hash_route() -> None:
    app = Flask(__name__)
    ETag(app)

    @app.get("/hashed")
    @etag(HashGenerator())
    def hashed() -> str:
        return "body"

    with app.test_request_context(), pytest.raises(ETagConfigurationError, match="body hash"):
        item_etag(hashed, 1)


def test_item_etag_needs_the_request_it_renders() -> None:
    app = Flask(__name__)
    ETag(app)
    with app.app_context(), pytest.raises(RuntimeError, match="inside the request"):
        item_etag("note", 1)


def test_no_state_no_tag() -> None:
    client = notes_app()
    with client.application.test_request_context():
        assert item_etag("note", None) is None


# --------------------------------------------------------------------------- body preconditions


def merge_patch(client: FlaskClient, document: dict[str, Any], **headers: str) -> Any:
    return client.patch(ITEM, json=document, headers={"Content-Type": MERGE_PATCH, **headers})


def test_a_body_tag_stands_for_if_match_rfc9110_13_1_1(example_client: FlaskClient) -> None:
    """Fresh: written, and the member is not written to the product (the example refuses
    unknown members with 422). Stale: 412 with the current tag."""
    _, tag = current(example_client)
    written = merge_patch(example_client, {"stock": 9, "etag": tag})
    assert written.status_code == 200, written.data
    assert written.get_json() == {**current(example_client)[0]} and "etag" not in written.json
    stale = merge_patch(example_client, {"stock": 10, "etag": tag})
    assert stale.status_code == 412
    assert stale.get_json()["etag"] == written.headers["ETag"] == stale.headers["ETag"]


def test_a_body_tag_meets_the_428_rule_rfc6585_3(example_client: FlaskClient) -> None:
    assert merge_patch(example_client, {"stock": 9}).status_code == 428
    _, tag = current(example_client)
    assert merge_patch(example_client, {"stock": 9, "etag": tag}).status_code == 200


def test_a_body_tag_beside_the_same_if_match_is_judged_once_rfc9110_13_1_1(
    example_client: FlaskClient,
) -> None:
    _, tag = current(example_client)
    answer = merge_patch(example_client, {"stock": 9, "etag": tag}, **{"If-Match": tag})
    assert answer.status_code == 200


def test_a_body_tag_that_disagrees_with_if_match_is_400_rfc9110_15_5_1(
    example_client: FlaskClient,
) -> None:
    _, tag = current(example_client)
    answer = merge_patch(example_client, {"stock": 9, "etag": '"other"'}, **{"If-Match": tag})
    assert answer.status_code == 400
    assert answer.get_json()["reason"] == "body-disagrees"
    assert current(example_client)[0]["stock"] == 45


@pytest.mark.parametrize(
    "member",
    [7, None, "*", "unquoted", '"a", "b"', ""],
    ids=["number", "null", "star", "unquoted", "list", "empty"],
)
def test_a_body_tag_that_is_no_entity_tag_is_400_rfc9110_15_5_1(
    example_client: FlaskClient, member: Any
) -> None:
    answer = merge_patch(example_client, {"stock": 9, "etag": member})
    assert answer.status_code == 400
    assert answer.get_json()["reason"] == "bad-body-tag"


def test_the_member_name_is_a_setting(tmp_path: Path) -> None:
    client = example_client_with(tmp_path, ETAG_BODY_MEMBER="_etag")
    _, tag = current(client)
    assert merge_patch(client, {"stock": 9, "_etag": tag}).status_code == 200


def test_without_a_member_name_the_body_is_left_alone(tmp_path: Path) -> None:
    """``ETAG_BODY_MEMBER = None``: the member is the app's, which refuses it (422)."""
    client = example_client_with(tmp_path, ETAG_BODY_MEMBER=None)
    _, tag = current(client)
    assert merge_patch(client, {"stock": 9, "etag": tag}).status_code == 428


@pytest.mark.parametrize("value", ["", 3])
def test_a_bad_member_name_is_refused_at_set_up(value: Any) -> None:
    app = Flask(__name__)
    app.config["ETAG_BODY_MEMBER"] = value
    with pytest.raises(ValueError, match="ETAG_BODY_MEMBER"):
        ETag(app)
