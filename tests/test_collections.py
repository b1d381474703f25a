"""Collection tags decided before the view (``flask_etag.sqlalchemy.CollectionGenerator``).

Driven through the example's ``GET /api/products`` on SQLite and PostgreSQL: every kind of
write changes the tag and nothing else does (RFC 9110 §8.8.3: a strong tag changes whenever
the representation does), each page has its own tag, a revalidation runs one small query and
no view, and concurrent writers never leave a body travelling with another state's tag.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.ext.compiler
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    column_property,
    mapped_column,
    relationship,
    scoped_session,
    sessionmaker,
)
from support_databases import dispose_after_test
from support_processes import fresh_database
from test_example import (
    COLLECTION,
    database,
    example_app,
    load_example,
    mariadb_url,
    postgres_url,
)

from flask_etag import etag
from flask_etag.sqlalchemy.table_versions import TABLE_VERSIONS

products = load_example()
Product = products.Product
#: The example app on SQLite and on PostgreSQL, as test_example.py makes it.
__all__ = ["database", "example_app", "mariadb_url", "postgres_url"]


@pytest.fixture
def api(example_app: Flask) -> FlaskClient:
    """Products 1, 2 and 3 (3 written last), nothing else."""
    with example_app.app_context():
        session = products.db.session
        session.execute(sa.delete(Product))
        for identity in (1, 2, 3):
            session.add(new_product(identity, f"product {identity}"))
            session.commit()
        session.remove()
    return example_app.test_client()


def new_product(identity: int, name: str) -> Any:
    fields = products.ProductFields.from_document({"name": name, "price": 1, "stock": 1}, None)
    return fields.new_product(identity)


def in_session(app: Flask, write: Callable[[Any], None]) -> None:
    """Run ``write(session)`` in one transaction of the app's session, and commit it."""
    with app.app_context():
        session = products.db.session
        write(session)
        session.commit()
        session.remove()


def tag_of(api: FlaskClient, url: str = COLLECTION) -> str:
    response = api.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"].startswith('"')
    return response.headers["ETag"]


# --------------------------------------------------------------------------- every change


def _insert(session: Any) -> None:
    session.add(new_product(4, "new"))


def _update_oldest(session: Any) -> None:
    session.get(Product, 1).stock = 99  # not the newest row: MAX(updated) would miss it


def _delete_middle(session: Any) -> None:
    session.delete(session.get(Product, 2))


def _delete_and_insert_same_id(session: Any) -> None:
    session.delete(session.get(Product, 1))  # COUNT(*) stays 3: the pair must still show
    session.flush()
    session.add(new_product(1, "reborn"))


def _bulk_update(session: Any) -> None:
    session.execute(sa.update(Product).where(Product.id == 2).values(stock=7))


CHANGES = {
    "insert": _insert,
    "update-of-an-older-row": _update_oldest,
    "delete": _delete_middle,
    "delete-plus-insert-in-one-transaction": _delete_and_insert_same_id,
    "orm-bulk-update": _bulk_update,
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_changes_the_tag_rfc9110_8_8_3(
    api: FlaskClient, example_app: Flask, change: str
) -> None:
    before = api.get(COLLECTION)
    in_session(example_app, CHANGES[change])
    after = api.get(COLLECTION, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.get_json() != before.get_json()


def test_deleting_the_last_row_changes_the_tag_rfc9110_8_8_3(
    api: FlaskClient, example_app: Flask
) -> None:
    in_session(
        example_app, lambda session: session.execute(sa.delete(Product).where(Product.id < 3))
    )
    single = api.get(COLLECTION)
    in_session(example_app, lambda session: session.delete(session.get(Product, 3)))
    empty = api.get(COLLECTION, headers={"If-None-Match": single.headers["ETag"]})
    assert (empty.status_code, empty.get_json()) == (200, [])
    assert empty.headers["ETag"] not in (single.headers["ETag"], None)


def test_nothing_changed_keeps_the_tag_rfc9110_13_1_2(api: FlaskClient, example_app: Flask) -> None:
    tag = tag_of(api)

    def same_values(session: Any) -> None:
        session.get(Product, 1).stock = 1  # equal to the stored value: no UPDATE is made

    in_session(example_app, same_values)
    in_session(example_app, lambda session: None)  # a commit with nothing in it
    assert api.get(COLLECTION, headers={"If-None-Match": tag}).status_code == 304
    assert tag_of(api) == tag


def test_a_rolled_back_write_keeps_the_tag(api: FlaskClient, example_app: Flask) -> None:
    tag = tag_of(api)
    with example_app.app_context():
        session = products.db.session
        session.get(Product, 1).stock = 50
        session.flush()  # the version is raised inside the transaction ...
        session.rollback()  # ... and rolled back with the row
        session.remove()
    assert api.get(COLLECTION, headers={"If-None-Match": tag}).status_code == 304


def _copy_of(connection: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(sa.select(table))]


def test_a_restored_backup_never_gives_again_a_tag_it_gave_rfc9110_8_8_1(
    api: FlaskClient, example_app: Flask
) -> None:
    """A database restored from a backup counts its tables' versions again from the backup's.

    A counter that only adds one hands the next write after the restore the version the
    first write after the backup had, for other rows, and a client holding the tag of the
    lost rows was answered 304 to the new ones: a strong tag names one representation
    across the resource's whole history (RFC 9110 §8.8.1)."""
    with example_app.app_context():
        counters = products.db.metadata.tables[TABLE_VERSIONS]
        tables = (counters, Product.__table__)
        with products.db.engine.begin() as connection:  # Core: no session, no counter raised
            backup = {table: _copy_of(connection, table) for table in tables}
    in_session(example_app, lambda session: setattr(session.get(Product, 1), "stock", 50))
    lost = api.get(COLLECTION)
    with example_app.app_context(), products.db.engine.begin() as connection:
        for table, rows in backup.items():
            connection.execute(sa.delete(table))
            connection.execute(sa.insert(table), rows)
    in_session(example_app, lambda session: setattr(session.get(Product, 1), "stock", 70))
    after = api.get(COLLECTION, headers={"If-None-Match": lost.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != lost.headers["ETag"]
    assert after.get_json()[0]["stock"] == 70


# --------------------------------------------------------------------------- queries, pages


def test_each_page_and_filter_has_its_own_tag(api: FlaskClient) -> None:
    urls = [
        COLLECTION,
        f"{COLLECTION}?page=1&per_page=1",
        f"{COLLECTION}?page=2&per_page=1",
        f"{COLLECTION}?page=1&per_page=2",
    ]
    tags = [tag_of(api, url) for url in urls]
    assert len(set(tags)) == len(urls)
    assert [tag_of(api, url) for url in urls] == tags  # and the same one every time
    second = api.get(f"{COLLECTION}?page=2&per_page=1")
    assert [item["id"] for item in second.get_json()] == [2]


def test_a_page_tag_does_not_revalidate_another_page_rfc9110_13_1_2(api: FlaskClient) -> None:
    first = tag_of(api, f"{COLLECTION}?page=1&per_page=1")
    response = api.get(f"{COLLECTION}?page=2&per_page=1", headers={"If-None-Match": first})
    assert response.status_code == 200


def test_link_fields_name_the_other_pages_rfc8288(api: FlaskClient) -> None:
    links = api.get(f"{COLLECTION}?page=2&per_page=1").headers["Link"]
    assert links == (
        f'<{COLLECTION}?page=1&per_page=1>; rel="first", '
        f'<{COLLECTION}?page=3&per_page=1>; rel="last", '
        f'<{COLLECTION}?page=1&per_page=1>; rel="prev", '
        f'<{COLLECTION}?page=3&per_page=1>; rel="next"'
    )
    only = api.get(COLLECTION).headers["Link"]
    assert only == (
        f'<{COLLECTION}?page=1&per_page=100>; rel="first", '
        f'<{COLLECTION}?page=1&per_page=100>; rel="last"'
    )


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "page=-1", "per_page=0", "per_page=1001", "page=1.5", "page=٣"]
)
def test_bad_page_arguments_are_400(api: FlaskClient, query: str) -> None:
    response = api.get(f"{COLLECTION}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_revalidation_runs_one_small_query_and_no_view_rfc9110_13_2_1(
    api: FlaskClient, example_app: Flask
) -> None:
    """The page's select rides in the counters' query as a CTE nothing refers to: the
    database's own plan for that one query reads the counters and no product."""
    tag = tag_of(api)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    with example_app.app_context():
        engine = products.db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = api.get(COLLECTION, headers={"If-None-Match": tag})
        assert response.status_code == 304
        revalidation = list(statements)
        statements.clear()
        assert api.get(COLLECTION).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(revalidation) == 1
    statement, parameters = revalidation[0]
    assert statement.startswith("WITH flask_etag_selected AS")
    assert "FROM products" in statement  # the select is rendered, for the fingerprint ...
    plan = query_plan(engine, statement, parameters)
    assert "flask_etag_table_versions" in plan
    # ... and never run ('products' is the counter's name, a value in PostgreSQL's plan)
    assert "products" not in plan.replace("'products'", ""), plan
    # A 200: the versions, the view's page and count, the versions again to confirm.
    assert len(statements) == 4


def query_plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    """The database's plan for ``statement``, as text (SQLite, PostgreSQL or MariaDB)."""
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
    return "\n".join(" ".join(map(str, row)) for row in rows)


def test_a_revalidation_reuses_the_compiled_select(api: FlaskClient, example_app: Flask) -> None:
    """No statement is compiled per request: SQLAlchemy's log says each came from its cache
    ("cached since"), the page's select included, whatever the page asked for."""
    tags = {page: tag_of(api, f"{COLLECTION}?page={page}&per_page=1") for page in (1, 2)}
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("sqlalchemy.engine.Engine")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for page in (1, 2, 1):
            headers = {"If-None-Match": tags[page]}
            response = api.get(f"{COLLECTION}?page={page}&per_page=1", headers=headers)
            assert response.status_code == 304
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    compiled = [record.getMessage() for record in records if "generated in" in record.getMessage()]
    cached = [record.getMessage() for record in records if "cached since" in record.getMessage()]
    assert (compiled, len(cached)) == ([], 3)


def test_last_modified_moves_forward_after_a_delete_rfc9110_8_8_2(
    api: FlaskClient, example_app: Flask
) -> None:
    """A date is sent once its second is over (§8.8.2.2), and a delete moves it forward."""
    time.sleep(1.1)  # Last-Modified has one-second resolution: the seeding's second ends
    before = api.get(COLLECTION)
    in_session(example_app, _delete_middle)
    after = api.get(COLLECTION, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200
    time.sleep(1.1)  # the delete's second ends
    later = api.get(COLLECTION)
    assert later.last_modified is not None and before.last_modified is not None
    assert later.last_modified > before.last_modified


def _dated_by_a_clock_behind(session: Any) -> None:
    """What a write by a host whose clock is 0.8 s behind leaves in the counter: its date."""
    behind = int((time.time() - 0.8) * 1_000_000)
    session.execute(
        sa.text(f"UPDATE {TABLE_VERSIONS} SET changed_at = :behind WHERE name = 'products'"),
        {"behind": behind},
    )


def test_rfc9110_8_8_2_2_a_change_dated_by_a_clock_behind_is_not_hidden_by_a_304(
    database: dict[str, Any],
) -> None:
    """Two hosts, the second's clock 0.8 s behind: the change it commits after a client
    read the list is dated in the second the client holds as ``Last-Modified``, and its
    ``If-Modified-Since`` was answered 304 with the new row missing (§13.1.3).  With
    ``ETAG_CLOCK_SKEW`` the date is sent once every clock has left its second."""
    app = dispose_after_test(
        products.create_app({"TESTING": True, **database, "ETAG_CLOCK_SKEW": 1.0})
    )
    api = app.test_client()
    in_session(app, lambda session: session.add(new_product(4, "product 4")))
    deadline, held = time.monotonic() + 5, None
    while held is None and time.monotonic() < deadline:
        held = api.get(COLLECTION).headers.get("Last-Modified")
        time.sleep(0.05)
    assert held is not None
    in_session(app, lambda session: session.add(new_product(5, "product 5")))
    in_session(app, _dated_by_a_clock_behind)
    after = api.get(COLLECTION, headers={"If-Modified-Since": held})
    assert after.status_code == 200
    assert 5 in [item["id"] for item in after.get_json()]


def test_a_change_committed_after_its_second_ended_is_not_hidden_by_a_304_rfc9110_8_8_2_2(
    api: FlaskClient, example_app: Flask
) -> None:
    """The counters were dated when a transaction flushed, not when it committed: one that
    flushed in a second and committed after it ended put its change in a second whose date
    a client already held for the list before it, and that client's If-Modified-Since was
    answered 304 with the new row missing."""
    time.sleep(1.02 - datetime.now(timezone.utc).microsecond / 1_000_000)  # a second begins
    in_session(example_app, lambda session: session.add(new_product(4, "product 4")))
    flushed, commit = threading.Event(), threading.Event()

    def flush_then_commit_later() -> None:
        with example_app.app_context():
            session = products.db.session
            session.add(new_product(5, "product 5"))
            session.flush()  # in the same second as product 4's commit
            flushed.set()
            commit.wait(10)
            session.commit()
            session.remove()

    writer = threading.Thread(target=flush_then_commit_later)
    writer.start()
    try:
        assert flushed.wait(10)
        time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1_000_000)  # it is over
        before = api.get(COLLECTION)
    finally:
        commit.set()
        writer.join()
    assert [item["id"] for item in before.get_json()][-1] == 4
    sent = before.headers.get("Last-Modified")
    if sent is not None:  # a date sent must never keep the client on the list before
        after = api.get(COLLECTION, headers={"If-Modified-Since": sent})
        assert after.status_code == 200


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_change_that_waited_for_the_counter_is_not_hidden_by_a_304_rfc9110_8_8_2_2(
    tmp_path: Path, backend: str
) -> None:
    """Two writers of one table: the second commits without an earlier flush and waits at
    the counter's row lock for the first.  Its counter was dated before that wait, so once
    it committed the list carried a second whose date a client already held for the list
    before both writes, and that client's If-Modified-Since was answered 304 with the new
    rows missing."""
    with fresh_database(backend, tmp_path, "flask_etag_counter_wait") as database_url:
        app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
        dispose_after_test(app)
        api = app.test_client()
        flushed, commit = threading.Event(), threading.Event()

        def flush_then_commit_later() -> None:  # holds the counter's row lock meanwhile
            with app.app_context():
                products.db.session.add(new_product(5, "product 5"))
                products.db.session.flush()
                flushed.set()
                commit.wait(10)
                products.db.session.commit()

        def commit_at_once() -> None:  # its commit's flush waits for the writer above
            with app.app_context():
                products.db.session.add(new_product(6, "product 6"))
                products.db.session.commit()

        time.sleep(1.02 - datetime.now(timezone.utc).microsecond / 1_000_000)  # a second begins
        in_session(app, lambda session: session.add(new_product(4, "product 4")))
        first, second = (
            threading.Thread(target=write) for write in (flush_then_commit_later, commit_at_once)
        )
        first.start()
        try:
            assert flushed.wait(10)
            second.start()
            time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1_000_000)  # it is over
            assert second.is_alive()  # still waiting for the counter
            before = api.get(COLLECTION)
        finally:
            commit.set()
            first.join()
            second.join()
        assert before.headers["Last-Modified"]  # product 4's second, over
        after = api.get(COLLECTION, headers={"If-Modified-Since": before.headers["Last-Modified"]})
        assert after.status_code == 200
        assert {5, 6} <= {item["id"] for item in after.get_json()}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_a_change_made_while_a_slow_view_read_is_not_hidden_by_a_304_rfc9110_8_8_2_2(
    tmp_path: Path, backend: str
) -> None:
    """A list read in a second still running, by a view that took until the next one:
    whether that second was over was judged once the view had let it end, so the list was
    sent that second's date.  MariaDB's REPEATABLE READ shows the view and the recheck
    after it the counters as they were, so a change committed later in that second went
    unseen, and the client's If-Modified-Since was answered 304 without it."""
    with fresh_database(backend, tmp_path, "flask_etag_slow_view") as database_url:
        app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
        dispose_after_test(app)
        api = app.test_client()
        looked_up, written = threading.Event(), threading.Event()

        @app.get("/slow-products")
        @etag(products.product_pages)
        def slow_products() -> Any:
            rows = products.db.session.scalars(products.product_page()).all()
            looked_up.set()
            written.wait(10)
            time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1_000_000)  # it ends
            return [row.id for row in rows]

        reads: list[Any] = []
        time.sleep(1.02 - datetime.now(timezone.utc).microsecond / 1_000_000)  # a second begins
        in_session(app, lambda session: session.add(new_product(4, "product 4")))
        reader = threading.Thread(target=lambda: reads.append(api.get("/slow-products")))
        reader.start()
        try:
            assert looked_up.wait(10)
            in_session(app, lambda session: session.add(new_product(5, "product 5")))
        finally:
            written.set()
            reader.join(10)
        (before,) = reads
        assert 5 not in before.get_json()
        sent = before.headers.get("Last-Modified")
        if sent is not None:  # a date sent must never keep the client on the list before
            after = api.get("/slow-products", headers={"If-Modified-Since": sent})
            assert after.status_code == 200


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_bulk_update_beside_a_flush_of_its_rows_never_deadlocks_rfc9110_8_8_3(
    tmp_path: Path, backend: str
) -> None:
    """A flush writes its rows, then raises the table's counter; a bulk ``update()`` raised
    the counter first, then wrote its rows.  One taking a row the other wrote while holding
    the counter deadlocked, and the database refused one of the two writes (a 500)."""
    with fresh_database(backend, tmp_path, "flask_etag_lock_order") as database_url:
        app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
        dispose_after_test(app)
        api = app.test_client()

        @app.post("/restock-all")
        def restock_all() -> tuple[str, int]:
            products.db.session.execute(sa.update(Product).values(stock=Product.stock + 1))
            products.db.session.commit()
            return "", 204

        row_written, bulk_sent = threading.Event(), threading.Event()

        def audit_then_go_on(*_: Any) -> None:  # an app's own hook, in the flush
            row_written.set()
            bulk_sent.wait(10)
            time.sleep(0.5)  # the bulk update now holds what it took first

        tag = api.get("/api/products/101").headers["ETag"]
        statuses: dict[str, int | str] = {}

        def patch() -> None:
            headers = {"If-Match": tag, "Content-Type": "application/merge-patch+json"}
            statuses["patch"] = answered(
                lambda: app.test_client().patch(
                    "/api/products/101", json={"stock": 7}, headers=headers
                )
            )

        def restock() -> None:
            statuses["bulk"] = answered(lambda: app.test_client().post("/restock-all"))

        sa.event.listen(Product, "after_update", audit_then_go_on)
        writer = threading.Thread(target=patch)
        writer.start()
        try:
            assert row_written.wait(10)
            bulk = threading.Thread(target=restock)
            bulk.start()
            time.sleep(0.3)  # the bulk update is under way
            bulk_sent.set()
            writer.join(20)
            bulk.join(20)
        finally:
            bulk_sent.set()
            writer.join(20)
            sa.event.remove(Product, "after_update", audit_then_go_on)
        assert statuses == {"patch": 200, "bulk": 204}
        assert api.get("/api/products/101").get_json()["stock"] == 8


def answered(send: Callable[[], Any]) -> int | str:
    """The status of the response ``send()`` returns, or the error it raised (the test
    client raises a view's error where the app is testing)."""
    try:
        return int(send().status_code)
    except Exception as error:
        return f"{type(error).__name__}: {error}"


# --------------------------------------------------------------------------- concurrency


def test_concurrent_writers_never_mismatch_body_and_tag_rfc9110_8_8_3(
    api: FlaskClient, example_app: Flask
) -> None:
    """Writers change stock, create and delete while readers list: one tag, one body."""
    stop = threading.Event()
    bodies: dict[str, set[bytes]] = defaultdict(set)
    untagged = [0]
    failures: list[str] = []

    def write(number: int) -> None:
        client = example_app.test_client()
        step = 0
        while not stop.is_set():
            step += 1
            identity = 1 + (step + number) % 3
            response = client.get(f"/api/products/{identity}")
            if response.status_code == 200:
                client.patch(
                    f"/api/products/{identity}",
                    json={"stock": step},
                    headers={"If-Match": response.headers["ETag"]},
                )
            extra = 10 + number
            created = client.put(
                f"/api/products/{extra}",
                json={"name": "x", "price": 1, "stock": step},
                headers={"If-None-Match": "*"},
            )
            if created.status_code == 201:
                client.delete(
                    f"/api/products/{extra}", headers={"If-Match": created.headers["ETag"]}
                )

    def read() -> None:
        client = example_app.test_client()
        while not stop.is_set():
            response = client.get(COLLECTION)
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text}")
            elif "ETag" in response.headers:
                bodies[response.headers["ETag"]].add(response.data)
            else:
                untagged[0] += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    assert len(bodies) > 5, "the writers changed too little for the test to mean anything"
    mismatched = {tag: len(seen) for tag, seen in bodies.items() if len(seen) > 1}
    assert not mismatched, f"tags sent with more than one body: {mismatched}"


def _streamed_list_app(tmp_path: Any, **config: Any) -> Flask:
    """The example's product list at ``/streamed`` as a stream, its rows read while sent."""
    from flask import Response, stream_with_context

    database = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    app = dispose_after_test(
        products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, **config})
    )

    @etag(products.product_pages)
    def streamed() -> Response:
        def rows() -> Iterator[str]:
            for product in products.db.session.scalars(products.product_page()):
                yield f"{product.id}\n"

        return Response(stream_with_context(rows()), mimetype="text/plain")

    app.add_url_rule("/streamed", "streamed", streamed)
    return app


def test_a_streamed_collection_goes_out_untagged_rfc9110_8_8_3(tmp_path: Any) -> None:
    """A streamed body reads its rows while it is sent, after any recheck: no tag can be
    promised to match it, so none is sent (a 304 is still answered before the view)."""
    client = _streamed_list_app(tmp_path).test_client()
    listed = client.get(COLLECTION)
    response = client.get("/streamed")
    assert (response.status_code, response.text) == (200, "101\n")
    assert "ETag" not in response.headers
    assert listed.headers["ETag"]  # the same collection, not streamed, is tagged


def test_rfc9111_5_2_2_7_a_scoped_streamed_collection_keeps_its_private_policy(
    tmp_path: Any,
) -> None:
    """Untagged is not uncached: the streamed 200 of a scoped route carries the policy its
    304 carries (RFC 9110 §15.4.5), ``private``, so no shared cache keeps one user's list
    for another."""
    from flask import request

    def user() -> str | None:
        return request.headers.get("X-User")

    client = _streamed_list_app(tmp_path, SECRET_KEY="secret", ETAG_SCOPE=user).test_client()
    ann = {"X-User": "ann"}
    tag = client.get(COLLECTION, headers=ann).headers["ETag"]
    response = client.get("/streamed", headers=ann)
    assert response.status_code == 200 and "ETag" not in response.headers
    revalidated = client.get("/streamed", headers={**ann, "If-None-Match": tag})
    assert revalidated.status_code == 304
    assert response.headers.get("Cache-Control") == revalidated.headers["Cache-Control"]
    assert response.headers["Cache-Control"].startswith("private")


#: Selects that differ in one thing each, some of them in nothing but a flag of the select
#: (``DISTINCT``) or an operator: each must have a tag of its own.
SHAPES: dict[str, Callable[[], sa.Select[Any]]] = {
    "by-id": lambda: sa.select(Product).order_by(Product.id),
    "by-id-descending": lambda: sa.select(Product).order_by(Product.id.desc()),
    "by-name": lambda: sa.select(Product).order_by(Product.name),
    "distinct": lambda: sa.select(Product).distinct().order_by(Product.id),
    "first-two": lambda: sa.select(Product).order_by(Product.id).limit(2),
    "first-three": lambda: sa.select(Product).order_by(Product.id).limit(3),
    "second-page-of-two": lambda: sa.select(Product).order_by(Product.id).limit(2).offset(2),
    "named-a": lambda: sa.select(Product).where(Product.name == "a").order_by(Product.id),
    "not-named-a": lambda: sa.select(Product).where(Product.name != "a").order_by(Product.id),
    "named-b": lambda: sa.select(Product).where(Product.name == "b").order_by(Product.id),
    "named-1": lambda: sa.select(Product).where(Product.name == "1").order_by(Product.id),
    "ids-only": lambda: sa.select(Product.id).order_by(Product.id),
}


@pytest.fixture
def shaped(database: dict[str, Any]) -> FlaskClient:
    """The example app plus ``/shaped?shape=``, listing each of :data:`SHAPES`."""
    from flask import jsonify, request

    from flask_etag import etag
    from flask_etag.sqlalchemy import CollectionGenerator

    app = dispose_after_test(products.create_app({"TESTING": True, **database}))

    def chosen() -> sa.Select[Any]:
        return SHAPES[request.args["shape"]]()

    @etag(CollectionGenerator(chosen, products.table_versions))
    def listing() -> Any:
        return jsonify([str(row) for row in products.db.session.execute(chosen())])

    app.add_url_rule("/shaped", "shaped", listing)
    return app.test_client()


def test_every_shape_and_value_has_its_own_tag_rfc9110_8_8_3(
    api: FlaskClient, shaped: FlaskClient
) -> None:
    """Filters, sorts, pages, operators, flags and values: no two selects share a tag, each
    keeps its own, and none revalidates another."""
    tags = {shape: tag_of(shaped, f"/shaped?shape={shape}") for shape in SHAPES}
    assert len(set(tags.values())) == len(SHAPES), tags
    assert {shape: tag_of(shaped, f"/shaped?shape={shape}") for shape in SHAPES} == tags
    names = list(SHAPES)
    for shape, other in zip(names, names[1:] + names[:1], strict=True):
        response = shaped.get(f"/shaped?shape={shape}", headers={"If-None-Match": tags[other]})
        assert response.status_code == 200, (shape, other)
        current = shaped.get(f"/shaped?shape={shape}", headers={"If-None-Match": tags[shape]})
        assert current.status_code == 304, shape


#: Tags of a few pages of the example on the SQLite file named by argv[1], as JSON.
_TAGS_ON_A_HOST = """
import json, sys
sys.path.insert(0, sys.argv[2])
from test_example import load_example
products = load_example()
app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
client = app.test_client()
urls = ["/api/products", "/api/products?page=2&per_page=1", "/api/products?per_page=3"]
print(json.dumps([client.get(url).headers["ETag"] for url in urls]))
"""


def test_hosts_with_other_hash_seeds_agree_on_every_tag(tmp_path: Any) -> None:
    """The fingerprint hashes text, never Python's ``hash()``: hosts whose ``PYTHONHASHSEED``
    differ send the same tag for the same page."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    answers = {
        subprocess.run(
            [sys.executable, "-c", _TAGS_ON_A_HOST, url, os.path.dirname(__file__)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(answers) == 1, answers
    (tags,) = answers
    assert len(set(json.loads(tags))) == 3


#: Tags of lists filtered by a set of names (``IN``), on the SQLite file named by argv[1].
_SET_FILTER_TAGS_ON_A_HOST = """
import json, sys
import sqlalchemy as sa
from flask import jsonify, request
sys.path.insert(0, sys.argv[2])
from test_example import load_example
from flask_etag import etag
from flask_etag.sqlalchemy import CollectionGenerator
products = load_example()
app = products.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
Product = products.Product

def named():
    names = set(request.args.getlist("name"))
    return sa.select(Product).where(Product.name.in_(names)).order_by(Product.id)

@etag(CollectionGenerator(named, products.table_versions))
def listing():
    return jsonify([item.id for item in products.db.session.scalars(named())])

app.add_url_rule("/named", "named", listing)
client = app.test_client()
urls = ["/named?name=alpha&name=beta&name=gamma&name=delta", "/named?name=alpha&name=beta"]
print(json.dumps([client.get(url).headers["ETag"] for url in urls]))
"""


def test_hosts_with_other_hash_seeds_agree_on_a_set_filters_tag_rfc9110_8_8_3(
    tmp_path: Any,
) -> None:
    """``in_()`` given a set: the set's order, and so the order of the parameters the driver
    gets, depends on ``PYTHONHASHSEED``; what the list selects does not, and neither does
    its tag, on any host."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    answers = {
        subprocess.run(
            [sys.executable, "-c", _SET_FILTER_TAGS_ON_A_HOST, url, os.path.dirname(__file__)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(answers) == 1, answers
    (tags,) = answers
    assert len(set(json.loads(tags))) == 2  # other values, another tag


def test_an_in_list_in_another_order_has_the_same_tag_rfc9110_8_8_3(tmp_path: Any) -> None:
    """``in_(["b", "a"])`` selects what ``in_(["a", "b"])`` does, so the list has one tag
    whatever order the values came in (a set's order is each process's own): in-process,
    the check the hash-seed test above makes across processes."""
    client = _filtered_app(tmp_path, lambda names: Product.name.in_(names.split(",")))
    forward, backward = client.get("/named?name=a,b"), client.get("/named?name=b,a")
    assert forward.get_json() == backward.get_json() == [1]
    assert forward.headers["ETag"] == backward.headers["ETag"]
    assert client.get("/named?name=a,c").headers["ETag"] != forward.headers["ETag"]


def _filtered_app(tmp_path: Any, where: Callable[[str], Any]) -> FlaskClient:
    """The example app plus ``/named?name=``: one statement shape, a value per request."""
    from flask import jsonify, request

    from flask_etag import etag
    from flask_etag.sqlalchemy import CollectionGenerator

    app = dispose_after_test(
        products.create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
        )
    )

    def named() -> sa.Select[Any]:
        return sa.select(Product).where(where(request.args["name"])).order_by(Product.id)

    @etag(CollectionGenerator(named, products.table_versions))
    def listing() -> Any:
        return jsonify([item.id for item in products.db.session.scalars(named())])

    app.add_url_rule("/named", "named", listing)
    with app.app_context():
        products.db.session.add(new_product(1, "a"))
        products.db.session.commit()
        products.db.session.remove()
    return app.test_client()


class _Uncacheable(sa.sql.expression.ColumnElement[bool]):
    """A construct SQLAlchemy will not cache (``inherit_cache = False``): no cache key."""

    inherit_cache = False
    type = sa.Boolean()

    def __init__(self, name: str) -> None:
        self.name = name


@sa.ext.compiler.compiles(_Uncacheable)
def _compile_uncacheable(element: _Uncacheable, compiler: Any, **kw: Any) -> str:
    return compiler.process(Product.name == element.name, **kw)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "where",
    [lambda name: Product.name == name, _Uncacheable],
    ids=["cached-shape", "construct-without-cache-key"],
)
def test_one_shape_with_other_values_has_other_tags_rfc9110_8_8_3(
    tmp_path: Any, where: Callable[[str], Any]
) -> None:
    """The SQL is compiled once per statement shape, but the bound values still count."""
    client = _filtered_app(tmp_path, where)
    first = client.get("/named?name=a")
    second = client.get("/named?name=b")
    assert (first.get_json(), second.get_json()) == ([1], [])
    assert first.headers["ETag"] != second.headers["ETag"]
    assert client.get("/named?name=a").headers["ETag"] == first.headers["ETag"]
    revalidated = client.get("/named?name=b", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 200


def test_surrogate_keys_reuse_the_lookups_tables_rfc9111_4_4(tmp_path: Any) -> None:
    """The keys a read names come from the tables its lookup already read: the page's select
    is built once for the lookup and once by the view, never a third time for the keys."""
    from flask import jsonify

    from flask_etag import etag
    from flask_etag.sqlalchemy import CollectionGenerator

    app = dispose_after_test(
        products.create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
                "ETAG_SURROGATE_KEYS": True,
            }
        )
    )
    built: list[str] = []

    def every_product() -> sa.Select[Any]:
        built.append("select")
        return sa.select(Product).order_by(Product.id)

    @etag(CollectionGenerator(every_product, products.table_versions))
    def listing() -> Any:
        return jsonify([product.id for product in products.db.session.scalars(every_product())])

    app.add_url_rule("/listing", "listing", listing)
    client = app.test_client()
    listed = client.get("/listing")
    assert (listed.status_code, listed.headers["Surrogate-Key"], len(built)) == (
        200,
        "products",
        2,
    )
    revalidated = client.get("/listing", headers={"If-None-Match": listed.headers["ETag"]})
    assert (revalidated.status_code, revalidated.headers["Surrogate-Key"], len(built)) == (
        304,
        "products",
        3,
    )


# --------------------------------------------------------------------------- related tables


class _Related(DeclarativeBase):
    """Items, their labels (many-to-many) and their reviews: tables a list reads beside its
    own, written through relationships rather than through the list's model."""


_labelled = sa.Table(
    "labelled",
    _Related.metadata,
    sa.Column("item_id", sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("label_id", sa.ForeignKey("labels.id"), primary_key=True),
)


class _Label(_Related):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    items: Mapped[list[_Item]] = relationship(secondary=_labelled, back_populates="labels")


class _Review(_Related):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))


class _Item(_Related):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    labels: Mapped[list[_Label]] = relationship(secondary=_labelled, back_populates="items")
    reviews: Mapped[int] = column_property(
        sa.select(sa.func.count(_Review.id))
        .where(_Review.item_id == id)
        .correlate_except(_Review)
        .scalar_subquery()
    )


def _items() -> sa.Select[Any]:
    return sa.select(_Item).order_by(_Item.id)


def _items_in_a_union() -> sa.CompoundSelect[Any]:
    """Whole items in a ``union_all()``: each of its selects reads their review counts."""
    whole = sa.union_all(
        sa.select(_Item).where(_Item.id == 1), sa.select(_Item).where(_Item.id > 1)
    )
    return whole.order_by("id")


def _labels_of(item_id: int) -> sa.Select[Any]:
    """The ids of an item's labels, read from the association table alone: a change made
    on either side changes no table of this list but that one."""
    column = _labelled.c
    return sa.select(column.label_id).where(column.item_id == item_id).order_by(column.label_id)


@pytest.fixture
def related(tmp_path: Any) -> Iterator[tuple[FlaskClient, Any]]:
    """``/items/1/labels`` (item 1 labelled 1; label 2 unused), ``/items`` (with their
    review counts), ``/united`` (the same, as a union), and the session they read."""
    from flask import jsonify

    from flask_etag import ETag, etag
    from flask_etag.sqlalchemy import CollectionGenerator, TableVersions

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'related.sqlite3'}")
    session = scoped_session(sessionmaker(engine))
    versions = TableVersions(session, _Related.metadata)
    _Related.metadata.create_all(engine)
    session.add_all([_Item(id=1, labels=[_Label(id=1)]), _Label(id=2)])
    session.commit()
    session.remove()
    app = Flask(__name__)
    ETag(app)
    app.teardown_appcontext(lambda error: session.remove())

    @app.get("/items/<int:item_id>/labels")
    @etag(CollectionGenerator(_labels_of, versions))
    def labels(item_id: int) -> Any:
        return jsonify(list(session.scalars(_labels_of(item_id))))

    @app.get("/items")
    @etag(CollectionGenerator(_items, versions))
    def items() -> Any:
        return jsonify([[item.id, item.reviews] for item in session.scalars(_items())])

    @app.get("/united")
    @etag(CollectionGenerator(_items_in_a_union, versions))
    def united() -> Any:
        united = sa.select(_Item).from_statement(_items_in_a_union())
        return jsonify([[item.id, item.reviews] for item in session.scalars(united)])

    yield app.test_client(), session
    session.remove()
    engine.dispose()


def _label_item(session: Any) -> None:
    item = session.get(_Item, 1)  # held: the session keeps no strong reference
    item.labels.append(session.get(_Label, 2))


def _item_label(session: Any) -> None:
    label = session.get(_Label, 2)
    label.items.append(session.get(_Item, 1))


def _unlabel_item(session: Any) -> None:
    item = session.get(_Item, 1)
    item.labels.clear()


ASSOCIATION_CHANGES: dict[str, Callable[[Any], None]] = {
    "added-on-the-owning-side": _label_item,
    "added-on-the-other-side": _item_label,
    "removed": _unlabel_item,
    "item-deleted": lambda session: session.delete(session.get(_Item, 1)),
}


@pytest.mark.parametrize("change", ASSOCIATION_CHANGES)
def test_a_many_to_many_change_changes_the_tag_rfc9110_8_8_3(
    related: tuple[FlaskClient, Any], change: str
) -> None:
    """The ORM writes a ``secondary=`` table's rows for a relationship, not for a model of
    its own: a list reading that table must still see them."""
    client, session = related
    before = client.get("/items/1/labels")
    assert before.get_json() == [1]
    ASSOCIATION_CHANGES[change](session)
    session.commit()
    session.remove()
    after = client.get("/items/1/labels", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json() != before.get_json()


def test_a_write_read_by_a_column_property_changes_the_tag_rfc9110_8_8_3(
    related: tuple[FlaskClient, Any],
) -> None:
    """A ``column_property`` counting another table's rows is rendered into the list's SQL
    only when it is compiled: that table is read all the same."""
    client, session = related
    before = client.get("/items")
    assert before.get_json() == [[1, 0]]
    session.add(_Review(id=1, item_id=1))
    session.commit()
    session.remove()
    after = client.get("/items", headers={"If-None-Match": before.headers["ETag"]})
    assert (after.status_code, after.get_json()) == (200, [[1, 1]])


def test_a_union_is_tagged_and_a_write_it_reads_changes_the_tag_rfc9110_8_8_3(
    related: tuple[FlaskClient, Any],
) -> None:
    """A ``union()`` is a collection like a ``select()``, not a 500 on every request: its
    304 runs no view, and a write to a table any of its selects reads (a column property's
    included) changes its tag."""
    client, session = related
    before = client.get("/united")
    assert (before.status_code, before.get_json()) == (200, [[1, 0]])
    again = client.get("/united", headers={"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 304
    session.add(_Review(id=1, item_id=1))
    session.commit()
    session.remove()
    after = client.get("/united", headers={"If-None-Match": before.headers["ETag"]})
    assert (after.status_code, after.get_json()) == (200, [[1, 1]])


# --------------------------------------------------------------------------- foreign-key actions


class _Owned(DeclarativeBase):
    """Owners, their pets (deleted or renumbered with their owner by the database: ``ON
    DELETE CASCADE``, ``ON UPDATE CASCADE``), the pets' tags (deleted with their pet) and
    toys (``SET NULL`` either way): rows the database writes itself, which no flush names."""


class _Owner(_Owned):
    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(primary_key=True)


class _Pet(_Owned):
    __tablename__ = "pets"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("owners.id", ondelete="CASCADE", onupdate="CASCADE")
    )


class _PetTag(_Owned):
    __tablename__ = "pet_tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    pet_id: Mapped[int] = mapped_column(sa.ForeignKey("pets.id", ondelete="cascade"))


class _Toy(_Owned):
    __tablename__ = "toys"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("owners.id", ondelete="SET NULL", onupdate="SET NULL")
    )


_OWNED_LISTS: dict[str, Callable[[], sa.Select[Any]]] = {
    "/pets": lambda: sa.select(_Pet.id, _Pet.owner_id).order_by(_Pet.id),
    "/pet-tags": lambda: sa.select(_PetTag.id, _PetTag.pet_id).order_by(_PetTag.id),
    "/toys": lambda: sa.select(_Toy.id, _Toy.owner_id).order_by(_Toy.id),
}


@pytest.fixture
def owned(database: dict[str, Any]) -> Iterator[tuple[FlaskClient, Any]]:
    """A list of each of :data:`_OWNED_LISTS`, owner 1 holding pet 1 (tagged 1) and toy 1."""
    from flask import jsonify

    from flask_etag import ETag, etag
    from flask_etag.sqlalchemy import CollectionGenerator, TableVersions

    engine = sa.create_engine(database["SQLALCHEMY_DATABASE_URI"])
    if engine.dialect.name == "sqlite":  # SQLite enforces foreign keys only when asked

        @sa.event.listens_for(engine, "connect")
        def _enforce_foreign_keys(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA foreign_keys = ON")

    session = scoped_session(sessionmaker(engine))
    versions = TableVersions(session, _Owned.metadata)
    own = [table for table in _Owned.metadata.sorted_tables if table is not versions.table]
    _Owned.metadata.drop_all(engine, tables=own)  # the counters' table is the module's too
    _Owned.metadata.create_all(engine)
    session.add(_Owner(id=1))
    session.flush()  # no relationship() orders the inserts
    session.add_all([_Pet(id=1, owner_id=1), _Toy(id=1, owner_id=1)])
    session.flush()
    session.add(_PetTag(id=1, pet_id=1))
    session.commit()
    session.remove()
    app = Flask(__name__)
    ETag(app)
    app.teardown_appcontext(lambda error: session.remove())
    for url, select in _OWNED_LISTS.items():

        def listing(select: Callable[[], sa.Select[Any]] = select) -> Any:
            return jsonify([list(row) for row in session.execute(select())])

        app.add_url_rule(url, url, etag(CollectionGenerator(select, versions))(listing))
    yield app.test_client(), session
    session.remove()
    _Owned.metadata.drop_all(engine, tables=own)
    engine.dispose()


def _delete_owner_by_flush(session: Any) -> None:
    session.delete(session.get(_Owner, 1))


def _delete_owner_in_bulk(session: Any) -> None:
    session.execute(sa.delete(_Owner).where(_Owner.id == 1))


def _renumber_owner_by_flush(session: Any) -> None:
    session.get(_Owner, 1).id = 2


def _renumber_owner_in_bulk(session: Any) -> None:
    session.execute(sa.update(_Owner).where(_Owner.id == 1).values(id=2))


#: Each write, and the lists whose rows the database writes for it.
_REFERENCED_WRITES = [
    pytest.param(write, url, id=f"{write.__name__[1:]}-{url[1:]}")
    for write, urls in [
        (_delete_owner_by_flush, _OWNED_LISTS),
        (_delete_owner_in_bulk, _OWNED_LISTS),
        (_renumber_owner_by_flush, ["/pets", "/toys"]),
        (_renumber_owner_in_bulk, ["/pets", "/toys"]),
    ]
    for url in urls
]


@pytest.mark.parametrize(("write", "url"), _REFERENCED_WRITES)
def test_rows_a_foreign_key_action_writes_change_the_tag_rfc9110_8_8_3(
    owned: tuple[FlaskClient, Any], write: Callable[[Any], None], url: str
) -> None:
    """``ON DELETE``/``ON UPDATE`` ``CASCADE`` (through two tables) and ``SET NULL``: the
    database deletes or changes rows of a table no flush writes, and a list of them changed
    all the same."""
    client, session = owned
    before = client.get(url)
    assert before.status_code == 200 and before.get_json() != []
    write(session)
    session.commit()
    session.remove()
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json() != before.get_json()


# --------------------------------------------------------------------------- tables named alike


class _Cased(DeclarativeBase):
    """Two tables whose names differ in case alone, as MariaDB on Linux keeps apart."""


class _Note(_Cased):
    __tablename__ = "Notes"
    id: Mapped[int] = mapped_column(primary_key=True)


class _DraftNote(_Cased):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])  # SQLite folds table names
def test_rfc9110_8_8_3_tables_named_alike_have_counters_of_their_own(
    tmp_path: Path, backend: str
) -> None:
    """``Notes`` and ``notes`` are two tables, and each gets its own counter: under
    MariaDB's default collation, which folds case, the counter of ``notes`` was raised by
    writes to ``Notes`` and the list of ``Notes`` read no counter at all, so its tag never
    changed and a client holding it was answered 304 over a new note."""
    from flask import jsonify

    from flask_etag import ETag
    from flask_etag.sqlalchemy import CollectionGenerator, TableVersions

    with fresh_database(backend, tmp_path, "flask_etag_cased") as url:
        engine = sa.create_engine(url)
        session = scoped_session(sessionmaker(engine))
        versions = TableVersions(session, _Cased.metadata)
        _Cased.metadata.create_all(engine)
        app = Flask(__name__)
        ETag(app)
        app.teardown_appcontext(lambda error: session.remove())

        def every_note() -> sa.Select[Any]:
            return sa.select(_Note.id).order_by(_Note.id)

        @app.get("/notes")
        @etag(CollectionGenerator(every_note, versions))
        def notes() -> Any:
            return jsonify(list(session.scalars(every_note())))

        client = app.test_client()
        for row in (_DraftNote(id=1), _Note(id=1)):
            session.add(row)
            session.commit()
        before = client.get("/notes")
        session.add(_Note(id=2))
        session.commit()
        session.remove()
        after = client.get("/notes", headers={"If-None-Match": before.headers["ETag"]})
        assert (after.status_code, after.get_json()) == (200, [1, 2])
        session.remove()
        engine.dispose()


def test_rfc9110_8_8_3_rows_a_hook_chooses_per_tenant_are_told_apart_by_the_scope(
    tmp_path: Any,
) -> None:
    """SQLAlchemy's recipe for a tenant's rows adds ``with_loader_criteria`` in a
    ``do_orm_execute`` hook: the statement the fingerprint hashes does not name the tenant,
    so every tenant's list has one tag, and a browser shared by two tenants would get a 304
    for the other's list.  Scoped by the tenant (collections.md), the tags differ."""
    from flask import request
    from sqlalchemy import event
    from sqlalchemy.orm import ORMExecuteState, with_loader_criteria

    from flask_etag.sqlalchemy import CollectionGenerator

    def tenant() -> str:
        return request.headers["X-Tenant"]

    def tenants_rows(state: ORMExecuteState) -> None:
        if state.is_select and not state.is_column_load and not state.is_relationship_load:
            criteria = with_loader_criteria(Product, Product.name.startswith(tenant()))
            state.statement = state.statement.options(criteria)

    app = dispose_after_test(
        products.create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "s",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
            }
        )
    )
    everyone = CollectionGenerator(
        lambda: sa.select(Product).order_by(Product.id), products.table_versions
    )
    for rule, scope in (("/shared", None), ("/scoped", tenant)):

        @etag(everyone, scope=scope)
        def listing() -> Any:
            return [item.name for item in products.db.session.scalars(everyone.select_rows())]

        app.add_url_rule(rule, rule, listing)
    with app.app_context():
        products.db.session.execute(sa.delete(Product))
        products.db.session.add_all([new_product(1, "ann's"), new_product(2, "bob's")])
        products.db.session.commit()
        products.db.session.remove()
    client = app.test_client()
    event.listen(products.db.session, "do_orm_execute", tenants_rows)
    try:
        for rule in ("/shared", "/scoped"):
            ann = client.get(rule, headers={"X-Tenant": "ann"})
            bob = client.get(
                rule, headers={"X-Tenant": "bob", "If-None-Match": ann.headers["ETag"]}
            )
            assert (ann.get_json(), ann.headers["ETag"]) != ([], None)
            assert (ann.headers["ETag"] == bob.headers.get("ETag")) is (rule == "/shared")
        assert (bob.status_code, bob.get_json()) == (200, ["bob's"])
    finally:
        event.remove(products.db.session, "do_orm_execute", tenants_rows)
