"""Conditional writes over HTTP (issue 2 rules 2-6 and 9 for PUT, PATCH and DELETE).

Every test runs for function, MethodView and async views, and most for each unsafe method.
A refused write must leave the store exactly as it was and must not run the write view.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_etag import ETag, VersionGenerator, etag, require_if_match

#: The tables run in an app with an ``after_request`` hook and in one without (conftest).
WITH_AND_WITHOUT_APP_HOOK = True

if TYPE_CHECKING:
    from conftest import Store

SUCCESS = {"PUT": 200, "PATCH": 200, "DELETE": 204}
SEEDED_DATES = [
    pytest.param("Mon, 06 May 2024 07:08:09 GMT", id="§5.6.7 IMF-fixdate"),
    pytest.param("Monday, 06-May-24 07:08:09 GMT", id="§5.6.7 rfc850-date"),
    pytest.param("Mon May  6 07:08:09 2024", id="§5.6.7 asctime-date"),
]
BEFORE_SEEDED_DATES = [
    pytest.param("Mon, 06 May 2024 07:08:08 GMT", id="§5.6.7 IMF-fixdate"),
    pytest.param("Monday, 06-May-24 07:08:08 GMT", id="§5.6.7 rfc850-date"),
    pytest.param("Mon May  6 07:08:08 2024", id="§5.6.7 asctime-date"),
]


def write(
    client: FlaskClient, method: str, url: str, headers: object = None, name: str = "new"
) -> TestResponse:
    """Send a write; the JSON body is ignored by DELETE."""
    return client.open(url, method=method, json={"name": name}, headers=headers or {})


def assert_refused(response: TestResponse, store: Store, before: Mapping[int, object]) -> None:
    """412 as problem details, nothing changed, no write view run."""
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 412
    assert store.items == before
    assert not any(method != "GET" for _, method in store.calls)


# ---------------------------------------------------------------- rule 3: If-Match


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('"1"', id="§13.1.1 current strong tag"),
        pytest.param('"9", "1"', id="§13.1.1 list member"),
        pytest.param(' , "9" ,,\t"1" ,', id="§5.6.1 odd whitespace and empty elements"),
        pytest.param("*", id="§13.1.1 star on an existing resource"),
    ],
)
def test_if_match_lets_the_write_through(
    client: FlaskClient, store: Store, unsafe_method: str, value: str
) -> None:
    response = write(client, unsafe_method, "/items/1", {"If-Match": value})
    assert response.status_code == SUCCESS[unsafe_method]
    if unsafe_method == "DELETE":
        assert 1 not in store.items  # the delete was performed
    else:
        assert store.items[1].name == "new"  # the write was performed
    assert store.calls[("items", unsafe_method)] == 1


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('"2"', id="§13.1.1 stale tag"),
        pytest.param('W/"1"', id="§8.8.3.2 weak tag never matches strongly"),
        pytest.param("1", id="§8.8.3 unquoted tag"),
        pytest.param('"1', id="§8.8.3 unterminated quote"),
        pytest.param('"1", garbage', id="§8.8.3 tag beside garbage"),
        pytest.param('"*"', id="§13.1.1 quoted star is just a tag"),
        pytest.param("", id="§13.1.1 empty value"),
    ],
)
def test_if_match_refuses_the_write(
    client: FlaskClient, store: Store, unsafe_method: str, value: str
) -> None:
    """§13.1.1: a failed If-Match answers 412 before the write view runs."""
    before = store.snapshot()
    assert_refused(write(client, unsafe_method, "/items/1", {"If-Match": value}), store, before)


def test_if_match_on_several_field_lines(client: FlaskClient, store: Store) -> None:
    """§5.3: If-Match lines combine into one list."""
    headers = [("If-Match", '"8", "9"'), ("If-Match", '"1"')]
    assert write(client, "PUT", "/items/1", headers).status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param('W/"1"', 412, id="§8.8.3.2 weak request tag"),
        pytest.param('"1"', 412, id="§8.8.3.2 strong request tag vs weak current"),
        pytest.param("*", 200, id="§13.1.1 star"),
    ],
)
def test_if_match_against_a_weak_tag(
    client: FlaskClient, store: Store, value: str, expected: int
) -> None:
    """§13.1.1: a weak current tag never passes If-Match, whatever the client sends."""
    assert client.get("/weak/1").headers["ETag"] == 'W/"1"'
    assert write(client, "PUT", "/weak/1", {"If-Match": value}).status_code == expected


#: Every write route of the test app on a missing item, with the methods it serves.
WRITES_TO_MISSING = [
    pytest.param(method, f"{prefix}/99", id=f"{method} {prefix}")
    for prefix, methods in [
        ("/items", ("PUT", "PATCH", "DELETE")),
        ("/optional", ("PUT", "PATCH", "DELETE")),
        ("/stamped", ("PUT",)),
        ("/hashed", ("PUT", "DELETE")),
    ]
    for method in methods
]


@pytest.mark.parametrize(
    "value", [pytest.param("*", id="star"), pytest.param('"1"', id="a plausible tag")]
)
@pytest.mark.parametrize(("method", "url"), WRITES_TO_MISSING)
def test_if_match_on_a_missing_resource_creates_nothing(
    client: FlaskClient, store: Store, method: str, url: str, value: str
) -> None:
    """§13.1.1: If-Match is false without a current representation: 412, nothing created."""
    before = store.snapshot()
    assert_refused(write(client, method, url, {"If-Match": value}), store, before)
    assert 99 not in store.items


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_if_match_on_a_body_hash_route(client: FlaskClient, store: Store, method: str) -> None:
    """§13.1.1 with the tag of a rendered body: current passes, stale or weak fails."""
    tag = client.get("/hashed/1").headers["ETag"]
    before = store.snapshot()
    assert_refused(write(client, method, "/hashed/1", {"If-Match": '"stale"'}), store, before)
    assert_refused(write(client, method, "/hashed/1", {"If-Match": f"W/{tag}"}), store, before)
    assert write(client, method, "/hashed/1", {"If-Match": tag}).status_code == SUCCESS[method]


def test_lost_update_is_prevented(client: FlaskClient, store: Store) -> None:
    """§13.1.1: two clients hold the same tag; the first write wins, the second gets 412."""
    tag = client.get("/items/1").headers["ETag"]
    first = write(client, "PUT", "/items/1", {"If-Match": tag}, name="alice")
    second = write(client, "PUT", "/items/1", {"If-Match": tag}, name="bob")
    assert (first.status_code, second.status_code) == (200, 412)
    assert store.items[1].name == "alice"


# ---------------------------------------------------------------- rules 2 and 4: If-None-Match


@pytest.mark.parametrize("url", ["/optional/1", "/hashed/1"])
def test_matching_if_none_match_refuses_writes(
    client: FlaskClient, store: Store, unsafe_method: str, url: str
) -> None:
    """§13.1.2: a match on an unsafe method answers 412, not 304."""
    if url == "/hashed/1" and unsafe_method == "PATCH":
        unsafe_method = "PUT"  # the hash route has no PATCH
    tag = client.get(url).headers["ETag"]
    before = store.snapshot()
    for value in (tag, f'"x", W/{tag}', "*"):
        response = write(client, unsafe_method, url, {"If-None-Match": value})
        assert_refused(response, store, before)


def test_non_matching_if_none_match_lets_writes_through(
    client: FlaskClient, store: Store, unsafe_method: str
) -> None:
    response = write(client, unsafe_method, "/optional/1", {"If-None-Match": '"other"'})
    assert response.status_code == SUCCESS[unsafe_method]


@pytest.mark.parametrize("url", ["/items/99", "/optional/99", "/stamped/99", "/hashed/99"])
def test_if_none_match_star_creates_only_if_absent(
    client: FlaskClient, store: Store, url: str
) -> None:
    """§13.1.2: ``If-None-Match: *`` creates a missing resource, then refuses a second create."""
    created = write(client, "PUT", url, {"If-None-Match": "*"}, name="created")
    assert created.status_code == 201
    assert store.items[99].name == "created"
    assert created.headers["ETag"] == client.get(url).headers["ETag"]
    before = store.snapshot()
    store.calls.clear()
    again = write(client, "PUT", url, {"If-None-Match": "*"}, name="overwritten")
    assert_refused(again, store, before)


# ---------------------------------------------------------------- rule 5: require_if_match


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="§6585-3 no conditional header"),
        pytest.param({"If-None-Match": '"1"'}, id="§6585-3 If-None-Match with a tag"),
        pytest.param({"If-Modified-Since": "Mon, 06 May 2024 07:08:09 GMT"}, id="§6585-3 IMS"),
        pytest.param({"If-Unmodified-Since": "Mon, 06 May 2024 07:08:09 GMT"}, id="§6585-3 IUS"),
    ],
)
@pytest.mark.parametrize("url", ["/items/1", "/items/99"])
def test_require_if_match_answers_428(
    client: FlaskClient, store: Store, unsafe_method: str, url: str, headers: dict[str, str]
) -> None:
    """RFC 6585 §3: a write without If-Match (or If-None-Match: *) is refused before the view."""
    before = store.snapshot()
    response = write(client, unsafe_method, url, headers)
    assert response.status_code == 428
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 428
    assert problem["title"] == "Precondition Required"
    assert "If-Match" in problem["detail"]
    assert store.items == before
    assert store.view_calls() == 0


def test_require_if_match_leaves_reads_alone(client: FlaskClient) -> None:
    assert client.get("/items/1").status_code == 200


def test_etag_on_a_write_route_makes_headers_optional(
    client: FlaskClient, store: Store, unsafe_method: str
) -> None:
    """Issue rule 5: ``@etag`` on an unsafe method answers normally without conditional headers."""
    assert write(client, unsafe_method, "/optional/1").status_code == SUCCESS[unsafe_method]


# ---------------------------------------------------------------- rule 6: dates on writes


@pytest.mark.parametrize("value", SEEDED_DATES)
def test_if_unmodified_since_same_date_lets_the_write_through(
    client: FlaskClient, value: str
) -> None:
    """§13.1.4: not modified since the date: the write proceeds (all three date formats)."""
    assert write(client, "PUT", "/stamped/1", {"If-Unmodified-Since": value}).status_code == 200


@pytest.mark.parametrize("value", BEFORE_SEEDED_DATES)
def test_if_unmodified_since_earlier_date_refuses_the_write(
    client: FlaskClient, store: Store, value: str
) -> None:
    before = store.snapshot()
    response = write(client, "PUT", "/stamped/1", {"If-Unmodified-Since": value})
    assert_refused(response, store, before)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="word"),
        pytest.param("2024-05-06T07:08:08Z", id="ISO 8601"),
        pytest.param("Mon, 06 May 2024 07:08:08 GMT, Mon, 06 May 2024 07:08:08 GMT", id="list"),
    ],
)
def test_invalid_if_unmodified_since_is_ignored(client: FlaskClient, value: str) -> None:
    """§13.1.4: an invalid date is ignored: the write proceeds."""
    assert write(client, "PUT", "/stamped/1", {"If-Unmodified-Since": value}).status_code == 200


def test_if_unmodified_since_ignored_when_if_match_present(client: FlaskClient) -> None:
    """§13.1.4: If-Match takes precedence; the IUS here would have failed."""
    tag = client.get("/stamped/1").headers["ETag"]
    headers = {"If-Match": tag, "If-Unmodified-Since": "Mon, 06 May 2024 07:08:08 GMT"}
    assert write(client, "PUT", "/stamped/1", headers).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Mon, 06 May 2024 07:08:09 GMT", id="same date"),
        pytest.param("Fri, 01 Jan 2100 00:00:00 GMT", id="future date"),
    ],
)
def test_if_modified_since_never_applies_to_writes(client: FlaskClient, value: str) -> None:
    """§13.1.3: IMS is ignored for unsafe methods: never 304, never 412."""
    assert write(client, "PUT", "/stamped/1", {"If-Modified-Since": value}).status_code == 200


def test_if_unmodified_since_has_one_second_resolution(client: FlaskClient, store: Store) -> None:
    """§8.8.2: a change within the same second as the date is not 'modified since'."""
    store.items[1].modified += timedelta(microseconds=900_000)
    headers = {"If-Unmodified-Since": "Mon, 06 May 2024 07:08:09 GMT"}
    assert write(client, "PUT", "/stamped/1", headers).status_code == 200


# ---------------------------------------------------------------- rule 9: the new tag


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("PUT", "/items/1", id="version PUT"),
        pytest.param("PATCH", "/items/1", id="version PATCH"),
        pytest.param("PUT", "/optional/1", id="optional version PUT"),
        pytest.param("PUT", "/weak/1", id="weak version PUT"),
        pytest.param("PUT", "/stamped/1", id="timestamp PUT"),
        pytest.param("PUT", "/hashed/1", id="body hash PUT"),
    ],
)
def test_write_returns_the_tag_of_what_it_wrote(client: FlaskClient, method: str, url: str) -> None:
    """§8.8.3: the write's ETag is the new state's, equal to what the next GET returns."""
    old = client.get(url).headers["ETag"]
    guard = "*" if url.startswith("/weak") else old
    response = write(client, method, url, {"If-Match": guard}, name="renamed")
    assert response.status_code == 200
    assert response.get_json()["name"] == "renamed"
    new = response.headers["ETag"]
    assert new != old
    following = client.get(url)
    assert following.headers["ETag"] == new
    assert following.get_json() == response.get_json()
    assert client.get(url, headers={"If-None-Match": new}).status_code == 304


def test_timestamp_tags_change_within_one_second(client: FlaskClient) -> None:
    """Two writes in the same second get different tags (the tag keeps microseconds)."""
    first = write(client, "PUT", "/stamped/1", name="a").headers["ETag"]
    second = write(client, "PUT", "/stamped/1", name="b").headers["ETag"]
    assert first != second


def test_the_new_tag_guards_the_next_write(client: FlaskClient) -> None:
    old = client.get("/items/1").headers["ETag"]
    new = write(client, "PUT", "/items/1", {"If-Match": old}).headers["ETag"]
    assert write(client, "PATCH", "/items/1", {"If-Match": old}).status_code == 412
    assert write(client, "PATCH", "/items/1", {"If-Match": new}).status_code == 200


def notes_app() -> Flask:
    """``/notes`` (GET and POST) tagged by the list's version, ``/notes/<id>`` by each note's:
    a POST creates a note and answers 201 with its ``Location``, its own tag where given."""
    app = Flask(__name__)
    ETag(app)
    notes: dict[int, int] = {}  # id -> version
    listing = {"version": 1}
    note_version = VersionGenerator(lambda note_id: notes.get(note_id))

    @app.route("/notes", methods=["GET", "POST"])
    @etag(VersionGenerator(lambda: listing["version"]))
    def note_list() -> Any:
        if request.method == "GET":
            return {"notes": sorted(notes)}
        note_id = len(notes) + 1
        notes[note_id] = 1
        listing["version"] += 1
        headers = {"Location": f"/notes/{note_id}"}
        if request.args.get("tagged"):
            headers["ETag"] = note_version.etag_for(1)
        return {"id": note_id}, 201, headers

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @etag(note_version)
    def note(note_id: int) -> Any:
        if request.method == "GET":
            return {"id": note_id, "version": notes[note_id]}
        created = note_id not in notes
        notes[note_id] = notes.get(note_id, 0) + 1
        if created:  # at the target itself: its Location names the request's URI
            return {"id": note_id}, 201, {"Location": f"http://localhost/notes/{note_id}"}
        return {"id": note_id, "version": notes[note_id]}

    return app


def test_a_201_elsewhere_keeps_the_created_items_tag_rfc9110_15_3_2() -> None:
    """§15.3.2: a 201's validators describe the resource it created, at its ``Location``.

    The list's own version would be another resource's tag: a client chaining it into
    ``If-Match`` on the new item would get 412 every time.
    """
    client = notes_app().test_client()
    created = client.post("/notes?tagged=1")
    assert created.status_code == 201
    item = client.get(created.headers["Location"])
    assert created.headers["ETag"] == item.headers["ETag"]
    chained = client.put(created.headers["Location"], headers={"If-Match": created.headers["ETag"]})
    assert chained.status_code == 200
    untagged = client.post("/notes")
    assert untagged.status_code == 201
    assert "ETag" not in untagged.headers  # never the list's tag
    assert client.get("/notes").headers["ETag"] == '"3"'


def test_a_201_at_the_target_carries_its_new_tag_rfc9110_15_3_2() -> None:
    """A PUT that creates its target answers 201 for the target itself, ``Location`` naming
    the request's URI: the route tags it with the new state."""
    client = notes_app().test_client()
    created = client.put("/notes/7")
    assert created.status_code == 201
    assert created.headers["ETag"] == client.get("/notes/7").headers["ETag"] == '"1"'


def test_a_write_whose_body_is_another_resource_is_not_given_the_targets_tag_rfc9110_8_7() -> None:
    """§8.7: a 2xx whose ``Content-Location`` names another resource says its body is that
    resource's representation (here a comment that a POST to its note created, answered
    200).  The note's version beside it would be taken for the comment's tag, and integer
    versions of two resources coincide: an ``If-None-Match`` with it on the comment would be
    answered 304 once the comment reaches that version with other text.  So the route
    leaves it untagged, as a 201 elsewhere (§15.3.2); an ``ETag`` the view set stays."""
    app = Flask(__name__)
    ETag(app)
    note_versions = {1: 1}
    comments: dict[int, dict[str, Any]] = {}
    comment_version = VersionGenerator(lambda comment_id: comments[comment_id]["version"])

    @app.get("/comments/<int:comment_id>")
    @etag(comment_version)
    def get_comment(comment_id: int) -> Any:
        return {"text": comments[comment_id]["text"]}

    @app.post("/notes/<int:note_id>/comments")
    @etag(VersionGenerator(lambda note_id: note_versions[note_id]))
    def add_comment(note_id: int) -> Any:
        note_versions[note_id] += 1
        comment_id = len(comments) + 1
        comments[comment_id] = {"text": request.get_json()["text"], "version": 1}
        headers = {"Content-Location": f"/comments/{comment_id}"}
        if request.args.get("tagged"):
            headers["ETag"] = comment_version.etag_for(1)
        return {"text": comments[comment_id]["text"]}, headers

    client = app.test_client()
    added = client.post("/notes/1/comments", json={"text": "first"})
    assert added.status_code == 200
    assert "ETag" not in added.headers  # never the note's "2"
    tagged = client.post("/notes/1/comments?tagged=1", json={"text": "second"})
    assert tagged.headers["ETag"] == client.get("/comments/2").headers["ETag"] == '"1"'


@pytest.mark.parametrize("url", ["/items/1", "/hashed/1"])
def test_delete_sends_no_tag(client: FlaskClient, store: Store, url: str) -> None:
    """A deleted resource has no representation, so the 204 has no ETag."""
    tag = client.get(url).headers["ETag"]
    response = write(client, "DELETE", url, {"If-Match": tag})
    assert response.status_code == 204
    assert "ETag" not in response.headers
    assert 1 not in store.items
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("guard", ["version", "body-hash"])
def test_412_carries_the_current_etag_rfc9110_8_8_3(guard: str) -> None:
    """A failed write names the current tag in ``ETag`` and in the problem, so the client
    retries with it at once; a 412 for a resource that is gone carries none."""
    from flask import Flask

    from flask_etag import ETag, HashGenerator, VersionGenerator, etag, require_if_match

    app = Flask(__name__)
    ETag(app)
    versions = {"a": 3}

    def representation(name: str) -> dict[str, int] | tuple[str, int]:
        if name not in versions:
            return "gone", 404
        return {"version": versions[name]}

    guarded = (
        require_if_match(VersionGenerator(lambda name: versions.get(name)))
        if guard == "version"
        else etag(HashGenerator(current=representation))
    )

    @app.route("/things/<name>", methods=["GET", "PUT"])
    @guarded
    def thing(name: str) -> dict[str, int] | tuple[str, int]:
        return representation(name)

    client = app.test_client()
    current = client.get("/things/a").headers["ETag"]
    failed = client.put("/things/a", headers={"If-Match": '"stale"'})
    assert failed.status_code == 412
    assert failed.headers["ETag"] == failed.get_json()["etag"] == current
    assert client.put("/things/a", headers={"If-Match": failed.headers["ETag"]}).status_code == 200
    gone = client.put("/things/b", headers={"If-Match": '"stale"'})
    assert gone.status_code == 412
    assert "ETag" not in gone.headers and "etag" not in gone.get_json()


@pytest.mark.parametrize(
    "method",
    [
        pytest.param("DELETE", id="§9.3.5 a delete, its lookup now aborts 404"),
        pytest.param("PUT", id="§9.3.4 a write giving the item away, its lookup now aborts 403"),
    ],
)
def test_a_write_done_stays_a_2xx_when_its_lookup_aborts_after_it_rfc9110_9_3_4(
    method: str,
) -> None:
    """A lookup that aborts where the caller may not see the state (real-apps.md's
    ``version_if_allowed(...) or abort(403)``, a ``get_or_404``) runs again after a write to
    tag its 2xx.  The write has happened: its answer stays the view's 2xx, untagged, since
    this caller cannot see the state it produced (§9.3.4), and the write is announced."""
    from flask_etag import etag_written

    app = Flask(__name__)
    ETag(app)
    owners = {1: "ann"}
    versions = {1: 3}

    def version_if_allowed(note_id: int) -> int:
        if note_id not in versions:
            abort(404)
        if owners[note_id] != request.headers.get("X-User"):
            abort(403)
        return versions[note_id]

    @app.route("/notes/<int:note_id>", methods=["PUT", "DELETE"])
    @require_if_match(VersionGenerator(version_if_allowed))
    def note(note_id: int) -> Any:
        if request.method == "DELETE":
            del versions[note_id]
            return {"deleted": note_id}
        owners[note_id], versions[note_id] = "bob", versions[note_id] + 1
        return {"owner": "bob"}

    announced: list[str | None] = []

    def written(sender: Flask, **fields: Any) -> None:
        announced.append(fields["method"])

    with etag_written.connected_to(written, app):
        done = app.test_client().open(
            "/notes/1", method=method, headers={"If-Match": '"3"', "X-User": "ann"}
        )
    assert done.status_code == 200
    assert "ETag" not in done.headers
    assert announced == [method]
    assert versions.get(1) == (None if method == "DELETE" else 4)
