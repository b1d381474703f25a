"""Collection routes at 100, 1,000 and 5,000 rows: 200 and 304, on SQLite and PostgreSQL.

Two routes list the same rows: ``@etag`` (a hash of the body: every 304 still queries and
renders everything) and ``@etag(CollectionGenerator(...))`` (the tag is read from the
table's version before the view: a 304 runs one small query).  Each request goes through the
Flask test client; the table shows the median of ``--requests`` timings in milliseconds,
the 200s first, then the 304s.

    python benchmarks/collection_pages.py                   # SQLite and PostgreSQL (127.0.0.1:5432)
    python benchmarks/collection_pages.py --databases sqlite
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=15, help="timings per median")
    arguments = parser.parse_args(argv)
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
