"""Collection routes at 100, 1,000 and 5,000 rows: 200 and 304, on SQLite and PostgreSQL.

Two routes list the same rows: ``@etag`` (a hash of the body: every 304 still queries and
renders everything) and ``@etag(CollectionGenerator(...))`` (the tag is read from the
table's version before the view: a 304 runs one small query).  Each request goes through the
Flask test client; the table shows the median of ``--requests`` timings in milliseconds,
the 200s first, then the 304s.

``--http`` measures the example instead, over HTTP: ``examples/products.py`` under gunicorn
on SQLite with 5,000 products, the 304 of a full 1,000-row page of ``GET /api/products``
against the 304 of ``GET /api/products/101``, in alternating blocks of one run, and prints
both medians and their ratio.

    python benchmarks/collection_pages.py                   # SQLite and PostgreSQL (127.0.0.1:5432)
    python benchmarks/collection_pages.py --databases sqlite
    python benchmarks/collection_pages.py --http            # the example under gunicorn

This script was ``benchmarks/collections.py`` until it was renamed: Python puts a script's
folder first on ``sys.path``, so a ``collections.py`` there shadowed the standard library's
``collections`` for every script run from ``benchmarks/``.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import importlib.metadata
import importlib.util
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from flask import Flask, Response, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_etag import ETag, etag
from flask_etag.sqlalchemy import CollectionGenerator, TableVersions

POSTGRES_URL = os.environ.get(
    "FLASK_ETAG_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SIZES = (100, 1_000, 5_000)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: The example's products in ``--http`` mode, and its largest page: the last full one.
HTTP_ROWS = 5_000
HTTP_PER_PAGE = 1_000
HTTP_PAGE_URL = f"/api/products?per_page={HTTP_PER_PAGE}&page={HTTP_ROWS // HTTP_PER_PAGE}"
#: The article's product, present in every database the example creates.
HTTP_ITEM_URL = "/api/products/101"
#: Requests per block: the two URLs alternate block by block, so a change in the machine's
#: load falls on both alike.
HTTP_BLOCK = 100


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Item(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bench_items"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    price_cents: Mapped[int] = mapped_column(sa.BigInteger)
    stock: Mapped[int] = mapped_column(sa.Integer)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "price": self.price_cents, "stock": self.stock}


table_versions = TableVersions(db.session, db.metadata)


def all_items() -> sa.Select[tuple[Item]]:
    return sa.select(Item).order_by(Item.id)


def rendered() -> Response:
    return jsonify([item.to_json() for item in db.session.scalars(all_items())])


def create_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)
    ETag(app)
    app.add_url_rule("/hashed", "hashed", etag(rendered))
    app.add_url_rule(
        "/collection", "collection", etag(CollectionGenerator(all_items, table_versions))(rendered)
    )
    with app.app_context():
        db.create_all()
    return app


def fill(app: Flask, rows: int) -> None:
    with app.app_context():
        db.session.execute(sa.delete(Item))
        db.session.add_all(
            Item(id=i, name=f"Wireless Headphones {i}", price_cents=12000 + i, stock=i % 50)
            for i in range(1, rows + 1)
        )
        db.session.commit()
        db.session.remove()


def timings(app: Flask, url: str, requests: int) -> tuple[float, float, int]:
    """Median milliseconds of a 200 and of a 304 revalidation, and the 200's size."""
    client = app.test_client()
    first = client.get(url)
    assert first.status_code == 200, first.status_code
    tag = first.headers["ETag"]
    full, revalidated = [], []
    for _ in range(requests):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        full.append(time.perf_counter() - started)
    # The 200s' garbage is collected first, so no 304 pays for a collection it did not cause.
    gc.collect()
    for _ in range(requests):
        started = time.perf_counter()
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
        revalidated.append(time.perf_counter() - started)
    return statistics.median(full) * 1000, statistics.median(revalidated) * 1000, len(first.data)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A SQLAlchemy URL of an empty SQLite file, or of a PostgreSQL schema dropped after."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    schema = f"flask_etag_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- over HTTP: the example under gunicorn ---------------------------------------------------


def load_example() -> ModuleType:
    """``examples/products.py`` as the module ``products``, the name gunicorn gives it."""
    spec = importlib.util.spec_from_file_location("products", EXAMPLES / "products.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["products"] = module
    spec.loader.exec_module(module)
    return module


def seed_example(url: str, rows: int) -> None:
    """Products 1 to ``rows`` (101 is the example's own) in one bulk insert.

    An ORM bulk ``insert()`` through the session raises the version of ``products`` in the
    same transaction, as any write does.
    """
    products = load_example()
    app = products.create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        products.db.session.execute(
            sa.insert(products.Product),
            [
                {
                    "id": i,
                    "name": f"Wireless Headphones {i}",
                    "price_cents": 12000 + i,
                    "stock": i % 50,
                    "version": uuid.uuid4().hex,
                }
                for i in range(1, rows + 1)
                if i != products.SEED_ID
            ],
        )
        products.db.session.commit()
        products.db.session.remove()
        products.db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn_example(url: str) -> Iterator[int]:
    """The example under gunicorn (one worker, one thread) on 127.0.0.1: its port."""
    port = _free_port()
    major = int(importlib.metadata.version("gunicorn").split(".")[0])
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread",
        "--threads", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "--chdir", str(EXAMPLES), *(["--no-control-socket"] if major >= 27 else []),
        "products:create_app()",
    ]  # fmt: skip
    environment = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": url}
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited early with status {server.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not listen within 30 s") from None
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def exchange(
    connection: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, str | None, bytes]:
    """One GET over the kept-alive connection: status, ETag and body."""
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response.status, response.getheader("ETag"), response.read()


def revalidation_timings(port: int, requests: int) -> dict[str, list[float]]:
    """Seconds per 304 of the largest page and of one item, in alternating blocks."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers: dict[str, dict[str, str]] = {}
    for path, listed in ((HTTP_PAGE_URL, HTTP_PER_PAGE), (HTTP_ITEM_URL, None)):
        status, tag, body = exchange(connection, path, {})
        assert status == 200 and tag, (path, status, tag)
        if listed is not None:
            assert body.count(b'"etag"') == listed, "the page is not a full page"
        headers[path] = {"If-None-Match": tag}
    timings: dict[str, list[float]] = {path: [] for path in headers}
    for block in range(-(-requests // HTTP_BLOCK) + 1):  # the first round warms up, untimed
        for path, sent in headers.items():
            for _ in range(HTTP_BLOCK):
                started = time.perf_counter()
                status, _, _ = exchange(connection, path, sent)
                elapsed = time.perf_counter() - started
                assert status == 304, (path, status)
                if block:
                    timings[path].append(elapsed)
    connection.close()
    return timings


def http_mode(requests: int) -> None:
    """The example's collection 304 against its item 304, over HTTP, in one run."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'products.sqlite3'}"
        seed_example(url, HTTP_ROWS)
        with gunicorn_example(url) as port:
            timings = revalidation_timings(port, requests)
    page, item = (statistics.median(timings[path]) * 1e6 for path in (HTTP_PAGE_URL, HTTP_ITEM_URL))
    print(
        f"examples/products.py under gunicorn (1 gthread worker, 1 thread), SQLite, "
        f"{HTTP_ROWS:,} products; {len(timings[HTTP_ITEM_URL])} requests per URL in "
        f"alternating blocks of {HTTP_BLOCK}, one kept-alive connection"
    )
    print(f"{'304 of':<40}{'median us':>10}{'p25 us':>9}{'p75 us':>9}")
    for path in (HTTP_PAGE_URL, HTTP_ITEM_URL):
        quartiles = statistics.quantiles(timings[path], n=4)
        median = statistics.median(timings[path]) * 1e6
        print(f"{path:<40}{median:>10.0f}{quartiles[0] * 1e6:>9.0f}{quartiles[2] * 1e6:>9.0f}")
    blocks = [
        statistics.median(timings[HTTP_PAGE_URL][start : start + HTTP_BLOCK])
        / statistics.median(timings[HTTP_ITEM_URL][start : start + HTTP_BLOCK])
        for start in range(0, len(timings[HTTP_ITEM_URL]), HTTP_BLOCK)
    ]
    print(
        f"collection 304 / item 304: {page / item:.2f} (ratio of the medians); "
        f"{statistics.median(blocks):.2f} (median of the {len(blocks)} blocks' ratios)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=15, help="timings per median")
    parser.add_argument("--http", action="store_true", help="the example under gunicorn instead")
    parser.add_argument(
        "--http-requests", type=int, default=3000, help="timed 304s per URL in --http mode"
    )
    arguments = parser.parse_args(argv)
    if arguments.http:
        http_mode(arguments.http_requests)
        return 0
    print("median ms per request; 304/200 is the revalidation's share of a full response")
    print(f"{'database':<11}{'rows':>6}{'KB':>7}  {'route':<11}{'200':>9}{'304':>9}{'304/200':>9}")
    for kind in arguments.databases:
        with database(kind) as url:
            app = create_app(url)
            for rows in SIZES:
                fill(app, rows)
                for route in ("hashed", "collection"):
                    full, revalidated, size = timings(app, f"/{route}", arguments.requests)
                    print(
                        f"{kind:<11}{rows:>6}{size / 1024:>7.0f}  {route:<11}"
                        f"{full:>9.2f}{revalidated:>9.2f}{revalidated / full:>9.1%}"
                    )
            with app.app_context():
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
