"""A compressing origin for the real-server compression test, run under gunicorn.

Flask-Compress is set up *after* flask_etag, as most apps do (the harder order for hooks).
``GET /notes/<id>`` is version-tagged (decided before the view), ``GET /digest`` is tagged by
a hash of its body, ``PUT /notes/<id>`` needs ``If-Match``; bodies are long enough to compress.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_compress import Compress

from flask_etag import ETag, VersionGenerator, etag, require_if_match

_NOTES: dict[int, dict[str, Any]] = {1: {"version": 1, "text": "compress me " * 80}}
_versions = VersionGenerator(lambda note_id: _NOTES.get(note_id, {}).get("version"))

app = Flask(__name__)
ETag(app)
Compress(app)


@app.get("/notes/<int:note_id>")
@etag(_versions, cache_control="no-cache")
def read_note(note_id: int) -> dict[str, Any]:
    """One note; its tag is its version."""
    return {"id": note_id, **_NOTES[note_id]}


@app.put("/notes/<int:note_id>")
@require_if_match(_versions)
def replace_note(note_id: int) -> dict[str, Any]:
    """Replace the text; If-Match required (RFC 6585 §3)."""
    note = _NOTES[note_id]
    note["text"] = str((request.get_json(silent=True) or {}).get("text", note["text"]))
    note["version"] += 1
    return {"id": note_id, **note}


@app.get("/digest")
@etag
def digest() -> str:
    """A body-hash tagged text."""
    return "the same words, over and over. " * 60
