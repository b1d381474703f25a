"""What a write's answer says it did, and what flask_etag then tells clients and caches.

A write is announced (``etag_written``) and purged at ``ETAG_PURGE_URLS`` when it changed
something (RFC 9111 §4.4): a 3xx alone does not say so (RFC 9110 §15.4), since an access
check under the decorator redirects to its login page without writing.  A write that lost
its compare-and-set to another client's names, in its 412 or 409, the tag a GET of the same
request would carry (RFC 9110 §8.8.3), folds and all.  HTTP through Flask's test client,
purges at a recording cache on loopback, signals through blinker's ``connected_to``.
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

from flask_etag import (
    ETag,
    VersionGenerator,
    announce_write,
    etag,
    etag_written,
    require_if_match,
)
from flask_etag.sqlalchemy import ModelVersionGenerator, TableVersions

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


def purging_app(base_url: str) -> Flask:
    """An app that purges at the recording cache ``base_url``, once per write."""
    app = Flask(__name__)
    app.config.update(ETAG_PURGE_URLS=[base_url], ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)
    return app


def sqlite_notes(app: Flask, tmp_path: Path, table: str) -> tuple[SQLAlchemy, Any]:
    """``app``'s SQLite database, holding note 1 in ``table``: a ``Note`` model with a
    ``version_id_col``, as Flask-SQLAlchemy's docs write one; returns it and its ``db``."""
    db = SQLAlchemy()

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = table
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
        text = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / f'{table}.sqlite3'}"
    db.init_app(app)
    dispose_after_test(app)
    with app.app_context():
        db.create_all()
        db.session.add(Note(id=1, text="first"))
        db.session.commit()
    return db, Note


def dict_notes(app: Flask, tmp_path: Path) -> tuple[VersionGenerator, Callable[[int], None]]:
    """Notes kept in a dict, versioned by a counter: no commit for flask_etag to see."""
    notes = {1: 1}

    def write(note_id: int) -> None:
        notes[note_id] += 1

    return VersionGenerator(lambda note_id: notes.get(note_id)), write


def model_notes(app: Flask, tmp_path: Path) -> tuple[ModelVersionGenerator, Callable[[int], None]]:
    """Notes in SQLite with a ``version_id_col``, written as Flask-SQLAlchemy's docs write."""
    db, Note = sqlite_notes(app, tmp_path, "outcome_notes")

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
    app = purging_app(base_url)
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


def the_users_scope() -> str | None:
    return request.headers.get("X-User")


#: A route's own folds, each of which the tag of the state that won the race missed.
FOLDS = [
    pytest.param({}, {"vary": ["Accept-Language"]}, id="vary"),
    pytest.param({}, {"scope": the_users_scope}, id="scope"),
    pytest.param({"ETAG_SCOPE": the_users_scope}, {"scope": None}, id="unscoped-route"),
]


def racing_notes_app(tmp_path: Path, config: dict[str, Any], folds: dict[str, Any]) -> Flask:
    """``GET``/``PUT /notes/<id>`` on ``@etag(ModelVersionGenerator, **folds)``; ``X-Race: 1``
    has another client commit a write of the row between the precondition check and the
    view's own, on its own connection, as a concurrent request would."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s" * 32, TESTING=True, **config)
    ETag(app)
    db, Note = sqlite_notes(app, tmp_path, "raced_notes")

    def another_client_writes_first(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def racing(note_id: int) -> Any:
            if request.headers.get("X-Race"):
                table = Note.__table__
                with db.engine.begin() as other:
                    other.execute(
                        sa.update(table)
                        .where(table.c.id == note_id)
                        .values(text="theirs", version=table.c.version + 1)
                    )
            return view(note_id=note_id)

        return racing

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @etag(ModelVersionGenerator(Note, db.session), **folds)
    @another_client_writes_first
    def note(note_id: int) -> Any:
        found = db.session.get(Note, note_id)
        if request.method == "PUT":
            found.text = request.get_json()["text"]
            db.session.commit()
        return {"id": found.id, "text": found.text}

    return app


@pytest.mark.parametrize(("config", "folds"), FOLDS)
@pytest.mark.parametrize(
    ("precondition", "status"),
    [
        pytest.param(True, 412, id="412-rfc9110_13_1_1"),
        pytest.param(False, 409, id="409-rfc9110_15_5_10"),
    ],
)
def test_a_write_that_lost_the_race_names_the_tag_a_get_sends_rfc9110_8_8_3(
    tmp_path: Path, config: dict[str, Any], folds: dict[str, Any], precondition: bool, status: int
) -> None:
    """The 412 (or, without a precondition, the 409) names the state that won as the route
    tags it for this request: the client's next ``If-None-Match`` with it is a 304, as with
    an ordinary 412's tag, and its next ``If-Match`` writes."""
    client = racing_notes_app(tmp_path, config, folds).test_client()
    fields = {"Accept-Language": "fr", "X-User": "ann"}
    read = client.get("/notes/1", headers=fields)
    sent = {"If-Match": read.headers["ETag"]} if precondition else {}
    lost = client.put("/notes/1", json={"text": "mine"}, headers={**fields, **sent, "X-Race": "1"})
    assert lost.status_code == status, lost.get_data(as_text=True)
    again = client.get("/notes/1", headers=fields)
    assert again.get_json()["text"] == "theirs" and again.headers["ETag"] != read.headers["ETag"]
    assert lost.headers["ETag"] == again.headers["ETag"] == lost.get_json()["etag"]
    revalidated = client.get("/notes/1", headers={**fields, "If-None-Match": lost.headers["ETag"]})
    assert revalidated.status_code == 304


def test_a_write_accepted_for_later_is_not_announced_before_it_is_applied_rfc9110_15_3_3(
    cache: tuple[str, Received],
) -> None:
    """A 202 says the request is queued, not applied: no ``etag_written`` and no purge for
    it, which would have the caches fetch the state the queued write is about to change;
    the write is announced when it is applied (here by ``announce_write``)."""
    base_url, received = cache
    app = purging_app(base_url)
    notes = {1: 1}
    queued: list[int] = []

    @app.post("/notes/<int:note_id>/rebuild")
    @require_if_match(
        VersionGenerator(lambda note_id: notes.get(note_id)),
        surrogate_keys=lambda note_id: [f"notes/{note_id}"],
    )
    def rebuild(note_id: int) -> Any:
        queued.append(note_id)
        return {"queued": note_id}, 202

    announced: list[dict[str, Any]] = []
    with etag_written.connected_to(lambda _app, **sent: announced.append(sent), app):
        accepted = app.test_client().post("/notes/1/rebuild", headers={"If-Match": '"1"'})
        assert accepted.status_code == 202 and queued == [1]
        assert (announced, received.purges) == ([], [])
        with app.app_context():  # the worker applies it
            notes[queued.pop()] += 1
            announce_write(["notes/1"])
    assert [sent["keys"] for sent in announced] == [("notes/1",)]
    assert len(received.purges) == 1


def test_a_redirect_after_a_write_stands_when_the_store_fails_after_it_rfc9111_4_4(
    cache: tuple[str, Received],
) -> None:
    """A form's ``POST`` wrote and answered 303, then the store went down before the state
    could be looked up again: the client still gets its 303 (not a 500 it would retry into
    a 412), and the caches their purge, since the write may have happened."""
    base_url, received = cache
    app = purging_app(base_url)
    notes = {1: 1}
    down: list[bool] = []

    def version(note_id: int) -> int | None:
        if down:
            raise ConnectionError("the store went away")
        return notes.get(note_id)

    @app.post("/notes/<int:note_id>")
    @require_if_match(
        VersionGenerator(version), surrogate_keys=lambda note_id: [f"notes/{note_id}"]
    )
    def edit(note_id: int) -> Any:
        notes[note_id] += 1
        down.append(True)
        return redirect(f"/notes/{note_id}", 303)

    announced: list[dict[str, Any]] = []
    with etag_written.connected_to(lambda _app, **sent: announced.append(sent), app):
        edited = app.test_client().post("/notes/1", headers={"If-Match": '"1"'})
    assert edited.status_code == 303 and notes == {1: 2}
    assert [sent["keys"] for sent in announced] == [("notes/1",)]
    assert len(received.purges) == 1


def note_tag(app: Flask, generator: ModelVersionGenerator) -> str:
    """Note 1's tag, read as a client reads it (the reads purge nothing)."""
    app.add_url_rule("/notes/<int:note_id>", "read", etag(generator)(lambda note_id: "note"))
    return app.test_client().get("/notes/1").headers["ETag"]


@pytest.mark.parametrize("fails", ["raises", "answers-500"])
def test_a_write_that_fails_after_its_commit_purges_its_routes_own_keys_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received], fails: str
) -> None:
    """The view commits its note, then a call after it fails (a webhook): the note changed,
    so every key its route names for it is purged, as for a 2xx.  Only the commit's own
    keys were: a page cached under the route's ``surrogate_keys=`` key alone stayed stale
    for its whole ``s-maxage``."""
    base_url, received = cache
    app = purging_app(base_url)
    app.testing = False  # an unhandled error is a 500, as in production
    db, Note = sqlite_notes(app, tmp_path, "committed_notes")
    TableVersions(db.session, db.metadata)  # it sees the commit
    with app.app_context():
        db.create_all()
    generator = ModelVersionGenerator(Note, db.session)

    @app.put("/notes/<int:note_id>")
    @require_if_match(generator, surrogate_keys=lambda note_id: [f"note-pages/{note_id}"])
    def edit(note_id: int) -> Any:
        db.session.get(Note, note_id).text = "edited"
        db.session.commit()
        if fails == "raises":
            raise ConnectionError("the webhook is down")
        return {"error": "the webhook is down"}, 500

    client = app.test_client()
    tag = note_tag(app, generator)
    assert client.put("/notes/1", headers={"If-Match": tag}).status_code == 500
    [purge] = received.purges
    assert "note-pages/1" in purge.surrogate_key.split(), purge.surrogate_key


def test_a_failed_writes_keys_that_cannot_be_named_leave_its_error_to_the_app_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received]
) -> None:
    """A ``surrogate_keys=`` that reads the row the failed write deleted raises: its error
    must not stand in for the write's, whose handler answers (here 502), and what committed
    is still purged."""
    base_url, received = cache
    app = purging_app(base_url)
    db, Note = sqlite_notes(app, tmp_path, "deleted_notes")
    TableVersions(db.session, db.metadata)
    with app.app_context():
        db.create_all()
    generator = ModelVersionGenerator(Note, db.session)

    @app.errorhandler(ConnectionError)
    def webhook_down(error: Exception) -> Any:
        return {"error": "the webhook is down"}, 502

    def pages_of(note_id: int) -> list[str]:
        return [f"note-pages/{db.session.get(Note, note_id).text}"]

    @app.delete("/notes/<int:note_id>")
    @require_if_match(generator, surrogate_keys=pages_of)
    def remove(note_id: int) -> Any:
        db.session.delete(db.session.get(Note, note_id))
        db.session.commit()
        raise ConnectionError("the webhook is down")

    tag = note_tag(app, generator)
    answered = app.test_client().delete("/notes/1", headers={"If-Match": tag})
    assert (answered.status_code, answered.get_json()) == (502, {"error": "the webhook is down"})
    [purge] = received.purges
    assert "deleted_notes/1" in purge.surrogate_key.split(), purge.surrogate_key


@pytest.mark.parametrize("status", [409, 500])
def test_a_refused_write_that_committed_nothing_purges_nothing_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received], status: int
) -> None:
    """The other side: a refusal that changed nothing purges nothing."""
    base_url, received = cache
    app = purging_app(base_url)
    generator, _write = model_notes(app, tmp_path)

    @app.put("/notes/<int:note_id>")
    @require_if_match(generator, surrogate_keys=lambda note_id: [f"note-pages/{note_id}"])
    def edit(note_id: int) -> Any:
        return {"error": "refused"}, status

    tag = note_tag(app, generator)
    assert app.test_client().put("/notes/1", headers={"If-Match": tag}).status_code == status
    assert received.purges == []
