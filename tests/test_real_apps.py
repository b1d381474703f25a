"""Conditional requests in the shapes real applications take (RFC 9110 §13, §14, §9.3.4).

Each test builds a small dedicated app (database hooks and signals, streamed downloads,
``send_file``, caching policies, access checks) and drives it with the Flask test client, in
every view style of ``conftest.register``: plain function views, ``MethodView`` classes with
the decorator in ``decorators = [...]``, and ``async def`` views.

A row's ``"{tag}"`` stands for the tag the client received earlier in the same test.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDED_AT, Decorator, Handler, Route, register
from flask import (
    Flask,
    Response,
    abort,
    g,
    redirect,
    request,
    request_finished,
    request_started,
    send_file,
)

from flask_etag import ETag, HashGenerator, VersionGenerator, etag

#: Stands, in a row's header values, for the tag the client received earlier in the test.
TAG = "{tag}"

#: An 11-byte file, served by ``send_file`` with a modification time long past.
FILE_BODY = b"hello world"

#: ``Last-Modified`` of the streamed download, and dates around it (RFC 9110 §5.6.7).
STREAM_MODIFIED = "Mon, 06 May 2024 07:08:09 GMT"
DAY_BEFORE_STREAM = "Sun, 05 May 2024 07:08:09 GMT"
STREAM_CHUNKS = (b"one ", b"two ", b"three")

HOOK_KINDS = ("before_request", "after_request", "teardown_request")
FIRST_DOC = '{"title": "first"}'
NEW_DOC = '{"title": "second"}'

DEFAULT_POLICY = "public, max-age=300"
VIEW_POLICY = "private, no-store"

AUTHORIZED = {"Authorization": "Bearer reader"}


def build_app(view_style: str, routes: list[Route], **config: Any) -> Flask:
    """A fresh app: ``config`` applied, ``ETag(app)`` set up, ``routes`` in ``view_style``."""
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    ETag(app)
    for route in routes:
        register(app, route, view_style)
    return app


def with_tag(headers: Mapping[str, str], tag: str) -> dict[str, str]:
    """``headers`` with every ``"{tag}"`` replaced by ``tag``."""
    return {name: value.replace(TAG, tag) for name, value in headers.items()}


def stacked(*decorators: Decorator) -> Decorator:
    """The decorators as written above a function view: the first listed is the outermost."""

    def decorate(view: Handler) -> Handler:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return decorate


def seeded_file(directory: Path, name: str = "report.txt") -> Path:
    """Write ``FILE_BODY`` with an old mtime, so its ``Last-Modified`` is a strong validator."""
    path = directory / name
    path.write_bytes(FILE_BODY)
    os.utime(path, (SEEDED_AT.timestamp(), SEEDED_AT.timestamp()))
    return path


def is_closed(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("select 1")
    except sqlite3.ProgrammingError:
        return True
    return False


@dataclass
class Stored:
    """One resource of a test app: its text (None while it does not exist) and every write."""

    text: str | None = None
    writes: list[str] = field(default_factory=list)

    def store(self, text: str) -> None:
        self.text = text
        self.writes.append(text)


# ------------------------------------------------ 1: hooks, signals and g.db run once per request


@dataclass
class HookLog:
    """What ran around the requests of the hooked app, and the connections it opened."""

    hooks: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in HOOK_KINDS})
    signals: Counter[str] = field(default_factory=Counter)
    connections: list[sqlite3.Connection] = field(default_factory=list)

    def clear(self) -> None:
        for methods in self.hooks.values():
            methods.clear()
        self.signals.clear()
        self.connections.clear()


def build_hooked_app(view_style: str) -> tuple[Flask, Stored, HookLog]:
    """``/doc`` behind bare ``@etag``, with a per-request database handle on ``g``."""
    doc, log = Stored(FIRST_DOC), HookLog()

    def read_doc() -> Any:
        g.db.execute("select 1").fetchone()  # fails once teardown has closed the handle
        if doc.text is None:
            abort(404)
        return Response(doc.text, mimetype="application/json")

    def store_doc() -> Any:
        (text,) = g.db.execute("select ?", (request.get_data(as_text=True),)).fetchone()
        doc.store(text)
        return "", 204

    judged_by_doc = etag(HashGenerator(current=read_doc))
    route = Route("/doc", "doc", {"GET": (etag, read_doc), "PUT": (judged_by_doc, store_doc)})
    app = build_app(view_style, [route])

    @app.before_request
    def open_database() -> None:
        log.hooks["before_request"].append(request.method)
        # check_same_thread=False: an async view runs in asgiref's event-loop thread.
        g.db = sqlite3.connect(":memory:", check_same_thread=False)
        log.connections.append(g.db)

    @app.after_request
    def audit_response(response: Response) -> Response:
        log.hooks["after_request"].append(request.method)
        return response

    @app.teardown_request
    def close_database(error: BaseException | None) -> None:
        log.hooks["teardown_request"].append(request.method)
        connection = g.pop("db", None)
        if connection is not None:
            connection.close()

    @request_started.connect_via(app)
    def count_started(sender: Flask, **extra: Any) -> None:
        log.signals["request_started"] += 1

    @request_finished.connect_via(app)
    def count_finished(sender: Flask, **extra: Any) -> None:
        log.signals["request_finished"] += 1

    return app, doc, log


@pytest.mark.parametrize(
    ("headers", "status", "written"),
    [
        pytest.param({"If-Match": TAG}, 204, True, id="§13.1.1 If-Match with the tag of a GET"),
        pytest.param({"If-Match": "*"}, 204, True, id="§13.1.1 If-Match star on the existing doc"),
        pytest.param({"If-Match": '"stale"'}, 412, False, id="§13.1.1 stale If-Match"),
        pytest.param({"If-None-Match": "*"}, 412, False, id="§13.1.2 If-None-Match star exists"),
        pytest.param({"If-None-Match": TAG}, 412, False, id="§13.1.2 If-None-Match current tag"),
        pytest.param({"If-None-Match": '"other"'}, 204, True, id="§13.1.2 If-None-Match other"),
        pytest.param({}, 204, True, id="§13.2.1 no precondition"),
    ],
)
def test_conditional_put_runs_hooks_and_signals_once(
    view_style: str, headers: dict[str, str], status: int, written: bool
) -> None:
    """§13.2.1: judging a write on a body-hash route must not dispatch a second request."""
    app, doc, log = build_hooked_app(view_style)
    client = app.test_client()
    tag = client.get("/doc").headers["ETag"]
    assert log.hooks == {kind: ["GET"] for kind in HOOK_KINDS}
    log.clear()

    response = client.put("/doc", data=NEW_DOC, headers=with_tag(headers, tag))

    assert response.status_code == status
    assert doc.text == (NEW_DOC if written else FIRST_DOC)
    assert doc.writes == ([NEW_DOC] if written else [])
    assert log.hooks == {kind: ["PUT"] for kind in HOOK_KINDS}
    assert log.signals == {"request_started": 1, "request_finished": 1}
    assert len(log.connections) == 1
    assert is_closed(log.connections[0])


def test_put_chained_on_a_get_tag_is_stored_and_visible(view_style: str) -> None:
    """§13.1.1: the write lands, and the next GET sees it with a new tag."""
    app, doc, _ = build_hooked_app(view_style)
    client = app.test_client()
    first = client.get("/doc")

    put = client.put("/doc", data=NEW_DOC, headers={"If-Match": first.headers["ETag"]})
    again = client.get("/doc")

    assert put.status_code == 204
    assert again.status_code == 200
    assert again.get_data(as_text=True) == NEW_DOC
    assert again.headers["ETag"] != first.headers["ETag"]
    stale = client.put("/doc", data=FIRST_DOC, headers={"If-Match": first.headers["ETag"]})
    assert stale.status_code == 412
    assert doc.writes == [NEW_DOC]


# ------------------------------------------------ 2: a streamed GET counts as existing for writes

UPLOADED = "original upload"
REPLACEMENT = "replacement upload"


def build_upload_app(view_style: str, exists: bool) -> tuple[Flask, Stored]:
    """``/upload``: GET streams the stored bytes (untaggable), PUT stores; both bare ``@etag``."""
    upload = Stored(UPLOADED if exists else None)

    def download() -> Any:
        if upload.text is None:
            abort(404)
        data = upload.text.encode()
        chunks = (data[start : start + 4] for start in range(0, len(data), 4))
        return Response(chunks, mimetype="application/octet-stream")

    def replace() -> Any:
        created = upload.text is None
        upload.store(request.get_data(as_text=True))
        return "", 201 if created else 204

    judged_by_download = etag(HashGenerator(current=download))
    route = Route(
        "/upload", "upload", {"GET": (etag, download), "PUT": (judged_by_download, replace)}
    )
    return build_app(view_style, [route]), upload


@pytest.mark.parametrize(
    ("exists", "headers", "status", "written"),
    [
        pytest.param(True, {"If-None-Match": "*"}, 412, False, id="§13.1.2 create-only, exists"),
        pytest.param(True, {"If-Match": "*"}, 204, True, id="§13.1.1 If-Match star, exists"),
        pytest.param(
            True, {"If-Match": '"anything"'}, 412, False, id="§13.1.1 no tag to match, exists"
        ),
        pytest.param(
            True, {"If-None-Match": '"anything"'}, 204, True, id="§13.1.2 no tag to match, exists"
        ),
        pytest.param(True, {}, 204, True, id="§13.2.1 no precondition, exists"),
        pytest.param(False, {"If-None-Match": "*"}, 201, True, id="§13.1.2 create-only, missing"),
        pytest.param(False, {"If-Match": "*"}, 412, False, id="§13.1.1 If-Match star, missing"),
        pytest.param(
            False, {"If-Match": '"anything"'}, 412, False, id="§13.1.1 If-Match tag, missing"
        ),
    ],
)
def test_streamed_representation_counts_as_existing_for_writes(
    view_style: str, exists: bool, headers: dict[str, str], status: int, written: bool
) -> None:
    """§13.2.1: a GET that answers 200 with a stream selects a representation, tag or not."""
    app, upload = build_upload_app(view_style, exists)
    client = app.test_client()
    with client.get("/upload") as current:
        assert current.status_code == (200 if exists else 404)
        if exists:
            assert current.get_data(as_text=True) == UPLOADED
            assert "ETag" not in current.headers

    response = client.put("/upload", data=REPLACEMENT, headers=headers)

    assert response.status_code == status
    assert upload.writes == ([REPLACEMENT] if written else [])
    assert upload.text == (REPLACEMENT if written else UPLOADED if exists else None)


# ------------------------------------------------ 3: ETAG_CACHE_CONTROL is only a default


def undecorated(view: Handler) -> Handler:
    """No decorator at all: the route is tagged by ``ETAG_AUTO`` alone."""
    return view


def build_policy_app(
    view_style: str, kind: str, view_policy: str | None, route_policy: str | None
) -> Flask:
    """``/resource`` tagged by ``kind`` ("hash", "version" or "auto" for ETAG_AUTO)."""

    def resource() -> Any:
        headers = {} if view_policy is None else {"Cache-Control": view_policy}
        return "the resource", headers

    decorator: Decorator
    if kind == "auto":
        decorator = undecorated
    elif kind == "version":
        decorator = etag(VersionGenerator(lambda: 3), cache_control=route_policy)
    else:
        decorator = etag(cache_control=route_policy)
    route = Route("/resource", "resource", {"GET": (decorator, resource)})
    return build_app(
        view_style, [route], ETAG_CACHE_CONTROL=DEFAULT_POLICY, ETAG_AUTO=kind == "auto"
    )


@pytest.mark.parametrize(
    ("kind", "view_policy", "route_policy", "on_200", "on_304"),
    [
        pytest.param(
            "hash",
            VIEW_POLICY,
            None,
            VIEW_POLICY,
            VIEW_POLICY,
            id="RFC 9111 §5.2 bare @etag keeps the view's",
        ),
        pytest.param(
            "auto",
            VIEW_POLICY,
            None,
            VIEW_POLICY,
            VIEW_POLICY,
            id="RFC 9111 §5.2 ETAG_AUTO keeps the view's",
        ),
        # The 304 of a version route is answered before the view, which alone knows its policy.
        pytest.param(
            "version",
            VIEW_POLICY,
            None,
            VIEW_POLICY,
            None,
            id="RFC 9111 §5.2 version tag keeps the view's",
        ),
        pytest.param(
            "hash",
            None,
            None,
            DEFAULT_POLICY,
            DEFAULT_POLICY,
            id="RFC 9111 §5.2 bare @etag gets the default",
        ),
        pytest.param(
            "auto",
            None,
            None,
            DEFAULT_POLICY,
            DEFAULT_POLICY,
            id="RFC 9111 §5.2 ETAG_AUTO gets the default",
        ),
        pytest.param(
            "version",
            None,
            None,
            DEFAULT_POLICY,
            DEFAULT_POLICY,
            id="RFC 9111 §5.2 version gets the default",
        ),
        pytest.param(
            "hash",
            VIEW_POLICY,
            "no-cache",
            "no-cache",
            "no-cache",
            id="RFC 9111 §5.2 bare @etag decorator wins",
        ),
        pytest.param(
            "version",
            VIEW_POLICY,
            "no-cache",
            "no-cache",
            "no-cache",
            id="RFC 9111 §5.2 version decorator wins",
        ),
        pytest.param(
            "hash",
            None,
            "no-cache",
            "no-cache",
            "no-cache",
            id="RFC 9111 §5.2 bare @etag decorator over default",
        ),
    ],
)
def test_etag_cache_control_is_a_default(
    view_style: str,
    kind: str,
    view_policy: str | None,
    route_policy: str | None,
    on_200: str,
    on_304: str | None,
) -> None:
    """RFC 9111 §5.2 / RFC 9110 §15.4.5: the view's own policy stands unless the route sets one."""
    client = build_policy_app(view_style, kind, view_policy, route_policy).test_client()

    full = client.get("/resource")

    assert full.status_code == 200
    assert full.headers.getlist("Cache-Control") == [on_200]
    tag = full.headers["ETag"]
    not_modified = client.get("/resource", headers={"If-None-Match": tag})
    assert not_modified.status_code == 304
    assert not_modified.headers["ETag"] == tag
    if on_304 is not None:
        assert not_modified.headers.getlist("Cache-Control") == [on_304]


# ------------------------------------------------ 4: a version route serving send_file


def build_versioned_file_app(view_style: str, directory: Path) -> Flask:
    """``/reports/<name>``: version 7 while the file exists; ``send_file`` sets its own ETag."""

    def report_version(name: str) -> int | None:
        return 7 if (directory / name).is_file() else None

    def report(name: str) -> Any:
        return send_file(directory / name, conditional=True)

    decorator = etag(VersionGenerator(report_version))
    return build_app(
        view_style, [Route("/reports/<name>", "reports", {"GET": (decorator, report)})]
    )


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param({"If-None-Match": TAG}, 304, b"", id="§13.1.2 If-None-Match received tag"),
        pytest.param({"If-None-Match": '"other"'}, 200, FILE_BODY, id="§13.1.2 other tag"),
        pytest.param({"If-Match": TAG}, 200, FILE_BODY, id="§13.1.1 If-Match received tag"),
        pytest.param({"If-Match": '"other"'}, 412, None, id="§13.1.1 If-Match other tag"),
        pytest.param(
            {"Range": "bytes=0-4", "If-Range": TAG},
            206,
            FILE_BODY[:5],
            id="§13.1.5 If-Range received tag: 206",
        ),
        pytest.param(
            {"Range": "bytes=0-4", "If-Range": '"other"'},
            200,
            FILE_BODY,
            id="§13.1.5 If-Range other tag: whole",
        ),
    ],
)
def test_version_route_judges_by_the_tag_it_sends(
    view_style: str, tmp_path: Path, headers: dict[str, str], status: int, body: bytes | None
) -> None:
    """§8.8.3: the one ETag a 200 carries is the tag the next conditional request is judged by."""
    seeded_file(tmp_path)
    client = build_versioned_file_app(view_style, tmp_path).test_client()
    with client.get("/reports/report.txt") as full:
        assert full.status_code == 200
        assert full.get_data() == FILE_BODY
        assert len(full.headers.getlist("ETag")) == 1
        received = full.headers["ETag"]

    with client.get("/reports/report.txt", headers=with_tag(headers, received)) as response:
        assert response.status_code == status
        if body is not None:
            assert response.get_data() == body
            assert response.headers["ETag"] == received
        if status == 206:
            assert response.headers["Content-Range"] == f"bytes 0-4/{len(FILE_BODY)}"


# ------------------------------------------------ 5: what a write's response may be tagged with


def build_write_app(view_style: str) -> tuple[Flask, Stored, Stored]:
    """``/saved``: PUT answers a status document; ``/mirrored``: PUT answers the new state."""
    saved, mirrored = Stored(FIRST_DOC), Stored(FIRST_DOC)

    def reader(doc: Stored) -> Handler:
        def read() -> Any:
            if doc.text is None:
                abort(404)
            return Response(doc.text, mimetype="application/json")

        return read

    def save() -> Any:
        saved.store(request.get_data(as_text=True))
        return {"saved": True}

    def save_and_show() -> Any:
        mirrored.store(request.get_data(as_text=True))
        response = Response(mirrored.text, mimetype="application/json")
        response.headers["Content-Location"] = request.path
        return response

    def judged_by(doc: Stored) -> Decorator:
        return etag(HashGenerator(current=reader(doc)))

    routes = [
        Route("/saved", "saved", {"GET": (etag, reader(saved)), "PUT": (judged_by(saved), save)}),
        Route(
            "/mirrored",
            "mirrored",
            {"GET": (etag, reader(mirrored)), "PUT": (judged_by(mirrored), save_and_show)},
        ),
    ]
    return build_app(view_style, routes), saved, mirrored


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="§9.3.4 unconditional PUT"),
        pytest.param({"If-Match": TAG}, id="§9.3.4 PUT If-Match current tag"),
        pytest.param({"If-None-Match": '"other"'}, id="§9.3.4 PUT If-None-Match other tag"),
    ],
)
def test_write_answering_a_status_document_is_untagged(
    view_style: str, headers: dict[str, str]
) -> None:
    """§9.3.4: a PUT's validators must describe the new representation, not a status message."""
    app, saved, _ = build_write_app(view_style)
    client = app.test_client()
    tag = client.get("/saved").headers["ETag"]

    response = client.put("/saved", data=NEW_DOC, headers=with_tag(headers, tag))

    assert response.status_code == 200
    assert response.get_json() == {"saved": True}
    assert "ETag" not in response.headers
    assert saved.writes == [NEW_DOC]


def test_write_answering_the_new_representation_is_tagged_as_a_get(view_style: str) -> None:
    """§9.3.4 + §8.8.3: Content-Location names the target, so the tag is the GET's tag."""
    app, _, mirrored = build_write_app(view_style)
    client = app.test_client()

    put = client.put("/mirrored", data=NEW_DOC)
    get = client.get("/mirrored")

    assert put.status_code == 200
    assert put.headers["Content-Location"] == "/mirrored"
    assert get.status_code == 200
    assert put.get_data() == get.get_data() == NEW_DOC.encode()
    assert put.headers["ETag"] == get.headers["ETag"]
    chained = client.put("/mirrored", data=FIRST_DOC, headers={"If-Match": put.headers["ETag"]})
    assert chained.status_code == 200
    assert chained.headers["ETag"] == client.get("/mirrored").headers["ETag"]
    stale = client.put("/mirrored", data=NEW_DOC, headers={"If-Match": put.headers["ETag"]})
    assert stale.status_code == 412
    assert mirrored.writes == [NEW_DOC, FIRST_DOC]


# ------------------------------------------------ 8: untagged streams and tag-free preconditions


def build_stream_app(view_style: str, produced: list[bytes]) -> Flask:
    """``/stream``: bare ``@etag`` over a generator with a fixed ``Last-Modified``."""

    def stream() -> Any:
        def chunks() -> Iterator[bytes]:
            for chunk in STREAM_CHUNKS:
                produced.append(chunk)
                yield chunk

        return Response(chunks(), mimetype="text/plain", headers={"Last-Modified": STREAM_MODIFIED})

    return build_app(view_style, [Route("/stream", "stream", {"GET": (etag, stream)})])


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"If-Match": '"stale"'}, 412, id="§13.1.1 If-Match tag, no tag to match"),
        pytest.param({"If-Match": "*"}, 200, id="§13.1.1 If-Match star, exists"),
        pytest.param({"If-None-Match": "*"}, 304, id="§13.1.2 If-None-Match star, exists"),
        pytest.param({"If-None-Match": '"x"'}, 200, id="§13.1.2 If-None-Match tag, no match"),
        pytest.param({"If-Modified-Since": STREAM_MODIFIED}, 304, id="§13.1.3 not modified"),
        pytest.param({"If-Modified-Since": DAY_BEFORE_STREAM}, 200, id="§13.1.3 modified since"),
        pytest.param({"If-Unmodified-Since": DAY_BEFORE_STREAM}, 412, id="§13.1.4 modified since"),
        pytest.param({"If-Unmodified-Since": STREAM_MODIFIED}, 200, id="§13.1.4 unmodified"),
        pytest.param(
            {"If-None-Match": '"x"', "If-Modified-Since": STREAM_MODIFIED},
            200,
            id="§13.2.2 If-None-Match present: If-Modified-Since ignored",
        ),
        pytest.param({}, 200, id="§13.2.1 no precondition"),
    ],
)
def test_untagged_stream_honours_preconditions_decidable_without_a_tag(
    view_style: str, headers: dict[str, str], status: int
) -> None:
    """§13.2.2: a stream stays untagged and unbuffered; ``*`` and dates still decide."""
    produced: list[bytes] = []
    client = build_stream_app(view_style, produced).test_client()

    with client.get("/stream", headers=headers) as response:
        assert response.status_code == status
        assert "ETag" not in response.headers
        if status == 200:
            assert len(produced) < len(STREAM_CHUNKS)  # not read whole before it was sent
            assert response.get_data() == b"".join(STREAM_CHUNKS)
            assert response.headers["Last-Modified"] == STREAM_MODIFIED
        elif status == 304:
            assert response.get_data() == b""
            assert "Content-Type" not in response.headers


# ------------------------------------------------ 9: send_file judges Range after the preconditions

UNSATISFIABLE = "bytes=500-600"


def build_file_app(view_style: str, directory: Path) -> Flask:
    """``/files/<name>``: bare ``@etag`` over ``send_file``, which sets its own ETag."""

    def serve(name: str) -> Any:
        return send_file(directory / name, conditional=True)

    return build_app(view_style, [Route("/files/<name>", "files", {"GET": (etag, serve)})])


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param(
            {"Range": UNSATISFIABLE, "If-None-Match": TAG}, 304, b"", id="§13.2.2 304 before 416"
        ),
        pytest.param(
            {"Range": UNSATISFIABLE, "If-Match": '"stale"'}, 412, None, id="§13.2.2 412 before 416"
        ),
        pytest.param(
            {"Range": UNSATISFIABLE, "If-Match": TAG}, 416, None, id="§14.2 If-Match passes, 416"
        ),
        pytest.param(
            {"Range": UNSATISFIABLE, "If-None-Match": '"other"'},
            416,
            None,
            id="§14.2 If-None-Match passes, 416",
        ),
        pytest.param({"Range": UNSATISFIABLE}, 416, None, id="§15.5.17 unsatisfiable Range: 416"),
        pytest.param({"Range": "bytes=0-4"}, 206, FILE_BODY[:5], id="§14.2 satisfiable Range: 206"),
        pytest.param(
            {"Range": "bytes=0-4", "If-Match": TAG},
            206,
            FILE_BODY[:5],
            id="§13.2.2 If-Match passes, 206",
        ),
    ],
)
def test_send_file_range_is_judged_after_preconditions(
    view_style: str, tmp_path: Path, headers: dict[str, str], status: int, body: bytes | None
) -> None:
    """§13.2.2: If-Match/If-None-Match are steps 1-4, Range only step 5."""
    seeded_file(tmp_path, "small.txt")
    client = build_file_app(view_style, tmp_path).test_client()
    with client.get("/files/small.txt") as full:
        assert full.get_data() == FILE_BODY
        tag = full.headers["ETag"]

    with client.get("/files/small.txt", headers=with_tag(headers, tag)) as response:
        assert response.status_code == status
        if body is not None:
            assert response.get_data() == body
        if status == 304:
            assert response.headers["ETag"] == tag
        elif status == 206:
            assert response.headers["Content-Range"] == f"bytes 0-4/{len(FILE_BODY)}"
        elif status == 416:
            assert response.headers["Content-Range"] == f"bytes */{len(FILE_BODY)}"


# ------------------------------------------------ 12: access checks and the before-the-view 304


def login_required(view: Handler) -> Handler:
    """An authentication decorator: 401 unless the request carries ``Authorization``."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if "Authorization" not in request.headers:
            return Response("log in first", 401, {"WWW-Authenticate": 'Bearer realm="docs"'})
        return view(*args, **kwargs)

    return guarded


def build_guarded_app(view_style: str) -> tuple[Flask, Counter[str]]:
    """Version-tagged documents behind each kind of access check; views counted by path."""
    versions = {1: 4}
    view_runs: Counter[str] = Counter()

    def version_of(doc_id: int) -> int | None:
        return versions.get(doc_id)

    def version_if_authorized(doc_id: int) -> int | None:
        if "Authorization" not in request.headers:
            abort(403)
        return version_of(doc_id)

    def document(doc_id: int) -> Any:
        view_runs[request.path] += 1
        if doc_id not in versions:
            abort(404)
        return {"id": doc_id, "version": versions[doc_id]}

    def document_checked_in_view(doc_id: int) -> Any:
        view_runs[request.path] += 1
        if "Authorization" not in request.headers:
            abort(403)
        return document(doc_id)

    def moved(doc_id: int) -> Any:
        view_runs[request.path] += 1
        return redirect(f"/docs/{doc_id}", 302)

    tagged = etag(VersionGenerator(version_of))
    routes = [
        Route("/docs/<int:doc_id>", "docs", {"GET": (tagged, document)}),
        Route("/hooked/<int:doc_id>", "hooked", {"GET": (tagged, document)}),
        Route(
            "/login/<int:doc_id>",
            "login",
            {"GET": (stacked(login_required, etag(VersionGenerator(version_of))), document)},
        ),
        Route(
            "/lookup-checks/<int:doc_id>",
            "lookup_checks",
            {"GET": (etag(VersionGenerator(version_if_authorized)), document)},
        ),
        Route(
            "/view-checks/<int:doc_id>", "view_checks", {"GET": (tagged, document_checked_in_view)}
        ),
        Route("/moved/<int:doc_id>", "moved", {"GET": (tagged, moved)}),
    ]
    app = build_app(view_style, routes)

    @app.before_request
    def require_login_on_hooked_routes() -> None:
        if request.path.startswith("/hooked/") and "Authorization" not in request.headers:
            abort(403)

    return app, view_runs


@pytest.mark.parametrize(
    ("path", "headers", "status", "etag_header", "runs"),
    [
        pytest.param(
            "/hooked/1", {"If-None-Match": TAG}, 403, None, 0, id="§13.2.1 before_request 403 wins"
        ),
        pytest.param(
            "/hooked/1",
            {"If-None-Match": TAG, **AUTHORIZED},
            304,
            TAG,
            0,
            id="§13.1.2 before_request passes: 304",
        ),
        pytest.param(
            "/login/1", {"If-None-Match": TAG}, 401, None, 0, id="§13.2.1 decorator above 401 wins"
        ),
        pytest.param(
            "/login/1",
            {"If-None-Match": TAG, **AUTHORIZED},
            304,
            TAG,
            0,
            id="§13.1.2 decorator above passes: 304",
        ),
        pytest.param(
            "/lookup-checks/1",
            {"If-None-Match": TAG},
            403,
            None,
            0,
            id="§13.2.1 lookup abort(403) wins",
        ),
        pytest.param(
            "/lookup-checks/1",
            {"If-None-Match": TAG, **AUTHORIZED},
            304,
            TAG,
            0,
            id="§13.1.2 lookup passes: 304",
        ),
        pytest.param(
            "/view-checks/1",
            {"If-None-Match": TAG},
            304,
            TAG,
            0,
            id="documented behaviour: a check in the view body cannot stop a version 304",
        ),
        pytest.param(
            "/view-checks/1", {}, 403, None, 1, id="§13.2.1 a check in the view body answers 403"
        ),
        pytest.param(
            "/docs/99", {"If-None-Match": "*"}, 404, None, 1, id="§13.2.1 missing, star: view's 404"
        ),
        pytest.param("/moved/1", {}, 302, None, 1, id="§13.2.1 a 302 is passed through untagged"),
    ],
)
def test_access_checks_win_over_the_before_the_view_decision(
    view_style: str,
    path: str,
    headers: dict[str, str],
    status: int,
    etag_header: str | None,
    runs: int,
) -> None:
    """§13.2.1: preconditions only turn what would be a 2xx into 304/412; a 401/403 stands."""
    app, view_runs = build_guarded_app(view_style)
    client = app.test_client()
    tag = client.get("/docs/1").headers["ETag"]
    view_runs.clear()

    response = client.get(path, headers=with_tag(headers, tag))

    assert response.status_code == status
    assert response.headers.get("ETag") == (None if etag_header is None else tag)
    assert view_runs[path] == runs
    if status == 304:
        assert response.get_data() == b""
    if status == 302:
        assert response.headers["Location"] == "/docs/1"


def test_rfc9110_13_2_1_async_lookups_decide_before_the_view_as_sync_ones_do() -> None:
    """An async app reads its versions with ``async def`` functions, as its views: the
    lookup's result (not a coroutine) tags the response and decides 304 and 412 before the
    view, and ``HashGenerator(current=...)`` judges a write by what it renders."""
    notes = {1: {"text": "first", "version": 3}}
    views_run: list[str] = []

    async def note_version(note_id: int) -> int | None:
        note = notes.get(note_id)
        return None if note is None else int(note["version"])

    async def current_page(page_id: int) -> str:
        return f"page {page_id} of {len(notes)}"

    app = Flask(__name__)
    ETag(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @etag(VersionGenerator(note_version))
    async def note(note_id: int) -> Any:
        views_run.append(request.method)
        return {"text": notes[note_id]["text"]}

    @app.route("/pages/<int:page_id>", methods=["GET", "PUT"])
    @etag(HashGenerator(current=current_page))
    async def page(page_id: int) -> Any:
        views_run.append(request.method)
        return await current_page(page_id)

    client = app.test_client()
    assert client.get("/notes/1").headers["ETag"] == '"3"'
    assert client.get("/notes/1", headers={"If-None-Match": '"3"'}).status_code == 304
    stale = client.put("/notes/1", json={}, headers={"If-Match": '"2"'})
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"3"')
    assert views_run == ["GET"]
    tag = client.get("/pages/1").headers["ETag"]
    assert client.put("/pages/1", data="x", headers={"If-Match": tag}).status_code == 200
    assert client.put("/pages/1", data="x", headers={"If-Match": '"old"'}).status_code == 412
    assert views_run == ["GET", "GET", "PUT"]
