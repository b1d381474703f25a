"""Issue 21: browser code on another origin can read and send tags.

The Fetch standard hides every response field not listed in ``Access-Control-Expose-Headers``
from a cross-origin script, ``ETag`` included, so without it the script can never send
``If-Match``.  flask_etag lists ``ETag`` there on every tagged answer to a request that
carries an ``Origin`` (the 200, the 304, the 412 that names the current tag); whoever adds
``Access-Control-Allow-Origin`` (Flask-CORS, the app's own hook) is left alone, and a
preflight is never judged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from flask_cors import CORS
from support_processes import gunicorn_server
from test_browser import browser_page as browser_page  # the fixture, shared
from werkzeug.exceptions import HTTPException

from flask_etag import ETag, VersionGenerator, etag, require_if_match, set_response_version

ORIGIN = "https://app.example"
EXPOSE = "Access-Control-Expose-Headers"


def cors_app(own_hook: bool = False, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    ETag(app)
    if own_hook:

        @app.after_request
        def allow(response: Response) -> Response:
            response.headers["Access-Control-Allow-Origin"] = ORIGIN
            return response

    else:
        CORS(app)
    note = {"version": 1}

    @app.route("/notes/<int:note_id>", methods=["GET", "PATCH"])
    @require_if_match(VersionGenerator(lambda note_id: note["version"]))
    def notes(note_id: int) -> Any:
        if request.method == "PATCH":
            note["version"] += 1
            set_response_version(note["version"])
        return {"id": note_id}

    @app.get("/reports/<int:report_id>")
    @etag
    def report(report_id: int) -> Any:
        return {"id": report_id}

    return app


def exposed(response: Any) -> set[str]:
    return {
        name.strip().lower()
        for value in response.headers.getlist(EXPOSE)
        for name in value.split(",")
    }


@pytest.mark.parametrize("own_hook", [False, True], ids=["flask-cors", "own-hook"])
@pytest.mark.parametrize("url", ["/notes/1", "/reports/1"], ids=["version", "body-hash"])
def test_a_cross_origin_read_exposes_the_tag(own_hook: bool, url: str) -> None:
    client = cors_app(own_hook).test_client()
    read = client.get(url, headers={"Origin": ORIGIN})
    assert read.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    assert "etag" in exposed(read)
    revalidated = client.get(url, headers={"Origin": ORIGIN, "If-None-Match": read.headers["ETag"]})
    assert revalidated.status_code == 304  # RFC 9110 §15.4.5: the CORS fields stay
    assert "Access-Control-Allow-Origin" in revalidated.headers and "etag" in exposed(revalidated)


def test_rfc9110_13_1_1_a_cross_origin_412_exposes_the_current_tag() -> None:
    client = cors_app().test_client()
    stale = client.patch("/notes/1", headers={"Origin": ORIGIN, "If-Match": '"0"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"1"'
    assert "Access-Control-Allow-Origin" in stale.headers and "etag" in exposed(stale)
    required = client.patch("/notes/1", headers={"Origin": ORIGIN})
    assert required.status_code == 428 and "Access-Control-Allow-Origin" in required.headers


def json_errors_app() -> Flask:
    """The cors app with Flask's documented JSON error handler: it starts from
    ``error.get_response()``, called bare, and replaces the body."""
    app = cors_app()

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> Response:
        response = error.get_response()
        response.data = json.dumps({"code": error.code, "description": error.description})
        response.content_type = "application/json"
        return response

    return app


@pytest.mark.parametrize(
    ("url", "method"), [("/notes/1", "PATCH"), ("/reports/1", "GET")], ids=["version", "body-hash"]
)
def test_rfc9110_13_1_1_a_412_rendered_by_the_apps_json_handler_exposes_the_tag(
    url: str, method: str
) -> None:
    """The 412 names the current tag so a cross-origin script can retry at once; rendered
    by Flask's own recipe (``get_response()`` without the environ) it carried the ``ETag``
    but did not list it, so the browser hid it from the script."""
    client = json_errors_app().test_client()
    stale = client.open(url, method=method, headers={"Origin": ORIGIN, "If-Match": '"0"'})
    assert stale.status_code == 412 and stale.get_json()["code"] == 412
    assert "ETag" in stale.headers and "etag" in exposed(stale)
    same_origin = client.open(url, method=method, headers={"If-Match": '"0"'})
    assert same_origin.status_code == 412 and EXPOSE not in same_origin.headers


def created_app() -> Flask:
    """POSTs that create an item elsewhere and tag the 201 with the item's tag themselves."""
    app = cors_app()
    note_version = VersionGenerator(lambda note_id: 1)

    @app.route("/notes", methods=["GET", "POST"])
    @etag(VersionGenerator(lambda: 1))
    def notes_list() -> Any:
        if request.method == "POST":
            return {"id": 2}, 201, {"Location": "/notes/2", "ETag": note_version.etag_for(1)}
        return {"ids": [1]}

    @app.route("/drafts", methods=["GET", "POST"])
    @etag
    def drafts() -> Any:
        if request.method == "POST":
            return {"id": 2}, 201, {"Location": "/drafts/2", "ETag": '"d2"'}
        return {"ids": [1]}

    return app


@pytest.mark.parametrize("url", ["/notes", "/drafts"], ids=["version", "body-hash"])
def test_rfc9110_15_3_2_a_cross_origin_201_exposes_the_created_items_tag(url: str) -> None:
    """The 201's tag is the created item's (the view set it): the script sends it as its
    next If-Match, so it must be able to read it like any other tag."""
    created = created_app().test_client().post(url, headers={"Origin": ORIGIN})
    assert created.status_code == 201 and "ETag" in created.headers
    assert "Access-Control-Allow-Origin" in created.headers and "etag" in exposed(created)


def test_rfc6585_3_a_preflight_is_never_judged() -> None:
    """The preflight of a conditional PATCH carries no If-Match: never a 428 or 412."""
    preflight = (
        cors_app()
        .test_client()
        .options(
            "/notes/1",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "if-match, content-type",
            },
        )
    )
    assert preflight.status_code == 200
    assert "if-match" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_a_same_origin_request_gets_no_expose_field() -> None:
    assert EXPOSE not in cors_app().test_client().get("/notes/1").headers


def test_etag_cors_expose_false_turns_it_off() -> None:
    client = cors_app(ETAG_CORS_EXPOSE=False).test_client()
    assert "etag" not in exposed(client.get("/notes/1", headers={"Origin": ORIGIN}))


def test_auto_mode_exposes_the_tag_too() -> None:
    app = cors_app(ETAG_AUTO=True)

    @app.get("/plain")
    def plain() -> Any:
        return {"plain": True}

    answer = app.test_client().get("/plain", headers={"Origin": ORIGIN})
    assert "ETag" in answer.headers and "etag" in exposed(answer)


def test_auto_mode_exposes_a_files_own_tag_rfc9110_13_1_1(tmp_path: Path) -> None:
    """Auto mode judges a static file by its own tag (``send_file``'s): a cross-origin script
    reads that tag from the 200, the 304 and the 412 naming it, as from a decorated route's."""
    (tmp_path / "data.json").write_text('{"n": 1}')
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    app.config["ETAG_AUTO"] = True
    ETag(app)
    CORS(app)
    client = app.test_client()
    with client.get("/static/data.json", headers={"Origin": ORIGIN}) as read:
        tag = read.headers["ETag"]
        assert (read.status_code, exposed(read)) == (200, {"etag"})
    conditions = [{"If-None-Match": tag}, {"If-Match": '"stale"'}]
    for fields, status in zip(conditions, [304, 412], strict=True):
        with client.get("/static/data.json", headers={"Origin": ORIGIN, **fields}) as answer:
            assert (answer.status_code, answer.headers["ETag"]) == (status, tag)
            assert answer.headers.getlist(EXPOSE) == ["ETag"]


@pytest.mark.slow
def test_browser_code_on_another_origin_reads_and_sends_tags(browser_page: Any) -> None:
    """Headless Chromium: a page on 127.0.0.1 reads a note on localhost, writes it with its
    tag (200), then with the old tag (412), and reads the current tag from the 412."""
    with gunicorn_server("tests.cross_origin_app:create_app()", ready_path="/page") as base:
        api = base.replace("127.0.0.1", "localhost")
        browser_page.goto(f"{base}/page?api={api}")
        browser_page.wait_for_function(
            "document.getElementById('result').textContent !== 'loading'"
        )
        assert browser_page.text_content("#result") == '200 "1" 200 "2" 412 "2"'
