"""Writers and readers at once through Varnish, and which reads were stale (RFC 9111 §4.4).

The stack of ``tests/test_many_hosts.py``: three hosts of the example on one PostgreSQL
schema, behind real Varnish running ``examples/varnish.vcl``.  Writers chain increments of a
few new products with ``If-Match``, straight to the hosts in turn (Varnish never sees a
write: only the purges tell it), and each reads its product through Varnish right after its
write is acknowledged.  Readers read the products through Varnish all the while.

Every increment raises a product's stock by one, so the stock orders its states: a read is
stale when it shows a lower stock than a write acknowledged before the read began, and its
staleness is the time from the acknowledgement of the first write it missed to its start.
Used by ``tests/test_staleness_under_faults.py`` and ``benchmarks/staleness.py``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import requests
from support_caches import varnish_server
from support_processes import LOOPBACK, free_port, postgres_schema
from test_many_hosts import ITEM, TIMEOUT, example_hosts, new_product, set_stock, varnish_config

from flask_etag.settings import DEFAULTS

#: The default purge settings, which the hosts run with.
PURGE_TIMEOUT = cast(float, DEFAULTS["ETAG_PURGE_TIMEOUT"])
REPEAT_AFTER = cast(float, DEFAULTS["ETAG_PURGE_REPEAT_AFTER"])
#: How long after a write's acknowledgement a read through a purged cache may still miss it:
#: a read fetched before the commit and stored after the first purge lasts until the repeat,
#: due ``ETAG_PURGE_REPEAT_AFTER`` after the commit and confirmed within
#: ``ETAG_PURGE_TIMEOUT`` (2 s + 1 s by default).
STALENESS_BOUND = REPEAT_AFTER + PURGE_TIMEOUT
#: A reader's pause between reads, so that a few readers leave the hosts room on a small machine.
READ_PAUSE = 0.005
#: A writer's pause after a 412 (another writer came first) before it reads again.
RETRY_PAUSE = 0.01


@dataclass(frozen=True)
class AcknowledgedWrite:
    """A write that answered 200: the stock it set, and when (``time.monotonic()``)."""

    path: str
    stock: int
    acknowledged: float
    latency: float


@dataclass(frozen=True)
class ReadThroughCache:
    """What one read through the cache showed, and when it was sent."""

    path: str
    stock: int
    etag: str
    started: float
    cached: bool


@dataclass
class Traffic:
    """What the clients saw; lists only appended to (atomic in CPython), so threads share it."""

    products: list[str]
    writes: list[AcknowledgedWrite] = field(default_factory=list)
    reads: list[ReadThroughCache] = field(default_factory=list)
    #: Acknowledged writes whose writer's next read through the cache showed an older state.
    unseen_by_writer: list[AcknowledgedWrite] = field(default_factory=list)
    #: Requests that failed or answered what no client expected: the run is void.
    errors: list[str] = field(default_factory=list)

    def staleness(self) -> list[float]:
        """For each stale read, seconds from the acknowledgement of the first write it
        missed to the read's start."""
        earliest_after = {path: self._earliest_acknowledged_after(path) for path in self.products}
        stale = []
        for read in self.reads:
            after = earliest_after[read.path]
            missed_since = after[read.stock] if read.stock < len(after) else math.inf
            if missed_since < read.started:
                stale.append(read.started - missed_since)
        return stale

    def _earliest_acknowledged_after(self, path: str) -> list[float]:
        """Indexed by stock: the earliest acknowledgement of a write setting a higher one."""
        acknowledged = {
            write.stock: write.acknowledged for write in self.writes if write.path == path
        }
        top = max(acknowledged, default=0)
        earliest = [math.inf] * (top + 1)
        for stock in range(top, 0, -1):
            earliest[stock - 1] = min(earliest[stock], acknowledged.get(stock, math.inf))
        return earliest


@contextlib.contextmanager
def hosts_behind_varnish(
    folder: Path,
    *,
    purge: bool,
    also_purged: Sequence[str] = (),
    cache_control: str | None = None,
) -> Iterator[tuple[str, list[str]]]:
    """Varnish in front of three hosts; yields the cache's URL and the hosts'.

    :param purge: whether the hosts purge Varnish after each write.
    :param also_purged: purge targets listed before Varnish in ``ETAG_PURGE_URLS``.
    :param cache_control: the hosts' ``ETAG_CACHE_CONTROL``; by default the example's own
        (``s-maxage=60`` when it purges).
    """
    port = free_port()
    cache_url = f"http://{LOOPBACK}:{port}"
    targets = [*also_purged, cache_url] if purge else list(also_purged)
    config = {} if cache_control is None else {"FLASK_ETAG_CACHE_CONTROL": cache_control}
    with (
        postgres_schema("flask_etag_staleness") as database_url,
        example_hosts(folder, database_url, targets, config) as hosts,
        varnish_server(folder / "varnish", varnish_config(hosts), port, ITEM) as cache,
    ):
        yield cache, hosts


def concurrent_traffic(
    cache: str,
    hosts: list[str],
    *,
    products: int,
    writers: int,
    readers: int,
    seconds: float,
) -> Traffic:
    """Run ``writers`` and ``readers`` threads for ``seconds`` on ``products`` new products;
    the readers go on for :data:`STALENESS_BOUND` more, so that a stale read left by the last
    writes, which no later write purges, is seen."""
    session = requests.Session()
    traffic = Traffic([new_product(session, hosts[0])[0] for _ in range(products)])
    stop = time.monotonic() + seconds
    clients: list[Callable[[], None]] = [
        *(functools.partial(_write, traffic, cache, hosts, n, stop) for n in range(writers)),
        *(
            functools.partial(_read, traffic, cache, n, stop + STALENESS_BOUND)
            for n in range(readers)
        ),
    ]
    threads = [threading.Thread(target=_recording_errors(traffic, each)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return traffic


def lost_increments(traffic: Traffic, hosts: list[str]) -> list[str]:
    """Each product whose acknowledged increments are not 1, 2 ... n, each once, with n in
    the database, as the host reads it: what was acknowledged, and what is there."""
    lost = []
    for path in traffic.products:
        stocks = sorted(write.stock for write in traffic.writes if write.path == path)
        answer = requests.get(hosts[0] + path, timeout=TIMEOUT)
        stored = answer.json()["stock"] if answer.status_code == 200 else answer.status_code
        if stocks != list(range(1, len(stocks) + 1)) or stored != len(stocks):
            lost.append(f"{path}: {len(stocks)} acknowledged ({stocks[-3:]}...), stock {stored}")
    return lost


def _recording_errors(traffic: Traffic, client: Callable[[], None]) -> Callable[[], None]:
    """``client``, its failure recorded instead of lost in its thread."""

    def run() -> None:
        try:
            client()
        except Exception as error:
            traffic.errors.append(f"{type(error).__name__}: {error}")

    return run


def _write(traffic: Traffic, cache: str, hosts: list[str], number: int, stop: float) -> None:
    """Increment one product, each write chained on the state last seen, to the hosts in
    turn; after each acknowledgement, read the product back through the cache."""
    session = requests.Session()
    path = traffic.products[number % len(traffic.products)]
    current = _read_once(traffic, session, cache, path)
    turn = number
    while time.monotonic() < stop:
        began = time.monotonic()
        written = set_stock(
            session, hosts[turn % len(hosts)] + path, current.etag, current.stock + 1
        )
        turn += 1
        if written.status_code == 412:  # another writer came first: read again
            time.sleep(RETRY_PAUSE)
            current = _read_once(traffic, session, cache, path)
            continue
        if written.status_code != 200:
            traffic.errors.append(f"PATCH {path}: {written.status_code} {written.text}")
            return
        acknowledged = time.monotonic()
        write = AcknowledgedWrite(path, current.stock + 1, acknowledged, acknowledged - began)
        traffic.writes.append(write)
        seen = _read_once(traffic, session, cache, path)
        if seen.stock < write.stock:
            traffic.unseen_by_writer.append(write)
            # Chain on the write's own answer, not on the stale read, or every write
            # until the repeat purge would meet 412.
            seen = ReadThroughCache(path, write.stock, written.headers["ETag"], acknowledged, False)
        current = seen


def _read(traffic: Traffic, cache: str, number: int, stop: float) -> None:
    """Read the products through the cache in turn, until ``stop``."""
    session = requests.Session()
    turn = number
    while time.monotonic() < stop:
        _read_once(traffic, session, cache, traffic.products[turn % len(traffic.products)])
        turn += 1
        time.sleep(READ_PAUSE)


def _read_once(
    traffic: Traffic, session: requests.Session, cache: str, path: str
) -> ReadThroughCache:
    started = time.monotonic()
    answer = session.get(cache + path, timeout=TIMEOUT)
    if answer.status_code != 200:
        raise AssertionError(f"GET {path} through the cache: {answer.status_code} {answer.text}")
    read = ReadThroughCache(
        path,
        answer.json()["stock"],
        answer.headers["ETag"],
        started,
        answer.headers.get("X-Cache") == "HIT",
    )
    traffic.reads.append(read)
    return read
