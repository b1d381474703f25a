"""Surrogate keys on reads, the write signal, and purges at ``ETAG_PURGE_URLS``.

RFC 9111 §4.4 asks caches to invalidate what a write changes; only the origin knows what that
is, so flask_etag names it (keys on reads) and tells the caches (a purge after every committed
write).  These tests drive the example app with Flask's test client; the purges go to real
HTTP servers on loopback: one that records them, one that is down, one that never answers.
Real Varnish and nginx in front of three hosts are in ``test_many_hosts.py``.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify, redirect, request
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from support_databases import dispose_after_test
from support_listeners import Received, eventually, recording_cache
from support_processes import LOOPBACK, free_port, fresh_database
from test_example import load_example

from flask_etag import (
    ETag,
    HashGenerator,
    VersionGenerator,
    announce_write,
    etag,
    etag_purge_failed,
    etag_written,
    require_if_match,
)
from flask_etag.sqlalchemy import ModelVersionGenerator, TableVersions

products = load_example()
# Writes here wait for purges to loopback caches in this process: no collector pauses.
pytestmark = pytest.mark.usefixtures("without_collector_pauses")

ITEM = "/api/products/101"
MERGE_PATCH = "application/merge-patch+json"

#: What the recorders of the running test hold; the example's start-up (it seeds product
#: 101, a write like any other) is forgotten, so each test sees its own writes only.
_RECORDS: list[list[Any]] = []


# --------------------------------------------------------------------------- set-up


@dataclass
class Recorded:
    """What one signal delivered while a test ran: (sender, keyword arguments) per send."""

    sends: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    def receive(self, sender: Any, **kwargs: Any) -> None:
        self.sends.append((sender, kwargs))

    @property
    def kwargs(self) -> list[dict[str, Any]]:
        return [kwargs for _, kwargs in self.sends]


def recording(signal: Any) -> Iterator[Recorded]:
    """Record ``signal``'s sends while a test runs (the example's start-up forgotten)."""
    recorded = Recorded()
    signal.connect(recorded.receive)
    _RECORDS.append(recorded.sends)
    yield recorded
    _RECORDS.remove(recorded.sends)
    signal.disconnect(recorded.receive)


@pytest.fixture
def written() -> Iterator[Recorded]:
    yield from recording(etag_written)


@pytest.fixture
def purge_failed() -> Iterator[Recorded]:
    yield from recording(etag_purge_failed)


@pytest.fixture
def cache() -> Iterator[tuple[str, Received]]:
    """A recording cache on loopback: its base URL and what it received."""
    with recording_cache() as (base_url, received):
        _RECORDS.append(received.purges)
        yield base_url, received
        _RECORDS.remove(received.purges)


@pytest.fixture
def silent_cache() -> Iterator[str]:
    """A cache that accepts connections and never answers: a hung Varnish."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    listener.close()


def example(tmp_path: Path, **config: Any) -> FlaskClient:
    """The example app on a fresh SQLite file, with ``config`` added (and no repeated
    purges unless asked for: a repeat landing in a later assertion would blur it)."""
    app = products.create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'products.sqlite3'}",
            "ETAG_PURGE_REPEAT_AFTER": 0,
            **config,
        }
    )
    dispose_after_test(app)
    for record in _RECORDS:
        record.clear()
    return app.test_client()


def patch_stock(client: FlaskClient, stock: int, **headers: str) -> Any:
    tag = client.get(ITEM).headers["ETag"]
    return client.patch(
        ITEM,
        json={"stock": stock},
        headers={"If-Match": tag, "Content-Type": MERGE_PATCH, **headers},
    )


# --------------------------------------------------------------------------- keys on reads


def test_an_item_read_names_its_row_and_its_tables_items_rfc9111_4_4(tmp_path: Path) -> None:
    client = example(tmp_path, ETAG_SURROGATE_KEYS=True)
    response = client.get(ITEM)
    assert response.headers["Surrogate-Key"] == "products/101 products/*"
    revalidated = client.get(ITEM, headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Surrogate-Key"] == "products/101 products/*"  # §15.4.5


def test_a_collection_read_names_its_table_rfc9111_4_4(tmp_path: Path) -> None:
    client = example(tmp_path, ETAG_SURROGATE_KEYS="on")
    assert client.get("/api/products").headers["Surrogate-Key"] == "products"
    assert client.get("/api/products?page=2&per_page=1").headers["Surrogate-Key"] == "products"


@pytest.mark.parametrize(
    ("field_name", "value"),
    [("xkey", "products/101 products/*"), ("Cache-Tag", "products/101,products/*")],
)
def test_the_key_field_is_configurable(tmp_path: Path, field_name: str, value: str) -> None:
    client = example(tmp_path, ETAG_SURROGATE_KEY_HEADER=field_name, ETAG_SURROGATE_KEYS=True)
    response = client.get(ITEM)
    assert response.headers[field_name] == value
    assert "Surrogate-Key" not in response.headers


def keyed_app(**decorator: Any) -> FlaskClient:
    app = Flask(__name__)
    app.config["ETAG_SURROGATE_KEYS"] = True
    ETag(app)

    @app.get("/shelves/<name>")
    @etag(VersionGenerator(lambda name: "v1"), **decorator)
    def shelf(name: str) -> Any:
        return jsonify(name=name)

    @app.get("/plain")
    @etag
    def plain() -> Any:
        return jsonify(plain=True)

    return app.test_client()


def test_route_keys_fixed_or_from_url_arguments() -> None:
    fixed = keyed_app(surrogate_keys=("catalogue", "shelves"))
    assert fixed.get("/shelves/a").headers["Surrogate-Key"] == "catalogue shelves"
    computed = keyed_app(surrogate_keys=lambda name: [f"shelf/{name}", "catalogue"])
    assert computed.get("/shelves/a").headers["Surrogate-Key"] == "shelf/a catalogue"


def test_a_key_from_a_url_argument_stays_one_key_rfc9110_5_5() -> None:
    """A space or comma would split a key, a control character break the field: encoded."""
    client = keyed_app(surrogate_keys=lambda name: [f"shelf/{name}"])
    response = client.get("/shelves/a%20b,c%0d%0aX-Injected:%201")
    assert response.status_code == 200
    assert response.headers["Surrogate-Key"] == "shelf/a%20b%2Cc%0D%0AX-Injected:%201"
    assert "X-Injected" not in response.headers


def test_a_write_purges_the_very_tokens_its_reads_carried(written: Recorded) -> None:
    """Keys are encoded once: announcing an encoded key again must not encode its ``%``."""
    client = keyed_app(surrogate_keys=lambda name: [f"shelf/{name}"])
    carried = client.get("/shelves/a%20b").headers["Surrogate-Key"]
    app: Flask = client.application
    with app.test_request_context("/shelves/a%20b", method="PUT"):
        announce_write([carried])
        announce_write(["shelf/a b"])
    assert [kwargs["keys"] for kwargs in written.kwargs] == [(carried,), (carried,)]


@pytest.mark.parametrize(
    ("config", "sent"),
    [
        ({}, False),
        ({"ETAG_PURGE_URLS": ["http://127.0.0.1:9"]}, True),
        ({"ETAG_PURGE_URLS": ["http://127.0.0.1:9"], "ETAG_SURROGATE_KEYS": False}, False),
        ({"ETAG_SURROGATE_KEYS": "yes"}, True),
    ],
    ids=["no-purging", "purging", "purging-switched-off", "switched-on"],
)
def test_keys_are_sent_only_where_someone_purges_by_them_rfc9111_4_4(
    tmp_path: Path, config: dict[str, Any], sent: bool
) -> None:
    """``Surrogate-Key`` names the app's tables: only sent where purging is configured
    (``ETAG_PURGE_URLS``) or switched on (``ETAG_SURROGATE_KEYS``), on 200 and 304 alike."""
    client = example(tmp_path, **config)
    response = client.get(ITEM)
    revalidated = client.get(ITEM, headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    for answer in (response, revalidated, client.get("/api/products")):
        assert ("Surrogate-Key" in answer.headers) is sent


def test_a_bad_surrogate_keys_setting_is_refused() -> None:
    app = Flask(__name__)
    app.config["ETAG_SURROGATE_KEYS"] = "sometimes"
    with pytest.raises(ValueError, match="ETAG_SURROGATE_KEYS must be True or False"):
        ETag(app)


def test_routes_without_keys_send_no_key_field() -> None:
    client = keyed_app()
    assert "Surrogate-Key" not in client.get("/shelves/a").headers
    assert "Surrogate-Key" not in client.get("/plain").headers


def test_route_keys_are_checked_at_set_up() -> None:
    with pytest.raises(TypeError, match="surrogate_keys must be key names"):
        etag(HashGenerator(), surrogate_keys=42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field_name", "own", "value"),
    [
        ("Surrogate-Key", "homepage shelves/featured", "homepage shelves/featured catalogue"),
        ("Cache-Tag", "homepage, shelves/featured", "homepage,shelves/featured,catalogue"),
    ],
)
def test_keys_the_view_set_itself_are_kept_rfc9111_4_4(
    field_name: str, own: str, value: str
) -> None:
    """A view naming a key of its own (``homepage``) in the field: a purge of that key must
    still reach the stored response, so flask_etag adds its keys instead of replacing them."""
    app = Flask(__name__)
    app.config.update(ETAG_SURROGATE_KEYS=True, ETAG_SURROGATE_KEY_HEADER=field_name)
    ETag(app)

    @app.get("/shelves/<name>")
    @etag(VersionGenerator(lambda name: "v1"), surrogate_keys=("catalogue",))
    def shelf(name: str) -> Any:
        return jsonify(name=name), 200, {field_name: own}

    response = app.test_client().get("/shelves/a")
    assert response.headers.get_all(field_name) == [value]


def users_app(database_url: str, collation: str | None) -> FlaskClient:
    """``GET /users/<name>`` tagged by ``ModelVersionGenerator`` over a string key column
    of ``collation``, with the user ``alice``."""
    db = SQLAlchemy()

    class User(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "users"
        name = sa.Column(sa.String(40, collation=collation), primary_key=True)
        bio = sa.Column(sa.String(200), nullable=False)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    TableVersions(db.session, db.metadata)
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, ETAG_SURROGATE_KEYS=True)
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)

    @app.get("/users/<name>")
    @etag(ModelVersionGenerator(User, db.session))
    def read(name: str) -> Any:
        return {"bio": db.session.get(User, name).bio}

    @app.get("/users/<name>/visited")
    @etag(ModelVersionGenerator(User, db.session))
    def read_counting_visits(name: str) -> Any:
        bio = db.session.get(User, name).bio
        db.session.commit()  # the visit, counted elsewhere
        with db.engine.begin() as other:  # another client deletes the user meanwhile
            other.execute(sa.delete(User.__table__))
        return {"bio": bio}

    @app.post("/users/<name>/bio")
    def write(name: str) -> tuple[str, int]:
        db.session.get(User, name).bio = "written"
        db.session.commit()
        return "", 204

    @app.post("/users/<name>/rename")
    def rename(name: str) -> tuple[str, int]:
        db.session.get(User, name).name = request.args["to"]
        db.session.commit()
        return "", 204

    with app.app_context():
        db.create_all()
        db.session.add(User(name="alice", bio="hi"))
        db.session.commit()
    return app.test_client()


@pytest.mark.parametrize("backend", ["mariadb", "sqlite"])
def test_a_row_read_under_another_spelling_is_purged_by_its_write_rfc9111_4_4(
    tmp_path: Path, written: Recorded, backend: str
) -> None:
    """A case-insensitive key column (MariaDB's default collation; SQLite's ``NOCASE``)
    answers ``/users/Alice`` with the row ``alice``: that response must carry the row's own
    key, the one a write of the row purges, or a cache keeps it stale."""
    with fresh_database(backend, tmp_path, "flask_etag_spelling") as database_url:
        client = users_app(database_url, "NOCASE" if backend == "sqlite" else None)
        read = client.get("/users/Alice")
        assert read.status_code == 200
        assert client.post("/users/alice/bio").status_code == 204
    row_key = read.headers["Surrogate-Key"].split()[0]
    announced = written.kwargs[-1]  # the write's (the first is the seeding's)
    assert announced["endpoint"] == "write"
    assert row_key in announced["keys"]


def test_a_row_deleted_after_the_views_commit_still_gets_its_key_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """A read whose view commits (expiring the looked-up row) while another client deletes
    the row: naming the row's key takes no query, so the read is answered, never a 500."""
    with fresh_database("sqlite", tmp_path, "flask_etag_visited") as database_url:
        client = users_app(database_url, None)
        read = client.get("/users/alice/visited")
    assert read.status_code == 200, read.get_data(as_text=True)
    assert read.headers["Surrogate-Key"].split() == ["users/alice", "users/*"]


def test_a_write_its_session_discarded_is_never_announced_rfc9111_4_4(
    tmp_path: Path, written: Recorded
) -> None:
    """A session closed with its transaction open (a ``scoped_session`` closed at teardown)
    discards the transaction's writes, as a rollback does: the next request's commit on the
    same session announces only its own keys, never a purge for a write that did not happen."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'discarded.sqlite3'}")
    session = sa.orm.scoped_session(sa.orm.sessionmaker(engine))
    metadata = sa.MetaData()
    drafts = sa.Table("drafts", metadata, sa.Column("id", sa.Integer, primary_key=True))
    notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True))

    class Draft:
        pass

    class Note:
        pass

    registry = sa.orm.registry()
    registry.map_imperatively(Draft, drafts)
    registry.map_imperatively(Note, notes)
    TableVersions(session, metadata)
    metadata.create_all(engine)
    app = Flask(__name__)
    ETag(app)
    app.teardown_appcontext(lambda _error: session.close())

    @app.post("/drafts")
    def refuse_a_draft() -> tuple[str, int]:
        session.add(Draft())
        session.flush()  # its id, to check it: then it is refused
        return "", 400

    @app.post("/notes")
    def add_a_note() -> tuple[str, int]:
        session.add(Note())
        session.commit()
        return "", 204

    client = app.test_client()
    written.kwargs.clear()
    assert client.post("/drafts").status_code == 400
    assert client.post("/notes").status_code == 204
    [announced] = written.kwargs
    assert not any(key.startswith("drafts") for key in announced["keys"]), announced
    session.remove()
    engine.dispose()


# --------------------------------------------------------------------------- the write signal


def test_a_write_is_announced_once_with_its_new_tag_and_keys(
    tmp_path: Path, written: Recorded
) -> None:
    client = example(tmp_path)
    response = patch_stock(client, 7)
    assert response.status_code == 200
    [announced] = written.kwargs
    assert announced == {
        "endpoint": "products.patch_product",
        "method": "PATCH",
        "url": f"http://localhost{ITEM}",
        "etag": response.headers["ETag"],
        "keys": ("products/101", "products"),
    }


def test_a_delete_is_announced_without_a_tag(tmp_path: Path, written: Recorded) -> None:
    client = example(tmp_path)
    tag = client.get(ITEM).headers["ETag"]
    assert client.delete(ITEM, headers={"If-Match": tag}).status_code == 204
    [announced] = written.kwargs
    assert (announced["etag"], announced["keys"]) == (None, ("products/101", "products"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_whose_key_changed_is_purged_under_its_old_key_too_rfc9111_4_4(
    tmp_path: Path, written: Recorded, backend: str
) -> None:
    """A natural key renamed (``alice`` to ``alicia``): the reads at ``/users/alice``
    carry ``users/alice``, and the write named only the row's new key, so a cache kept
    serving alice, who no longer exists, for its whole ``s-maxage``."""
    with fresh_database(backend, tmp_path, "flask_etag_rename") as database_url:
        client = users_app(database_url, None)
        read = client.get("/users/alice")
        assert client.post("/users/alice/rename?to=alicia").status_code == 204
    [announced] = [kwargs["keys"] for kwargs in written.kwargs if "users/alicia" in kwargs["keys"]]
    assert read.headers["Surrogate-Key"].split()[0] in announced


def test_an_undecorated_create_is_announced_by_its_commit(
    tmp_path: Path, written: Recorded
) -> None:
    """``POST /api/products`` has no flask_etag decorator: TableVersions announces it, the
    new item and the lists, and no other item (its turn is ``rows_written=False``)."""
    client = example(tmp_path)
    created = client.post("/api/products", json={"name": "n", "price": 1, "stock": 1})
    assert created.status_code == 201
    identity = created.get_json()["id"]
    [announced] = written.kwargs
    assert announced["endpoint"] == "products.create_product"
    assert set(announced["keys"]) == {"products", f"products/{identity}"}


def test_a_write_answered_303_is_announced_rfc9111_4_4(written: Recorded) -> None:
    """A form's ``POST`` answered ``303 See Other`` (post/redirect/get) did write: a non-error
    status to an unsafe method, on which caches invalidate too."""
    notes = {1: 1}
    app = Flask(__name__)
    ETag(app)

    @app.post("/notes/<int:note_id>")
    @require_if_match(
        VersionGenerator(lambda note_id: notes.get(note_id)),
        surrogate_keys=lambda note_id: [f"notes/{note_id}"],
    )
    def edit(note_id: int) -> Any:
        notes[note_id] += 1
        return redirect(f"/notes/{note_id}", 303)

    response = app.test_client().post("/notes/1", headers={"If-Match": '"1"'})
    assert response.status_code == 303 and notes == {1: 2}
    assert [announced["keys"] for announced in written.kwargs] == [("notes/1",)]


@pytest.mark.parametrize(
    "headers",
    [{"If-Match": '"stale"'}, {}],
    ids=["412-rfc9110_13_1_1", "428-rfc6585_3"],
)
def test_a_refused_write_is_not_announced(
    tmp_path: Path, written: Recorded, headers: dict[str, str]
) -> None:
    client = example(tmp_path)
    response = client.patch(
        ITEM, json={"stock": 1}, headers={"Content-Type": MERGE_PATCH, **headers}
    )
    assert response.status_code in (412, 428)
    assert written.sends == []


def failing_writes_app(tmp_path: Path) -> FlaskClient:
    """The example plus two writes that fail: before their commit, and after it."""
    client = example(tmp_path)
    app: Flask = client.application
    Product = products.Product

    @app.post("/api/products/<int:product_id>/fail-before-commit")
    @require_if_match(products.product_version)
    def fail_before_commit(product_id: int) -> Any:
        products.db.session.get(Product, product_id).stock = 1
        products.db.session.flush()  # written, then rolled back by the failure
        raise RuntimeError("before commit")

    @app.post("/api/products/<int:product_id>/fail-after-commit")
    @require_if_match(products.product_version)
    def fail_after_commit(product_id: int) -> Any:
        products.db.session.get(Product, product_id).stock = 2
        products.db.session.commit()
        raise RuntimeError("after commit")

    @app.teardown_request
    def roll_back(_error: BaseException | None) -> None:
        products.db.session.rollback()

    app.testing = False  # an unhandled error is a 500, as in production
    return client


def test_a_write_that_fails_before_its_commit_is_not_announced(
    tmp_path: Path, written: Recorded
) -> None:
    client = failing_writes_app(tmp_path)
    tag = client.get(ITEM).headers["ETag"]
    response = client.post(f"{ITEM}/fail-before-commit", headers={"If-Match": tag})
    assert response.status_code == 500
    assert written.sends == []
    assert client.get(ITEM).get_json()["stock"] == 45


def test_a_write_that_fails_after_its_commit_is_still_announced(
    tmp_path: Path, written: Recorded
) -> None:
    """What committed is in the database: the caches must hear of it, 500 or not."""
    client = failing_writes_app(tmp_path)
    tag = client.get(ITEM).headers["ETag"]
    response = client.post(f"{ITEM}/fail-after-commit", headers={"If-Match": tag})
    assert response.status_code == 500
    [announced] = written.kwargs
    assert set(announced["keys"]) == {"products/101", "products"}
    assert client.get(ITEM).get_json()["stock"] == 2


def test_a_receiver_of_the_write_signal_that_raises_costs_no_purge_and_no_answer_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received], caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver calling a CDN's API that is down: the write has committed, so its client
    still gets its 200 (not a 500 it would retry into a 412) and the caches their purge."""
    base_url, received = cache
    client = example(tmp_path, ETAG_PURGE_URLS=[base_url])
    client.application.testing = False  # an unhandled error is a 500, as in production

    def call_the_cdn(_sender: Any, **_announced: Any) -> None:
        raise ConnectionError("the CDN's API is down")

    with etag_written.connected_to(call_the_cdn), caplog.at_level(logging.ERROR):
        response = patch_stock(client, 9)
    assert response.status_code == 200
    assert received.surrogate_keys() == ["products/101 products"]
    assert "the CDN's API is down" in caplog.text
    assert client.get(ITEM).get_json()["stock"] == 9


def test_a_write_outside_any_request_is_announced(tmp_path: Path, written: Recorded) -> None:
    """A CLI command or a job writing through the session: no endpoint, the same keys."""
    app: Flask = example(tmp_path).application
    with app.app_context():
        products.db.session.execute(sa.update(products.Product).values(stock=0))
        products.db.session.commit()
    [announced] = written.kwargs
    assert (announced["endpoint"], announced["url"]) == (None, None)
    assert set(announced["keys"]) == {"products", "products/*"}


def test_writes_before_a_rolled_back_savepoint_are_still_announced_rfc9111_4_4(
    tmp_path: Path, written: Recorded
) -> None:
    """Get-or-create: a savepoint that fails undoes only its own writes; the product
    written before it commits, and the caches must hear of it."""
    app: Flask = example(tmp_path).application
    session = products.db.session
    with app.app_context():
        session.get(products.Product, 101).stock = 3
        session.flush()
        savepoint = session.begin_nested()
        session.add(products.Product(id=102, name="n", price_cents=1, stock=1))
        session.flush()
        savepoint.rollback()
        session.commit()
    [announced] = written.kwargs
    assert set(announced["keys"]) == {"products", "products/101"}


def test_a_released_savepoint_is_announced_only_when_its_transaction_commits_rfc9111_4_4(
    tmp_path: Path, written: Recorded
) -> None:
    """A ``RELEASE SAVEPOINT`` commits nothing: a write in it that then rolls back with its
    transaction is never announced, and one that commits is announced once, after it."""
    app: Flask = example(tmp_path).application
    session = products.db.session
    with app.app_context():
        with session.begin_nested():
            session.get(products.Product, 101).stock = 3
        assert written.sends == []
        session.rollback()
        assert written.sends == []
        with session.begin_nested():
            session.get(products.Product, 101).stock = 4
        session.commit()
    [announced] = written.kwargs
    assert set(announced["keys"]) == {"products", "products/101"}


# --------------------------------------------------------------------------- purges


def test_a_write_purges_its_keys_at_every_cache_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received]
) -> None:
    base_url, received = cache
    client = example(tmp_path, ETAG_PURGE_URLS=[base_url, {"url": base_url, "by": "url"}])
    assert patch_stock(client, 8).status_code == 200
    assert sorted(purge.path for purge in received.purges) == ["/", ITEM]
    [keyed] = [purge for purge in received.purges if purge.path == "/"]
    assert keyed.surrogate_key == "products/101 products"


def test_a_raw_sql_write_that_raises_its_tables_version_is_purged_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received], written: Recorded
) -> None:
    """The collections guide's recipe for a write in raw SQL: the rows, then
    ``raise_versions`` in the same transaction.  The list's tag moved, and so must every
    cached list and item of the table: a shared cache kept serving them for their whole
    ``s-maxage``, since the commit announced nothing."""
    base_url, received = cache
    client = example(tmp_path, ETAG_PURGE_URLS=[base_url])
    app: Flask = client.application

    @app.post("/restock")
    def restock() -> tuple[str, int]:
        session = products.db.session
        session.execute(sa.text("UPDATE products SET stock = stock + 1"))
        products.table_versions.raise_versions(session, ["products"])
        session.commit()
        return "", 204

    assert client.post("/restock").status_code == 204
    [announced] = written.kwargs
    assert set(announced["keys"]) == {"products", "products/*"}
    assert any(
        set(keys.split()) == {"products", "products/*"} for keys in received.surrogate_keys()
    ), received.surrogate_keys()


def test_a_write_is_purged_again_once_racing_reads_are_over_rfc9111_4_4(
    tmp_path: Path, cache: tuple[str, Received]
) -> None:
    """A read fetched before the commit may reach the cache after the first purge: the
    second one, ``ETAG_PURGE_REPEAT_AFTER`` later, drops what it stored."""
    base_url, received = cache
    client = example(tmp_path, ETAG_PURGE_URLS=[base_url], ETAG_PURGE_REPEAT_AFTER=0.2)
    # example() cleared the seeding's purge; its repeat is sent by the outbox's sweeper,
    # which deletes the row once the cache has confirmed it.
    eventually(lambda: not outbox_rows(client.application))
    received.purges.clear()
    began = time.monotonic()
    assert patch_stock(client, 8).status_code == 200
    answered = time.monotonic()
    eventually(lambda: len(received.purges) == 2)
    first, repeat = received.purges
    assert first.at < answered  # the client's answer waited for the first purge
    assert repeat.at >= began + 0.2  # the second is the repeat, not sent before it was due
    assert received.surrogate_keys() == ["products/101 products"] * 2


def outbox_rows(app: Flask) -> list[Any]:
    """The example's purge outbox rows: the purges not yet repeated."""
    with app.app_context():
        table = products.purge_outbox.table
        return list(products.db.session.execute(sa.select(table)).all())


def test_cache_tag_purges_list_keys_with_commas(
    tmp_path: Path, cache: tuple[str, Received]
) -> None:
    base_url, received = cache
    client = example(tmp_path, ETAG_PURGE_URLS=[base_url], ETAG_SURROGATE_KEY_HEADER="Cache-Tag")
    assert patch_stock(client, 8).status_code == 200
    assert [purge.fields["Cache-Tag"] for purge in received.purges] == ["products/101,products"]


def test_a_cache_that_is_down_never_fails_the_write(
    tmp_path: Path, purge_failed: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://{LOOPBACK}:{free_port()}"
    client = example(tmp_path, ETAG_PURGE_URLS=[down])
    with caplog.at_level(logging.WARNING, logger="flask_etag.purge"):
        response = patch_stock(client, 9)
    assert response.status_code == 200
    assert client.get(ITEM).get_json()["stock"] == 9
    [failure] = purge_failed.kwargs
    assert failure["url"] == f"{down}/"
    assert "ConnectionRefused" in failure["error"] or "URLError" in failure["error"]
    assert failure["keys"] == ("products/101", "products")
    assert f"purge at {down}/ failed" in caplog.text


def test_a_cache_that_never_answers_delays_the_write_by_the_timeout_only(
    tmp_path: Path, silent_cache: str, purge_failed: Recorded
) -> None:
    client = example(tmp_path, ETAG_PURGE_URLS=[silent_cache], ETAG_PURGE_TIMEOUT=0.3)
    tag = client.get(ITEM).headers["ETag"]
    started = time.monotonic()
    response = client.patch(
        ITEM, json={"stock": 10}, headers={"If-Match": tag, "Content-Type": MERGE_PATCH}
    )
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert waited < 5  # bounded: without the timeout this would hang
    [failure] = purge_failed.kwargs
    assert failure["url"] == f"{silent_cache}/"


def test_announce_write_purges_what_an_app_names(
    tmp_path: Path, cache: tuple[str, Received], written: Recorded
) -> None:
    base_url, received = cache
    app: Flask = example(tmp_path, ETAG_PURGE_URLS=[base_url]).application
    with app.test_request_context("/reports/7", method="POST"):
        failures = announce_write(["report/7", "reports"], etag='"r7"')
    assert failures == []
    assert received.surrogate_keys() == ["report/7 reports"]
    assert written.kwargs[0]["etag"] == '"r7"'


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"ETAG_PURGE_URLS": "http://127.0.0.1:6081"}, TypeError, "must be a list"),
        ({"ETAG_PURGE_URLS": ["ftp://127.0.0.1"]}, ValueError, "is not an http"),
        ({"ETAG_PURGE_URLS": [{"url": "http://a", "by": "tag"}]}, ValueError, "'by' is"),
        ({"ETAG_PURGE_URLS": [{"href": "http://a"}]}, TypeError, "base URL string"),
        ({"ETAG_PURGE_URLS": ["http://a/?q=1"]}, ValueError, "no query"),
        # Accepted once, then every purge failed (InvalidURL, gaierror), the second one
        # logging its password with each failure.
        ({"ETAG_PURGE_URLS": ["http://127.0.0.1:6o81"]}, ValueError, "port"),
        ({"ETAG_PURGE_URLS": ["http://purger:secret@127.0.0.1"]}, ValueError, "credentials"),
        ({"ETAG_PURGE_TIMEOUT": 0}, ValueError, "ETAG_PURGE_TIMEOUT"),
        ({"ETAG_PURGE_TIMEOUT": "1"}, ValueError, "ETAG_PURGE_TIMEOUT"),
        ({"ETAG_PURGE_REPEAT_AFTER": -1}, ValueError, "ETAG_PURGE_REPEAT_AFTER"),
        ({"ETAG_SURROGATE_KEY_HEADER": "Surrogate Key"}, ValueError, "field name"),
    ],
)
def test_bad_cache_settings_fail_at_set_up(
    config: dict[str, Any], error: type[Exception], message: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(error, match=message):
        ETag(app)


def test_the_example_reads_purge_urls_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: tuple[str, Received]
) -> None:
    """``FLASK_ETAG_PURGE_URLS`` (JSON) turns on purges and lets shared caches keep reads."""
    base_url, received = cache
    monkeypatch.setenv("FLASK_ETAG_PURGE_URLS", json.dumps([base_url]))
    client = example(tmp_path)
    response = client.get(ITEM)
    assert response.headers["Cache-Control"] == products.SHARED_CACHE_CONTROL
    assert patch_stock(client, 11).status_code == 200
    assert len(received.purges) == 1


def test_without_purges_the_example_keeps_every_cache_revalidating(tmp_path: Path) -> None:
    response = example(tmp_path).get(ITEM)
    assert response.headers["Cache-Control"] == "no-cache"
