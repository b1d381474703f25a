"""What a write's answer says it did, and what flask_etag then tells clients and caches.

A write is announced (``etag_written``) and purged at ``ETAG_PURGE_URLS`` when it changed
something (RFC 9111 §4.4): a 3xx alone does not say so (RFC 9110 §15.4), since an access
check under the decorator redirects to its login page without writing.  HTTP through
Flask's test client, purges at a recording cache on loopback, signals through blinker's
``connected_to``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, redirect, request
from flask_sqlalchemy import SQLAlchemy
from support_databases import dispose_after_test
from support_listeners import Received, recording_cache

from flask_etag import ETag, VersionGenerator, etag_written, require_if_match
from flask_etag.sqlalchemy import ModelVersionGenerator

# Writes here wait for purges to a loopback cache in this process: no collector pauses.
pytestmark = pytest.mark.usefixtures("without_collector_pauses")


@pytest.fixture
def cache() -> Iterator[tuple[str, Received]]:
    with recording_cache() as recorded:
        yield recorded


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """An access check as apps write one: no user, a redirect to the login page."""

    @functools.wraps(view)
    def checked(**view_args: Any) -> Any:
        if "X-User" not in request.headers:
            return redirect("/login", 302)
        return view(**view_args)

    return checked


def dict_notes(app: Flask, tmp_path: Path) -> tuple[VersionGenerator, Callable[[int], None]]:
    """Notes kept in a dict, versioned by a counter: no commit for flask_etag to see."""
    notes = {1: 1}

    def write(note_id: int) -> None:
        notes[note_id] += 1

    return VersionGenerator(lambda note_id: notes.get(note_id)), write


def model_notes(app: Flask, tmp_path: Path) -> tuple[ModelVersionGenerator, Callable[[int], None]]:
    """Notes in SQLite with a ``version_id_col``, written as Flask-SQLAlchemy's docs write."""
    db = SQLAlchemy()

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "outcome_notes"
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
        text = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'notes.sqlite3'}"
    db.init_app(app)
    dispose_after_test(app)
    with app.app_context():
        db.create_all()
        db.session.add(Note(id=1, text="first"))
        db.session.commit()

    def write(note_id: int) -> None:
        db.session.get(Note, note_id).text = "edited"
        db.session.commit()

    return ModelVersionGenerator(Note, db.session), write


@pytest.mark.parametrize("store", [dict_notes, model_notes], ids=["version", "model"])
def test_a_redirect_that_wrote_nothing_is_neither_announced_nor_purged_rfc9110_15_4(
    tmp_path: Path, cache: tuple[str, Received], store: Any
) -> None:
    """``login_required`` under ``@require_if_match``: its 302 wrote nothing, so no
    ``etag_written`` and no purge; the same form's ``POST`` by a user, answered 303 after
    its write (post/redirect/get), is announced and purged once (RFC 9111 §4.4)."""
    base_url, received = cache
    app = Flask(__name__)
    app.config.update(ETAG_PURGE_URLS=[base_url], ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)
    generator, write = store(app, tmp_path)

    @app.post("/notes/<int:note_id>")
    @require_if_match(generator, surrogate_keys=lambda note_id: [f"notes/{note_id}"])
    @login_required
    def edit(note_id: int) -> Any:
        write(note_id)
        return redirect(f"/notes/{note_id}", 303)

    client = app.test_client()
    announced: list[dict[str, Any]] = []
    with etag_written.connected_to(lambda _app, **sent: announced.append(sent), app):
        refused = client.post("/notes/1", headers={"If-Match": '"1"'})
        assert refused.status_code == 302
        assert (announced, received.purges) == ([], [])
        edited = client.post("/notes/1", headers={"If-Match": '"1"', "X-User": "ann"})
    assert edited.status_code == 303
    assert [sent["keys"][-1] for sent in announced] == ["notes/1"]
    assert len(received.purges) == 1 and "notes/1" in received.purges[0].surrogate_key
