"""A small origin server for the browser and shared-cache tests, run under gunicorn.

Routes (one note, id 1, kept in the worker's memory: run it with a single worker):

==============================  ===========================================================
``GET /``                       a page whose script fetches ``/notes/1`` twice with
                                ``fetch()`` and writes both answers into the DOM
``GET /notes/<id>``             version-tagged, ``Cache-Control: no-cache``: a private cache
                                (a browser) may store it but must revalidate every use
                                (RFC 9111 §5.2.2.4), so each reuse costs a conditional GET
``GET /shared/notes/<id>``      the same note, ``Cache-Control: max-age=1``: a shared cache
                                (nginx) serves it for one second, then revalidates
``PUT`` on both                 replaces the text; ``If-Match`` required (RFC 6585 §3)
==============================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, request

from flask_etag import ETag, VersionGenerator, etag, require_if_match

#: The page the browser test loads: two sequential fetches of the same tagged resource.
PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>flask_etag browser check</title></head>
<body>
<p id="first"></p>
<p id="second"></p>
<p id="state">loading</p>
<script>
async function load(into) {
  const response = await fetch("/notes/1");
  const note = await response.json();
  document.getElementById(into).textContent =
    response.status + " " + note.text + " " + response.headers.get("ETag");
}
load("first")
  .then(() => load("second"))
  .then(() => { document.getElementById("state").textContent = "done"; })
  .catch((error) => { document.getElementById("state").textContent = "error " + error; });
</script>
</body>
</html>
"""


@dataclass
class Note:
    """The stored resource: its text and a version bumped by every write."""

    text: str
    version: int = 1


def create_app() -> Flask:
    """The origin app; gunicorn spec ``tests.origin_app:create_app()``."""
    app = Flask(__name__)
    ETag(app)
    notes = {1: Note("first text")}

    def current_version(note_id: int) -> int | None:
        note = notes.get(note_id)
        return None if note is None else note.version

    versions = VersionGenerator(current_version)

    def note_json(note_id: int) -> dict[str, Any]:
        note = notes.get(note_id)
        if note is None:
            abort(404)
        return {"id": note_id, "text": note.text, "version": note.version}

    @app.get("/")
    def page() -> tuple[str, int, dict[str, str]]:
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/notes/<int:note_id>")
    @etag(versions, cache_control="no-cache")
    def read_note(note_id: int) -> dict[str, Any]:
        return note_json(note_id)

    @app.get("/shared/notes/<int:note_id>")
    @etag(versions, cache_control="max-age=1")
    def read_shared_note(note_id: int) -> dict[str, Any]:
        return note_json(note_id)

    @app.put("/notes/<int:note_id>")
    @app.put("/shared/notes/<int:note_id>")
    @require_if_match(versions)
    def replace_note(note_id: int) -> dict[str, Any]:
        note = notes.get(note_id)
        if note is None:
            abort(404)
        payload = request.get_json(silent=True) or {}
        note.text = str(payload.get("text", note.text))
        note.version += 1
        return note_json(note_id)

    return app
