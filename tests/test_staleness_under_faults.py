"""A hung and a trickling purge target beside a healthy Varnish: Varnish is never stale
beyond the bound, no write is lost, and writes soon stop waiting for the bad targets.

Three hosts of the example on one PostgreSQL schema behind real Varnish purge every write
at ``ETAG_PURGE_URLS`` = [a listener that never answers, one that trickles a byte every
0.2 s, Varnish], with the default purge settings.  Four writers chain increments with
``If-Match`` on two products, straight to the hosts in turn, and two readers read them
through Varnish (:mod:`support_staleness`).  So:

* no read through Varnish misses a write acknowledged more than ``ETAG_PURGE_REPEAT_AFTER``
  + ``ETAG_PURGE_TIMEOUT`` (3 s) before it began (RFC 9111 §4.4): the bad targets hold up
  neither the first purge nor the repeat;
* every acknowledged increment is kept, once (RFC 9110 §13.1.1);
* the first writes on each host wait for the bad targets until they are backed off (which
  shows the faults are there), the others do not.

The scenario runs once (about 12 s of traffic, and the readers 3 s more); each test checks
one of its outcomes.  The first test checks, without processes, how reads are judged.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from support_listeners import hung_cache, trickling_cache
from support_staleness import (
    PURGE_TIMEOUT,
    STALENESS_BOUND,
    AcknowledgedWrite,
    ReadThroughCache,
    Traffic,
    concurrent_traffic,
    hosts_behind_varnish,
    lost_increments,
)
from test_many_hosts import HOSTS

from flask_etag.purge_breaker import FAILURES_TO_OPEN

WRITERS, READERS, PRODUCTS = 4, 2, 2
SECONDS = 12.0
#: Acknowledged writes of one product, not in the order of their stocks: the answer to the
#: write of stock 2 came after the one to stock 3 (it waited longer for its purge).
WRITES = [(1, 10.0), (2, 10.5), (3, 10.2)]


@pytest.mark.parametrize(
    ("stock", "started", "staleness"),
    [
        pytest.param(0, 9.0, None, id="before-any-acknowledgement-fresh"),
        pytest.param(0, 10.0, None, id="at-the-acknowledgement-fresh"),
        pytest.param(0, 10.1, 0.1, id="missed-the-first-write-rfc9111_4_4"),
        pytest.param(1, 10.3, 0.1, id="missed-a-later-write-answered-first-rfc9111_4_4"),
        pytest.param(1, 12.0, 1.8, id="from-the-first-write-missed-not-the-newest-rfc9111_4_4"),
        pytest.param(3, 12.0, None, id="the-newest-state-fresh"),
        pytest.param(4, 12.0, None, id="a-write-not-yet-acknowledged-fresh"),
    ],
)
def test_a_read_is_stale_from_the_first_acknowledged_write_it_missed(
    stock: int, started: float, staleness: float | None
) -> None:
    writes = [AcknowledgedWrite("/p", number, moment, 0.01) for number, moment in WRITES]
    traffic = Traffic(["/p", "/q"], writes, [ReadThroughCache("/p", stock, "", started, True)])
    traffic.reads.append(ReadThroughCache("/q", 0, "", 12.0, True))  # nothing written there
    assert traffic.staleness() == ([] if staleness is None else [pytest.approx(staleness)])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Traffic, list[str]]]:
    """The scenario's traffic, and the hosts' URLs to read the products' final state from."""
    folder: Path = tmp_path_factory.mktemp("staleness-under-faults")
    with (
        hung_cache() as hung,
        trickling_cache() as trickling,
        hosts_behind_varnish(folder, purge=True, also_purged=[hung, trickling]) as (cache, hosts),
    ):
        traffic = concurrent_traffic(
            cache, hosts, products=PRODUCTS, writers=WRITERS, readers=READERS, seconds=SECONDS
        )
        assert traffic.errors == []
        yield traffic, hosts


@pytest.mark.slow
def test_no_read_through_varnish_is_stale_beyond_the_bound_rfc9111_4_4(
    scenario: tuple[Traffic, list[str]],
) -> None:
    traffic, _ = scenario
    # Many writes, and Varnish answered reads itself between them: a cache that stores
    # nothing is never stale, and would pass.
    writes, reads = len(traffic.writes), len(traffic.reads)
    assert writes >= 50
    assert sum(read.cached for read in traffic.reads) >= reads / 4, reads
    stale = traffic.staleness()
    beyond = [round(seconds, 3) for seconds in stale if seconds > STALENESS_BOUND]
    assert beyond == [], f"{len(stale)} stale reads; these beyond {STALENESS_BOUND} s"


@pytest.mark.slow
def test_no_acknowledged_increment_is_lost_rfc9110_13_1_1(
    scenario: tuple[Traffic, list[str]],
) -> None:
    traffic, hosts = scenario
    assert lost_increments(traffic, hosts) == []


@pytest.mark.slow
def test_writes_stop_waiting_for_a_hung_and_a_trickling_target_rfc9111_4_4(
    scenario: tuple[Traffic, list[str]],
) -> None:
    """A write waits at most ``ETAG_PURGE_TIMEOUT`` for the targets in use; each host backs
    a target off after its third failure in a row, so only the writes each host queued
    before that waited (at most ``FAILURES_TO_OPEN`` + the writers in flight)."""
    traffic, _ = scenario
    latencies = [write.latency for write in traffic.writes]
    waited = [latency for latency in latencies if latency > PURGE_TIMEOUT / 2]
    assert waited, "no write waited for the hung and trickling targets: were they purged?"
    assert max(latencies) < PURGE_TIMEOUT + 1.0  # its deadline, and a busy machine's delays
    assert len(waited) <= HOSTS * (FAILURES_TO_OPEN + WRITERS - 1), sorted(latencies)[-20:]
    assert statistics.median(latencies) < PURGE_TIMEOUT / 5
