"""Tags in bodies among what ordinary apps put around them (RFC 9110 §8.8.3, §13.1).

A list's ``etag`` members (:func:`~flask_etag.item_tagger`, :func:`~flask_etag.item_etag`)
must stay what a client can send back: under Flask-Compress, under a Flask-Caching response
cache over the list, on blueprints and ``MethodView`` or ``async`` item routes, behind
``after_request`` hooks that rewrite bodies, and in a streamed list.  Each test speaks HTTP
through the test client to the real extension, and writes with the member it read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import brotli
import flask_compress
import pytest
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    request,
    stream_with_context,
)
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_caching import Cache

from flask_etag import ETag, VersionGenerator, etag, item_tagger, require_if_match

ANN = {"X-User": "ann", "Accept-Language": "fr"}
BOB = {"X-User": "bob", "Accept-Language": "fr"}

DECODERS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.decompress, "br": brotli.decompress}

#: Long enough for Flask-Compress to find worth compressing.
TEXT = "milk " * 40


def by_user() -> str | None:
    """The scope: the user the app's ``before_request`` login hook put on ``g``."""
    user: str | None = g.get("user")
    return user


Rows = Callable[[], list[dict[str, Any]]]


def notes_app(*, folded: bool = True, **config: Any) -> tuple[Flask, Rows]:
    """Notes 1 and 2: ``GET``/``PATCH /notes/<n>`` by version, and with ``folded`` scoped by
    user and negotiated by language; and the list's rows, each with its note's tag, for the
    test's own list view to render."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s3cret", **config)
    if folded:
        app.config["ETAG_SCOPE"] = by_user
    ETag(app)
    versions = {1: 3, 2: 8}
    by_version = VersionGenerator(lambda number: versions.get(number))
    vary = ("Accept-Language",) if folded else ()

    @app.before_request
    def log_in() -> None:
        g.user = request.headers.get("X-User")

    @app.get("/notes/<int:number>")
    @etag(by_version, vary=vary)
    def note(number: int) -> dict[str, Any]:
        return {"number": number, "text": TEXT}

    @app.patch("/notes/<int:number>")
    @require_if_match(by_version, vary=vary)
    def write_note(number: int) -> dict[str, Any]:
        versions[number] += 1
        return {"number": number}

    def rows() -> list[dict[str, Any]]:
        tag = item_tagger(note)
        return [{"number": n, "text": TEXT, "etag": tag(v)} for n, v in versions.items()]

    return app, rows


# --------------------------------------------------------------------------- Flask-Compress


def compressed_client(folded: bool) -> FlaskClient:
    app, rows = notes_app(folded=folded, COMPRESS_MIN_SIZE=0)
    app.add_url_rule("/notes", "list_notes", lambda: jsonify(rows()))
    flask_compress.Compress(app)
    return app.test_client()


def compressed_list(client: FlaskClient, coding: str, headers: dict[str, str]) -> Any:
    answer = client.get("/notes", headers={**headers, "Accept-Encoding": coding})
    assert answer.headers["Content-Encoding"] == coding  # the list really was coded
    return json.loads(DECODERS[coding](answer.data))


FOLDED = [pytest.param(False, id="plain"), pytest.param(True, id="scoped and negotiated")]


@pytest.mark.parametrize("folded", FOLDED)
@pytest.mark.parametrize("coding", DECODERS)
def test_under_compression_a_member_is_the_items_identity_tag_rfc9110_8_8_3(
    folded: bool, coding: str
) -> None:
    """The item's coded GET sends ``"x:gzip"``, the tag of its gzip bytes; the member, read
    from the decoded list, is ``"x"``, the tag of the item's identity representation."""
    client = compressed_client(folded)
    member = compressed_list(client, coding, ANN)[0]["etag"]
    coded = client.get("/notes/1", headers={**ANN, "Accept-Encoding": coding})
    identity = client.get("/notes/1", headers={**ANN, "Accept-Encoding": "identity"})
    assert coded.headers["Content-Encoding"] == coding
    assert coded.headers["ETag"] == f'{member[:-1]}:{coding}"'
    assert member == identity.headers["ETag"]


@pytest.mark.parametrize("folded", FOLDED)
@pytest.mark.parametrize("coding", DECODERS)
def test_under_compression_a_member_chains_a_write_rfc9110_13_1_1(
    folded: bool, coding: str
) -> None:
    """If-Match with the member read from a compressed list: written once (200), then
    stale (412) naming the current tag, the member the list now carries."""
    client = compressed_client(folded)
    member = compressed_list(client, coding, ANN)[0]["etag"]
    headers = {**ANN, "Accept-Encoding": coding, "If-Match": member}
    written = client.patch("/notes/1", json={}, headers=headers)
    stale = client.patch("/notes/1", json={}, headers=headers)
    assert (written.status_code, stale.status_code) == (200, 412)
    fresh = compressed_list(client, coding, ANN)[0]["etag"]
    assert fresh != member and stale.headers["ETag"] == fresh


@pytest.mark.parametrize("folded", FOLDED)
@pytest.mark.parametrize("coding", DECODERS)
def test_under_compression_a_member_revalidates_the_item_rfc9110_13_1_2(
    folded: bool, coding: str
) -> None:
    """``If-None-Match`` with the member on the item's coded GET: 304, naming the form the
    client holds (§15.4.5), not the coded one it never received."""
    client = compressed_client(folded)
    member = compressed_list(client, coding, ANN)[0]["etag"]
    headers = {**ANN, "Accept-Encoding": coding, "If-None-Match": member}
    revalidated = client.get("/notes/1", headers=headers)
    assert (revalidated.status_code, revalidated.headers["ETag"]) == (304, member)


# --------------------------------------------------------------------------- Flask-Caching


def list_cache_key(**_view_args: Any) -> str:
    """The cached list's key: the URL, and what the item tags fold in (whom the list is for,
    the item route's ``vary=`` fields, the release): the recipe of tags-in-bodies.md."""
    return "\n".join(
        (
            "notes",
            request.full_path,
            g.get("user") or "",
            request.headers.get("Accept-Language", ""),
            current_app.config.get("ETAG_RELEASE") or "",
        )
    )


def cached_client(
    make_cache_key: Callable[..., str] | None, **config: Any
) -> tuple[FlaskClient, list[str]]:
    """The notes app whose list Flask-Caching keeps, by its path (its default key) or by
    ``make_cache_key``; and whom each rendering of the list was for."""
    app, rows = notes_app(**{"CACHE_TYPE": "SimpleCache", **config})
    cache = Cache(app)
    rendered: list[str] = []

    @app.get("/notes")
    @cache.cached(timeout=60, make_cache_key=make_cache_key)
    def list_notes() -> Response:
        rendered.append(g.user)
        return jsonify(rows())

    return app.test_client(), rendered


def test_a_list_cached_by_its_path_hands_bob_anns_tags_rfc9110_8_8_3() -> None:
    """The hazard the recipe is for: Flask-Caching's default key is the path, so bob is
    served the body rendered for ann, whose members are ann's tags, not his item's."""
    client, rendered = cached_client(None)
    ann = client.get("/notes", headers=ANN).get_json()
    bob = client.get("/notes", headers=BOB).get_json()
    bobs_own = client.get("/notes/1", headers=BOB).headers["ETag"]
    assert rendered == ["ann"]
    assert bob == ann and bob[0]["etag"] != bobs_own


def test_a_list_cached_by_whom_it_is_for_carries_each_readers_tags_rfc9110_8_8_3() -> None:
    """With the recipe's key, each reader's list is rendered once and then served from the
    cache, and its members are that reader's own item tags, language included."""
    client, rendered = cached_client(list_cache_key)
    french_bob = {**BOB, "Accept-Language": "de"}
    readers = (ANN, BOB, french_bob)
    for _ in range(2):
        for reader in readers:
            members = [entry["etag"] for entry in client.get("/notes", headers=reader).json]
            own = [client.get(f"/notes/{n}", headers=reader).headers["ETag"] for n in (1, 2)]
            assert members == own
    assert rendered == ["ann", "bob", "bob"]


@pytest.mark.parametrize(
    ("make_cache_key", "new_tags"),
    [pytest.param(None, False, id="path key"), pytest.param(list_cache_key, True, id="recipe")],
)
def test_a_cached_list_outliving_a_release_rfc9110_8_8_3(
    tmp_path: Path, make_cache_key: Callable[..., str] | None, new_tags: bool
) -> None:
    """A cache shared by the hosts (a file here, Redis in production) outlives a deploy:
    keyed by the path, the new release serves the old release's tags; the recipe's key
    names the release, so the list is rendered again with the new one's."""
    shared = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path)}
    before, _ = cached_client(make_cache_key, ETAG_RELEASE="2026.11", **shared)
    client, _ = cached_client(make_cache_key, ETAG_RELEASE="2026.12", **shared)
    old = before.get("/notes", headers=ANN).json[0]["etag"]
    member = client.get("/notes", headers=ANN).json[0]["etag"]
    own = client.get("/notes/1", headers=ANN).headers["ETag"]
    assert (member == own != old) if new_tags else (member == old != own)


def test_a_member_a_cached_list_kept_past_a_write_is_412_rfc9110_13_1_1() -> None:
    """A cache can make a listed tag stale, never a write lost: the member served from the
    cache after the item changed is refused with 412 and the current tag."""
    client, rendered = cached_client(list_cache_key)
    member = client.get("/notes", headers=ANN).json[0]["etag"]
    assert client.patch("/notes/1", json={}, headers={**ANN, "If-Match": member}).status_code == 200
    kept = client.get("/notes", headers=ANN).json[0]["etag"]
    refused = client.patch("/notes/1", json={}, headers={**ANN, "If-Match": kept})
    assert kept == member and rendered == ["ann"]
    assert (refused.status_code, refused.headers["ETag"]) == (
        412,
        client.get("/notes/1", headers=ANN).headers["ETag"],
    )


# --------------------------------------------------------------------------- route styles


def blueprint_app(style: str) -> Flask:
    """A blueprint ``notes`` whose item route is a function, an async function or a
    ``MethodView`` (decorated through ``decorators``), listed by ``GET /api/notes?by=``."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s3cret", ETAG_SCOPE=by_user)
    ETag(app)
    api = Blueprint("notes", __name__, url_prefix="/api")
    by_version = VersionGenerator(lambda number: {1: 3, 2: 8}.get(number))

    @api.before_request
    def log_in() -> None:
        g.user = request.headers.get("X-User")

    if style == "methodview":

        class Note(MethodView):
            decorators: ClassVar[list[Any]] = [etag(by_version, vary=("Accept-Language",))]

            def get(self, number: int) -> dict[str, int]:
                return {"number": number}

        item: Any = Note.as_view("get_note")
        api.add_url_rule("/notes/<int:number>", view_func=item)
    else:

        def get_note(number: int) -> dict[str, int]:
            return {"number": number}

        async def get_note_async(number: int) -> dict[str, int]:
            return {"number": number}

        view = get_note if style == "function" else get_note_async
        item = etag(by_version, vary=("Accept-Language",))(view)
        api.add_url_rule("/notes/<int:number>", "get_note", item)

    names = {"endpoint": "notes.get_note", "relative": ".get_note", "view": item}

    @api.get("/notes")
    def list_notes() -> Any:
        tag = item_tagger(names[request.args["by"]])
        return jsonify([tag(version) for version in (3, 8)])

    app.register_blueprint(api)
    return app


@pytest.mark.parametrize("by", ["endpoint", "relative", "view"])
@pytest.mark.parametrize("style", ["function", "async", "methodview"])
def test_a_blueprints_item_route_is_named_as_url_for_names_it_rfc9110_8_8_3(
    style: str, by: str
) -> None:
    """By its view, its full endpoint or ``.get_note`` from the same blueprint (``url_for``'s
    relative name): the member is the item's own ``ETag``."""
    client = blueprint_app(style).test_client()
    members = client.get(f"/api/notes?by={by}", headers=ANN).get_json()
    own = [client.get(f"/api/notes/{n}", headers=ANN).headers["ETag"] for n in (1, 2)]
    assert members == own


def test_one_blueprint_in_two_apps_tags_by_each_apps_settings_rfc9110_8_8_3() -> None:
    """An app factory registers the same blueprint (the same view functions) on apps set up
    differently: each list carries its own app's tags."""
    api = Blueprint("notes", __name__)
    by_version = VersionGenerator(lambda number: 3, weak=None)  # weak as the app says

    @api.get("/notes/<int:number>")
    @etag(by_version)
    def get_note(number: int) -> dict[str, int]:
        return {"number": number}

    @api.get("/notes")
    def list_notes() -> Any:
        return jsonify([item_tagger(get_note)(3)])

    members = []
    for config in ({"ETAG_RELEASE": "a"}, {"ETAG_WEAK": True}, {}):
        app = Flask(__name__)
        app.config.update(config)
        ETag(app)
        app.register_blueprint(api)
        client = app.test_client()
        members.append(client.get("/notes").json[0])
        assert members[-1] == client.get("/notes/1").headers["ETag"]
    assert len(set(members)) == 3


# --------------------------------------------------------------------------- hooks, streams


def hooked_client() -> FlaskClient:
    """The notes app behind two ordinary ``after_request`` hooks: one wraps every JSON array
    in an envelope (rewriting the body), one is the hand-written ``add_etag`` +
    ``make_conditional`` many apps carry from before they used an extension."""
    app, rows = notes_app()
    app.add_url_rule("/notes", "list_notes", lambda: jsonify(rows()))

    @app.after_request
    def envelope(response: Response) -> Response:
        if response.is_json and isinstance(response.get_json(), list):
            response.set_data(json.dumps({"items": response.get_json(), "version": 1}))
        return response

    @app.after_request
    def hand_written_etag(response: Response) -> Response:
        response.add_etag()
        return response.make_conditional(request)

    return app.test_client()


def test_body_rewriting_hooks_leave_members_good_for_if_match_rfc9110_13_1_1() -> None:
    """Through both hooks the member is still the item's tag: a revalidation with it is a
    304, a write with it a 200, and the same write again a 412."""
    client = hooked_client()
    body = client.get("/notes", headers=ANN).get_json()
    member = body["items"][0]["etag"]  # the envelope was put on
    assert member == client.get("/notes/1", headers=ANN).headers["ETag"]
    revalidated = client.get("/notes/1", headers={**ANN, "If-None-Match": member})
    written = client.patch("/notes/1", json={}, headers={**ANN, "If-Match": member})
    stale = client.patch("/notes/1", json={}, headers={**ANN, "If-Match": member})
    assert (revalidated.status_code, written.status_code, stale.status_code) == (304, 200, 412)


def test_a_streamed_list_carries_each_items_tag_rfc9110_8_8_3() -> None:
    """A long list streamed as JSON lines (``stream_with_context``): the tagger, made in the
    view, tags each row while the body is sent, in the same request."""
    app, _ = notes_app()

    @app.get("/notes.jsonl")
    def stream_notes() -> Response:
        tag = item_tagger("note")

        def rows() -> Iterator[str]:
            for number, version in ((1, 3), (2, 8)):
                yield json.dumps({"number": number, "etag": tag(version)}) + "\n"

        return Response(stream_with_context(rows()), mimetype="application/jsonl")

    client = app.test_client()
    for reader in (ANN, BOB):
        lines = client.get("/notes.jsonl", headers=reader).text.splitlines()
        members = [json.loads(line)["etag"] for line in lines]
        own = [client.get(f"/notes/{n}", headers=reader).headers["ETag"] for n in (1, 2)]
        assert members == own
    assert client.get("/notes/1", headers=ANN).headers["ETag"] != own[0]  # bob's, not ann's
