"""Issue 20: the natural Flask-SQLAlchemy write is safe under ``@require_if_match``.

A view written as Flask-SQLAlchemy's docs write it (load the row, change a field, commit) gets
the very instance whose version was checked: ``ModelVersionGenerator``'s lookup loaded it into
the session's identity map, and ``session.get``, ``Model.query.get``, ``db.get_or_404`` and a
``select()`` by primary key all return it without overwriting its loaded version.  The
``version_id_col`` compare-and-set then turns another client's write, committed between the
check and the commit, into a 412 with the current tag (RFC 9110 §13.1.1), never a silent
overwrite.  On SQLite, PostgreSQL and MariaDB (whose row counts differ: it counts changed
rows unless asked for matched ones, which SQLAlchemy asks for).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from support_databases import dispose_after_test
from support_processes import fresh_database

from flask_etag import ETag, etag, require_if_match
from flask_etag.sqlalchemy import CollectionGenerator, ModelVersionGenerator, TableVersions


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.slow),
        pytest.param("mariadb", marks=pytest.mark.slow),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "natural_writes") as url:
        yield url


def load_by_session_get(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    return db.session.get(model, note_id)


def load_by_query_get(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    return model.query.get(note_id)


def load_by_get_or_404(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    return db.get_or_404(model, note_id)


def load_by_select(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    return db.session.execute(sa.select(model).where(model.id == note_id)).scalar_one()


def load_with_populate_existing(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    return db.session.get(model, note_id, populate_existing=True)


def load_locked_with_populate_existing(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    locked = sa.select(model).where(model.id == note_id).with_for_update()
    return db.session.scalars(locked.execution_options(populate_existing=True)).one()


def load_then_refresh(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    note = db.session.get(model, note_id)
    db.session.refresh(note)
    return note


def load_then_expire(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    note = db.session.get(model, note_id)
    db.session.expire(note)
    return note


def load_then_expire_all(db: SQLAlchemy, model: Any, note_id: int) -> Any:
    note = db.session.get(model, note_id)
    db.session.expire_all()
    return note


#: Loads that read the newest version into the checked instance, or leave the write to read
#: it (an expired row): the guard refuses their write (a racing write is then a 412), where
#: the compare-and-set alone would pass it.
RELOADERS = [
    load_with_populate_existing,
    load_locked_with_populate_existing,
    load_then_refresh,
    load_then_expire,
    load_then_expire_all,
]

LOADERS = [
    *RELOADERS,
    load_by_session_get,
    pytest.param(
        load_by_query_get,
        marks=pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning"),
    ),
    load_by_get_or_404,
    load_by_select,
]


def notes_app(database_url: str, load: Callable[..., Any]) -> tuple[Flask, SQLAlchemy, Any]:
    """``PUT /notes/<id>`` written the natural way; ``X-Race: 1`` has another client commit
    a write between the precondition check and the view, as a concurrent request would."""
    db = SQLAlchemy()

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "natural_notes"
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
        text = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)
    notes = ModelVersionGenerator(Note, db.session)

    def another_client_writes_first(view: Callable[..., Any]) -> Callable[..., Any]:
        def racing(note_id: int) -> Any:
            if request.headers.get("X-Race"):
                with db.engine.begin() as other:  # its own connection and transaction
                    other.execute(
                        sa.update(Note.__table__)
                        .where(Note.__table__.c.id == note_id)
                        .values(text="theirs", version=Note.__table__.c.version + 1)
                    )
            return view(note_id=note_id)

        return racing

    @app.put("/notes/<int:note_id>")
    @require_if_match(notes)
    @another_client_writes_first
    def replace_note(note_id: int) -> Any:
        note = load(db, Note, note_id)
        note.text = request.get_json()["text"]
        db.session.commit()
        return {"id": note.id, "text": note.text}

    with app.app_context():
        db.create_all()
        db.session.add(Note(id=1, text="first"))
        db.session.commit()
    return app, db, Note


@pytest.mark.parametrize("load", LOADERS)
def test_rfc9110_13_1_1_a_write_racing_another_is_412_not_an_overwrite(
    database_url: str, load: Callable[..., Any]
) -> None:
    app, db, note_model = notes_app(database_url, load)
    client = app.test_client()
    response = client.put(
        "/notes/1", json={"text": "mine"}, headers={"If-Match": '"1"', "X-Race": "1"}
    )
    assert response.status_code == 412, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'  # the state the other client wrote
    assert response.get_json()["reason"] == "stale"
    with app.app_context():
        stored = db.session.get(note_model, 1)
        assert (stored.text, stored.version) == ("theirs", 2)  # theirs was kept


@pytest.mark.parametrize("load", LOADERS)
def test_rfc9110_13_1_1_the_same_write_without_a_race_succeeds(
    database_url: str, load: Callable[..., Any]
) -> None:
    app, db, note_model = notes_app(database_url, load)
    client = app.test_client()
    response = client.put("/notes/1", json={"text": "mine"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'
    stale = client.put("/notes/1", json={"text": "again"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    with app.app_context():
        assert db.session.get(note_model, 1).text == "mine"


@pytest.mark.parametrize(
    "note_id", [2**31, 2**63, 10**30], ids=["beyond-32-bits", "beyond-64-bits", "beyond-any"]
)
def test_rfc9110_13_2_1_a_key_beyond_the_column_is_404_never_500(
    database_url: str, note_id: int
) -> None:
    """The database refuses a query naming an integer its key column cannot hold (32 bits
    on PostgreSQL and MariaDB, 64 on SQLite): no row is there, none can be, so the
    precondition is not evaluated and the answer is 404 (RFC 9110 §13.2.1), not the 500 the
    failed query would be.  A key the column holds and no row has is a 412 as usual."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    answer = app.test_client().put(
        f"/notes/{note_id}", json={"text": "mine"}, headers={"If-Match": '"1"'}
    )
    fits = database_url.startswith("sqlite") and note_id < 2**63
    assert answer.status_code == (412 if fits else 404), answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(note_model, 1).text == "first"


def test_rfc9110_13_1_1_a_view_writing_twice_is_judged_by_its_own_first_write(
    database_url: str,
) -> None:
    """The guard against a row read again expects, after the view's own commit, the version
    that commit wrote: a second change to the row (read again by the commit's expiry, or by
    ``refresh()``) is written, and answered with its tag."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/twice")
    @require_if_match(notes)
    def write_twice(note_id: int) -> Any:
        note = db.session.get(note_model, note_id)
        note.text = "draft"
        db.session.commit()
        db.session.refresh(note)
        note.text = request.get_json()["text"]
        db.session.commit()
        return {"id": note.id, "text": note.text}

    response = app.test_client().put(
        "/notes/1/twice", json={"text": "final"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"3"'
    with app.app_context():
        stored = db.session.get(note_model, 1)
        assert (stored.text, stored.version) == ("final", 3)


def test_rfc9110_13_1_1_a_delete_of_a_row_read_again_after_a_race_is_412(
    database_url: str,
) -> None:
    """A DELETE compares the version too: the row read again at the racing write's version
    is not deleted, and the 412 names that version."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.delete("/notes/<int:note_id>")
    @require_if_match(notes)
    def delete_note(note_id: int) -> Any:
        with db.engine.begin() as other:  # another client's write, after the check
            other.execute(sa.update(note_model.__table__).values(version=2, text="theirs"))
        note = db.session.get(note_model, note_id, populate_existing=True)
        db.session.delete(note)
        db.session.commit()
        return "", 204

    response = app.test_client().delete("/notes/1", headers={"If-Match": '"1"'})
    assert response.status_code == 412, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'
    with app.app_context():
        assert db.session.get(note_model, 1).text == "theirs"


def test_rfc9110_13_1_1_a_write_after_a_rolled_back_savepoint_is_no_false_412(
    database_url: str,
) -> None:
    """A savepoint the view rolls back undoes its write of the checked row: the row holds the
    checked version again, and the view's next write of it is no 412."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/attempt")
    @require_if_match(notes)
    def write_after_an_attempt(note_id: int) -> Any:
        note = db.session.get(note_model, note_id)
        savepoint = db.session.begin_nested()
        note.text = "attempt"
        db.session.flush()
        savepoint.rollback()
        note.text = f"{request.get_json()['text']} (was {note.text})"
        db.session.commit()
        return {"id": note.id, "text": note.text}

    response = app.test_client().put(
        "/notes/1/attempt", json={"text": "final"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'
    with app.app_context():
        stored = db.session.get(note_model, 1)
        assert (stored.text, stored.version) == ("final (was first)", 2)


def test_rfc9110_13_1_1_a_write_after_a_rolled_back_flush_is_no_false_412(
    database_url: str,
) -> None:
    """A view that rolls its transaction back (a failed first attempt) and writes again
    finds the row at the checked version: no 412."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/retry")
    @require_if_match(notes)
    def write_after_a_rollback(note_id: int) -> Any:
        note = db.session.get(note_model, note_id)
        note.text = "attempt"
        db.session.flush()
        db.session.rollback()
        note = db.session.get(note_model, note_id)
        note.text = request.get_json()["text"]
        db.session.commit()
        return {"id": note.id, "text": note.text}

    response = app.test_client().put(
        "/notes/1/retry", json={"text": "final"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'


@pytest.mark.slow
def test_rfc9110_13_2_1_a_key_is_judged_by_the_models_own_database(tmp_path: Path) -> None:
    """With Flask-SQLAlchemy's binds the model's rows live in its bind's database, not the
    default one: a key beyond PostgreSQL's 32-bit ``INTEGER`` names a row on a SQLite bind
    (answered 200, never a false 404)."""
    db = SQLAlchemy()

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "bound_notes"
        __bind_key__ = "local"
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
        text = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    with fresh_database("postgresql", tmp_path, "bound_notes") as default_url:
        app = Flask(__name__)
        app.config.update(
            SQLALCHEMY_DATABASE_URI=default_url,
            SQLALCHEMY_BINDS={"local": f"sqlite:///{tmp_path / 'local.sqlite3'}"},
        )
        db.init_app(app)
        ETag(app)
        dispose_after_test(app)

        @app.get("/notes/<int:note_id>")
        @etag(ModelVersionGenerator(Note, db.session))
        def read_note(note_id: int) -> Any:
            return {"text": db.session.get(Note, note_id).text}

        with app.app_context():
            db.create_all()
            db.session.add(Note(id=2**40, text="far"))
            db.session.commit()
        response = app.test_client().get(f"/notes/{2**40}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    "note_id",
    ["abc", "1.5", str(2**31), str(10**30), "9" * 5000],
    ids=["word", "fraction", "32", "any", "beyond-int-digits"],
)
def test_rfc9110_13_2_1_a_string_url_key_no_integer_column_holds_is_404_never_500(
    database_url: str, note_id: str
) -> None:
    """A route with no converter (``/notes/<note_id>``) over an integer key column: a URL key
    that is no integer the column holds names no row, and the database refuses the query
    (PostgreSQL's "invalid input syntax"); the answer is 404 like the view's own."""
    app, db, note_model = notes_app(database_url, load_by_session_get)

    @app.get("/notes/<note_id>/text")
    @etag(ModelVersionGenerator(note_model, db.session))
    def read_text(note_id: str) -> Any:
        return {"text": db.get_or_404(note_model, note_id).text}

    assert app.test_client().get("/notes/1/text").status_code == 200
    answer = app.test_client().get(f"/notes/{note_id}/text")
    assert answer.status_code == 404, answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "spelling", ["not-a-uuid", "x" * 40, "", "1"], ids=["word", "long", "empty", "digit"]
)
def test_rfc9110_13_2_1_a_string_url_key_no_uuid_column_holds_is_404_never_500(
    database_url: str, spelling: str
) -> None:
    """A route with no converter (``/users/<user_id>``) over a ``sa.Uuid`` key: a URL key that
    spells no UUID names no row, and the query fails (PostgreSQL's "invalid input syntax for
    type uuid", SQLite's bind of a string); the answer is 404, never 500.  A UUID spelt in
    any form ``uuid.UUID`` reads names its row, on every database."""
    db = SQLAlchemy()

    class Account(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "natural_accounts"
        id = sa.Column(sa.Uuid, primary_key=True)
        name = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)
    accounts = ModelVersionGenerator(Account, db.session)
    known = uuid.UUID("12345678-1234-5678-1234-567812345678")

    @app.get("/accounts/<account_id>")
    @etag(accounts)
    def read_account(account_id: str) -> Any:
        return {"name": db.get_or_404(Account, uuid.UUID(account_id)).name}

    @app.put("/accounts/<account_id>")
    @require_if_match(accounts)
    def rename_account(account_id: str) -> Any:
        account = db.get_or_404(Account, uuid.UUID(account_id))
        account.name = request.get_json()["name"]
        db.session.commit()
        return {"name": account.name}

    with app.app_context():
        db.create_all()
        db.session.add(Account(id=known, name="ann"))
        db.session.commit()
    client = app.test_client()
    for named in (str(known), known.hex.upper()):
        assert client.get(f"/accounts/{named}").headers["ETag"] == '"1"', named
    answer = client.get(f"/accounts/{spelling}")
    assert answer.status_code == 404, answer.get_data(as_text=True)
    written = client.put(f"/accounts/{spelling}", json={"name": "x"}, headers={"If-Match": "*"})
    assert written.status_code == 404, written.get_data(as_text=True)


def test_rfc9110_13_1_2_a_create_only_put_racing_another_create_is_412_not_500(
    database_url: str,
) -> None:
    """``If-None-Match: *`` (create only if absent) is judged before the view, when the row is
    missing; another client that creates it between the check and the view's insert makes
    that insert fail on the primary key.  The precondition is false by then, so the answer
    is 412 with the tag of the row the other client created, never a 500, and theirs is kept;
    a retry with ``If-Match`` and that tag succeeds."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/create")
    @require_if_match(notes)
    def create_note(note_id: int) -> Any:
        if request.headers.get("X-Race"):
            with db.engine.begin() as other:  # another client's create, after the check
                other.execute(
                    sa.insert(note_model.__table__).values(id=note_id, text="theirs", version=1)
                )
        note = db.session.get(note_model, note_id)
        if note is None:
            note = note_model(id=note_id, text=request.get_json()["text"])
            db.session.add(note)
        else:
            note.text = request.get_json()["text"]
        db.session.commit()
        return {"id": note.id, "text": note.text}, 201

    client = app.test_client()
    raced = client.put(
        "/notes/7/create", json={"text": "mine"}, headers={"If-None-Match": "*", "X-Race": "1"}
    )
    assert raced.status_code == 412, raced.get_data(as_text=True)
    assert raced.headers["ETag"] == '"1"'  # the row the other client created
    assert raced.get_json()["reason"] == "exists"
    with app.app_context():
        assert db.session.get(note_model, 7).text == "theirs"
    retried = client.put("/notes/7/create", json={"text": "mine"}, headers={"If-Match": '"1"'})
    assert (retried.status_code, retried.headers["ETag"]) == (201, '"2"')


def test_rfc9110_13_1_2_a_unique_violation_of_another_row_is_left_to_the_app(
    database_url: str,
) -> None:
    """Only a row created at the URL since the check turns the view's failed insert into a
    412: another constraint's failure (here a second row the view inserts at a taken key)
    is the view's own error, raised as it was."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/clash")
    @require_if_match(notes)
    def create_clashing(note_id: int) -> Any:
        db.session.add(note_model(id=note_id, text="mine"))
        db.session.add(note_model(id=1, text="clash"))  # row 1 exists: the view's own bug
        db.session.commit()
        return "", 204

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(sa.exc.IntegrityError):
        app.test_client().put("/notes/8/clash", headers={"If-None-Match": "*"})


def test_rfc9110_13_1_2_get_checked_refuses_a_row_created_since_as_exists(
    database_url: str,
) -> None:
    """``get_checked()``, the explicit form, refuses a row another client created after
    ``If-None-Match: *`` found none as the natural write does: 412 ``exists`` with its tag,
    whose detail says to change it with ``If-Match``; ``stale`` would say the client's tag
    named an older state, where it sent none."""
    app, db, note_model = notes_app(database_url, load_by_session_get)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/checked")
    @require_if_match(notes)
    def create_checked(note_id: int) -> Any:
        with db.engine.begin() as other:  # another client's create, after the check
            other.execute(
                sa.insert(note_model.__table__).values(id=note_id, text="theirs", version=1)
            )
        note = notes.get_checked(note_id)
        if note is None:
            note = note_model(id=note_id, text=request.get_json()["text"])
            db.session.add(note)
        notes.commit(note)
        return {"id": note.id, "text": note.text}, 201

    raced = app.test_client().put(
        "/notes/9/checked", json={"text": "mine"}, headers={"If-None-Match": "*"}
    )
    assert raced.status_code == 412, raced.get_data(as_text=True)
    assert raced.headers["ETag"] == raced.get_json()["etag"] == '"1"'
    assert raced.get_json()["reason"] == "exists"
    with app.app_context():
        assert db.session.get(note_model, 9).text == "theirs"


@pytest.mark.parametrize("answer", [200, 201])
def test_rfc9110_15_3_2_commit_of_an_item_created_in_a_tagged_list_is_no_500(
    database_url: str, answer: int
) -> None:
    """A POST to a list tagged by a ``CollectionGenerator`` that creates an item with the
    item generator's ``commit()``: the item's version is no state of the list, so it is not
    reported as the response's.  It was, and tagging it by the list's generator raised
    (a 500 after the item was committed, which a retry creates again); the 201 elsewhere is
    left untagged for the view (§15.3.2), the 200 carries the list's new tag."""
    db = SQLAlchemy()

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "listed_notes"
        id = sa.Column(sa.Integer, primary_key=True)
        text = sa.Column(sa.String(80), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)
    notes = ModelVersionGenerator(Note, db.session)
    listed = CollectionGenerator(lambda: sa.select(Note), TableVersions(db.session, db.metadata))

    @app.route("/notes", methods=["GET", "POST"])
    @etag(listed)
    def note_list() -> Any:
        if request.method == "GET":
            return {"notes": [note.text for note in db.session.scalars(sa.select(Note))]}
        note = Note(text=request.get_json()["text"])
        db.session.add(note)
        notes.commit(note)
        return {"id": note.id}, answer, {"Location": f"/notes/{note.id}"}

    with app.app_context():
        db.create_all()
    client = app.test_client()
    created = client.post("/notes", json={"text": "first"})
    assert created.status_code == answer, created.get_data(as_text=True)
    if answer == 201:
        assert "ETag" not in created.headers
    else:
        assert created.headers["ETag"] == client.get("/notes").headers["ETag"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 1


@pytest.mark.parametrize("load", [load_by_session_get, load_with_populate_existing])
def test_rfc9110_15_5_10_an_unconditional_write_overtaken_by_another_is_409_not_412(
    database_url: str, load: Callable[..., Any]
) -> None:
    """On an ``@etag`` route preconditions are optional.  A write that sent none, overtaken
    between the lookup and its commit, fails the model's compare-and-set all the same: that
    is the conflict §15.5.10 names (409, nothing written, the current tag to retry with).
    A 412 says a condition the request gave was false (§15.5.13), and this one gave none."""
    app, db, note_model = notes_app(database_url, load)
    notes = ModelVersionGenerator(note_model, db.session)

    @app.put("/notes/<int:note_id>/free")
    @etag(notes)
    def replace_freely(note_id: int) -> Any:
        with db.engine.begin() as other:  # another client's write, after the lookup
            other.execute(
                sa.update(note_model.__table__)
                .where(note_model.__table__.c.id == note_id)
                .values(text="theirs", version=note_model.__table__.c.version + 1)
            )
        note = load(db, note_model, note_id)
        note.text = request.get_json()["text"]
        db.session.commit()
        return {"id": note.id, "text": note.text}

    client = app.test_client()
    overtaken = client.put("/notes/1/free", json={"text": "mine"})
    assert overtaken.status_code == 409, overtaken.get_data(as_text=True)
    assert overtaken.get_json()["reason"] == "conflict"
    assert overtaken.headers["ETag"] == overtaken.get_json()["etag"] == '"2"'
    with app.app_context():
        assert db.session.get(note_model, 1).text == "theirs"
    raced = client.put("/notes/1/free", json={"text": "mine"}, headers={"If-Match": '"3"'})
    assert (raced.status_code, raced.get_json()["reason"]) == (412, "stale")
