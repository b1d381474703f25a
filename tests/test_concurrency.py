"""No lost updates under real concurrency (issue 3, item 4).

The example product API runs under gunicorn on loopback, 4 worker processes x 4 threads,
against SQLite (a fresh file) and PostgreSQL (a fresh schema).  Eight clients each make 25
read-modify-write increments of product 101's ``stock`` with ``PATCH`` + ``If-Match``; on 412
they fetch the product again and retry, and after a successful write they chain on the tag
of that write's own response (RFC 9110 §13.1.1, §15.3.1), without a GET.

If the check made before the view were the only guard, two clients holding the same tag could
both pass it and one increment would vanish.  The example writes compare-and-set
(``UPDATE ... WHERE id = ? AND version = ?`` through ``version_id_col``), so the final stock
must be exactly the start plus the number of successful writes, every successful write must
have produced a distinct stock value, and no request may fail with a 5xx (SQLite "database
is locked" included).  Conflicts (412) must actually have happened, or the test proved nothing.

Run with ``pytest -s tests/test_concurrency.py`` to see one summary line per backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from support_processes import fresh_database, gunicorn_server

pytestmark = pytest.mark.slow

WORKERS = 4
THREADS = 4
CLIENTS = 8
INCREMENTS_PER_CLIENT = 25

#: Product 101 is seeded by the example in every fresh database.
PRODUCT_PATH = "/api/products/101"

#: Hard bounds: one request, and the whole run (every client stops at this deadline).
REQUEST_TIMEOUT_SECONDS = 30.0
RUN_TIMEOUT_SECONDS = 240.0
#: A client gives up after this many attempts (successes + conflicts + errors).
MAX_ATTEMPTS_PER_CLIENT = INCREMENTS_PER_CLIENT * 40


@dataclass
class ClientResult:
    """What one client saw: stock values its writes produced, conflicts and failures."""

    produced_stocks: list[int] = field(default_factory=list)
    conflicts: int = 0
    #: Answers other than 200 and 412 (a 5xx included), and a missed deadline.
    failures: list[str] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for the example: a SQLite file, a PostgreSQL schema or a MariaDB
    database of its own."""
    with fresh_database(request.param, tmp_path, "flask_etag_load") as url:
        yield url


def test_concurrent_increments_lose_nothing(database_url: str) -> None:
    """RFC 9110 §13.1.1 If-Match + compare-and-set: every acknowledged increment is kept."""
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    with gunicorn_server(
        "examples.products:create_app()",
        workers=WORKERS,
        threads=THREADS,
        env={"FLASK_SQLALCHEMY_DATABASE_URI": database_url},
        ready_path=PRODUCT_PATH,
    ) as base_url:
        url = base_url + PRODUCT_PATH
        start_stock = read_product(url)[1]
        started = time.monotonic()
        results = run_clients(url)
        seconds = time.monotonic() - started
        final_stock = read_product(url)[1]

    produced = sorted(stock for result in results for stock in result.produced_stocks)
    writes = len(produced)
    conflicts = sum(result.conflicts for result in results)
    failures = [failure for result in results for failure in result.failures]
    lost = start_stock + writes - final_stock
    server_errors = sum(failure.startswith("5") for failure in failures)
    print(
        f"\nload test [{backend}]: clients={CLIENTS} writes={writes} conflicts={conflicts} "
        f"lost={lost} 5xx={server_errors} other_errors={len(failures) - server_errors} "
        f"seconds={seconds:.1f} (gunicorn {WORKERS} workers x {THREADS} threads)"
    )
    assert failures == []
    assert writes == CLIENTS * INCREMENTS_PER_CLIENT
    assert lost == 0, f"stock {final_stock} != {start_stock} + {writes} acknowledged writes"
    # Each acknowledged write saw a distinct state: a lost update would repeat a value.
    assert produced == list(range(start_stock + 1, start_stock + writes + 1))
    assert conflicts > 0, "no 412 happened, so the clients never actually raced"


def read_product(url: str, session: requests.Session | None = None) -> tuple[str, int]:
    """GET the product: its ``ETag`` and ``stock``."""
    response = (session or requests).get(url, timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 200, response.text
    return response.headers["ETag"], int(response.json()["stock"])


def run_clients(url: str) -> list[ClientResult]:
    """Run the clients in threads, started together, each bounded by the run deadline."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    start_together = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [
            pool.submit(increment_repeatedly, url, start_together, deadline) for _ in range(CLIENTS)
        ]
        return [
            future.result(timeout=RUN_TIMEOUT_SECONDS + REQUEST_TIMEOUT_SECONDS)
            for future in futures
        ]


def increment_repeatedly(
    url: str, start_together: threading.Barrier, deadline: float
) -> ClientResult:
    """One client: read, then increment ``stock`` until 25 writes succeeded.

    After a successful write the next ``If-Match`` is that write's own response tag; after a
    412 the product is read again.  A 5xx is recorded and the product re-read.
    """
    result = ClientResult()
    with requests.Session() as session:
        tag, stock = read_product(url, session)
        start_together.wait(timeout=REQUEST_TIMEOUT_SECONDS)
        for _attempt in range(MAX_ATTEMPTS_PER_CLIENT):
            if len(result.produced_stocks) == INCREMENTS_PER_CLIENT:
                break
            if time.monotonic() > deadline:
                result.failures.append("run deadline reached")
                break
            response = session.patch(
                url,
                json={"stock": stock + 1},
                headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            if response.status_code == 200:
                written = int(response.json()["stock"])
                assert written == stock + 1, "the response body is not the state written"
                result.produced_stocks.append(written)
                tag, stock = response.headers["ETag"], written
                continue
            if response.status_code == 412:
                result.conflicts += 1
            else:
                result.failures.append(f"{response.status_code}: {response.text[:300]}")
            tag, stock = read_product(url, session)
    return result
