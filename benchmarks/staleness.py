"""How long a shared cache serves the old body after a write: without purges, and with them,
with one writer and with several at once, beside healthy and broken purge targets.

Three hosts of the example on one PostgreSQL schema, behind Varnish running
``examples/varnish.vcl`` (the same stack as ``tests/test_many_hosts.py``).

**One writer**: each write goes straight to a host and is acknowledged; right after the
acknowledgement a reader polls the item through Varnish every few milliseconds until it shows
the write.  Reported per recipe: the stale window (acknowledgement to first fresh read) and
the stale reads served in it, and the share of reads of an unchanged item that Varnish
answered itself.

* **freshness only**: ``s-maxage=5`` and no purge, the way a shared cache is bounded without
  help from the app;
* **purge on write**: ``s-maxage=60`` and ``ETAG_PURGE_URLS`` naming Varnish.

**Writers and readers at once** (``tests/support_staleness.py``): writers chain increments of
two products with ``If-Match``, straight to the hosts in turn, each reading its product
through Varnish right after its acknowledgement; readers read both through Varnish all the
while, and for the staleness bound after the writers stop.  A read is stale when it shows an
older state than a write acknowledged before it began; its staleness is the time since the
acknowledgement of the first write it missed.  Reported: acknowledged writes, reads, stale
reads, writes whose own writer then read the older state, the longest staleness, the stale
reads beyond the bound (``ETAG_PURGE_REPEAT_AFTER`` + ``ETAG_PURGE_TIMEOUT``, 3 s), the
write latency, and the share of reads that Varnish answered itself.

* **purge on write**: as above, Varnish the only target;
* **purge on write, a hung and a trickling target beside Varnish**: ``ETAG_PURGE_URLS``
  also names a listener that never answers and one that answers a byte every 0.2 s.

Every acknowledged increment is checked to be in the database; a lost one, or a request
that failed, stops the run with a non-zero exit.

Run from the repository root (needs PostgreSQL, varnish and varnish-modules; about two
minutes with the defaults)::

    .venv/bin/python benchmarks/staleness.py [--writes 10] [--seconds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support_listeners import hung_cache, trickling_cache
from support_staleness import (
    STALENESS_BOUND,
    Traffic,
    concurrent_traffic,
    hosts_behind_varnish,
    lost_increments,
)
from test_many_hosts import ITEM

#: With one writer: the hosts' Cache-Control (None: the example's own, s-maxage=60 when it
#: purges), and whether they purge Varnish.
RECIPES = {
    "freshness only (s-maxage=5, no purge)": ("max-age=0, s-maxage=5, must-revalidate", False),
    "purge on write (s-maxage=60)": (None, True),
}
#: With several writers: whether a hung and a trickling target are purged beside Varnish.
CONCURRENT_RECIPES = {
    "purge on write (s-maxage=60)": False,
    "purge on write, hung + trickling targets too": True,
}
POLL_SECONDS = 0.005


def measure(cache: str, hosts: list[str], writes: int) -> dict[str, float]:
    session = requests.Session()
    windows: list[float] = []
    stale_reads = hits = reads = 0
    tag = session.get(hosts[0] + ITEM).headers["ETag"]
    for number in range(1, writes + 1):
        for _ in range(10):  # an unchanged item, read again and again
            reads += 1
            hits += session.get(cache + ITEM).headers.get("X-Cache") == "HIT"
        written = session.patch(
            hosts[number % len(hosts)] + ITEM,
            json={"stock": number},
            headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"},
        )
        written.raise_for_status()
        acknowledged = time.monotonic()
        tag = written.headers["ETag"]
        while session.get(cache + ITEM).json()["stock"] != number:
            stale_reads += 1
            time.sleep(POLL_SECONDS)
        windows.append(time.monotonic() - acknowledged)
    return {
        "median window ms": 1000 * statistics.median(windows),
        "max window ms": 1000 * max(windows),
        "stale reads": stale_reads,
        "hit share": hits / reads,
    }


def measure_concurrent(folder: Path, faulty: bool, arguments: argparse.Namespace) -> Traffic:
    """Writers and readers at once through Varnish; exits if a request failed or an
    acknowledged write is not in the database."""
    with contextlib.ExitStack() as stack:
        also_purged = (
            [stack.enter_context(hung_cache()), stack.enter_context(trickling_cache())]
            if faulty
            else []
        )
        cache, hosts = stack.enter_context(
            hosts_behind_varnish(folder, purge=True, also_purged=also_purged)
        )
        traffic = concurrent_traffic(
            cache,
            hosts,
            products=arguments.products,
            writers=arguments.writers,
            readers=arguments.readers,
            seconds=arguments.seconds,
        )
        lost = lost_increments(traffic, hosts)
    if traffic.errors or lost:
        raise SystemExit(f"failed requests: {traffic.errors[:5]}; lost increments: {lost}")
    return traffic


#: The concurrent table's columns after the recipe, and their widths.
CONCURRENT_COLUMNS = {
    "writes": 8,
    "reads": 8,
    "stale reads": 13,
    "writer saw stale": 18,
    "max staleness": 15,
    "beyond bound": 14,
    "write median / max": 20,
    "hits": 7,
}


def concurrent_cells(traffic: Traffic) -> list[str]:
    """One row of the concurrent table, a cell per :data:`CONCURRENT_COLUMNS`."""
    stale = traffic.staleness()
    writes = len(traffic.writes)
    unseen = len(traffic.unseen_by_writer)
    beyond = sum(seconds > STALENESS_BOUND for seconds in stale)
    latencies = [write.latency for write in traffic.writes]
    return [
        f"{writes}",
        f"{len(traffic.reads)}",
        f"{len(stale)}",
        f"{unseen} ({unseen / writes:.1%})",
        f"{1000 * max(stale, default=0):.1f} ms",
        f"{beyond} ({beyond / max(len(stale), 1):.0%})",
        f"{1000 * statistics.median(latencies):.0f} / {1000 * max(latencies):.0f} ms",
        f"{sum(read.cached for read in traffic.reads) / len(traffic.reads):.0%}",
    ]


def concurrent_row(name: str, cells: list[str]) -> str:
    widths = CONCURRENT_COLUMNS.values()
    return f"{name:<44}" + "".join(
        cell.rjust(width) for cell, width in zip(cells, widths, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=10, help="writes per one-writer recipe")
    parser.add_argument("--seconds", type=float, default=15, help="writing, per concurrent recipe")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers")
    parser.add_argument("--readers", type=int, default=4, help="concurrent readers")
    parser.add_argument("--products", type=int, default=2, help="products the writers share")
    arguments = parser.parse_args(argv)
    print("One writer")
    print(f"{'recipe':<40}{'window median':>15}{'max':>10}{'stale reads':>13}{'hits':>8}")
    for name, (cache_control, purge) in RECIPES.items():
        with (
            tempfile.TemporaryDirectory() as folder,
            hosts_behind_varnish(Path(folder), purge=purge, cache_control=cache_control) as (
                cache,
                hosts,
            ),
        ):
            result = measure(cache, hosts, arguments.writes)
        print(
            f"{name:<40}{result['median window ms']:>12.0f} ms{result['max window ms']:>7.0f} ms"
            f"{result['stale reads']:>13.0f}{result['hit share']:>8.0%}"
        )
    print(
        f"\n{arguments.writers} writers and {arguments.readers} readers at once, "
        f"{arguments.seconds:g} s; the bound: {STALENESS_BOUND:g} s after an acknowledged write"
    )
    print(concurrent_row("recipe", list(CONCURRENT_COLUMNS)))
    for name, faulty in CONCURRENT_RECIPES.items():
        with tempfile.TemporaryDirectory() as folder:
            traffic = measure_concurrent(Path(folder), faulty, arguments)
        print(concurrent_row(name, concurrent_cells(traffic)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
