"""Issue 19: one request pipeline, safe by construction.

Each test here failed on the machinery this pipeline replaced (state learned from earlier
requests, responses sent past werkzeug's header finalisation, swapped response classes, a
GET view run inside a PUT, 412s made anew in the last hook, set-order tag choice).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from flask import Flask, Response, abort, after_this_request, g, jsonify, request
from flask.views import MethodView
from flask_caching import Cache
from werkzeug.test import EnvironBuilder

from flask_etag import (
    ETag,
    ETagConfigurationError,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    checked_version,
    etag,
    etag_written,
    require_if_match,
    set_response_version,
)

NOTES = {1: {"owner": "ann", "text": "ann's secret", "version": 3}}


def note_app() -> Flask:
    """``/notes/<id>``: the lookup is the access check (the docs' pattern), and the view
    reports the version it read; ``g.user`` comes from a ``before_request`` hook."""
    app = Flask(__name__)
    ETag(app)

    @app.before_request
    def identify() -> None:
        g.user = request.headers.get("X-User")

    def version_if_allowed(note_id: int) -> Any:
        note = NOTES.get(note_id)
        if note is None:
            abort(404)
        if note["owner"] != g.user:
            abort(403)
        return note["version"]

    @app.get("/notes/<int:note_id>")
    @etag(VersionGenerator(version_if_allowed))
    def note(note_id: int) -> Any:
        set_response_version(NOTES[note_id]["version"])
        return {"text": NOTES[note_id]["text"]}

    return app


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_rfc9110_13_2_1_an_access_check_in_the_lookup_runs_on_every_request(method: str) -> None:
    """After an authorised read, an unauthorised one is still refused: never the other
    user's body, never the current tag (the lookup is never skipped)."""
    client = note_app().test_client()
    allowed = client.open("/notes/1", method=method, headers={"X-User": "ann"})
    assert (allowed.status_code, allowed.headers["ETag"]) == (200, '"3"')
    for _ in range(2):
        refused = client.open("/notes/1", method=method, headers={"X-User": "bob"})
        assert refused.status_code == 403
        assert "ETag" not in refused.headers
        assert b"secret" not in refused.data


def test_rfc9110_13_2_1_an_abort_404_in_the_lookup_stays_a_404() -> None:
    client = note_app().test_client()
    assert client.get("/notes/1", headers={"X-User": "ann"}).status_code == 200
    assert client.get("/notes/2", headers={"X-User": "ann"}).status_code == 404


ARTICLE = "/articles/\u65e5\u672c\u8a9e"


def article_app(tagged: bool) -> Flask:
    """A view whose ``Content-Location`` is a non-ASCII IRI; bare Flask or ``@etag``."""
    app = Flask(__name__)
    ETag(app)

    def article(name: str) -> Response:
        response = jsonify(title="nihongo")
        response.headers["Content-Location"] = ARTICLE
        return response

    app.get("/articles/<name>")(etag(article) if tagged else article)
    return app


def test_rfc9110_8_7_a_non_ascii_content_location_is_sent_as_plain_flask_sends_it() -> None:
    """werkzeug finalises every response: the 200 and the 304 carry the percent-encoded URI
    that plain Flask sends, never raw UTF-8 a server refuses (gunicorn answers 500)."""
    plain = article_app(tagged=False).test_client().get("/articles/x")
    client = article_app(tagged=True).test_client()
    full = client.get("/articles/x")
    again = client.get("/articles/x", headers={"If-None-Match": full.headers["ETag"]})
    assert plain.headers["Content-Location"] == "/articles/%E6%97%A5%E6%9C%AC%E8%AA%9E"
    assert full.headers["Content-Location"] == plain.headers["Content-Location"]
    assert (again.status_code, again.headers["Content-Location"]) == (
        304,
        plain.headers["Content-Location"],
    )


def cached_app(debug: bool, calls: list[str]) -> Flask:
    """A body-hash route whose view's output Flask-Caching keeps (``@etag`` above it)."""
    app = Flask(__name__)
    app.debug = debug
    ETag(app)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    @app.get("/report")
    @etag
    @cache.cached(timeout=60)
    def report() -> Any:
        calls.append("report")
        return jsonify(total=42)

    return app


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_rfc9110_13_1_2_flask_caching_under_etag_caches_and_every_request_is_judged(
    debug: bool,
) -> None:
    """The cache keeps the view's response (pickled by SimpleCache), and every request,
    served from the cache or not, is tagged and judged: 304 for the current tag."""
    calls: list[str] = []
    client = cached_app(debug, calls).test_client()
    first = client.get("/report")
    again = client.get("/report")
    revalidated = client.get("/report", headers={"If-None-Match": first.headers["ETag"]})
    assert (first.status_code, again.status_code, revalidated.status_code) == (200, 200, 304)
    assert first.headers["ETag"] == again.headers["ETag"] == revalidated.headers["ETag"]
    assert again.get_json() == {"total": 42}
    assert calls == ["report"]


def test_responses_of_every_kind_can_be_pickled() -> None:
    """Whatever caches a response (Flask-Caching above a view, a session store) can pickle
    it: a tagged 200, a body-hash 304, a 304 decided before the view."""
    app = note_app()
    app.add_url_rule("/hashed", "hashed", etag(lambda: jsonify(total=42)))
    client = app.test_client()
    tag = client.get("/hashed").headers["ETag"]
    with app.test_request_context("/hashed", headers={"If-None-Match": tag}):
        hashed_304 = app.view_functions["hashed"]()
    with app.test_request_context("/hashed"):
        hashed_200 = app.view_functions["hashed"]()
    with app.test_request_context("/notes/1", headers={"If-None-Match": '"3"'}):
        g.user = "ann"  # what the app's before_request hook sets
        version_304 = app.view_functions["note"](note_id=1)
    for response in (hashed_200, hashed_304, version_304):
        copy = pickle.loads(pickle.dumps(response))
        assert (copy.status_code, copy.headers.get("ETag")) == (
            response.status_code,
            response.headers.get("ETag"),
        )
    assert (hashed_304.status_code, version_304.status_code) == (304, 304)


def test_flask_caching_above_etag_is_refused_with_the_right_order() -> None:
    """Above ``@etag`` a response cache would keep one client's 304 or 412 for everyone."""
    app = Flask(__name__)
    app.testing = True  # the set-up error reaches the test instead of a 500 page
    ETag(app)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    @app.get("/report")
    @cache.cached(timeout=60)
    @etag
    def report() -> Any:
        return {"total": 42}

    with pytest.raises(ETagConfigurationError, match="Put @etag above it"):
        app.test_client().get("/report")


def test_rfc9110_15_4_5_flask_caching_memoize_above_etag_is_refused_with_the_right_order() -> None:
    """``@cache.memoize`` keys by the URL arguments alone: above ``@etag`` it kept the 304
    answered to one client's ``If-None-Match`` and served it, without a body, to a client
    that holds nothing."""
    app = Flask(__name__)
    app.testing = True  # the set-up error reaches the test instead of a 500 page
    ETag(app)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    @app.get("/notes/<int:note_id>")
    @cache.memoize(timeout=60)
    @etag(VersionGenerator(lambda note_id: 7))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    with pytest.raises(ETagConfigurationError, match=r"@cache\.memoize wraps @etag") as raised:
        app.test_client().get("/notes/1", headers={"If-None-Match": '"7"'})
    assert "Nor can it go under @etag" in str(raised.value)  # a version route: see below


NOTE_TIME = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def response_cache(cache: Cache, kind: str) -> Callable[[Any], Any]:
    return cache.cached(timeout=60) if kind == "cached" else cache.memoize(timeout=60)


@pytest.mark.parametrize("kind", ["cached", "memoize"])
@pytest.mark.parametrize(
    "generator",
    [VersionGenerator(lambda note_id: 7), TimestampGenerator(lambda note_id: NOTE_TIME)],
    ids=["version", "timestamp"],
)
def test_rfc9110_8_8_3_a_response_cache_under_a_looked_up_tag_is_refused(
    kind: str, generator: Any
) -> None:
    """Under a version or timestamp ``@etag``, Flask-Caching hands out the body it kept from
    before a write, and the route tags it with the state written since: one strong tag for
    two representations, and a client holding the old body is answered 304 until the next
    write, long after the cache entry expired."""
    cache = Cache(config={"CACHE_TYPE": "SimpleCache"})

    def note(note_id: int) -> Any:
        return {"id": note_id}

    with pytest.raises(ETagConfigurationError, match=rf"@cache\.{kind} is under @etag") as raised:
        etag(generator)(response_cache(cache, kind)(note))
    assert "checked_version()" in str(raised.value)


@pytest.mark.parametrize("kind", ["cached", "memoize"])
def test_rfc9110_8_8_3_a_response_cache_on_a_class_views_read_under_a_version_is_refused(
    kind: str,
) -> None:
    """The same on a ``MethodView`` whose ``decorators`` hold the version ``@etag`` and whose
    ``get`` the cache wraps: refused on the first request, before any body is kept."""
    app = Flask(__name__)
    app.testing = True  # the set-up error reaches the test instead of a 500 page
    ETag(app)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    class Note(MethodView):
        decorators = [etag(VersionGenerator(lambda note_id: 7))]  # noqa: RUF012

        @response_cache(cache, kind)
        def get(self, note_id: int) -> Any:
            return {"id": note_id}

    app.add_url_rule("/notes/<int:note_id>", view_func=Note.as_view("note"))
    with pytest.raises(ETagConfigurationError, match=rf"@cache\.{kind} is on a read"):
        app.test_client().get("/notes/1")


def localized_app(written: list[str]) -> Flask:
    """Flask's documented ``url_value_preprocessor`` pattern: ``<lang_code>`` is popped into
    ``g``; the GET view sets a cookie and registers an ``after_this_request`` function."""
    app = Flask(__name__)
    ETag(app)
    pages = {"en": "hello"}

    @app.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang_code = (values or {}).pop("lang_code", None)

    def current_page() -> Any:
        return {"text": pages[g.lang_code]}

    @app.get("/<lang_code>/page")
    @etag
    def read_page() -> Any:
        @after_this_request
        def mark(response: Response) -> Response:
            response.headers["X-Read-Page"] = "1"
            return response

        response = jsonify(current_page())
        response.set_cookie("seen", "1")
        return response

    @app.put("/<lang_code>/page")
    @etag(HashGenerator(current=current_page))
    def write_page() -> Any:
        pages[g.lang_code] = request.get_json()["text"]
        written.append(pages[g.lang_code])
        return "", 204

    return app


def test_rfc9110_13_2_1_a_body_hash_write_runs_no_other_view() -> None:
    """A conditional PUT is judged by ``HashGenerator(current=...)`` in its own request: the
    preprocessed URL arguments work, and nothing of the GET view (its cookie, its
    ``after_this_request`` field) reaches the PUT's response."""
    written: list[str] = []
    client = localized_app(written).test_client()
    tag = client.get("/en/page").headers["ETag"]
    client.delete_cookie("seen")
    put = client.put("/en/page", json={"text": "hi"}, headers={"If-Match": tag})
    assert put.status_code == 204
    assert "Set-Cookie" not in put.headers and "X-Read-Page" not in put.headers
    stale = client.put("/en/page", json={"text": "lost"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert written == ["hi"]


def test_rfc9110_13_1_1_a_body_hash_write_without_current_refuses_preconditions() -> None:
    """Without a way to render the current representation nothing can be compared: 412,
    nothing written, and the problem says why."""
    app = Flask(__name__)
    ETag(app)
    written: list[str] = []
    app.add_url_rule(
        "/page", "page", etag(lambda: written.append("x") or ("", 204)), methods=["PUT"]
    )
    client = app.test_client()
    refused = client.put("/page", headers={"If-Match": '"anything"'})
    assert refused.status_code == 412
    assert "current=" in refused.get_json()["detail"]
    assert written == []
    assert client.put("/page").status_code == 204  # unconditional writes are the view's own


def _failing_current(failure: str) -> Any:
    """A ``current=`` that cannot tell the page's state: an outage or an access check."""
    if failure == "abort-503":
        abort(503)
    if failure == "abort-403":
        abort(403)
    return {"error": "forbidden"}, 403


@pytest.mark.parametrize("failure", ["abort-503", "abort-403", "returned-403"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"If-None-Match": "*"}, id="rfc9110_13_1_2-if-none-match-star"),
        pytest.param({"If-Match": '"anything"'}, id="rfc9110_13_1_1-if-match"),
    ],
)
def test_a_current_that_fails_answers_its_failure_not_absent(
    failure: str, headers: dict[str, str]
) -> None:
    """A ``current=`` that aborts or answers an error other than 404 or 410 has not said the
    page is absent: its answer is the write's, as a lookup's is.  It was taken for "no
    representation", so ``If-None-Match: *`` (create only if absent) overwrote the page."""
    app = Flask(__name__)
    ETag(app)
    written: list[str] = []

    @app.put("/pages/<int:page_id>")
    @etag(HashGenerator(current=lambda page_id: _failing_current(failure)))
    def put_page(page_id: int) -> Any:
        written.append("x")
        return "", 204

    response = app.test_client().put("/pages/1", headers=headers)
    assert (response.status_code, written) == (int(failure[-3:]), [])


@pytest.mark.parametrize("gone", [404, 410])
@pytest.mark.parametrize("aborted_with", ["status", "response"])
def test_rfc9110_13_1_2_a_current_answering_404_or_410_says_absent(
    gone: int, aborted_with: str
) -> None:
    """``abort(404)``, or ``abort`` with a JSON 404 response (whose exception has no code of
    its own), says the page is absent: a create-only write goes ahead."""
    app = Flask(__name__)
    ETag(app)

    def absent(page_id: int) -> Any:
        if aborted_with == "status":
            abort(gone)
        abort(Response('{"error": "none"}', gone, mimetype="application/json"))

    @app.put("/pages/<int:page_id>")
    @etag(HashGenerator(current=absent))
    def put_page(page_id: int) -> Any:
        return "", 201

    client = app.test_client()
    assert client.put("/pages/1", headers={"If-None-Match": "*"}).status_code == 201
    assert client.put("/pages/1", headers={"If-Match": '"x"'}).status_code == 412


def hooked_app() -> Flask:
    """An app whose hooks add HSTS, a request id and CORS to every response."""
    app = Flask(__name__)
    ETag(app)
    versions = {1: 1}

    @app.after_request
    def security_fields(response: Response) -> Response:
        response.headers["Strict-Transport-Security"] = "max-age=63072000"
        response.headers["X-Request-Id"] = "r-1"
        response.headers["Access-Control-Allow-Origin"] = "https://app.example"
        return response

    app.add_url_rule("/hashed", "hashed", etag(lambda: {"id": 1}))
    version = VersionGenerator(lambda item_id: versions.get(item_id))
    item = require_if_match(version)(lambda item_id: {"id": item_id})
    app.add_url_rule("/items/<int:item_id>", "item", item, methods=["GET", "PUT"])
    return app


HOOK_FIELDS = ("Strict-Transport-Security", "X-Request-Id", "Access-Control-Allow-Origin")


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        pytest.param("GET", "/hashed", {"If-Match": '"stale"'}, 412, id="§13.1.1 body hash 412"),
        pytest.param(
            "GET",
            "/hashed",
            {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT", "If-None-Match": "*"},
            304,
            id="§13.1.2 body hash 304",
        ),
        pytest.param("PUT", "/items/1", {"If-Match": '"0"'}, 412, id="§13.1.1 version 412"),
        pytest.param("PUT", "/items/1", {}, 428, id="RFC 6585 §3 428"),
        pytest.param("GET", "/items/1", {"If-None-Match": '"1"'}, 304, id="§15.4.5 version 304"),
    ],
)
def test_every_answer_keeps_the_fields_of_the_apps_hooks(
    method: str, url: str, headers: dict[str, str], status: int
) -> None:
    """304, 412 and 428 pass through the app's ``after_request`` hooks like any response,
    so browser code can read a CORS 412 and every answer keeps HSTS and the request id."""
    response = hooked_app().test_client().open(url, method=method, headers=headers)
    assert response.status_code == status
    for name in HOOK_FIELDS:
        assert name in response.headers, name


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(202, id="§15.3.3 not applied yet"),
        pytest.param(205, id="§15.3.6 no content"),
    ],
)
def test_rfc9110_9_3_4_a_202_or_205_carries_no_tag(status: int) -> None:
    """A write answered 202 is not applied yet: no validator can describe its new state.  A
    205 carries no content (§15.3.6): there is no representation to tag."""
    app = Flask(__name__)
    ETag(app)
    versions = {1: 1}

    @app.put("/items/<int:item_id>")
    @require_if_match(VersionGenerator(lambda item_id: versions.get(item_id)))
    def queue_write(item_id: int) -> Any:
        return ({"queued": True}, 202) if status == 202 else ("", 205)

    accepted = app.test_client().put("/items/1", headers={"If-Match": '"1"'})
    assert accepted.status_code == status
    assert "ETag" not in accepted.headers


def test_rfc9110_8_8_3_if_match_with_obs_text_tags_is_read() -> None:
    """§8.8.3 allows obs-text in an entity-tag: a list naming the current tag beside one
    passes."""
    app = Flask(__name__)
    ETag(app)
    written = require_if_match(VersionGenerator(lambda item_id: 3))(lambda item_id: ("", 204))
    app.add_url_rule("/items/<int:item_id>", "item", written, methods=["PUT"])
    client = app.test_client()
    listed = client.put("/items/1", headers={"If-Match": '"\xe9t\xe9", "3"'})
    assert listed.status_code == 204
    assert client.put("/items/1", headers={"If-Match": '"\xe9t\xe9"'}).status_code == 412


_CODED_304 = textwrap.dedent(
    """
    import json
    import flask_compress
    from flask import Flask
    from flask_etag import ETag, VersionGenerator, etag

    app = Flask(__name__)
    app.config["COMPRESS_MIN_SIZE"] = 0
    ETag(app)
    flask_compress.Compress(app)
    app.add_url_rule("/items/<int:item_id>", "item", etag(VersionGenerator(lambda item_id: 7))(
        lambda item_id: {"id": item_id}))
    client = app.test_client()
    answers = []
    for listed in ('"7", "7:gzip", "7:br"', '"7:br", "7", "7:gzip"'):
        response = client.get("/items/1", headers={
            "If-None-Match": listed, "Accept-Encoding": "gzip, br"})
        answers.append([response.status_code, response.headers["ETag"]])
    print(json.dumps(answers))
    """
)


def test_rfc9110_15_4_5_the_304_tag_is_the_same_on_every_host() -> None:
    """A client listing several forms of the current tag gets the same one back whatever the
    host's ``PYTHONHASHSEED`` (set order), and whatever order it listed them in."""
    answers = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        completed = subprocess.run(
            [sys.executable, "-c", _CODED_304],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        answers.add(completed.stdout.strip())
    assert len(answers) == 1
    (only,) = answers
    assert json.loads(only) == [[304, '"7:br"'], [304, '"7:br"']]


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_rfc9110_13_2_2_the_preconditions_are_taken_once_and_kept_for_the_app(method: str) -> None:
    """Stage 1 takes the ``If-*`` fields out of the environ, so neither the view nor a later
    ``make_conditional`` sees them, and keeps them under ``flask_etag.preconditions``."""
    app = Flask(__name__)
    ETag(app)
    seen: dict[str, Any] = {}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(VersionGenerator(lambda note_id: 3))
    def note(note_id: int) -> Any:
        seen["view"] = request.headers.get("If-Match"), request.headers.get("If-None-Match")
        return {"id": note_id}

    @app.after_request
    def record(response: Response) -> Response:
        seen["hook"] = request.headers.get("If-Match")
        seen["kept"] = request.environ.get("flask_etag.preconditions")
        return response

    response = app.test_client().open(
        "/notes/1", method=method, headers={"If-Match": '"3"', "If-None-Match": '"2"'}
    )
    assert response.status_code == 200
    assert seen["view"] == (None, None)
    assert seen["hook"] is None
    assert (seen["kept"].if_match, seen["kept"].if_none_match) == ('"3"', '"2"')


# --- a view's own state: nested decorated views, environs served again, wrapped views ------


def page_app(pages: dict[str, dict[str, Any]]) -> Flask:
    """``/page`` is built from a decorated ``widget()`` it calls: each is tagged by its own
    version, and the page's view reads and reports its own around the widget's."""
    app = Flask(__name__)
    ETag(app)

    @etag(VersionGenerator(lambda: pages["widget"]["version"]))
    def widget() -> str:
        set_response_version(pages["widget"]["version"])
        return str(pages["widget"]["text"])

    @app.get("/page")
    @etag(VersionGenerator(lambda: pages["page"]["version"]))
    def page() -> Any:
        inner = widget().get_data(as_text=True)
        return {"text": f"{pages['page']['text']} + {inner}", "checked": checked_version()}

    @etag(VersionGenerator(lambda: pages["widget"]["version"]))
    def unreported_widget() -> str:
        return str(pages["widget"]["text"])

    @app.put("/page")
    @require_if_match(VersionGenerator(lambda: pages["page"]["version"]))
    def write_page() -> Any:
        pages["page"] = {"version": checked_version() + 1, "text": request.get_data(as_text=True)}
        set_response_version(pages["page"]["version"])
        inner = unreported_widget()
        return {"text": pages["page"]["text"], "widget": inner.headers["ETag"]}

    return app


def test_rfc9110_8_8_3_a_view_calling_a_decorated_view_is_tagged_by_its_own_state() -> None:
    """The widget's report (version 2) never tags the page: else the page's next version, 2,
    would answer 304 to a client holding the first page's body."""
    pages = {"page": {"version": 1, "text": "v1"}, "widget": {"version": 2, "text": "w"}}
    client = page_app(pages).test_client()
    first = client.get("/page")
    assert (first.headers["ETag"], first.json) == ('"1"', {"text": "v1 + w", "checked": 1})
    pages["page"] = {"version": 2, "text": "v2"}
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.headers["ETag"]) == (200, '"2"')
    assert again.json == {"text": "v2 + w", "checked": 2}


def test_rfc9110_9_3_4_a_write_and_a_decorated_view_it_calls_keep_their_own_tags() -> None:
    """The write reports version 6 before it calls a decorated view that reports nothing:
    that one is tagged by its own lookup (9), the write by its report."""
    pages = {"page": {"version": 5, "text": "v5"}, "widget": {"version": 9, "text": "w"}}
    client = page_app(pages).test_client()
    written = client.put("/page", data="v6", headers={"If-Match": '"5"'})
    assert (written.status_code, written.headers["ETag"]) == (200, '"6"')
    assert written.json == {"text": "v6", "widget": '"9"'}


def answering_with_the_get_view_app(written: list[dict[str, Any]]) -> Flask:
    """Writes that reuse the decorated GET views: ``/docs/1``'s PUT answers with its GET view
    (a version route that requires If-Match), ``/pages/1``'s PUT names its GET view as
    ``current=`` (a body-hash route).  ``written`` gets every ``etag_written`` sent."""
    app = Flask(__name__)
    ETag(app)
    doc = {"version": 1, "text": "a"}
    doc_version = VersionGenerator(lambda doc_id: doc["version"])

    @app.get("/docs/<int:doc_id>")
    @require_if_match(doc_version)
    def show_doc(doc_id: int) -> Any:
        return {"id": doc_id, "text": doc["text"]}

    @app.put("/docs/<int:doc_id>")
    @require_if_match(doc_version)
    def replace_doc(doc_id: int) -> Any:
        doc.update(version=doc["version"] + 1, text=request.get_data(as_text=True))
        return show_doc(doc_id=doc_id)

    @app.get("/pages/<int:page_id>")
    @etag(surrogate_keys=lambda page_id: [f"page-{page_id}"])
    def show_page(page_id: int) -> str:
        return str(doc["text"])

    @app.put("/pages/<int:page_id>")
    @etag(HashGenerator(current=show_page))
    def replace_page(page_id: int) -> Any:
        doc["text"] = request.get_data(as_text=True)
        return doc["text"], {"Content-Location": request.path}

    etag_written.connect(lambda sender, **sent: written.append(sent), app, weak=False)
    return app


def test_rfc6585_3_a_write_answering_with_its_get_view_is_not_refused_428() -> None:
    """The PUT's view answers with the decorated GET view, as many apps do.  That view was
    served as a second write of the request, whose If-Match the first had taken: a 428
    after the write was done, and no purge (a half-applied write, to the client)."""
    written: list[dict[str, Any]] = []
    client = answering_with_the_get_view_app(written).test_client()
    replaced = client.put("/docs/1", data="b", headers={"If-Match": '"1"'})
    assert (replaced.status_code, replaced.headers["ETag"]) == (200, '"2"')
    assert replaced.json == {"id": 1, "text": "b"}
    assert [(sent["endpoint"], sent["etag"]) for sent in written] == [("replace_doc", '"2"')]
    assert client.get("/docs/1", headers={"If-None-Match": '"2"'}).status_code == 304


def test_rfc9110_13_1_1_a_refused_write_naming_its_get_view_as_current_announces_nothing() -> None:
    """``current=`` names the decorated GET view (``@app.get`` gives the wrapper back).  It
    was served as a write of its own: every conditional PUT announced one, with the GET
    route's keys, so a 412 that wrote nothing purged the shared caches."""
    written: list[dict[str, Any]] = []
    client = answering_with_the_get_view_app(written).test_client()
    tag = client.get("/pages/1").headers["ETag"]
    stale = client.put("/pages/1", data="x", headers={"If-Match": '"old"'})
    assert (stale.status_code, stale.headers["ETag"], written) == (412, tag, [])
    replaced = client.put("/pages/1", data="b", headers={"If-Match": tag})
    assert replaced.status_code == 200
    assert [(sent["endpoint"], sent["etag"]) for sent in written] == [
        ("replace_page", replaced.headers["ETag"])
    ]
    assert replaced.headers["ETag"] == client.get("/pages/1").headers["ETag"]


def test_a_report_does_not_outlive_its_view_in_an_environ_served_again() -> None:
    """Middleware that re-dispatches one environ (a rewritten ``PATH_INFO``) gets the second
    route's own tag, not the first view's report."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/reported")
    @etag(VersionGenerator(lambda: 3))
    def reported() -> str:
        set_response_version(99)
        return "x"

    @app.get("/plain")
    @etag(VersionGenerator(lambda: 4))
    def plain() -> str:
        return "plain"

    environ = EnvironBuilder(path="/reported").get_environ()
    tags = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        tags.append(dict(headers)["ETag"])

    for path in ("/reported", "/plain"):
        environ["PATH_INFO"] = path
        b"".join(app.wsgi_app(environ, start_response))  # the very same dict, as middleware does
    assert tags == ['"99"', '"4"']


def test_a_generator_wrapping_the_view_runs_it_through_its_base_class() -> None:
    """A subclass's ``call_view`` that calls ``super().call_view`` (as a storage adapter
    turning its conflict error into a 412 would) runs the view once, through its wrapper."""
    calls: list[str] = []

    class Wrapping(VersionGenerator):
        def call_view(self, view: Any, view_args: dict[str, Any]) -> Any:
            calls.append("wrapper")
            return super().call_view(view, view_args)

    app = Flask(__name__)
    ETag(app)

    @app.get("/wrapped")
    @etag(Wrapping(lambda: 1))
    def wrapped() -> str:
        calls.append("view")
        return "body"

    response = app.test_client().get("/wrapped")
    assert (response.status_code, response.headers["ETag"]) == (200, '"1"')
    assert calls == ["wrapper", "view"]
