"""How long a shared cache serves the old body after a write: without purges, and with them.

Three hosts of the example on one PostgreSQL schema, behind Varnish running
``examples/varnish.vcl`` (the same stack as ``tests/test_many_hosts.py``).  Each write goes
straight to a host and is acknowledged; right after the acknowledgement a reader polls the
item through Varnish every few milliseconds until it shows the write.  Reported per recipe:
the stale window (acknowledgement to first fresh read) and the stale reads served in it, and
the share of reads of an unchanged item that Varnish answered itself.

* **freshness only**: ``s-maxage=5`` and no purge, the way a shared cache is bounded without
  help from the app;
* **purge on write**: ``s-maxage=60`` and ``ETAG_PURGE_URLS`` naming Varnish.

Run from the repository root (needs PostgreSQL, varnish and varnish-modules)::

    .venv/bin/python benchmarks/staleness.py [--writes 20]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support_caches import varnish_server
from support_processes import LOOPBACK, free_port, postgres_schema
from test_many_hosts import ITEM, example_hosts, varnish_config

RECIPES = {
    "freshness only (s-maxage=5, no purge)": ("max-age=0, s-maxage=5, must-revalidate", False),
    "purge on write (s-maxage=60)": ("max-age=0, s-maxage=60, must-revalidate", True),
}
POLL_SECONDS = 0.005


@contextlib.contextmanager
def stack(folder: Path, cache_control: str, purge: bool) -> Iterator[tuple[str, list[str]]]:
    """Varnish in front of three hosts; yields the cache's URL and the hosts'."""
    port = free_port()
    cache_url = f"http://{LOOPBACK}:{port}"
    config = {"FLASK_ETAG_CACHE_CONTROL": cache_control}
    with (
        postgres_schema("flask_etag_staleness") as database_url,
        example_hosts(folder, database_url, [cache_url] if purge else [], config) as hosts,
        varnish_server(folder / "varnish", varnish_config(hosts), port, ITEM) as cache,
    ):
        yield cache, hosts


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=10, help="writes per recipe")
    arguments = parser.parse_args(argv)
    print(f"{'recipe':<40}{'window median':>15}{'max':>10}{'stale reads':>13}{'hits':>8}")
    for name, (cache_control, purge) in RECIPES.items():
        with (
            tempfile.TemporaryDirectory() as folder,
            stack(Path(folder), cache_control, purge) as (cache, hosts),
        ):
            result = measure(cache, hosts, arguments.writes)
        print(
            f"{name:<40}{result['median window ms']:>12.0f} ms{result['max window ms']:>7.0f} ms"
            f"{result['stale reads']:>13.0f}{result['hit share']:>8.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
