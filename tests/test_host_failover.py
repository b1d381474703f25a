"""One of three hosts dies behind Varnish: health probes take it out, retries hide it.

The stack of ``tests/test_many_hosts.py``: three gunicorn hosts of the example on one
PostgreSQL schema, behind real Varnish running ``examples/varnish.vcl`` with the several-hosts
recipe of its comment (a round robin, a shard director for retries, the ``healthz`` probe on
every backend).  The hosts purge nothing, so their reads say ``no-cache`` and every read
reaches a host, as a cache miss does.

Clients read (GET, HEAD), write (PATCH with ``If-Match``) and create (POST) through Varnish
while one host is killed with SIGKILL, master and workers at once.  Right after, a stand-in
takes the dead host's port: it answers Varnish's probes 503, and plays a host that dies
mid-request with every other request: it has a live host apply it, then drops the connection
unanswered.  It notes when each request arrived.  So:

* reads never see a 503: the requests the dead host failed were retried on another host
  (RFC 9110 §9.2.2), and the stand-in proves there were such requests;
* after the probe window the VCL states, not one request reaches the dead host's port,
  though Varnish still probes it;
* conditional writes keep working on the other hosts and lose nothing; a PATCH retried after
  it applied gets 412, never a second write (§13.1.1);
* a POST is never sent twice: one that met the dead host got 503, and was created once.

The scenario runs once (about 6 s of traffic); each test checks one of its outcomes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import re
import socket
import socketserver
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from support_caches import varnish_server
from support_processes import (
    LOOPBACK,
    REPO_ROOT,
    free_port,
    kill_process_group,
    postgres_schema,
)
from test_many_hosts import (
    COLLECTION,
    ITEM,
    MERGE_PATCH,
    PROBE,
    TIMEOUT,
    VCL,
    example_servers,
    new_product,
    several_hosts_recipe,
    varnish_config,
)

pytestmark = pytest.mark.slow

#: Traffic through Varnish before the kill, so every host is in the rotation and busy.
WARM_UP = 1.0
#: Traffic after the probe window, in which the dead host's port must see no request.
WATCHED_AFTER = 3.0
#: A request the director handed to the host just before the probe marked it sick is still
#: on its way; and the stand-in notes arrivals from a thread of this busy process.
IN_FLIGHT = 0.25
READERS, WRITERS, CREATORS = 4, 2, 1
#: What the readers read through Varnish, in turn, each with GET and with HEAD.
READ_PATHS = (ITEM, COLLECTION, f"{COLLECTION}?page=1&per_page=1")


def seconds(duration: str) -> float:
    """A VCL duration (``1s``, ``0.5s``, ``500ms``) in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", duration.strip())
    assert match, f"unexpected VCL duration {duration!r}"
    return float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)


def probe_window(vcl: str) -> float:
    """How long after a host dies Varnish keeps it in the rotation at most, by the VCL's probe.

    A host is sick once fewer than ``.threshold`` of its last ``.window`` probes were good:
    after ``window - threshold + 1`` failures in a row, one each ``.interval``.  A port that
    refuses connections or answers 503 fails a probe at once (a host that does not answer at
    all would add ``.timeout`` to each).
    """
    block = re.search(rf"probe {PROBE} \{{(.*?)\}}", vcl, re.S)
    assert block, f"no 'probe {PROBE}' in the VCL"
    fields = dict(re.findall(r"\.(\w+)\s*=\s*([^;]+);", block.group(1)))
    failures = int(fields["window"]) - int(fields["threshold"]) + 1
    return failures * seconds(fields["interval"])


# --------------------------------------------------------------------------- the dead port


@dataclass(frozen=True)
class Arrival:
    at: float
    method: str
    path: str
    body: bytes
    #: The live host's status for it: what the dead host did before it failed to answer.
    applied_status: int


class DyingHost(socketserver.ThreadingTCPServer):
    """Listens where the killed host did: answers probes 503 (the host stays sick), and has
    every other request applied by a live host before dropping its connection unanswered,
    as a host that dies after its commit and before its answer does."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, live_port: int) -> None:
        super().__init__((LOOPBACK, port), _ApplyAndDrop)
        self.live_port = live_port
        self.probes: list[float] = []
        self.requests: list[Arrival] = []


class _ApplyAndDrop(socketserver.StreamRequestHandler):
    server: DyingHost

    def handle(self) -> None:
        self.connection.settimeout(5)
        with contextlib.suppress(OSError):
            start = self.rfile.readline().decode("latin-1").split()
            headers: dict[str, str] = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip()] = value.strip()
            if len(start) < 2:
                return
            arrived = time.monotonic()
            if start[1] == "/healthz":
                self.server.probes.append(arrived)
                self.wfile.write(b"HTTP/1.1 503 Service Unavailable\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip
                return
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"),
                              "0"))  # fmt: skip
            body = self.rfile.read(length)
            status = self.apply(start[0], start[1], headers, body)
            self.server.requests.append(Arrival(arrived, start[0], start[1], body, status))
            # No answer: the connection closes when this returns.

    def apply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        """The live host's status for the request, or ``BROKEN`` if it gave none."""
        live = http.client.HTTPConnection(LOOPBACK, self.server.live_port, timeout=TIMEOUT)
        try:
            live.request(method, path, body=body or None, headers=headers)
            answer = live.getresponse()
            answer.read()
            return answer.status
        except (OSError, http.client.HTTPException):
            return BROKEN
        finally:
            live.close()


@contextlib.contextmanager
def dying_host_on(port: int, live_port: int) -> Iterator[DyingHost]:
    server = DyingHost(port, live_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def refuses_connections(port: int, timeout: float = 2.0) -> bool:
    """Wait until nothing listens on ``port`` any more: no process of the killed host is
    left (its workers may still be exiting for a moment).  False if one still listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as client:
            client.settimeout(timeout)
            try:
                client.connect((LOOPBACK, port))
            except ConnectionRefusedError:
                return True
        time.sleep(0.01)
    return False


# --------------------------------------------------------------------------- the scenario


#: The status noted when the connection broke before the whole answer arrived: a host
#: killed after it sent the start of its answer (Varnish has passed that on, so no retry can
#: help); only a request in flight at the kill may end so.
BROKEN = 0


@dataclass(frozen=True)
class Exchange:
    started: float
    ended: float
    method: str
    status: int
    #: The name a PATCH or POST set, unique to that request.
    sent: str = ""
    #: The stock a PATCH set: one more than the stock its If-Match tag came with.
    target: int = 0


def exchange(
    session: requests.Session, method: str, url: str, **options: Any
) -> tuple[Exchange, requests.Response | None]:
    """Send one request through Varnish; note when, and what came back (no response when
    the connection broke)."""
    started = time.monotonic()
    try:
        response = session.request(method, url, timeout=TIMEOUT, **options)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return Exchange(started, time.monotonic(), method, BROKEN), None
    return Exchange(started, time.monotonic(), method, response.status_code), response


@dataclass
class Failover:
    """What the clients got and what the dead host's port saw, around the kill."""

    window: float
    killed_at: float = 0.0
    port_refused_after_kill: bool = False
    reads: list[Exchange] = field(default_factory=list)
    writes: list[Exchange] = field(default_factory=list)
    creations: list[Exchange] = field(default_factory=list)
    #: The written product's stock at the end, read straight from the database.
    final_stock: int = -1
    #: How many products of each name are on record at the end.
    names_on_record: Counter[str] = field(default_factory=Counter)
    probes: list[float] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def sick_by(self) -> float:
        """When the dead host must be out of the rotation, with requests in flight landed."""
        return self.killed_at + self.window + IN_FLIGHT

    def arrived(self, method: str) -> list[Arrival]:
        return [arrival for arrival in self.arrivals if arrival.method == method]

    def broken_after_the_kill(self, exchanges: list[Exchange]) -> list[Exchange]:
        """Broken exchanges the kill cannot explain: sent after it."""
        late = [each for each in exchanges if each.status == BROKEN]
        return [each for each in late if each.started > self.killed_at]


def reader(cache: str, reads: list[Exchange], stop: threading.Event) -> None:
    session = requests.Session()
    turn = 0
    while not stop.is_set():
        method = ("GET", "HEAD")[turn % 2]
        path = READ_PATHS[turn // 2 % len(READ_PATHS)]
        reads.append(exchange(session, method, cache + path)[0])
        turn += 1


def writer(
    cache: str, path: str, reads: list[Exchange], writes: list[Exchange], stop: threading.Event
) -> None:
    """Chains increments: read through Varnish, PATCH with the read's tag in If-Match."""
    session = requests.Session()
    while not stop.is_set():
        read, current = exchange(session, "GET", cache + path)
        reads.append(read)
        if current is None or current.status_code != 200:
            continue
        target, marker = current.json()["stock"] + 1, uuid.uuid4().hex
        headers = {"If-Match": current.headers["ETag"], **MERGE_PATCH}
        patch = {"stock": target, "name": marker}
        sent, _ = exchange(session, "PATCH", cache + path, json=patch, headers=headers)
        writes.append(dataclasses.replace(sent, sent=marker, target=target))


def creator(cache: str, creations: list[Exchange], stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        name = uuid.uuid4().hex
        product = {"name": name, "price": 1, "stock": 1}
        sent, _ = exchange(session, "POST", cache + COLLECTION, json=product)
        creations.append(dataclasses.replace(sent, sent=name))


def record_database(result: Failover, database_url: str, product_id: int) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            result.final_stock = connection.execute(
                sa.text("SELECT stock FROM products WHERE id = :id"), {"id": product_id}
            ).scalar_one()
            names = connection.execute(sa.text("SELECT name FROM products")).scalars()
            result.names_on_record = Counter(names)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def failover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Failover]:
    folder = tmp_path_factory.mktemp("failover")
    result = Failover(window=probe_window(VCL.read_text(encoding="utf-8")))
    with (
        postgres_schema("flask_etag_failover") as database_url,
        example_servers(folder, database_url, purge_urls=[]) as servers,
        varnish_server(
            folder / "varnish", varnish_config([s.url for s in servers]), free_port(), ITEM
        ) as cache,
    ):
        path, _ = new_product(requests.Session(), servers[0].url)
        stop = threading.Event()
        clients: list[Callable[[], None]] = [
            *[lambda: reader(cache, result.reads, stop)] * READERS,
            *[lambda: writer(cache, path, result.reads, result.writes, stop)] * WRITERS,
            *[lambda: creator(cache, result.creations, stop)] * CREATORS,
        ]
        threads = [threading.Thread(target=client) for client in clients]
        for thread in threads:
            thread.start()
        try:
            time.sleep(WARM_UP)
            victim = servers[1]
            result.killed_at = time.monotonic()
            kill_process_group(victim.process)
            result.port_refused_after_kill = refuses_connections(victim.port)
            with dying_host_on(victim.port, servers[0].port) as dying:
                time.sleep(max(0.0, result.sick_by + WATCHED_AFTER - time.monotonic()))
                stop.set()
                for thread in threads:
                    thread.join()
            result.probes, result.arrivals = dying.probes, dying.requests
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        record_database(result, database_url, int(path.rsplit("/", 1)[1]))
        yield result


# --------------------------------------------------------------------------- the tests


def test_reads_get_no_503_while_a_host_dies_rfc9110_9_2_2(failover: Failover) -> None:
    """Every GET and HEAD through Varnish is answered 200, though some were sent to the
    dying host first: Varnish retried them on a live one.  Only a read the killed host was
    answering at the very moment may break off (its start was already passed on)."""
    reads = failover.reads
    statuses = Counter(read.status for read in reads)
    assert set(statuses) <= {200, BROKEN}, statuses
    assert failover.broken_after_the_kill(reads) == []
    assert statuses[BROKEN] <= READERS + WRITERS  # one in flight per client at most
    during = [read for read in reads if failover.killed_at < read.started < failover.sick_by]
    assert len(during) >= 50, "too few reads while the dead host was in the rotation"
    assert failover.arrived("GET"), "no read reached the dying host: nothing was retried"


def test_a_dead_host_gets_no_request_after_the_probe_window(failover: Failover) -> None:
    """Within the window the VCL's probe states, Varnish stops sending the dead host
    anything but probes, while the clients keep the other hosts busy."""
    assert failover.window <= 2.0  # what examples/varnish.vcl and the guide promise
    assert failover.port_refused_after_kill, "a process of the killed host still listened"
    before = [a for a in failover.arrivals if a.at <= failover.sick_by]
    after = [a for a in failover.arrivals if a.at > failover.sick_by]
    assert before, "the dead host got no request: it was not in the rotation when it died"
    assert after == [], [(round(a.at - failover.killed_at, 3), a.method) for a in after]
    assert sum(probe > failover.sick_by for probe in failover.probes) >= 2  # still listening
    watched = [read for read in failover.reads if read.started > failover.sick_by]
    assert len(watched) >= 100, "too little traffic after the window to tell"


def test_conditional_writes_lose_nothing_while_a_host_dies_rfc9110_13_1_1(
    failover: Failover,
) -> None:
    """PATCHes with If-Match keep succeeding on the live hosts, and none is lost or applied
    twice.  Each acknowledged one set a stock no other acknowledged one did (none was built
    on a state another had replaced); each stock from 1 to the final one was set by one of
    the clients' PATCHes; and a PATCH the dying host applied before failing was retried and
    answered 412, not applied again, not answered 503."""
    writes = failover.writes
    assert {write.status for write in writes} <= {200, 412, BROKEN}, Counter(
        write.status for write in writes
    )
    assert failover.broken_after_the_kill(writes) == []
    acknowledged = [write.target for write in writes if write.status == 200]
    assert len(acknowledged) == len(set(acknowledged)), "two writes built on one state"
    every_stock = set(range(1, failover.final_stock + 1))
    assert set(acknowledged) <= every_stock
    unacknowledged = {write.target for write in writes if write.status in (412, BROKEN)}
    assert every_stock <= set(acknowledged) | unacknowledged
    assert any(write.status == 200 and write.started > failover.sick_by for write in writes)

    applied_by_the_dying_host = [
        json.loads(arrival.body)["name"]
        for arrival in failover.arrived("PATCH")
        if arrival.applied_status == 200
    ]
    assert applied_by_the_dying_host, "no PATCH the dying host applied: nothing to retry"
    status_of = {write.sent: write.status for write in writes}
    assert {status_of[marker] for marker in applied_by_the_dying_host} == {412}
    # Every increment is accounted for: acknowledged, applied by the dying host (then
    # answered 412), or in flight at a killed host (one per writer at most).
    unaccounted = failover.final_stock - len(acknowledged) - len(applied_by_the_dying_host)
    assert 0 <= unaccounted <= WRITERS


def test_a_post_is_never_sent_twice_rfc9110_9_2_2(failover: Failover) -> None:
    """POST is not idempotent, so Varnish never retries one: a POST the dying host applied
    got 503 (its client cannot know whether it was created), and exists once; no product
    of any POST exists twice."""
    creations = failover.creations
    assert {creation.status for creation in creations} <= {201, 503, BROKEN}
    assert failover.broken_after_the_kill(creations) == []
    created_by_the_dying_host = [
        json.loads(arrival.body)["name"] for arrival in failover.arrived("POST")
    ]
    assert created_by_the_dying_host, "no POST met the dying host"
    status_of = {creation.sent: creation.status for creation in creations}
    assert {status_of[name] for name in created_by_the_dying_host} == {503}
    assert {failover.names_on_record[name] for name in created_by_the_dying_host} == {1}
    created = {creation.sent for creation in creations if creation.status == 201}
    assert {failover.names_on_record[name] for name in created} == {1}
    assert max(failover.names_on_record[creation.sent] for creation in creations) == 1


def test_the_guide_shows_the_recipe_these_tests_run() -> None:
    """docs/guides/caches.md shows the several-hosts VCL of examples/varnish.vcl's comment,
    which :func:`varnish_config` runs: the two cannot drift apart."""
    guide = (REPO_ROOT / "docs" / "guides" / "caches.md").read_text(encoding="utf-8")
    recipe = several_hosts_recipe(VCL.read_text(encoding="utf-8"))
    assert f"```vcl\n{recipe}```\n" in guide
