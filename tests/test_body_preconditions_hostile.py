"""Tags in bodies and batch writes, inside the apps that use them (a hostile review).

A write's JSON body may carry its tag (``ETAG_BODY_MEMBER``, ``"etag"``), judged as if it
had sent ``If-Match`` (RFC 9110 §13.1.1; the 428 of RFC 6585 §3); a batch carries one tag
per entry.  Here the app around them does what apps do: an access check above or below the
decorator or inside the lookup, hooks that read or refuse the body first,
``MAX_CONTENT_LENGTH``, bodies of other shapes and media types, ``If-None-Match: *`` beside
the member, a DELETE with a body, a POST to a collection, Flask-CORS, and batches a client
got wrong.  Whatever arrives: the app's own answer (401, 403, 413) where the app decides
first, a clear 4xx otherwise, never a 5xx (the apps run in testing mode, so an exception
fails the test with its trace), and never a refused or half-applied write.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import VIEW_STYLES, Route, register
from flask import Flask, abort, request
from flask.testing import FlaskClient
from flask_cors import CORS
from support_databases import dispose_after_test
from support_processes import postgres_schema
from test_example import COLLECTION, ITEM, current, products
from werkzeug.test import TestResponse

from flask_etag import ETag, HashGenerator, VersionGenerator, etag, require_if_match

ORIGIN = "https://app.example"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
#: Note 1 is at version 3, so its tag is "3"; "2" is a tag it had before.
CURRENT, STALE = '"3"', '"2"'
#: The notes collection's version: its tag.
SHELF = '"7"'


# --------------------------------------------------------------------------- the notes app


@dataclass
class Notes:
    """The app's data, and every document a write view was given (so a test can tell that a
    refused write ran no view)."""

    versions: dict[int, int] = field(default_factory=lambda: {1: 3})
    texts: dict[int, str] = field(default_factory=lambda: {1: "milk"})
    documents: list[Any] = field(default_factory=list)
    shelf: int = 7

    def state(self) -> tuple[dict[int, int], dict[int, str], int]:
        return dict(self.versions), dict(self.texts), self.shelf


def require_ann(view: Callable[..., Any]) -> Callable[..., Any]:
    """The app's access check, a plain ``functools.wraps`` decorator: 401 without
    credentials, 403 for anyone but ann (RFC 9110 §15.5.2, §15.5.4)."""

    @functools.wraps(view)
    def checked(**view_args: Any) -> Any:
        user = request.headers.get("X-User")
        if user is None:
            abort(401)
        if user != "ann":
            abort(403)
        return view(**view_args)

    return checked


def parsed_body() -> Any:
    """What a lenient view parses: any body that is JSON, whatever its media type."""
    try:
        return request.get_json(force=True, silent=True)
    except RecursionError:
        return None


def notes_app(
    notes: Notes,
    view_style: str = "function",
    *,
    access: str | None = None,
    access_in_lookup: bool = False,
    **config: Any,
) -> Flask:
    """Notes: ``/notes/<n>`` (GET ``@etag``; PATCH, PUT, DELETE ``@require_if_match``, with
    the access check ``access`` = "above" or "below" the decorator), ``/optional/<n>`` (PUT
    ``@etag``: headers optional) and ``POST /notes``, a collection tagged by its version."""
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    ETag(app)

    def version_of(number: int) -> int | None:
        if access_in_lookup and request.headers.get("X-User") != "ann":
            abort(403)
        return notes.versions.get(number)

    versions = VersionGenerator(version_of)

    def read(number: int) -> Any:
        if number not in notes.texts:
            abort(404)
        return {"number": number, "text": notes.texts[number]}

    def write(number: int) -> Any:
        document = parsed_body()
        notes.documents.append(document)
        if request.method == "DELETE":
            del notes.texts[number], notes.versions[number]
            return "", 204
        text = document.get("text", "") if isinstance(document, dict) else ""
        notes.texts[number] = str(text)
        notes.versions[number] = notes.versions.get(number, 0) + 1
        return read(number)

    def create() -> Any:
        number = max(notes.texts, default=0) + 1
        notes.versions[number] = 0
        written = write(number)
        notes.shelf += 1
        return written, 201

    guard: Callable[[Callable[..., Any]], Callable[..., Any]] = require_if_match(versions)
    if access == "above":
        guard = _above(require_if_match(versions))
    elif access == "below":
        guard = _below(require_if_match(versions))
    writes = {method: (guard, write) for method in ("PATCH", "PUT", "DELETE")}
    routes = [
        Route("/notes/<int:number>", "notes", {"GET": (etag(versions), read), **writes}),
        Route("/optional/<int:number>", "optional", {"PUT": (etag(versions), write)}),
        Route("/notes", "shelf", {"POST": (etag(VersionGenerator(lambda: notes.shelf)), create)}),
    ]
    for route in routes:
        register(app, route, view_style)
    return app


def _above(guard: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda view: require_ann(guard(view))


def _below(guard: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda view: guard(require_ann(view))


def as_user(user: str | None) -> dict[str, str]:
    return {} if user is None else {"X-User": user}


def problem_reason(answer: TestResponse) -> str | None:
    assert answer.mimetype == "application/problem+json", answer.data
    reason: str | None = answer.get_json().get("reason")
    return reason


# --------------------------------------------------------------------------- a) access checks

#: (the body's member, headers sent beside it, what ann, who may write, is answered).
MEMBER_CASES = [
    pytest.param({"etag": STALE}, {}, 412, id="stale"),
    pytest.param({"etag": CURRENT}, {}, 200, id="current"),
    pytest.param({"etag": 7}, {}, 400, id="malformed"),
    pytest.param({"etag": STALE}, {"If-Match": CURRENT}, 400, id="disagrees"),
    pytest.param({}, {}, 428, id="absent"),
]


@pytest.mark.parametrize("view_style", VIEW_STYLES)
@pytest.mark.parametrize(("member", "headers", "for_ann"), MEMBER_CASES)
def test_an_access_check_above_the_decorator_answers_before_the_body_tag_rfc9110_15_5_2(
    view_style: str, member: dict[str, Any], headers: dict[str, str], for_ann: int
) -> None:
    """The right order: the access check wraps ``@require_if_match``, so the body is never
    read for someone who may not write, and the answer says nothing of the tag; ann, with the
    very same request, gets the member judged."""
    notes = Notes()
    client = notes_app(notes, view_style, access="above").test_client()
    document = {"text": "oat milk", **member}
    before = notes.state()
    for user, status in ((None, 401), ("bob", 403)):
        answer = client.patch("/notes/1", json=document, headers={**headers, **as_user(user)})
        assert answer.status_code == status
        assert "ETag" not in answer.headers
        assert notes.state() == before and notes.documents == []
    answer = client.patch("/notes/1", json=document, headers={**headers, **as_user("ann")})
    assert answer.status_code == for_ann


@pytest.mark.parametrize("view_style", ["function", "methodview"])
def test_an_access_check_under_the_decorator_comes_after_the_body_tag_rfc9110_13_2_1(
    view_style: str,
) -> None:
    """The wrong order, which docs/guides/tags-in-bodies.md and real-apps.md warn of: under
    the decorator the check runs after the member was judged, so a client without
    credentials learns whether its tag is current (412 with the current tag, or 401)."""
    notes = Notes()
    client = notes_app(notes, view_style, access="below").test_client()
    before = notes.state()
    stale = client.patch("/notes/1", json={"text": "x", "etag": STALE})
    fresh = client.patch("/notes/1", json={"text": "x", "etag": CURRENT})
    assert (stale.status_code, stale.headers["ETag"]) == (412, CURRENT)
    assert fresh.status_code == 401
    assert notes.state() == before


def test_an_access_check_in_the_lookup_answers_before_every_412_rfc9110_13_2_1() -> None:
    """A lookup that aborts 403 runs before the member is compared: stale or current, the
    answer is 403.  A malformed member (400) and a missing one (428) are answered before the
    lookup, from the request alone: the same for an existing note and a missing one."""
    notes = Notes()
    client = notes_app(notes, access_in_lookup=True).test_client()
    for tag in (STALE, CURRENT):
        answer = client.patch("/notes/1", json={"text": "x", "etag": tag})
        assert answer.status_code == 403 and "ETag" not in answer.headers
    for document, status in (({"etag": "unquoted"}, 400), ({"text": "x"}, 428)):
        answers = [client.patch(f"/notes/{number}", json=document) for number in (1, 99)]
        assert [answer.status_code for answer in answers] == [status, status]
        assert answers[0].data == answers[1].data
        assert not any("ETag" in answer.headers for answer in answers)
    assert notes.documents == []
    stale = client.patch("/notes/1", json={"etag": STALE}, headers=as_user("ann"))
    assert stale.status_code == 412


@pytest.mark.parametrize("access", ["above", "below"])
def test_a_body_hash_write_judged_by_current_wants_its_access_check_above_rfc9110_13_2_1(
    access: str,
) -> None:
    """``HashGenerator(current=...)`` judges a write before its view, as a version route
    does: an access check above ``@etag`` answers 401 whatever the tag; one under it comes
    after the 412, which tells a client without credentials the current hash (docs:
    real-apps.md; Flask-Login's and Flask-HTTPAuth's checks there are refused at import)."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    ETag(app)
    page = {"text": "draft"}

    def read_page() -> dict[str, str]:
        return dict(page)

    @app.get("/page")
    @etag
    def get_page() -> dict[str, str]:
        return read_page()

    def put_page() -> dict[str, str]:
        page["text"] = str(request.get_json()["text"])
        return read_page()

    conditional = etag(HashGenerator(current=read_page))
    view = (
        require_ann(conditional(put_page))
        if access == "above"
        else conditional(require_ann(put_page))
    )
    app.add_url_rule("/page", "put_page", view, methods=["PUT"])
    client = app.test_client()
    held = client.get("/page").headers["ETag"]
    page["text"] = "final"
    stale = client.put("/page", json={"text": "mine", "etag": held})
    assert page == {"text": "final"}
    if access == "above":
        assert (stale.status_code, stale.headers.get("ETag")) == (401, None)
    else:
        assert stale.status_code == 412 and stale.headers["ETag"] != held


# --------------------------------------------------------------------------- b) hooks, limits


def _reads_json() -> None:
    request.get_json()


def _reads_json_silently() -> None:
    request.get_json(silent=True)


def _reads_raw_bytes() -> None:  # a signature check over the bytes received
    assert request.get_data()


def _reads_the_form() -> None:  # a CSRF check looks for a token in the form
    assert request.form.get("csrf_token") is None


@pytest.mark.parametrize(
    "hook",
    [_reads_json, _reads_json_silently, _reads_raw_bytes, _reads_the_form],
    ids=["get_json", "get_json-silent", "get_data", "form"],
)
def test_a_hook_that_read_the_body_first_leaves_the_tag_judged_rfc9110_13_1_1(
    hook: Callable[[], None],
) -> None:
    notes = Notes()
    app = notes_app(notes)
    app.before_request(hook)
    client = app.test_client()
    before = notes.state()
    stale = client.patch("/notes/1", json={"text": "oat milk", "etag": STALE})
    assert (stale.status_code, stale.headers["ETag"]) == (412, CURRENT)
    assert notes.state() == before and notes.documents == []
    fresh = client.patch("/notes/1", json={"text": "oat milk", "etag": CURRENT})
    assert fresh.status_code == 200
    assert notes.documents == [{"text": "oat milk"}]  # the member taken out, hook or not


def test_a_hook_that_drained_the_body_leaves_no_tag_to_read_rfc6585_3() -> None:
    """The app consumed the stream itself: the member cannot stand for If-Match, so the
    write is refused with 428, never performed."""
    notes = Notes()
    app = notes_app(notes)

    @app.before_request
    def drain() -> None:
        request.stream.read()

    answer = app.test_client().patch("/notes/1", json={"text": "x", "etag": CURRENT})
    assert answer.status_code == 428
    assert notes.documents == []


def test_a_hook_that_refuses_long_bodies_answers_first_rfc9110_15_5_14() -> None:
    notes = Notes()
    app = notes_app(notes)

    @app.before_request
    def refuse_long_bodies() -> None:
        if (request.content_length or 0) > 64:
            abort(413)

    client = app.test_client()
    for tag in (STALE, CURRENT):
        answer = client.patch("/notes/1", json={"text": "x" * 100, "etag": tag})
        assert answer.status_code == 413 and "ETag" not in answer.headers
    assert notes.documents == []


def _chunked(client: FlaskClient, url: str, body: bytes) -> TestResponse:
    """A body without Content-Length, as a server that decodes chunked input hands it over."""
    return client.open(
        url,
        method="PATCH" if url.startswith("/notes") else "PUT",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("url", ["/notes/1", "/optional/1"], ids=["required", "optional"])
@pytest.mark.parametrize("tag", [STALE, CURRENT], ids=["stale", "current"])
def test_max_content_length_is_413_whatever_the_body_tag_rfc9110_15_5_14(
    url: str, tag: str
) -> None:
    notes = Notes()
    client = notes_app(notes, MAX_CONTENT_LENGTH=128).test_client()
    body = json.dumps({"etag": tag, "text": "x" * 200}).encode()
    method = client.patch if url.startswith("/notes") else client.put
    assert method(url, data=body, content_type="application/json").status_code == 413
    assert _chunked(client, url, body).status_code == 413
    assert notes.documents == [] and notes.versions == {1: 3}


def test_the_examples_body_limit_is_413_with_a_body_tag_rfc9110_15_5_14(tmp_path: Path) -> None:
    client = example(tmp_path)
    seeded, tag = current(client)
    document = {"name": "x" * (products.MAX_BODY_BYTES + 1), "etag": tag}
    answer = client.patch(ITEM, json=document, headers=MERGE_PATCH)
    assert answer.status_code == 413
    assert problem_reason(answer) is None  # the example's problem details, not a tag's
    assert current(client) == (seeded, tag)


# --------------------------------------------------------------------------- c) other bodies

NESTED = b'{"etag": "\\"3\\"", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

#: Bodies that are no JSON object sent as JSON, each holding the current tag somewhere.
NOT_JSON_OBJECTS = [
    pytest.param("application/json", b'[{"etag": "\\"3\\""}]', id="array"),
    pytest.param("application/json", b'"\\"3\\""', id="string"),
    pytest.param("application/json", b"3", id="number"),
    pytest.param("application/json", b"null", id="null"),
    pytest.param("application/json", b'{"etag": "\\"3\\"",', id="invalid-json"),
    pytest.param("application/json", b'{"etag": "\\"3\\"", "t": "\xff"}', id="invalid-utf8"),
    pytest.param("application/json", b"", id="empty"),
    pytest.param("application/json", NESTED, id="nested-too-deep"),
    pytest.param("text/plain", b'{"etag": "\\"3\\""}', id="text-plain"),
    pytest.param(None, b'{"etag": "\\"3\\""}', id="no-content-type"),
    pytest.param("application/x-www-form-urlencoded", b"etag=%223%22", id="form"),
    pytest.param(
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="etag"\r\n\r\n"3"\r\n--b--\r\n',
        id="multipart",
    ),
]


@pytest.mark.parametrize(("content_type", "body"), NOT_JSON_OBJECTS)
def test_a_body_that_is_no_json_object_is_not_read_for_a_tag_rfc6585_3(
    content_type: str | None, body: bytes
) -> None:
    """Only a JSON object sent as JSON (``request.is_json``) is read for the member: each of
    these carries the current tag, yet is answered 428 on a route that requires If-Match,
    and no view runs."""
    notes = Notes()
    client = notes_app(notes).test_client()
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = client.patch("/notes/1", data=body, headers=headers)
    assert answer.status_code == 428
    assert notes.documents == [] and notes.versions == {1: 3}


def test_a_json_looking_body_of_another_media_type_keeps_its_member_rfc9110_13_1_1() -> None:
    """As documented: sent as text/plain, the member is neither read nor taken out.  On a
    route where preconditions are optional the write goes ahead unconditionally, and a view
    that parses any body (``get_json(force=True)``) gets the member in its document."""
    notes = Notes()
    client = notes_app(notes).test_client()
    body = json.dumps({"text": "soy milk", "etag": STALE})
    answer = client.put("/optional/1", data=body, content_type="text/plain")
    assert answer.status_code == 200
    assert notes.documents == [{"text": "soy milk", "etag": STALE}]


def test_only_get_json_returns_the_body_without_its_member_rfc9110_13_1_1() -> None:
    """As documented: ``get_json()`` (and ``request.json``) return the parsed body without
    the member; the bytes received (``request.data``) are left as they came."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    ETag(app)

    @app.patch("/raw/<int:number>")
    @require_if_match(VersionGenerator(lambda number: 3))
    def raw(number: int) -> Any:
        return {"parsed": request.json, "received": json.loads(request.data)}

    answer = app.test_client().patch("/raw/1", json={"text": "x", "etag": CURRENT})
    received = answer.get_json()
    assert received == {"parsed": {"text": "x"}, "received": {"text": "x", "etag": CURRENT}}


def _streamed_document() -> Any:
    """What a view that parses its body itself from the stream (``ijson`` does) reads."""
    return json.load(request.stream)


def _streamed_bytes() -> Any:
    return json.loads(request.stream.read())


@pytest.mark.parametrize("reader", [_streamed_document, _streamed_bytes], ids=["load", "read"])
@pytest.mark.parametrize(
    ("document", "headers"),
    [
        pytest.param({"text": "x", "etag": CURRENT}, {}, id="member"),
        pytest.param({"text": "x"}, {"If-Match": CURRENT}, id="if-match"),
    ],
)
def test_a_view_reading_the_stream_gets_the_whole_body_rfc9110_9_3_4(
    reader: Callable[[], Any], document: dict[str, Any], headers: dict[str, str]
) -> None:
    """Reading the body for its member (whether it has one or not) drains the WSGI stream;
    a view that parses the stream itself must still get every byte the client sent, not an
    empty body that it would store as the resource's new state."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    ETag(app)
    stored: list[Any] = []

    @app.put("/raw/<int:number>")
    @require_if_match(VersionGenerator(lambda number: 3 + len(stored)))
    def raw(number: int) -> Any:
        stored.append(reader())
        return "", 204

    answer = app.test_client().put("/raw/1", json=document, headers=headers)
    assert answer.status_code == 204
    assert stored == [document]  # the bytes as they came, as request.data holds them


# --------------------------------------------------------------------------- d) other writes


def example(tmp_path: Path, **config: Any) -> FlaskClient:
    """The example on a SQLite file of the test's own, holding the seeded product 101."""
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, **config})
    return dispose_after_test(app).test_client()


@pytest.mark.parametrize("url", ["/api/products/500", ITEM], ids=["absent", "present"])
def test_a_body_tag_beside_if_none_match_star_is_400_rfc9110_13_1_2(
    tmp_path: Path, url: str
) -> None:
    """``If-None-Match: *`` asks that no state exist, the member that one does: a client
    that copied a listed product (with its tag) to create another gets a 400 saying they
    disagree, never a 412 telling it to send the ``If-None-Match: *`` it sent."""
    client = example(tmp_path)
    listed = client.get(COLLECTION).get_json()[0]
    copied = {key: value for key, value in listed.items() if key != "id"}
    answer = client.put(url, json=copied, headers={"If-None-Match": "*"})
    assert answer.status_code == 400
    assert problem_reason(answer) == "body-disagrees"
    assert client.get(COLLECTION).get_json() == [listed]
    del copied["etag"]
    created = client.put("/api/products/500", json=copied, headers={"If-None-Match": "*"})
    assert created.status_code == 201


@pytest.mark.parametrize(
    ("member", "status"),
    [
        pytest.param('"a,b"', 412, id="comma-inside-the-quotes"),
        pytest.param(' W/"a,b" ', 412, id="weak-with-whitespace"),
        pytest.param('"a, b"', 400, id="space-inside-the-quotes"),
        pytest.param('"a", "a"', 400, id="one-tag-listed-twice"),
        pytest.param('"a",', 400, id="trailing-comma"),
    ],
)
def test_a_body_tag_is_one_entity_tag_commas_inside_included_rfc9110_8_8_3(
    tmp_path: Path, member: str, status: int
) -> None:
    """``etagc`` admits a comma (§8.8.3), so ``"a,b"`` is one tag, judged (stale here);
    a list, even of one tag twice, is no tag."""
    client = example(tmp_path)
    answer = client.patch(ITEM, json={"stock": 1, "etag": member}, headers=MERGE_PATCH)
    assert answer.status_code == status, answer.get_json()
    assert client.get(ITEM).get_json()["stock"] == 45


def test_a_body_tag_on_a_delete_is_judged_rfc9110_13_1_1(tmp_path: Path) -> None:
    client = example(tmp_path)
    _, held = current(client)
    changed = client.patch(ITEM, json={"stock": 1}, headers={**MERGE_PATCH, "If-Match": held})
    assert changed.status_code == 200
    stale = client.delete(ITEM, json={"etag": held})
    assert (stale.status_code, stale.headers["ETag"]) == (412, changed.headers["ETag"])
    malformed = client.delete(ITEM, json={"etag": ["not", "a", "tag"]})
    assert (malformed.status_code, problem_reason(malformed)) == (400, "bad-body-tag")
    assert client.get(ITEM).status_code == 200
    assert client.delete(ITEM, json={"etag": changed.headers["ETag"]}).status_code == 204
    assert client.get(ITEM).status_code == 404


def test_a_body_tag_in_a_post_to_a_collection_names_the_collection_rfc9110_13_1_1() -> None:
    """On a decorated collection the member stands for If-Match on the collection (§13.1.1
    is about the target resource): an item's tag copied into a new item is stale there."""
    notes = Notes()
    client = notes_app(notes).test_client()
    before = notes.state()
    copied = client.post("/notes", json={"text": "bread", "etag": CURRENT})
    assert (copied.status_code, copied.headers["ETag"]) == (412, SHELF)
    assert notes.state() == before
    created = client.post("/notes", json={"text": "bread", "etag": SHELF})
    assert created.status_code == 201 and notes.documents == [{"text": "bread"}]


def test_an_undecorated_post_leaves_the_member_to_the_app_rfc9110_13_1_1(tmp_path: Path) -> None:
    """The example's ``POST /api/products`` has no decorator, so nothing reads the member:
    the example refuses it as an unknown member (422), and creates nothing."""
    client = example(tmp_path)
    _, tag = current(client)
    new = {"name": "Mouse", "price": 10, "stock": 5, "etag": tag}
    answer = client.post(COLLECTION, json=new)
    assert answer.status_code == 422 and "etag" in answer.get_json()["errors"]
    assert len(client.get(COLLECTION).get_json()) == 1


# --------------------------------------------------------------------------- e) CORS

CORS_SETUPS = [
    pytest.param({}, id="flask-cors"),
    pytest.param({"expose_headers": ["X-Request-Id"]}, id="flask-cors-exposing"),
    pytest.param({"origins": [ORIGIN], "supports_credentials": True}, id="flask-cors-credentials"),
]


def cors_notes(notes: Notes, setup: dict[str, Any]) -> FlaskClient:
    app = notes_app(notes)
    CORS(app, **setup)
    return app.test_client()


def exposed(answer: TestResponse) -> set[str]:
    values = answer.headers.getlist("Access-Control-Expose-Headers")
    return {name.strip().lower() for value in values for name in value.split(",")}


PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "content-type",
}


@pytest.mark.parametrize("setup", CORS_SETUPS)
def test_a_preflight_is_never_judged_rfc9110_13_2_1(setup: dict[str, Any]) -> None:
    """A preflight carries no body and no If-Match: Flask's automatic OPTIONS, and a
    decorated view that answers OPTIONS itself (§13.2.1: preconditions do not apply to
    it), both answer it with Flask-CORS's fields, never a 428."""
    notes = Notes()
    app = notes_app(notes)
    answered: list[str] = []

    @app.route("/own-options/<int:number>", methods=["PATCH", "OPTIONS"])
    @require_if_match(VersionGenerator(lambda number: notes.versions.get(number)))
    def own_options(number: int) -> Any:
        answered.append(request.method)
        return "", 204

    CORS(app, **setup)
    client = app.test_client()
    for url, status in (("/notes/1", 200), ("/own-options/1", 204)):
        preflight = client.options(url, headers=PREFLIGHT)
        assert preflight.status_code == status
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert answered == ["OPTIONS"] and notes.documents == []


@pytest.mark.parametrize("setup", CORS_SETUPS)
def test_a_cross_origin_412_from_the_body_tag_can_be_read_rfc9110_15_5_13(
    setup: dict[str, Any],
) -> None:
    """A browser script reads the current tag of the 412 (``ETag`` exposed) and its
    problem details (``Access-Control-Allow-Origin``), and can retry with it."""
    notes = Notes()
    client = cors_notes(notes, setup)
    stale = client.patch("/notes/1", json={"etag": STALE}, headers={"Origin": ORIGIN})
    assert stale.status_code == 412
    assert stale.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "etag" in exposed(stale) and stale.headers["ETag"] == CURRENT
    assert stale.get_json()["etag"] == CURRENT
    retry = {"etag": stale.headers["ETag"]}
    retried = client.patch("/notes/1", json=retry, headers={"Origin": ORIGIN})
    assert retried.status_code == 200 and "etag" in exposed(retried)


@pytest.mark.parametrize("setup", CORS_SETUPS)
@pytest.mark.parametrize(
    ("document", "headers", "reason"),
    [
        ({"etag": "*"}, {}, "bad-body-tag"),
        ({"etag": STALE}, {"If-Match": CURRENT}, "body-disagrees"),
    ],
    ids=["bad-body-tag", "body-disagrees"],
)
def test_a_cross_origin_400_from_the_body_tag_can_be_read_rfc9110_15_5_1(
    setup: dict[str, Any], document: dict[str, Any], headers: dict[str, str], reason: str
) -> None:
    notes = Notes()
    client = cors_notes(notes, setup)
    answer = client.patch("/notes/1", json=document, headers={"Origin": ORIGIN, **headers})
    assert answer.status_code == 400
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert problem_reason(answer) == reason
    assert notes.documents == []


# --------------------------------------------------------------------------- f) batches


@pytest.fixture
def shop(tmp_path: Path) -> FlaskClient:
    """The example with products 101 (seeded), 102 and 103, and no limit on the body's
    size (``MAX_CONTENT_LENGTH``), so that only the batch's own limits apply."""
    client = example(tmp_path, MAX_CONTENT_LENGTH=None)
    for name in ("Keyboard", "Mouse"):
        created = client.post(COLLECTION, json={"name": name, "price": 10, "stock": 5})
        assert created.status_code == 201
    return client


def listed(client: FlaskClient) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in client.get(COLLECTION).get_json()}


def send_batch(client: FlaskClient, entries: Any, atomic: bool = True) -> TestResponse:
    url = COLLECTION if atomic else f"{COLLECTION}?atomic=false"
    return client.patch(url, data=json.dumps(entries), headers=MERGE_PATCH)


ATOMIC = pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])


def assert_bad_batch(client: FlaskClient, entries: Any, atomic: bool) -> str:
    """The batch is a 400 ``bad-batch`` problem and nothing was written; returns its detail."""
    before = listed(client)
    answer = send_batch(client, entries, atomic)
    assert answer.status_code == 400, answer.data
    assert problem_reason(answer) == "bad-batch"
    assert listed(client) == before
    detail: str = answer.get_json()["detail"]
    return detail


@ATOMIC
@pytest.mark.parametrize("twin", [101, 101.0], ids=["same-id", "same-id-as-float"])
def test_a_batch_naming_an_item_twice_is_400_rfc9110_15_5_1(
    shop: FlaskClient, atomic: bool, twin: Any
) -> None:
    tag = listed(shop)[101]["etag"]
    entries = [{"id": 101, "etag": tag, "stock": 1}, {"id": twin, "etag": tag, "stock": 2}]
    assert_bad_batch(shop, entries, atomic)


@ATOMIC
def test_a_batch_entry_tagged_star_is_400_rfc9110_13_1_1(shop: FlaskClient, atomic: bool) -> None:
    """An entry names the tag its item was read at; ``*`` names none, and would write
    whatever the item holds now (the member of a single write refuses it too)."""
    before = listed(shop)
    entries = [{"id": 101, "etag": "*", "stock": 1}, {"id": 102, "etag": before[102]["etag"]}]
    assert_bad_batch(shop, entries, atomic)


@ATOMIC
def test_a_weak_batch_entry_tag_is_412_rfc9110_13_1_1(shop: FlaskClient, atomic: bool) -> None:
    """If-Match compares strongly: ``W/`` and the current tag is stale, and the answer names
    the strong tag to retry with."""
    before = listed(shop)
    tag = before[101]["etag"]
    answer = send_batch(shop, [{"id": 101, "etag": f"W/{tag}", "stock": 1}], atomic)
    if atomic:
        assert answer.status_code == 412
        assert answer.get_json()["stale"] == [{"id": 101, "etag": tag}]
    else:
        assert answer.status_code == 200
        assert answer.get_json() == [{"id": 101, "status": 412, "etag": tag}]
    assert listed(shop) == before


@ATOMIC
@pytest.mark.parametrize(
    "tag",
    [7, True, ["x"], {"etag": '"x"'}, "", "unquoted", '"a", "b"'],
    ids=["number", "boolean", "array", "object", "empty", "unquoted", "list"],
)
def test_a_batch_entry_tag_that_is_no_entity_tag_is_400_rfc9110_15_5_1(
    shop: FlaskClient, atomic: bool, tag: Any
) -> None:
    before = listed(shop)
    entries = [{"id": 102, "etag": before[102]["etag"], "stock": 1}, {"id": 101, "etag": tag}]
    assert_bad_batch(shop, entries, atomic)


@ATOMIC
def test_a_batch_entry_with_a_null_tag_has_none_rfc6585_3(shop: FlaskClient, atomic: bool) -> None:
    before = listed(shop)
    answer = send_batch(shop, [{"id": 101, "etag": None, "stock": 1}], atomic)
    if atomic:
        assert answer.status_code == 428
    else:
        assert answer.get_json() == [{"id": 101, "status": 428, "etag": before[101]["etag"]}]
    assert listed(shop) == before


@ATOMIC
def test_an_empty_batch_writes_nothing_rfc9110_13_1_1(shop: FlaskClient, atomic: bool) -> None:
    before = listed(shop)
    answer = send_batch(shop, [], atomic)
    assert (answer.status_code, answer.get_json()) == (200, [])
    assert listed(shop) == before


@ATOMIC
def test_a_batch_beyond_the_limit_is_400_rfc9110_15_5_1(shop: FlaskClient, atomic: bool) -> None:
    """1,000 entries at most (``read_batch(max_entries=...)``): a longer batch is refused
    whole, before any query.  One of exactly 1,000 is judged whole: its last entry, an
    existing item beyond the first query's worth of ids, is found, the others missing."""
    limit = 1000
    absent = list(range(1000, 1000 + limit - 1))
    entries: list[dict[str, Any]] = [{"id": number, "etag": '"x"'} for number in absent]
    entries.append({"id": 101, "etag": listed(shop)[101]["etag"], "stock": 1})
    longer = [{"id": 5000, "etag": '"x"'}, *entries]
    assert str(limit) in assert_bad_batch(shop, longer, atomic)
    judged = send_batch(shop, entries, atomic=True)
    assert judged.status_code == 412
    assert (judged.get_json()["stale"], judged.get_json()["missing"]) == ([], absent)


@ATOMIC
@pytest.mark.parametrize(
    "identity",
    ["101", 101.0, True, None, {"id": 101}, [101]],
    ids=["string", "float", "boolean", "null", "object", "array"],
)
def test_a_batch_entry_id_of_another_type_is_400_rfc9110_15_5_1(
    shop: FlaskClient, atomic: bool, identity: Any
) -> None:
    """The example's ids are integers: any other JSON value is refused whole, never looked
    up (``"101"`` would be missing on SQLite and a database error on PostgreSQL)."""
    before = listed(shop)
    entries = [
        {"id": 102, "etag": before[102]["etag"], "stock": 1},
        {"id": identity, "etag": before[101]["etag"], "stock": 1},
    ]
    detail = assert_bad_batch(shop, entries, atomic)
    assert "integer" in detail


IMPOSSIBLE_IDS = [2**70, 2**63, -(2**70)]
IMPOSSIBLE_IDS_NAMED = ["2**70", "2**63", "-2**70"]


def assert_impossible_ids_are_missing(client: FlaskClient, atomic: bool, identity: int) -> None:
    before = listed(client)
    entries = [
        {"id": 102, "etag": before[102]["etag"], "stock": 1},
        {"id": identity, "etag": before[101]["etag"], "stock": 1},
    ]
    answer = send_batch(client, entries, atomic)
    if atomic:
        assert answer.status_code == 412
        assert (answer.get_json()["stale"], answer.get_json()["missing"]) == ([], [identity])
        assert listed(client) == before
    else:
        results = answer.get_json()
        assert [result["status"] for result in results] == [200, 404]
        assert results[1]["id"] == identity
        assert listed(client)[102]["stock"] == 1


@ATOMIC
@pytest.mark.parametrize("identity", IMPOSSIBLE_IDS, ids=IMPOSSIBLE_IDS_NAMED)
def test_a_batch_entry_id_no_row_can_have_is_missing_rfc9110_13_1_1(
    shop: FlaskClient, atomic: bool, identity: int
) -> None:
    """An integer beyond what the key column holds names no item: missing (SQLite cannot
    even bind it), as the example answers 404 for such an id in a URL."""
    assert_impossible_ids_are_missing(shop, atomic, identity)


@pytest.fixture
def postgres_shop() -> Iterator[FlaskClient]:
    with postgres_schema("hostile_batches") as url:
        app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
        client = app.test_client()
        for name in ("Keyboard", "Mouse"):
            client.post(COLLECTION, json={"name": name, "price": 10, "stock": 5})
        yield client
        with app.app_context():
            products.db.session.remove()
            products.db.engine.dispose()


@pytest.mark.slow
@ATOMIC
@pytest.mark.parametrize("identity", [2**31, *IMPOSSIBLE_IDS], ids=["2**31", *IMPOSSIBLE_IDS_NAMED])
def test_a_batch_entry_id_beyond_a_postgresql_integer_is_missing_rfc9110_13_1_1(
    postgres_shop: FlaskClient, atomic: bool, identity: int
) -> None:
    """PostgreSQL refuses the query (``integer out of range``) where SQLite finds nothing."""
    assert_impossible_ids_are_missing(postgres_shop, atomic, identity)
