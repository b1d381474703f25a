"""The purge outbox: no crash between commit and purge, and no shutdown, loses an
invalidation (RFC 9111 §4.4).

The first tests drive the example with Flask's test client on SQLite: a write records its
purge in its own transaction, a write that rolls back records none, and the row is the
write's repeat, sent by any host.  The last ones are real processes on PostgreSQL: a host
killed with ``kill -9`` after its commit and before its purge, with real Varnish in front,
and a host stopped with SIGTERM while its purges are queued.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support_caches import varnish_server
from support_databases import dispose_after_test
from support_listeners import eventually, hung_cache, recording_cache, trickling_cache
from support_processes import (
    LOOPBACK,
    free_port,
    fresh_database,
    gunicorn_process,
    kill_process_group,
    postgres_schema,
)
from test_many_hosts import varnish_config
from test_shared_caches import ITEM, MERGE_PATCH, example, outbox_rows, products

from flask_etag import etag
from flask_etag.purging import SHUTDOWN_SECONDS
from flask_etag.sqlalchemy.outbox import POLL_SECONDS, PURGE_OUTBOX

APP = "examples.products:create_app()"
KEYS = "products/101 products"


def patch_stock(client: FlaskClient, stock: int) -> int:
    tag = client.get(ITEM).headers["ETag"]
    headers = {"If-Match": tag, "Content-Type": MERGE_PATCH}
    return client.patch(ITEM, json={"stock": stock}, headers=headers).status_code


# --------------------------------------------------------------------------- one process


def test_a_write_records_its_purge_in_its_own_transaction_rfc9111_4_4(tmp_path: Path) -> None:
    with recording_cache() as (url, got):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=60)
        app = client.application
        products.purge_outbox.stop(app)  # this test reads the rows before any sweep
        before = len(outbox_rows(app))
        assert patch_stock(client, 5) == 200
        rows = outbox_rows(app)
        assert len(rows) == before + 1
        assert rows[-1].purged_keys.split("\n") == KEYS.split()
        assert rows[-1].purged_paths == ITEM
        assert rows[-1].due >= (time.time() + 59) * 1_000_000
        assert got.surrogate_keys()[-1] == KEYS  # the first purge is still sent at once


def test_a_write_that_rolls_back_records_no_purge_rfc9111_4_4(tmp_path: Path) -> None:
    with recording_cache() as (url, _):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=60)
        app = client.application
        products.purge_outbox.stop(app)
        before = outbox_rows(app)
        with app.app_context():
            product = products.db.session.get(products.Product, 101)
            product.stock = 1
            products.db.session.flush()
            products.db.session.rollback()
        assert outbox_rows(app) == before


def test_a_write_after_a_rolled_back_savepoint_records_its_purge_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """The savepoint's outbox row rolled back with it: the same row written again after it
    must be recorded again, or its repeat is lost."""
    with recording_cache() as (url, _):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=60)
        app = client.application
        products.purge_outbox.stop(app)
        before = len(outbox_rows(app))
        session = products.db.session
        with app.app_context():
            with contextlib.suppress(RuntimeError), session.begin_nested():
                session.get(products.Product, 101).stock = 1
                session.flush()
                raise RuntimeError("the savepoint fails")
            session.get(products.Product, 101).stock = 2
            session.commit()
        rows = outbox_rows(app)
        assert len(rows) == before + 1
        assert "products/101" in rows[-1].purged_keys.split("\n")


def test_an_import_of_thousands_of_rows_commits_with_its_purge_recorded_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """6,000 rows in one transaction name 90 KB of keys, more than MariaDB's ``TEXT``
    holds: the outbox row failed, and the import with it.  It records the table's items."""
    with (
        recording_cache() as (url, got),
        fresh_database("mariadb", tmp_path, "flask_etag_import") as database_url,
    ):
        app = products.create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "ETAG_PURGE_URLS": [url],
                "ETAG_PURGE_REPEAT_AFTER": 60,
            }
        )
        dispose_after_test(app)
        products.purge_outbox.stop(app)
        imported = [
            products.Product(id=1000 + n, name="n", price_cents=1, stock=1) for n in range(6000)
        ]
        with app.app_context():
            products.db.session.add_all(imported)
            products.db.session.commit()
            count = sa.select(sa.func.count()).select_from(products.Product)
            assert products.db.session.scalar(count) == 6001
        recorded = outbox_rows(app)[-1].purged_keys.split("\n")
        assert set(recorded) == {"products", "products/*"}
        first = [key for keys in got.surrogate_keys() for key in keys.split()]
        assert {"products", "products/1000", "products/6999"} <= set(first)  # row by row


def test_a_large_write_keeps_its_routes_own_keys_in_its_record_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """A decorated write of thousands of rows whose route names its own key
    (``products/featured``): the record gives the rows by their table's items, but the
    route's key must stay as it is, or the repeat misses the reads that carry it."""
    with recording_cache() as (url, _):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=60)
        app = client.application
        products.purge_outbox.stop(app)

        @app.post("/restock")
        @etag(products.product_pages, surrogate_keys=("products/featured",))
        def restock() -> tuple[str, int]:
            rows = [
                products.Product(id=1000 + n, name="n", price_cents=1, stock=1) for n in range(2000)
            ]
            products.db.session.add_all(rows)
            products.db.session.commit()
            return "", 204

        assert client.post("/restock").status_code == 204
        recorded = outbox_rows(app)[-1].purged_keys.split("\n")
        assert "products/*" in recorded
        assert "products/featured" in recorded


def test_the_outbox_sends_the_repeat_once_and_forgets_it_rfc9111_4_4(tmp_path: Path) -> None:
    """The repeat comes from the outbox (not from memory too): one first purge, one repeat."""
    repeat_after = 0.3
    with recording_cache() as (url, got):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=repeat_after)
        eventually(lambda: not outbox_rows(client.application), 5)  # the seeding's
        got.purges.clear()
        written = time.monotonic()
        assert patch_stock(client, 6) == 200
        eventually(lambda: len(got.purges) == 2, 5)
        time.sleep(repeat_after + 2 * POLL_SECONDS)
        assert got.surrogate_keys() == [KEYS, KEYS]
        repeated = got.purges[1][0] - written
        assert repeat_after <= repeated < repeat_after + POLL_SECONDS + 0.5
        assert outbox_rows(client.application) == []


def test_a_write_that_flushed_long_before_its_commit_is_repeated_after_the_commit_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """A write that flushes, then spends a while on something else (a payment API) before
    it commits: its outbox row was dated at the flush, so the sweeper sent the repeat at
    once after the commit, and a read fetched before the commit and stored after the first
    purge stayed stale for its whole ``s-maxage``."""
    repeat_after, slow_step = 1.0, 1.5
    with recording_cache() as (url, got):
        client = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=repeat_after)
        app = client.application

        @app.post("/restock-slowly")
        @etag(products.product_pages)
        def restock_slowly() -> tuple[str, int]:
            products.db.session.get(products.Product, 101).stock = 3
            products.db.session.flush()
            time.sleep(slow_step)
            products.db.session.commit()
            return "", 204

        eventually(lambda: not outbox_rows(app), 5)  # the seeding's
        got.purges.clear()
        assert client.post("/restock-slowly").status_code == 204
        eventually(lambda: len(got.purges) == 2, 5)
        first, repeat = (purge.at for purge in got.purges)
        assert repeat - first >= repeat_after - 0.1


def test_another_host_sends_what_a_host_never_purged_rfc9111_4_4(tmp_path: Path) -> None:
    """Host A's purge never arrives (its cache is down at the write); host B, of the same
    app on the same database, finds the due row and purges the cache once it is back."""
    port = free_port()
    host_a = example(
        tmp_path, ETAG_PURGE_URLS=[f"http://{LOOPBACK}:{port}"], ETAG_PURGE_REPEAT_AFTER=0.3
    )
    products.purge_outbox.stop(host_a.application)  # A is "gone" after its write
    assert patch_stock(host_a, 7) == 200
    with recording_cache(port) as (url, got):
        host_b = example(tmp_path, ETAG_PURGE_URLS=[url], ETAG_PURGE_REPEAT_AFTER=0.3)
        eventually(lambda: KEYS in got.surrogate_keys(), 5)
        eventually(lambda: not outbox_rows(host_b.application), 5)


def test_an_app_never_sends_another_apps_purges_to_its_own_caches_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """Two apps on one database, each behind caches of its own (a public API and an admin
    app, or one app with two settings): app B's sweeper claimed app A's due row, purged it
    at B's caches and deleted it, so A's caches never got the write's repeat, and the read
    the repeat is for stayed stale there for its whole ``s-maxage``.  A row is the repeat of
    the purge its writer sent: only a host with the writer's caches sends it."""
    with recording_cache() as (cache_a, got_a), recording_cache() as (cache_b, got_b):
        app_a = example(tmp_path, ETAG_PURGE_URLS=[cache_a], ETAG_PURGE_REPEAT_AFTER=0.3)
        eventually(lambda: not outbox_rows(app_a.application), 5)  # the seeding's
        products.purge_outbox.stop(app_a.application)  # A's hosts are busy, not gone
        app_b = example(tmp_path, ETAG_PURGE_URLS=[cache_b], ETAG_PURGE_REPEAT_AFTER=0.3)
        got_a.purges.clear()
        assert patch_stock(app_a, 7) == 200
        assert got_a.surrogate_keys() == [KEYS]  # the first purge, before the answer
        time.sleep(0.3 + 3 * POLL_SECONDS)  # B's sweeper polled thrice since it was due
        assert KEYS not in got_b.surrogate_keys()
        assert len(outbox_rows(app_b.application)) == 1
        with app_a.application.app_context():
            assert products.purge_outbox.send_due(app_a.application) == 1
        assert got_a.surrogate_keys() == [KEYS, KEYS]


def test_init_app_needs_flask_etag_first() -> None:
    app = Flask(__name__)
    with pytest.raises(RuntimeError, match=r"ETag\(app\) first"):
        products.purge_outbox.init_app(app)


# --------------------------------------------------------------------------- real processes


@contextlib.contextmanager
def host(database_url: str, purge_urls: list[str], **config: str) -> Iterator[Any]:
    """The example under gunicorn (2 threads) on ``database_url``."""
    environment = {
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        "FLASK_ETAG_PURGE_URLS": json.dumps(purge_urls),
        **{f"FLASK_{name}": value for name, value in config.items()},
    }
    with gunicorn_process(
        APP, threads=4, env=environment, ready_path=ITEM, extra_args=["--graceful-timeout=30"]
    ) as server:
        yield server


def stock_through(session: requests.Session, cache: str) -> int:
    return int(session.get(cache + ITEM).json()["stock"])


@pytest.mark.slow
def test_a_host_killed_between_commit_and_purge_leaves_nothing_stale_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """Varnish keeps the item; host A commits a write and dies (``kill -9``) while its purge
    is still on its way; host B's sweeper purges Varnish within the repeat delay."""
    port = free_port()
    cache_url = f"http://{LOOPBACK}:{port}"
    session = requests.Session()
    with (
        postgres_schema("flask_etag_outbox") as database_url,
        hung_cache() as hung,
        host(database_url, [cache_url]) as host_b,
        varnish_server(tmp_path / "varnish", varnish_config([host_b.url]), port, ITEM) as cache,
    ):
        with host(database_url, [hung], ETAG_PURGE_TIMEOUT="30") as host_a:
            before = stock_through(session, cache)
            assert stock_through(session, cache) == before  # kept by Varnish
            tag = session.get(host_a.url + ITEM).headers["ETag"]
            headers = {"If-Match": tag, "Content-Type": MERGE_PATCH}
            writer = threading.Thread(
                target=lambda: _ignore_errors(
                    session.patch, host_a.url + ITEM, json={"stock": before + 1}, headers=headers
                )
            )
            writer.start()
            eventually(lambda: _stock_at(host_b.url) == before + 1, 10)  # committed
            committed = time.monotonic()
            kill_process_group(host_a.process)
            writer.join()
        assert stock_through(session, cache) == before  # A never purged Varnish ...
        eventually(lambda: stock_through(session, cache) == before + 1, 10)  # ... B did
        stale_for = time.monotonic() - committed
    assert stale_for < 2.0 + POLL_SECONDS + 1.0, f"stale for {stale_for:.2f} s"


def _stock_at(url: str) -> int:
    return int(requests.get(url + ITEM, timeout=5).json()["stock"])


def _ignore_errors(call: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(requests.RequestException):
        call(*args, **kwargs)


@pytest.mark.slow
def test_sigterm_sends_queued_purges_and_leaves_the_rest_to_the_outbox_rfc9111_4_4() -> None:
    """With a hung and a trickling cache beside a working one, a SIGTERM'd host exits well
    inside gunicorn's graceful timeout; every acknowledged write's first purge reached the
    working cache, and the repeats it had not sent are sent by the next host."""
    with (
        postgres_schema("flask_etag_shutdown") as database_url,
        hung_cache() as hung,
        trickling_cache() as trickling,
        recording_cache() as (url, got),
    ):
        with host(database_url, [hung, trickling, url], ETAG_PURGE_REPEAT_AFTER="60") as server:
            acknowledged = _write_concurrently(server.url, writes=12)
            started = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)
            server.process.wait(30)
            stopped_in = time.monotonic() - started
        first_purges = len(got.purges)
        assert first_purges >= acknowledged
        # The next host has the same caches: a host sends only the rows of its own caches.
        with host(database_url, [hung, trickling, url], ETAG_PURGE_REPEAT_AFTER="0.2") as _:
            # The waiting repeats are not due for a minute: the next host sends them then.
            _make_all_due(database_url)
            eventually(lambda: len(got.purges) >= first_purges + acknowledged, 10)
    assert stopped_in < SHUTDOWN_SECONDS + 3.0, f"SIGTERM took {stopped_in:.1f} s"


def _write_concurrently(base_url: str, writes: int) -> int:
    """Chained increments from 3 threads; how many were acknowledged."""
    acknowledged = 0
    lock = threading.Lock()

    def writer() -> None:
        nonlocal acknowledged
        for _ in range(writes // 3):
            for _attempt in range(20):
                current = requests.get(base_url + ITEM, timeout=30)
                headers = {"If-Match": current.headers["ETag"], "Content-Type": MERGE_PATCH}
                stock = current.json()["stock"] + 1
                answer = requests.patch(
                    base_url + ITEM, json={"stock": stock}, headers=headers, timeout=30
                )
                if answer.status_code == 200:
                    with lock:
                        acknowledged += 1
                    break

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged


def _make_all_due(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"UPDATE {PURGE_OUTBOX} SET due = 0"))
    finally:
        engine.dispose()
