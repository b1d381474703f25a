"""Tags in bodies (``item_etag``) and preconditions in bodies (``ETAG_BODY_MEMBER``).

A list carries each item's tag as a member, exactly the item's ``ETag`` field value, so a
client can send it as ``If-Match`` (RFC 9110 §8.8.3, §13.1.1); a write whose JSON body
carries the member instead of ``If-Match`` is judged as if it had sent it.
"""

from __future__ import annotations

from datetime import datetime, timezone
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
    TimestampGenerator,
    VersionGenerator,
    etag,
    item_etag,
    item_tagger,
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


def folding_get_beside_a_plain_write(fold: dict[str, Any]) -> FlaskClient:
    """A GET view that folds (``vary=`` or its own ``scope=``) and, on the same URL, a write
    view decorated without: the common Flask layout of one function per method."""
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s3cret")
    ETag(app)
    versions = dict(NOTES)
    by_version = VersionGenerator(lambda number: versions.get(number))

    @app.get("/notes/<int:number>")
    @etag(by_version, **fold)
    def note(number: int) -> dict[str, int]:
        return {"number": number}

    @app.patch("/notes/<int:number>")
    @require_if_match(by_version)
    def write_note(number: int) -> dict[str, Any]:
        versions[number] += 1
        return {"number": number, "document": request.get_json()}

    @app.get("/notes")
    def notes() -> Any:
        tag = item_tagger(note)
        return jsonify([{"number": n, "etag": tag(v)} for n, v in versions.items()])

    return app.test_client()


@pytest.mark.parametrize(
    "fold",
    [
        pytest.param({"vary": ("Accept-Language",)}, id="vary"),
        pytest.param({"scope": lambda: request.headers.get("X-User")}, id="scope"),
    ],
)
@pytest.mark.parametrize(
    "source", ["item-get", "item-get-gzip-form", "list-member"], ids=lambda source: source
)
@pytest.mark.parametrize("sent_as", ["if-match", "body-member"])
def test_the_items_folded_tag_passes_a_write_view_that_folds_nothing_rfc9110_13_1_1(
    fold: dict[str, Any], source: str, sent_as: str
) -> None:
    """The item's GET sends ``"3~<fold>"`` (the list the same): ``If-Match`` with it asks
    whether state 3 is current (§13.1.1), whichever view of the resource answers the write.
    It passes once, and the same tag is stale after the write."""
    client = folding_get_beside_a_plain_write(fold)
    reader = {"Accept-Language": "fr", "X-User": "ann"}
    if source == "list-member":
        tag = client.get("/notes", headers=reader).get_json()[0]["etag"]
    else:
        tag = client.get("/notes/1", headers=reader).headers["ETag"]
        assert tag.startswith('"3~')
        if source == "item-get-gzip-form":
            tag = tag[:-1] + ':gzip"'  # what Flask-Compress sends for that representation

    def write() -> Any:
        if sent_as == "if-match":
            return client.patch("/notes/1", json={"text": "x"}, headers={"If-Match": tag})
        return client.patch("/notes/1", json={"text": "x", "etag": tag})

    written = write()
    assert written.status_code == 200 and written.get_json()["document"] == {"text": "x"}
    stale = write()
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"4"')


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


#: The two ways to tag: one call per item, or a tagger prepared once per request.
TAGGINGS = [
    pytest.param(lambda view, value: item_etag(view, value), id="item_etag"),
    pytest.param(lambda view, value: item_tagger(view)(value), id="item_tagger"),
]


@pytest.mark.parametrize("tag", TAGGINGS)
@pytest.mark.parametrize(
    "view",
    [pytest.param("nowhere", id="unknown endpoint"), pytest.param("plain", id="undecorated")],
)
def test_item_etag_names_a_view_that_has_no_tag(view: str, tag: Any) -> None:
    app = Flask(__name__)
    ETag(app)
    app.add_url_rule("/plain", "plain", lambda: "plain")
    with app.test_request_context(), pytest.raises(ETagConfigurationError, match="@etag"):
        tag(view, 1)


@pytest.mark.parametrize("tag", TAGGINGS)
def test_item_etag_refuses_a_body_hash_route(tag: Any) -> None:
    app = Flask(__name__)
    ETag(app)

    @app.get("/hashed")
    @etag(HashGenerator())
    def hashed() -> str:
        return "body"

    with app.test_request_context(), pytest.raises(ETagConfigurationError, match="body hash"):
        tag(hashed, 1)


@pytest.mark.parametrize("tag", TAGGINGS)
def test_item_etag_needs_the_request_it_renders(tag: Any) -> None:
    app = Flask(__name__)
    ETag(app)
    with app.app_context(), pytest.raises(RuntimeError, match="inside the request"):
        tag("note", 1)


@pytest.mark.parametrize("tag", TAGGINGS)
def test_no_state_no_tag(tag: Any) -> None:
    client = notes_app()
    with client.application.test_request_context():
        assert tag("note", None) is None


# --------------------------------------------------------------------------- item_tagger

STAMPS = {1: datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=timezone.utc), 2: datetime(2026, 5, 9)}


def by_user() -> str | None:
    """The scope of an app that names its user in a header (a stand-in for its login)."""
    return request.headers.get("X-User")


#: (app config, the item route's @etag options, its generator's options, whether two readers
#: get two tags), one row per way a route folds or marks its tag (RFC 9110 §8.8.3, §8.8.1).
FOLDINGS = [
    pytest.param({}, {}, {}, False, id="plain"),
    pytest.param({"ETAG_SCOPE": by_user}, {}, {}, True, id="ETAG_SCOPE"),
    pytest.param({}, {"scope": by_user}, {}, True, id="route scope"),
    pytest.param(
        {"ETAG_SCOPE": lambda: "everyone"}, {"scope": by_user}, {}, True, id="route scope wins"
    ),
    pytest.param({"ETAG_SCOPE": by_user}, {"scope": None}, {}, False, id="route unscoped"),
    pytest.param({"ETAG_RELEASE": "2026.12"}, {}, {}, False, id="release"),
    pytest.param({"ETAG_WEAK": True}, {}, {"weak": None}, False, id="ETAG_WEAK"),
    pytest.param({}, {}, {"weak": True}, False, id="weak generator"),
    pytest.param({"ETAG_WEAK": True}, {}, {"weak": False}, False, id="strong over ETAG_WEAK"),
    pytest.param({}, {"vary": ("Accept-Language",)}, {}, True, id="vary"),
    pytest.param({}, {"vary": ("Authorization",)}, {}, True, id="vary credential"),
    pytest.param(
        {"ETAG_SCOPE": by_user, "ETAG_RELEASE": "r7"},
        {"vary": ("Accept-Language",)},
        {"weak": True},
        True,
        id="every fold, weak",
    ),
]

READERS = [
    {"X-User": "ann", "Accept-Language": "fr", "Authorization": "Bearer ann"},
    {"X-User": "bob", "Accept-Language": "de", "Authorization": "Bearer bob"},
]


def tagging_app(
    generator: str, config: dict[str, Any], route: dict[str, Any], made: dict[str, Any]
) -> FlaskClient:
    """An item route tagged as ``route`` and ``made`` say; ``GET /listed`` gives each item's
    tag by :func:`item_etag` and by :func:`item_tagger`."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s3cret", **config)
    ETag(app)
    states: dict[int, Any] = dict(NOTES) if generator == "version" else dict(STAMPS)
    kind = VersionGenerator if generator == "version" else TimestampGenerator
    by_state = kind(lambda number: states.get(number), **made)

    @app.get("/notes/<int:number>")
    @etag(by_state, **route)
    def note(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/listed")
    def listed() -> Any:
        tag = item_tagger(note)
        return jsonify(
            [
                {"number": n, "item_etag": item_etag(note, state), "tagger": tag(state)}
                for n, state in states.items()
            ]
        )

    return app.test_client()


@pytest.mark.parametrize("generator", ["version", "timestamp"])
@pytest.mark.parametrize(("config", "route", "made", "per_reader"), FOLDINGS)
def test_a_tagger_gives_what_item_etag_and_the_item_get_give_rfc9110_8_8_3(
    generator: str,
    config: dict[str, Any],
    route: dict[str, Any],
    made: dict[str, Any],
    per_reader: bool,
) -> None:
    """For every reader and item, the tagger's tag, item_etag's and the item's own ``ETag``
    are one value; two readers get two tags exactly where the route folds the reader in."""
    client = tagging_app(generator, config, route, made)
    firsts = []
    for reader in READERS:
        listed = client.get("/listed", headers=reader).get_json()
        for entry in listed:
            own = client.get(f"/notes/{entry['number']}", headers=reader).headers["ETag"]
            assert entry["tagger"] == entry["item_etag"] == own
        firsts.append(listed[0]["tagger"])
    assert (firsts[0] != firsts[1]) == per_reader


def test_a_tagger_is_refused_in_another_request_rfc9110_8_8_3() -> None:
    """A tagger folds the scope of the request it was made in: kept for a later request, it
    would give bob ann's tags (a strong tag names one user's representation)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s3cret", ETAG_SCOPE=lambda: request.headers.get("X-User"))
    app.testing = True  # the error reaches the test rather than a 500 page
    ETag(app)
    kept: dict[str, Any] = {}

    @app.get("/notes/<int:number>")
    @etag(VersionGenerator(lambda number: NOTES.get(number)))
    def note(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/first")
    def first() -> str:
        kept["tag"] = item_tagger(note)
        return kept["tag"](NOTES[1]) or ""

    @app.get("/later")
    def later() -> str:
        return kept["tag"](NOTES[1]) or ""

    client = app.test_client()
    ann = client.get("/first", headers={"X-User": "ann"})
    assert ann.text == client.get("/notes/1", headers={"X-User": "ann"}).headers["ETag"]
    with pytest.raises(RuntimeError, match="request it was made in"):
        client.get("/later", headers={"X-User": "bob"})


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


def test_a_null_body_tag_is_no_tag_as_in_a_batch_rfc6585_3() -> None:
    """``"etag": null`` says the client holds no tag, as a batch entry's does: the write is
    judged by its headers (428 without ``If-Match``, RFC 6585 §3), never a 400 for a
    malformed member, and the member is taken out of the body the view gets."""
    client = notes_app()
    assert client.patch("/notes/1", json={"text": "x", "etag": None}).status_code == 428
    assert (
        client.patch(
            "/notes/1", json={"text": "x", "etag": None}, headers={"If-None-Match": "*"}
        ).status_code
        == 412
    )
    tag = client.get("/notes/1").headers["ETag"]
    written = client.patch("/notes/1", json={"text": "x", "etag": None}, headers={"If-Match": tag})
    assert (written.status_code, written.get_json()["document"]) == (200, {"text": "x"})


@pytest.mark.parametrize(
    "member",
    [7, "*", "unquoted", '"a", "b"', ""],
    ids=["number", "star", "unquoted", "list", "empty"],
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


@pytest.mark.parametrize(
    ("member", "headers", "reason"),
    [
        pytest.param(7, {}, "bad-body-tag", id="no-entity-tag"),
        pytest.param('"other"', {"If-Match": '"mine"'}, "body-disagrees", id="disagrees"),
        pytest.param('"other"', {"If-None-Match": "*"}, "body-disagrees", id="create-only"),
    ],
)
def test_a_refused_body_tag_names_the_member_the_app_reads_rfc9110_15_5_1(
    tmp_path: Path, member: Any, headers: dict[str, str], reason: str
) -> None:
    """Under ``ETAG_BODY_MEMBER = "_etag"`` the 400 tells the client what to fix in the
    member it sent, never in an ``etag`` member it did not send."""
    client = example_client_with(tmp_path, ETAG_BODY_MEMBER="_etag")
    answer = merge_patch(client, {"stock": 9, "_etag": member}, **headers)
    problem = answer.get_json()
    assert (answer.status_code, problem["reason"]) == (400, reason)
    assert problem["detail"].startswith('The body\'s "_etag" member')
    assert current(client)[0]["stock"] == 45


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
