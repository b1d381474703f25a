"""Batch writes, each entry conditional on the tag its item was read at (RFC 9110 §13.1.1).

``PATCH /api/products`` of the example takes an array of merge patches, each with ``id`` and
``etag``: all or nothing by default, each entry on its own with ``?atomic=false``.  The last
tests run 8 concurrent batch writers over overlapping items against gunicorn, on SQLite and
PostgreSQL, and count every acknowledged increment.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask, abort, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    declared_attr,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from support_databases import dispose_after_test
from support_processes import fresh_database, gunicorn_server
from test_example import products
from werkzeug.routing import BaseConverter

from flask_etag import ETag, etag
from flask_etag.sqlalchemy import BatchEntry, ModelVersionGenerator, read_batch, write_batch

COLLECTION = "/api/products"
HEADERS = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    """The example with products 101 (seeded), 102 and 103."""
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database})
    test_client = dispose_after_test(app).test_client()
    for name in ("Keyboard", "Mouse"):
        test_client.post(COLLECTION, json={"name": name, "price": 10, "stock": 5})
    return test_client


def listed(client: FlaskClient) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in client.get(COLLECTION).get_json()}


def batch(client: FlaskClient, entries: list[dict[str, Any]], atomic: bool = True) -> Any:
    url = COLLECTION if atomic else f"{COLLECTION}?atomic=false"
    return client.patch(url, json=entries, headers=HEADERS)


def test_a_fresh_batch_is_written_and_each_item_gets_its_new_tag_rfc9110_13_1_1(
    client: FlaskClient,
) -> None:
    before = listed(client)
    answer = batch(client, [{"id": n, "etag": before[n]["etag"], "stock": 1} for n in before])
    assert answer.status_code == 200
    after = listed(client)
    assert answer.get_json() == [{"id": n, "status": 200, "etag": after[n]["etag"]} for n in before]
    assert all(after[n]["stock"] == 1 and after[n]["etag"] != before[n]["etag"] for n in after)
    assert all(after[n]["etag"] == client.get(f"{COLLECTION}/{n}").headers["ETag"] for n in after)


def test_one_stale_or_missing_entry_refuses_the_whole_batch_rfc9110_13_1_1(
    client: FlaskClient,
) -> None:
    before = listed(client)
    client.patch(
        f"{COLLECTION}/102", json={"stock": 2}, headers={**HEADERS, "If-Match": before[102]["etag"]}
    )
    current = listed(client)
    answer = batch(
        client,
        [
            {"id": 101, "etag": before[101]["etag"], "stock": 9},
            {"id": 102, "etag": before[102]["etag"], "stock": 9},
            {"id": 999, "etag": '"gone"', "stock": 9},
        ],
    )
    assert answer.status_code == 412
    problem = answer.get_json()
    assert problem["stale"] == [{"id": 102, "etag": current[102]["etag"]}]
    assert problem["missing"] == [999]
    assert answer.mimetype == "application/problem+json"
    assert listed(client) == current  # nothing written


def test_per_entry_writes_the_fresh_entries_and_reports_each_rfc9110_13_1_1(
    client: FlaskClient,
) -> None:
    client.post(COLLECTION, json={"name": "Screen", "price": 10, "stock": 5})
    before = listed(client)
    entries = [
        {"id": 101, "etag": before[101]["etag"], "stock": 9},
        {"id": 102, "etag": '"old"', "stock": 9},
        {"id": 103, "etag": before[103]["etag"], "price": -1},
        {"id": 104, "stock": 9},
        {"id": 105, "etag": '"gone"'},
    ]
    answer = batch(client, entries, atomic=False)
    assert answer.status_code == 200
    after = listed(client)
    results = answer.get_json()
    assert [result["status"] for result in results] == [200, 412, 422, 428, 404]
    assert results[0]["etag"] == after[101]["etag"]
    assert results[1]["etag"] == before[102]["etag"]  # the current tag, to retry with
    assert (after[101]["stock"], after[102]["stock"], after[103]["price"]) == (9, 5, 10)


def test_an_entry_without_a_tag_refuses_the_whole_batch_rfc6585_3(client: FlaskClient) -> None:
    before = listed(client)
    answer = batch(client, [{"id": 101, "etag": before[101]["etag"]}, {"id": 102, "stock": 1}])
    assert answer.status_code == 428
    assert listed(client) == before


def test_an_invalid_entry_refuses_the_whole_batch(client: FlaskClient) -> None:
    before = listed(client)
    answer = batch(
        client,
        [
            {"id": 101, "etag": before[101]["etag"], "stock": 1},
            {"id": 102, "etag": before[102]["etag"], "stock": "many"},
        ],
    )
    assert answer.status_code == 422
    assert listed(client) == before


def test_an_entry_refused_by_apply_leaves_nothing_for_a_later_commit_rfc9110_13_1_1(
    tmp_path: Path,
) -> None:
    """A 422 from ``apply`` on a later entry refuses the batch whole: the earlier entries'
    changes are rolled back, not left in the session for a teardown that commits."""
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    app = dispose_after_test(
        products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database})
    )

    @app.teardown_request
    def commit_unless_failed(error: BaseException | None) -> None:
        if error is None:
            products.db.session.commit()

    test_client = app.test_client()
    test_client.post(COLLECTION, json={"name": "Keyboard", "price": 10, "stock": 5})
    before = listed(test_client)
    entries = [
        {"id": 101, "etag": before[101]["etag"], "stock": 1},
        {"id": 102, "etag": before[102]["etag"], "stock": "many"},
    ]
    assert batch(test_client, entries).status_code == 422
    assert listed(test_client) == before


@pytest.mark.parametrize(
    "document",
    [{"id": 101}, [101], [{"stock": 1}], [{"id": 101, "etag": '"a"'}, {"id": 101, "etag": '"b"'}]],
    ids=["object", "numbers", "no id", "an item twice"],
)
def test_a_batch_of_another_shape_is_400(client: FlaskClient, document: Any) -> None:
    answer = client.patch(COLLECTION, json=document, headers=HEADERS)
    assert answer.status_code == 400
    assert answer.get_json()["reason"] == "bad-batch"


# --------------------------------------------------------------------------- keys of other types


class _Keyed(DeclarativeBase):
    """Items keyed by other types than an integer: a code, a UUID, a date, a number."""


class _Stocked:
    """An item's stock, and the version SQLAlchemy raises with every write of it."""

    stock: Mapped[int]
    version: Mapped[int] = mapped_column(nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


class _Shelf(_Stocked, _Keyed):
    __tablename__ = "shelves"
    #: Its key folds case on SQLite too, as MariaDB's default collation does.
    id: Mapped[str] = mapped_column(
        sa.String(40).with_variant(sa.String(40, collation="NOCASE"), "sqlite"), primary_key=True
    )


class _Note(_Stocked, _Keyed):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)


class _Day(_Stocked, _Keyed):
    __tablename__ = "days"
    id: Mapped[datetime.date] = mapped_column(sa.Date, primary_key=True)


class _Price(_Stocked, _Keyed):
    __tablename__ = "prices"
    id: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), primary_key=True)


class _Gauge(_Stocked, _Keyed):
    __tablename__ = "gauges"
    id: Mapped[float] = mapped_column(sa.Float, primary_key=True)


class _Moment(_Stocked, _Keyed):
    __tablename__ = "moments"
    id: Mapped[datetime.datetime] = mapped_column(sa.DateTime, primary_key=True)


class _Instant(_Stocked, _Keyed):
    __tablename__ = "instants"
    id: Mapped[datetime.datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)


class _DateTimeConverter(BaseConverter):
    def to_python(self, value: str) -> datetime.datetime:
        return datetime.datetime.fromisoformat(value)


class _DateConverter(BaseConverter):
    def to_python(self, value: str) -> datetime.date:
        return datetime.date.fromisoformat(value)


class _DecimalConverter(BaseConverter):
    def to_python(self, value: str) -> decimal.Decimal:
        return decimal.Decimal(value)


NOTE = uuid.UUID("0f3c9a5e-7b1d-4e2a-9c8f-a1b2c3d4e5f6")
DAY = datetime.date(2024, 1, 31)
PRICE = decimal.Decimal("1.50")
MOMENT = datetime.datetime(2024, 1, 31, 9, 30)
#: Each model, the converter of its item route, and its one item's key.
KEYED: dict[str, tuple[type[_Keyed], str, Any]] = {
    "string": (_Shelf, "string", "lamp"),
    "uuid": (_Note, "uuid", NOTE),
    "date": (_Day, "date", DAY),
    "numeric": (_Price, "decimal", PRICE),
    "float": (_Gauge, "float", 2.5),
    "datetime": (_Moment, "datetime", MOMENT),
    "instant": (_Instant, "datetime", MOMENT.replace(tzinfo=datetime.timezone.utc)),
}


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.slow),
        pytest.param("mariadb", marks=pytest.mark.slow),
    ]
)
def keyed_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database with the :class:`_Keyed` tables, on SQLite, PostgreSQL and MariaDB."""
    with fresh_database(request.param, tmp_path, "flask_etag_keyed") as url:
        engine = sa.create_engine(url)
        _Keyed.metadata.create_all(engine)
        yield engine
        engine.dispose()


def keyed_client(engine: sa.Engine, kind: str, id_member: str = "id") -> FlaskClient:
    """``GET /items/<key>`` and batch ``PATCH /items`` of one item of :data:`KEYED`, whose
    entries name their item by ``id_member``."""
    model, converter, key = KEYED[kind]
    session = scoped_session(sessionmaker(engine))
    session.add(model(id=key, stock=5))
    session.commit()
    session.remove()
    app = Flask(__name__)
    app.url_map.converters.update(
        date=_DateConverter, decimal=_DecimalConverter, datetime=_DateTimeConverter
    )
    ETag(app)
    app.teardown_appcontext(lambda error: session.remove())
    versions = ModelVersionGenerator(model, session)

    @app.get(f"/items/<{converter}:key>")
    @etag(versions)
    def get_item(key: Any) -> Any:
        item = session.get(model, key)
        if item is None:
            abort(404)
        return {"stock": item.stock}

    @app.patch("/items")
    def patch_items() -> Any:
        def apply(item: Any, entry: BatchEntry) -> None:
            item.stock = entry.changes["stock"]

        atomic = request.args.get("atomic") != "false"
        entries = read_batch(request.get_json(), id_member=id_member)
        return jsonify(write_batch(versions, get_item, entries, apply, atomic=atomic))

    return app.test_client()


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
def test_a_batch_entry_id_holding_nul_is_400_rfc9110_15_5_1(
    keyed_database: sa.Engine, atomic: bool
) -> None:
    """No item's key holds NUL, and PostgreSQL refuses one in any query: the batch is
    refused whole before any query, never a 500."""
    client = keyed_client(keyed_database, "string")
    tag = client.get("/items/lamp").headers["ETag"]
    url = "/items" if atomic else "/items?atomic=false"
    answer = client.patch(url, json=[{"id": "la\u0000mp", "etag": tag, "stock": 1}])
    assert (answer.status_code, answer.get_json()["reason"]) == (400, "bad-batch")
    assert client.get("/items/lamp").get_json() == {"stock": 5}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_item_url_key_holding_nul_is_404_rfc9110_13_2_1(
    keyed_database: sa.Engine, method: str
) -> None:
    """The lookup of ``/items/la%00mp`` answers 404 before any query: no item's key holds
    NUL, and PostgreSQL refuses one in any query (a 500), the view's own query included."""
    client = keyed_client(keyed_database, "string")
    tag = client.get("/items/lamp").headers["ETag"]
    answer = client.open("/items/la%00mp", method=method, headers={"If-None-Match": tag})
    assert answer.status_code == 404, answer.text


def assert_entry_judged_and_written(
    client: FlaskClient, url_key: object, spelling: Any, atomic: bool, id_member: str = "id"
) -> None:
    """A batch entry naming the item at ``/items/<url_key>`` by ``spelling`` in its
    ``id_member`` is judged and written, its result names it as the client did, and its
    stale repeat is refused with the item's current tag."""
    tag = client.get(f"/items/{url_key}").headers["ETag"]
    url = "/items" if atomic else "/items?atomic=false"
    answer = client.patch(url, json=[{id_member: spelling, "etag": tag, "stock": 1}])
    current = client.get(f"/items/{url_key}")
    assert answer.status_code == 200, answer.text
    written = {id_member: spelling, "status": 200, "etag": current.headers["ETag"]}
    assert answer.get_json() == [written]
    assert current.get_json() == {"stock": 1}
    stale = client.patch(url, json=[{id_member: spelling, "etag": tag, "stock": 2}])
    stale_result = stale.get_json()["stale"] if atomic else stale.get_json()
    assert stale_result[0][id_member] == spelling
    assert stale_result[0]["etag"] == current.headers["ETag"]


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize(
    "spelling", [str(NOTE), str(NOTE).upper(), NOTE.hex], ids=["canonical", "upper-case", "hex"]
)
def test_a_uuid_keyed_batch_is_written_rfc9110_13_1_1(
    keyed_database: sa.Engine, atomic: bool, spelling: str
) -> None:
    """JSON carries a UUID key as a string, in any of its spellings: the entry is judged
    and written, and its result names it as the client did."""
    assert_entry_judged_and_written(keyed_client(keyed_database, "uuid"), NOTE, spelling, atomic)


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
def test_rfc9110_13_1_1_batch_results_name_the_item_by_the_routes_id_member(
    keyed_database: sa.Engine, atomic: bool
) -> None:
    """A route reading its entries' item from ``sku`` gets results, and a 412's ``stale``
    list, naming the item by ``sku``: a client matches each result to its entry by the
    member it sent, and finds the current tag to retry with (RFC 9110 §13.1.1)."""
    client = keyed_client(keyed_database, "string", id_member="sku")
    assert_entry_judged_and_written(client, "lamp", "lamp", atomic, id_member="sku")


@pytest.mark.parametrize(
    "identities",
    [["not-a-uuid"], [""], [7], [str(NOTE), str(NOTE).upper()]],
    ids=["malformed", "empty", "number", "one-uuid-twice"],
)
def test_a_batch_entry_that_names_no_uuid_once_is_400_rfc9110_15_5_1(
    keyed_database: sa.Engine, identities: list[Any]
) -> None:
    client = keyed_client(keyed_database, "uuid")
    tag = client.get(f"/items/{NOTE}").headers["ETag"]
    entries = [{"id": identity, "etag": tag, "stock": 1} for identity in identities]
    answer = client.patch("/items", json=entries)
    assert (answer.status_code, answer.get_json()["reason"]) == (400, "bad-batch")
    assert client.get(f"/items/{NOTE}").get_json() == {"stock": 5}


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize("spelling", ["LAMP", "lamp "], ids=["upper-case", "trailing-space"])
def test_a_batch_entry_names_the_item_its_url_names_rfc9110_13_1_1(
    keyed_database: sa.Engine, atomic: bool, spelling: str
) -> None:
    """An entry's id names the row the item's own URL names on that database: ``LAMP`` is
    ``lamp`` under MariaDB's default collation, which folds case and trailing spaces (and
    under SQLite's ``NOCASE``, which folds case), and names no row on PostgreSQL.  Either
    way the batch says what the URL says."""
    client = keyed_client(keyed_database, "string")
    item = client.get(f"/items/{spelling}")
    tag = client.get("/items/lamp").headers["ETag"]
    url = "/items" if atomic else "/items?atomic=false"
    answer = client.patch(url, json=[{"id": spelling, "etag": tag, "stock": 1}])
    written = client.get("/items/lamp")
    if item.status_code == 404:  # no row holds this spelling here: the entry names none
        missing = answer.get_json()["missing"] if atomic else answer.get_json()[0]["status"]
        assert missing == ([spelling] if atomic else 404)
        assert written.get_json() == {"stock": 5}
        return
    assert (item.status_code, item.headers["ETag"]) == (200, tag)
    assert answer.status_code == 200, answer.text
    assert answer.get_json() == [{"id": spelling, "status": 200, "etag": written.headers["ETag"]}]
    assert written.get_json() == {"stock": 1}


def test_one_item_named_by_two_spellings_is_400_rfc9110_15_5_1(keyed_database: sa.Engine) -> None:
    """``lamp`` and ``LAMP`` name one row where the database folds case: the batch would
    write it twice, the second entry silently overriding the first."""
    client = keyed_client(keyed_database, "string")
    tag = client.get("/items/lamp").headers["ETag"]
    entries = [{"id": "lamp", "etag": tag, "stock": 1}, {"id": "LAMP", "etag": tag, "stock": 2}]
    answer = client.patch("/items", json=entries)
    if client.get("/items/LAMP").status_code == 404:  # two items: the second is missing
        assert (answer.status_code, answer.get_json()["missing"]) == (412, ["LAMP"])
    else:
        assert (answer.status_code, answer.get_json()["reason"]) == (400, "bad-batch")
    assert client.get("/items/lamp").get_json() == {"stock": 5}


def test_one_item_named_by_two_spellings_per_entry_is_judged_in_turn_rfc9110_13_1_1(
    keyed_database: sa.Engine,
) -> None:
    """Per entry, each entry is judged after the ones before it were written: where the
    database folds case, ``LAMP`` after ``lamp`` holds a tag the first entry made stale, so
    it is a 412 with the current tag, never a second write over the first."""
    client = keyed_client(keyed_database, "string")
    tag = client.get("/items/lamp").headers["ETag"]
    entries = [{"id": "lamp", "etag": tag, "stock": 1}, {"id": "LAMP", "etag": tag, "stock": 2}]
    answer = client.patch("/items?atomic=false", json=entries)
    written = client.get("/items/lamp")
    folds_case = client.get("/items/LAMP").status_code == 200
    assert [result["status"] for result in answer.get_json()] == [200, 412 if folds_case else 404]
    assert written.get_json() == {"stock": 1}
    if folds_case:
        assert answer.get_json()[1]["etag"] == written.headers["ETag"]


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize(
    ("kind", "spelling"),
    [
        ("date", "2024-01-31"),
        ("numeric", 1.5),
        ("numeric", "1.50"),
        ("numeric", "1.5"),
        ("datetime", "2024-01-31T09:30:00"),
        ("datetime", "2024-01-31 09:30"),
    ],
    ids=[
        "date",
        "numeric-number",
        "numeric-string",
        "numeric-string-unscaled",
        "datetime",
        "datetime-space-no-seconds",
    ],
)
def test_a_date_or_numeric_keyed_batch_is_written_rfc9110_13_1_1(
    keyed_database: sa.Engine, atomic: bool, kind: str, spelling: Any
) -> None:
    """JSON carries a date key as an ISO 8601 string, and a ``Numeric`` key as a number or
    a string (as Flask's JSON writes a ``Decimal``), whatever its trailing zeros: the entry
    is judged and written like any other, never taken for a missing item, never a 500."""
    client = keyed_client(keyed_database, kind)
    assert_entry_judged_and_written(client, KEYED[kind][2], spelling, atomic)


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize(
    ("backend", "entry_id", "refused_id"),
    [
        # PostgreSQL keeps the instant: 10:30+01:00 names the row of 09:30+00:00.
        pytest.param(
            "postgresql", "2024-01-31T10:30:00+01:00", "2024-01-31T09:30:00", marks=pytest.mark.slow
        ),
        # SQLite and MariaDB keep the wall time alone, and give it back without an offset.
        ("sqlite", "2024-01-31T09:30:00", "2024-01-31T10:30:00+01:00"),
        pytest.param(
            "mariadb", "2024-01-31T09:30:00", "2024-01-31T10:30:00+01:00", marks=pytest.mark.slow
        ),
    ],
)
def test_rfc9110_13_1_1_an_instant_key_takes_ids_as_the_database_keeps_them(
    tmp_path: Path, atomic: bool, backend: str, entry_id: str, refused_id: str
) -> None:
    """A ``DateTime(timezone=True)`` key: where the database keeps the offset, an entry's id
    names an instant in any offset, and a time without one, which names no instant, is a
    400.  Where it keeps the wall time alone, an id with an offset never equalled the row's
    (every entry of every batch was missing while ``GET`` found the item): there an id is
    the wall time, and one with an offset, which the database would drop, is a 400."""
    with fresh_database(backend, tmp_path, "flask_etag_instants") as url:
        engine = sa.create_engine(url)
        _Keyed.metadata.create_all(engine)
        client = keyed_client(engine, "instant")
        url_key = KEYED["instant"][2].isoformat()
        assert_entry_judged_and_written(client, url_key, entry_id, atomic)
        tag = client.get(f"/items/{url_key}").headers["ETag"]
        refused = client.patch("/items", json=[{"id": refused_id, "etag": tag}])
        assert (refused.status_code, refused.get_json()["reason"]) == (400, "bad-batch")
        engine.dispose()


@pytest.mark.parametrize(
    ("kind", "identities"),
    [
        ("date", ["31/01/2024"]),
        ("date", [20240131]),
        ("numeric", ["one"]),
        ("numeric", ["NaN"]),
        ("numeric", [True]),
        ("numeric", [1.5, "1.50"]),
        ("datetime", ["31/01/2024 09:30"]),
        ("datetime", [1706693400]),
        ("datetime", ["2024-01-31T09:30:00+00:00"]),
        ("datetime", ["2024-01-31T09:30:00", "2024-01-31 09:30"]),
    ],
    ids=[
        "date-other-form",
        "date-number",
        "numeric-word",
        "numeric-nan",
        "numeric-true",
        "numeric-twice",
        "datetime-other-form",
        "datetime-number",
        "datetime-offset-for-a-column-without",
        "datetime-twice",
    ],
)
def test_a_batch_entry_that_names_no_date_or_number_once_is_400_rfc9110_15_5_1(
    keyed_database: sa.Engine, kind: str, identities: list[Any]
) -> None:
    client = keyed_client(keyed_database, kind)
    url_key = KEYED[kind][2]
    tag = client.get(f"/items/{url_key}").headers["ETag"]
    entries = [{"id": identity, "etag": tag, "stock": 1} for identity in identities]
    answer = client.patch("/items", json=entries)
    assert (answer.status_code, answer.get_json()["reason"]) == (400, "bad-batch")
    assert client.get(f"/items/{url_key}").get_json() == {"stock": 5}


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize(
    "number", ["1e5000", "1e-5000", 10**1200], ids=["exponent", "fraction", "integer"]
)
def test_a_number_beyond_every_numeric_column_names_no_item_rfc9110_13_1_1(
    keyed_database: sa.Engine, atomic: bool, number: Any
) -> None:
    """PostgreSQL refuses a number this far out in any query (a 500): it names no item."""
    client = keyed_client(keyed_database, "numeric")
    url = "/items" if atomic else "/items?atomic=false"
    answer = client.patch(url, json=[{"id": number, "etag": '"1"', "stock": 1}])
    if atomic:
        assert (answer.status_code, answer.get_json()["missing"]) == (412, [number])
    else:
        assert [result["status"] for result in answer.get_json()] == [404]


def _strict_json(text: str) -> Any:
    """``text`` as JSON, which has no Infinity or NaN (RFC 8259 §6): a body holding one is
    read by no strict client."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("atomic", [True, False], ids=["all-or-nothing", "per-entry"])
@pytest.mark.parametrize("kind", ["float", "numeric", "string"])
@pytest.mark.parametrize("number", ["1e5000", "-1e5000", "NaN", "Infinity"])
def test_rfc9110_15_5_1_a_batch_entry_id_that_is_no_finite_number_is_400_naming_it(
    keyed_database: sa.Engine, atomic: bool, kind: str, number: str
) -> None:
    """``1e5000`` reads as infinity, and Python's JSON reads ``NaN``: no item's key is
    either, and an answer echoing one would be no JSON (``Infinity``).  The batch is refused
    whole before any query, with a detail naming the entry, never a 5xx or a 412/404."""
    client = keyed_client(keyed_database, kind)
    url_key = KEYED[kind][2]
    tag = client.get(f"/items/{url_key}").headers["ETag"]
    url = "/items" if atomic else "/items?atomic=false"
    first = json.dumps({"id": url_key, "etag": tag, "stock": 1}, default=str)
    body = f'[{first}, {{"id": {number}, "etag": {json.dumps(tag)}, "stock": 1}}]'
    answer = client.patch(url, data=body, content_type="application/json")
    problem = _strict_json(answer.text)
    assert (answer.status_code, problem["reason"]) == (400, "bad-batch")
    assert problem["detail"].startswith("Entry 2:")
    assert client.get(f"/items/{url_key}").get_json() == {"stock": 5}


class _Crate(_Stocked, _Keyed):
    __tablename__ = "crates"
    id: Mapped[int] = mapped_column(primary_key=True)


def test_a_write_racing_an_apply_that_queries_is_412_rfc9110_13_1_1(
    keyed_database: sa.Engine,
) -> None:
    """``apply`` that queries (a lookup, a lazy load) autoflushes the entries applied before
    it: another client's write committed since the judgement makes that flush match no row,
    which is a 412 naming the item and its current tag, never a 500, and nothing written."""
    session = scoped_session(sessionmaker(keyed_database))
    session.add_all([_Crate(id=1, stock=5), _Crate(id=2, stock=5)])
    session.commit()
    session.remove()
    app = Flask(__name__)
    ETag(app)
    app.teardown_appcontext(lambda error: session.remove())
    versions = ModelVersionGenerator(_Crate, session)

    @app.get("/crates/<int:key>")
    @etag(versions)
    def get_crate(key: int) -> Any:
        return {"stock": session.get(_Crate, key).stock}

    def apply(crate: _Crate, entry: BatchEntry) -> None:
        if crate.id == 2:  # another client writes crate 1, now applied but not flushed
            with sa.orm.Session(keyed_database) as other:
                raced = other.get(_Crate, 1)  # get_one() is SQLAlchemy 2.0.22's, past the lowest
                assert raced is not None
                raced.stock = 99
                other.commit()
            session.scalar(sa.select(sa.func.count()).select_from(_Crate))  # autoflushes
        crate.stock = entry.changes["stock"]

    @app.patch("/crates")
    def patch_crates() -> Any:
        entries = read_batch(request.get_json())
        return jsonify(write_batch(versions, get_crate, entries, apply))

    client = app.test_client()
    tags = {key: client.get(f"/crates/{key}").headers["ETag"] for key in (1, 2)}
    answer = client.patch("/crates", json=[{"id": k, "etag": tags[k], "stock": 1} for k in tags])
    current = client.get("/crates/1")
    assert answer.status_code == 412, answer.text
    assert answer.get_json()["stale"] == [{"id": 1, "etag": current.headers["ETag"]}]
    assert current.get_json() == {"stock": 99}  # the other client's write stands
    assert client.get("/crates/2").get_json() == {"stock": 5}  # and nothing was written


# --------------------------------------------------------------------------- real processes

WRITERS = 8
ROUNDS = 12
ITEMS = 4


@contextlib.contextmanager
def batch_server(backend: str, folder: Path) -> Iterator[str]:
    with fresh_database(backend, folder, "flask_etag_batches") as database_url:
        environment = {"FLASK_SQLALCHEMY_DATABASE_URI": database_url}
        with gunicorn_server(
            "examples.products:create_app()",
            workers=2,
            threads=4,
            env=environment,
            ready_path="/api/products/101",
            working_dir=folder,
        ) as url:
            yield url


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_batch_writers_lose_no_update_rfc9110_13_1_1(
    backend: str, tmp_path: Path
) -> None:
    """8 writers, each adding 1 to the stock of 2 of 4 items per batch, retrying on 412;
    every acknowledged increment is in the final stocks, and none twice."""
    with batch_server(backend, tmp_path) as url:
        session = requests.Session()
        for number in range(ITEMS - 1):
            session.post(url + COLLECTION, json={"name": f"item {number}", "price": 1, "stock": 0})
        start = {item["id"]: item["stock"] for item in session.get(url + COLLECTION).json()}
        acknowledged: Counter[int] = Counter()
        refused = Counter[str]()
        lock = threading.Lock()

        def writer(seed: int) -> None:
            chooser = random.Random(seed)
            own = requests.Session()
            for _ in range(ROUNDS):
                chosen = chooser.sample(sorted(start), 2)
                for _attempt in range(50):
                    items = {item["id"]: item for item in own.get(url + COLLECTION).json()}
                    entries = [
                        {"id": n, "etag": items[n]["etag"], "stock": items[n]["stock"] + 1}
                        for n in chosen
                    ]
                    answer = own.patch(url + COLLECTION, json=entries, headers=HEADERS)
                    with lock:
                        refused[str(answer.status_code)] += answer.status_code != 200
                    if answer.status_code == 200:
                        with lock:
                            acknowledged.update(chosen)
                        break
                    assert answer.status_code == 412, answer.text

        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = {item["id"]: item["stock"] for item in session.get(url + COLLECTION).json()}
    assert sum(acknowledged.values()) == WRITERS * ROUNDS * 2
    assert refused["412"] > 0, "the writers never raced: the test proves nothing"
    assert final == {n: start[n] + acknowledged[n] for n in start}
