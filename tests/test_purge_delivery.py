"""Purges under faulty caches: one deadline per purge, each cache on its own, backed off when
it keeps failing, repeats on time, nothing dropped unreported (RFC 9111 §4.4).

Every cache here is a real listener on loopback (``support_listeners``): one that confirms,
one that never answers, one that trickles a byte at a time, and a port with nobody on it.
The app is a small Flask app whose write route calls :func:`flask_etag.announce_write` with a
key of its own per write, so each purge can be told apart.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from support_caches import nginx_server, varnish_server
from support_listeners import eventually, hung_cache, recording_cache, trickling_cache
from support_processes import (
    LOOPBACK,
    REPO_ROOT,
    free_port,
    skip_or_fail,
    stop_process,
    wait_until_ready,
)
from test_many_hosts import VCL, nginx_config
from test_shared_caches import Recorded, recording
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server

from flask_etag import (
    ETag,
    announce_write,
    etag_purge_circuit_closed,
    etag_purge_circuit_opened,
    etag_purge_failed,
    purging,
)
from flask_etag.purge_breaker import FAILURES_TO_OPEN, FIRST_BACKOFF

TIMEOUT = 0.5

pytestmark = pytest.mark.usefixtures("without_collector_pauses")


@pytest.fixture
def purge_failed() -> Iterator[Recorded]:
    yield from recording(etag_purge_failed)


@pytest.fixture
def circuit() -> Iterator[tuple[Recorded, Recorded]]:
    opened, closed = Recorded(), Recorded()
    etag_purge_circuit_opened.connect(opened.receive)
    etag_purge_circuit_closed.connect(closed.receive)
    yield opened, closed
    etag_purge_circuit_opened.disconnect(opened.receive)
    etag_purge_circuit_closed.disconnect(closed.receive)


def writing_app(
    caches: list[str] | list[dict[str, str]], paths: list[str] | None = None, **config: Any
) -> FlaskClient:
    """``POST /things/<n>`` announces a write of ``things/<n>``: a key per write (and
    ``paths`` for URL caches besides its own)."""
    app = Flask(__name__)
    settings = {"ETAG_PURGE_TIMEOUT": TIMEOUT, "ETAG_PURGE_REPEAT_AFTER": 0, **config}
    app.config.update(ETAG_PURGE_URLS=caches, **settings)
    ETag(app)

    @app.post("/things/<int:number>")
    def write(number: int) -> tuple[str, int]:
        announce_write([f"things/{number}"], paths=paths or ())
        return "", 204

    return app.test_client()


def timed_write(client: FlaskClient, number: int) -> float:
    """Write ``things/<number>``; how long the client waited for its answer."""
    started = time.monotonic()
    assert client.post(f"/things/{number}").status_code == 204
    return time.monotonic() - started


def statistics_of(url: str) -> dict[str, Any]:
    [found] = [cache for cache in purging.purge_statistics() if cache["url"] == url]
    return found


# --------------------------------------------------------------------------- one deadline


def test_a_trickling_cache_is_given_up_at_the_purge_deadline_rfc9111_4_4(
    purge_failed: Recorded,
) -> None:
    """A socket timeout per read never fires on a byte every 0.2 s; the deadline does."""
    with trickling_cache(0.2) as trickling:
        client = writing_app([trickling])
        waited = timed_write(client, 1)
        assert TIMEOUT <= waited < TIMEOUT + 0.3
        eventually(lambda: len(purge_failed.sends) == 1)
    [failure] = purge_failed.kwargs
    assert failure == {
        "url": f"{trickling}/",
        "error": "PurgeDeadlinePassed: no answer before the deadline",
        "keys": ("things/1",),
    }
    assert statistics_of(trickling)["failed"] == 1


def test_a_request_that_commits_many_times_waits_one_deadline_per_cache_rfc9111_4_4(
    purge_failed: Recorded,
) -> None:
    """An undecorated write that commits three transactions (each announced by its
    commit, as ``TableVersions`` does) beside a hung cache: each commit waited its whole
    deadline, three in all, before the breaker opened.  Once a cache has not confirmed in
    time, the rest of the request does not wait for it; every purge is still sent."""
    with hung_cache() as hung, recording_cache() as (url, got):
        client = writing_app([hung, url])
        app = client.application

        @app.post("/batch")
        def batch() -> tuple[str, int]:
            for number in range(FAILURES_TO_OPEN):
                announce_write([f"things/{number}"])  # one transaction's commit
                assert len(got.purges) == number + 1  # a cache in use still confirms first
            return "", 204

        started = time.monotonic()
        assert client.post("/batch").status_code == 204
        assert time.monotonic() - started < 2 * TIMEOUT
        eventually(lambda: len(purge_failed.sends) == FAILURES_TO_OPEN)
    assert {sent["url"] for sent in purge_failed.kwargs} == {f"{hung}/"}
    assert statistics_of(hung)["failed"] == FAILURES_TO_OPEN


def test_a_purge_waiting_for_a_busy_cache_keeps_its_whole_deadline_rfc9111_4_4(
    purge_failed: Recorded,
) -> None:
    """The deadline bounds the exchange, not the wait for a sender: a purge queued behind
    others (or in a process paused meanwhile) is still sent, and confirmed, however late.

    Thirteen purges to a URL cache that answers each after 0.3 s: four senders take them in
    four rounds, so the last ones begin after the writer's ``TIMEOUT`` has passed."""
    paths = [f"/things/{number}/page" for number in range(12)]
    with recording_cache(answer_after=0.3) as (url, got):
        client = writing_app([{"url": url, "by": "url"}], paths=paths)
        waited = timed_write(client, 1)
        assert waited < TIMEOUT + 0.3  # the writer does not wait for the late ones
        eventually(lambda: statistics_of(url)["sent"] == 13)
    assert sorted(purge.path for purge in got.purges) == sorted(["/things/1", *paths])
    counts = statistics_of(url)
    assert counts["dropped"] == counts["failed"] == 0
    # Rounds three and four (nine purges) came after the writer stopped waiting at 0.55 s.
    assert counts["late"] >= 5
    assert purge_failed.sends == []


def test_a_cache_slower_than_the_writes_gets_fresh_purges_not_a_backlog_rfc9111_4_4(
    purge_failed: Recorded,
) -> None:
    """Forty-five purges to a cache that answers each after 0.3 s: four senders reach the
    last ones after 3.3 s, past ``QUEUE_WAIT_DEADLINES`` deadlines (2.5 s), so those are
    given up and reported; the ones taken in time are all confirmed."""
    paths = [f"/things/{number}/page" for number in range(44)]
    with recording_cache(answer_after=0.3) as (url, got):
        client = writing_app([{"url": url, "by": "url"}], paths=paths)
        timed_write(client, 1)
        eventually(lambda: statistics_of(url)["queued"] == 0, 10)
        eventually(lambda: len(got.purges) == statistics_of(url)["sent"], 2)
    counts = statistics_of(url)
    assert counts["sent"] + counts["dropped"] == 45
    # Nine rounds of four fit in 2.5 s; one deadline's wait (0.5 s) would let two.
    assert counts["sent"] >= 16 and counts["dropped"] >= 1
    assert counts["failed"] == 0
    errors = [sent["error"] for sent in purge_failed.kwargs]
    assert len(errors) == counts["dropped"]
    assert all(error.startswith("dropped: it waited") for error in errors), errors


def test_a_hung_and_a_trickling_cache_never_delay_the_purges_of_another_rfc9111_4_4(
    purge_failed: Recorded, circuit: tuple[Recorded, Recorded]
) -> None:
    """Each cache has its own queue and senders; after three failures the bad ones are
    backed off, and writes wait only for the cache that answers."""
    opened, _ = circuit
    with hung_cache() as hung, trickling_cache() as trickling, recording_cache() as (url, got):
        client = writing_app([hung, trickling, url])
        waits = []
        for number in range(12):
            waits.append(timed_write(client, number))
            assert got.surrogate_keys()[-1] == f"things/{number}"  # confirmed before the answer
        assert all(wait < TIMEOUT + 0.3 for wait in waits[:FAILURES_TO_OPEN])
        assert all(wait < 0.2 for wait in waits[FAILURES_TO_OPEN:])  # backed off: no wait
    assert sorted(sent["url"] for sent in opened.kwargs) == sorted([hung, trickling])
    assert statistics_of(url) | {"url": ""} == {
        "url": "", "backed_off": False, "backoff_seconds": 0.0, "queued": 0,
        "sent": 12, "failed": 0, "dropped": 0, "late": 0,
    }  # fmt: skip
    assert statistics_of(hung)["backed_off"] is True
    # Every purge not confirmed was signalled: three failures and the rest dropped.
    eventually(lambda: len(purge_failed.sends) == 24)
    for bad in (hung, trickling):
        errors = [sent["error"] for sent in purge_failed.kwargs if sent["url"] == f"{bad}/"]
        assert len(errors) == 12
        assert sum(error.startswith("dropped: this cache is backed off") for error in errors) >= 8
        assert sum(error.startswith("dropped:") for error in errors) >= 9  # never even tried


def test_a_backed_off_cache_is_tried_again_and_used_once_it_answers_rfc9111_4_4(
    circuit: tuple[Recorded, Recorded],
) -> None:
    """Closed → open after three refusals → one trial after the backoff → closed again."""
    opened, closed = circuit
    port = free_port()
    dead = f"http://{LOOPBACK}:{port}"
    client = writing_app([dead])
    for number in range(FAILURES_TO_OPEN):
        timed_write(client, number)
    eventually(lambda: len(opened.sends) == 1)
    assert statistics_of(dead)["backoff_seconds"] == FIRST_BACKOFF
    with recording_cache(port) as (_, got):
        timed_write(client, 10)  # within the backoff: dropped, not tried
        time.sleep(FIRST_BACKOFF)
        timed_write(client, 11)  # the trial: not waited for
        eventually(lambda: len(closed.sends) == 1)
        timed_write(client, 12)  # in use again: confirmed before the answer
        assert got.surrogate_keys() == ["things/11", "things/12"]
    assert closed.kwargs == [{"url": dead}]


@pytest.mark.parametrize("status", [403, 405, 501])
def test_a_cache_that_refuses_purges_is_not_backed_off_rfc9110_15_5(
    circuit: tuple[Recorded, Recorded], purge_failed: Recorded, status: int
) -> None:
    """A cache that answers refuses the purge, it did not fail: a 403 (the app's host not
    yet in its ACL), a 405 or 501 (a VCL or location without ``PURGE``) says the request
    is wrong (RFC 9110 §15.5, §15.6.2), at once, and backing off changes nothing.  Counted
    as failures, three refusals opened the circuit: once the cache was set right (a VCL
    reload keeps what it stored), its purges were dropped as "backed off" and writes not
    waited for, for up to a minute of doubling backoffs, so their clients read old bodies.
    """
    opened, _ = circuit
    port = free_port()
    with recording_cache(port, status=status) as (url, _):
        client = writing_app([url])
        for number in range(FAILURES_TO_OPEN + 1):
            timed_write(client, number)
        assert [sent["error"] for sent in purge_failed.kwargs] == [f"answered {status}"] * 4
    with recording_cache(port) as (_, got):  # set right
        timed_write(client, 10)
        assert got.surrogate_keys() == ["things/10"]  # confirmed before the answer
    assert opened.sends == []
    assert statistics_of(url)["failed"] == FAILURES_TO_OPEN + 1


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_a_cache_that_answers_not_now_or_fails_is_backed_off_rfc9110_15_6(
    circuit: tuple[Recorded, Recorded], status: int
) -> None:
    """A 408 or 429 asks for the purge later (RFC 9110 §15.5.9, RFC 6585 §4), a 500 or 503
    says the cache is failing (RFC 9110 §15.6): three in a row back it off."""
    opened, _ = circuit
    with recording_cache(status=status) as (url, _):
        client = writing_app([url])
        for number in range(FAILURES_TO_OPEN):
            timed_write(client, number)
        eventually(lambda: len(opened.sends) == 1)
    assert opened.kwargs == [{"url": url, "error": f"answered {status}"}]


def test_a_full_queue_drops_what_it_cannot_hold_and_says_so_rfc9111_4_4(
    monkeypatch: pytest.MonkeyPatch, purge_failed: Recorded
) -> None:
    monkeypatch.setattr(purging, "QUEUE_SIZE", 1)
    monkeypatch.setattr(purging, "SENDERS_PER_CACHE", 1)
    with hung_cache() as hung:
        client = writing_app([hung])
        writers = [threading.Thread(target=timed_write, args=(client, n)) for n in range(3)]
        for writer in writers:
            writer.start()
            time.sleep(0.05)  # one is sent (and hangs), one waits in the queue, one is dropped
        for writer in writers:
            writer.join()
        eventually(lambda: len(purge_failed.sends) == 3)
    errors = [sent["error"] for sent in purge_failed.kwargs]
    full = [error for error in errors if error.startswith("dropped: 1 purges already wait")]
    assert len(full) == 1, errors
    assert statistics_of(hung)["dropped"] >= 1


def test_a_receiver_that_raises_costs_no_sender_and_no_write_rfc9111_4_4(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ``etag_purge_failed`` receiver that raises is logged: the senders of a dead cache
    go on concluding every purge, and every write is answered as it would be without it."""

    def broken(sender: Any, **about: Any) -> None:
        raise RuntimeError("the metrics backend is down")

    etag_purge_failed.connect(broken)
    try:
        dead = f"http://{LOOPBACK}:{free_port()}"
        client = writing_app([dead])
        for number in range(2 * purging.SENDERS_PER_CACHE):
            assert timed_write(client, number) < TIMEOUT + 0.3
        eventually(lambda: statistics_of(dead)["failed"] + statistics_of(dead)["dropped"] == 8)
    finally:
        etag_purge_failed.disconnect(broken)
    assert statistics_of(dead)["queued"] == 0
    raised = [record for record in caplog.records if "raised" in record.getMessage()]
    assert len(raised) == 8
    assert all("metrics backend" in str((record.exc_info or ())[1]) for record in raised)


# --------------------------------------------------------------------------- host names


@contextlib.contextmanager
def unanswering_resolver(folder: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A DNS server on a loopback address of its own that reads every query and never
    answers (a resolver that hangs); yields a ``resolv.conf`` naming it, and the queries."""
    address = f"127.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.53"
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        server.bind((address, 53))
    except OSError as error:  # not root, or the address is taken
        server.close()
        skip_or_fail(f"no DNS server of our own on {address}:53: {error}")
    queries: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):
            while True:
                queries.append(server.recv(4096))

    threading.Thread(target=read, daemon=True).start()
    resolv_conf = folder / "resolv.conf"
    resolv_conf.write_text(f"nameserver {address}\n")
    try:
        yield resolv_conf, queries
    finally:
        server.close()


@contextlib.contextmanager
def app_with_resolver(resolv_conf: Path, caches: list[str]) -> Iterator[str]:
    """``tests/resolving_app.py`` in a mount namespace whose ``/etc/resolv.conf`` is
    ``resolv_conf``: its own name resolution, through the C library as ever; yields its URL."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        skip_or_fail("a mount namespace of its own needs unshare(1) and root")
    port = free_port()
    mounted = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    app = REPO_ROOT / "tests" / "resolving_app.py"
    arguments = [str(app), str(port), json.dumps(caches), str(TIMEOUT)]
    command = ["unshare", "--mount", "sh", "-c", mounted, "sh", str(resolv_conf)]
    command += [sys.executable, *arguments]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=resolv_conf.parent,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_until_ready(process, port, "/statistics", 15, log)
            yield f"http://{LOOPBACK}:{port}"
        finally:
            stop_process(process, 5)


def test_a_cache_whose_name_never_resolves_is_given_up_at_the_purge_deadline_rfc9111_4_4(
    tmp_path: Path,
) -> None:
    """A cache named by a host name that its resolver never answers for (a DNS server that
    hangs: the C library waits 5 s per try, twice): resolving the name took no part of the
    deadline, so each purge held a sender for 10 s and was never concluded in time.  The
    cache was never backed off, and every write waited its whole ``ETAG_PURGE_TIMEOUT``
    for it, for as long as the resolver hung.  Name resolution is part of the purge's one
    deadline now: three failures back the cache off, as they do a hung cache's, and the
    cache beside it confirms each write's purge before its answer, as ever."""
    with (
        unanswering_resolver(tmp_path) as (resolv_conf, queries),
        recording_cache() as (url, got),
    ):
        unresolved = "http://purge.cache.example:6081"
        with app_with_resolver(resolv_conf, [unresolved, url]) as app_url:
            waits = []
            for number in range(FAILURES_TO_OPEN + 4):
                started = time.monotonic()
                assert requests.post(f"{app_url}/things/{number}", timeout=10).status_code == 204
                waits.append(time.monotonic() - started)
                assert got.surrogate_keys()[-1] == f"things/{number}"
            statistics = {
                cache["url"]: cache for cache in requests.get(f"{app_url}/statistics").json()
            }
    assert queries, "the app's resolver never asked the DNS server"
    assert all(wait < TIMEOUT + 0.3 for wait in waits), waits
    assert all(wait < 0.2 for wait in waits[FAILURES_TO_OPEN:]), waits  # backed off
    assert statistics[unresolved]["backed_off"] is True
    assert statistics[unresolved]["failed"] == FAILURES_TO_OPEN
    assert statistics[url]["sent"] == FAILURES_TO_OPEN + 4


# --------------------------------------------------------------------------- repeats


def test_repeats_keep_their_bound_at_20_writes_a_second_rfc9111_4_4() -> None:
    """Beside a cache that never answers and one that trickles, the cache that works gets
    every write's purge before the write is answered, and its repeat within the documented
    bound: ``ETAG_PURGE_REPEAT_AFTER`` plus ``ETAG_PURGE_TIMEOUT`` after the write."""
    repeat_after, writes, rate = 1.0, 80, 20.0
    with hung_cache() as hung, trickling_cache() as trickling, recording_cache() as (url, got):
        client = writing_app([hung, trickling, url], ETAG_PURGE_REPEAT_AFTER=repeat_after)
        started: dict[str, float] = {}
        first = time.monotonic()
        for number in range(writes):
            time.sleep(max(0.0, first + number / rate - time.monotonic()))
            started[f"things/{number}"] = time.monotonic()
            timed_write(client, number)
        eventually(lambda: len(got.purges) == 2 * writes, repeat_after + 5)
    late = []
    for key, began in started.items():
        confirmed, repeated = got.times_of(key)
        assert confirmed - began < TIMEOUT
        assert repeated - began >= repeat_after
        late.append(repeated - began - repeat_after)
    assert max(late) < TIMEOUT, f"a repeat came {max(late):.3f} s after its due time"


# --------------------------------------------------------------------------- URL caches


@pytest.mark.parametrize(
    "path",
    [
        "/things/caf%C3%A9",
        "/things/a%20b",
        "/things/a%3Fb",
        "/things/a%0D%0AX-Injected:%201",
        "/things/a%2Fb",
        "/things/a%2fb%2F",
    ],
    ids=[
        "non-ascii",
        "space",
        "question-mark",
        "cr-lf",
        "encoded-slash-rfc3986_2_2",
        "lowercase-escape-rfc3986_2_1",
    ],
)
def test_a_url_cache_is_purged_of_the_written_url_as_sent_rfc9110_4_2_1(
    purge_failed: Recorded, path: str
) -> None:
    """Flask decodes ``request.path``; the ``PURGE`` must name the URL in its percent-encoded
    form (RFC 3986 §2.1), the one the cache keyed, or it fails or purges another URL.  A
    ``%2F`` is data, not a separator (RFC 3986 §2.2): re-encoding the decoded path made it
    ``/``, another URL to a cache keying the request target as sent (Varnish's ``req.url``).
    """
    with recording_cache() as (url, got):
        app = writing_app([{"url": url, "by": "url"}]).application

        @app.post("/things/<name>")
        @app.post("/things/<path:name>")  # what a %2F decodes to: two segments
        def write_named(name: str) -> tuple[str, int]:
            announce_write([f"things/{name}"])
            return "", 204

        assert app.test_client().post(path).status_code == 204
        assert [purge.path for purge in got.purges] == [path]
    assert purge_failed.sends == []


def test_a_url_cache_is_purged_under_the_apps_mount_point_rfc9110_4_2_1(
    purge_failed: Recorded,
) -> None:
    """An app mounted at ``/shop`` (``SCRIPT_NAME``) serves ``/shop/things/1`` through the
    cache: that is the URL to purge, not the app-relative ``/things/1``."""
    with recording_cache() as (url, got):
        client = writing_app([{"url": url, "by": "url"}])
        assert client.post("/things/1", base_url="http://localhost/shop").status_code == 204
        assert [purge.path for purge in got.purges] == ["/shop/things/1"]
    assert purge_failed.sends == []


@pytest.mark.parametrize("prefix", [":{port}", ":{port}/shop"], ids=["port", "port-and-path"])
def test_a_client_never_chooses_where_a_url_purge_goes_rfc9110_4_2_1(
    purge_failed: Recorded, prefix: str
) -> None:
    """Behind ``ProxyFix(..., x_prefix=1)`` (Flask's deployment docs) the mount point is the
    client's ``X-Forwarded-Prefix`` when the proxy sets none.  Appended to a base URL with
    no port, ``:<port>`` named another port, and ``.attacker.example`` another host: the
    app sent its ``PURGE`` (and the outbox's repeat) wherever a client asked."""
    with recording_cache() as (_url, elsewhere):
        port = int(_url.rsplit(":", 1)[1])
        client = writing_app([{"url": f"http://{LOOPBACK}", "by": "url"}])
        app = client.application
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]
        headers = {"X-Forwarded-Prefix": prefix.format(port=port)}
        assert client.post("/things/1", headers=headers).status_code == 204
        assert elsewhere.purges == []


@pytest.mark.parametrize(
    ("prefix", "path", "purged"),
    [
        ("/..", "/things/1", "/purge/things/1"),
        ("/shop/../../..", "/things/1", "/purge/things/1"),
        (None, "/things/%2E%2E/%2e%2E/x", "/purge/x"),
        (None, "/things/a/./b/..", "/purge/things/a/"),
        (None, "/things/a/..%2F..%2F..%2Fx", "/purge/x"),
        (None, "/things/a/%2E%2E%2f%2e%2E%2F..%2Fx%2Fy", "/purge/x/y"),
    ],
    ids=[
        "prefix",
        "prefix-beyond-the-root",
        "encoded-dots-rfc3986_2_3",
        "dot-and-last",
        "dots-behind-encoded-slashes",
        "encoded-dots-and-slashes",
    ],
)
def test_a_url_purge_stays_under_its_base_path_rfc3986_5_2_4(
    purge_failed: Recorded, prefix: str | None, path: str, purged: str
) -> None:
    """nginx resolves the dot segments of a request target (RFC 3986 §5.2.4), ``%2E`` too
    (§2.3, §6.2.2.2): a ``PURGE /purge/../things/1`` is ``/things/1`` there, which the
    purge location never sees and ``location /`` passes on to the app.  A client's
    ``X-Forwarded-Prefix`` or path chose where under the cache the app's ``PURGE`` went;
    its dot segments are resolved before the path is put under the base URL's."""
    with recording_cache() as (url, got):
        client = writing_app([{"url": f"{url}/purge", "by": "url"}])
        app = client.application
        app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]

        @app.post("/things/<path:name>")
        def write_named(name: str) -> tuple[str, int]:
            announce_write([f"things/{name}"])
            return "", 204

        headers = {} if prefix is None else {"X-Forwarded-Prefix": prefix}
        assert client.post(path, headers=headers).status_code == 204
        assert [purge.path for purge in got.purges] == [purged]
    assert purge_failed.sends == []


# --------------------------------------------------------------------------- many keys


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    """``app`` over HTTP on loopback, for a cache in front of it; yields its port."""
    server = make_server(LOOPBACK, 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.port
    finally:
        server.shutdown()


def test_a_404_confirms_no_key_purge_rfc9111_4_4(purge_failed: Recorded) -> None:
    """A 404 means "was not cached" only to nginx's cache-purge, which purges by URL.  A
    Varnish whose VCL does not handle ``PURGE`` (the built-in one) pipes it to the app
    behind it, which answers 404 for ``/``: nothing was purged, yet every write counted
    it sent and the caches stayed stale for their ``s-maxage`` without a word."""
    with served(Flask("origin")) as port:  # the app behind the cache: no route at /
        client = writing_app([f"http://{LOOPBACK}:{port}"])
        assert client.post("/things/1").status_code == 204
        eventually(lambda: len(purge_failed.sends) == 1)
    [failure] = purge_failed.kwargs
    assert failure["error"] == "answered 404"
    assert statistics_of(f"http://{LOOPBACK}:{port}")["sent"] == 0


def test_a_write_of_many_rows_purges_every_key_at_varnish_rfc9111_4_4(
    tmp_path: Path, purge_failed: Recorded
) -> None:
    """A write naming 2,000 keys (a bulk import) makes a key field of 25 KB, which Varnish
    refuses (its ``http_req_hdr_len`` is 8 KB): the keys go in several purges instead."""
    reads = iter(range(1_000_000))
    port = free_port()
    app = Flask(__name__)
    purge_urls = [f"http://{LOOPBACK}:{port}"]
    app.config.update(ETAG_PURGE_URLS=purge_urls, ETAG_PURGE_TIMEOUT=2.0, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"Cache-Control": "no-store"}

    @app.get("/things/<int:number>")
    def read(number: int) -> tuple[str, int, dict[str, str]]:
        fields = {"Cache-Control": "s-maxage=60", "Surrogate-Key": f"things/{number}"}
        return f"read {next(reads)}", 200, fields

    @app.post("/import")
    def bulk_import() -> tuple[str, int]:
        announce_write([f"things/{number}" for number in range(2000)])
        return "", 204

    with served(app) as origin, requests.Session() as session:
        vcl = VCL.read_text(encoding="utf-8").replace('.port = "5000"', f'.port = "{origin}"')
        with varnish_server(tmp_path, vcl, port, "/healthz") as cache:
            first, last = (session.get(f"{cache}/things/{n}").text for n in (0, 1999))
            assert session.get(f"{cache}/things/1999").text == last  # stored
            assert app.test_client().post("/import").status_code == 204
            assert session.get(f"{cache}/things/0").text != first
            assert session.get(f"{cache}/things/1999").text != last
    assert purge_failed.sends == []


def test_nginx_is_purged_of_a_written_url_that_flask_decoded_rfc9110_4_2_1(
    tmp_path: Path, purge_failed: Recorded
) -> None:
    """Real nginx with the cache-purge module keys ``/things/caf%C3%A9`` by its decoded
    ``$uri``: the ``PURGE`` of the percent-encoded path drops it, where the decoded one
    failed (and the next read was the old body)."""
    reads = iter(range(1_000_000))
    port = free_port()
    app = Flask(__name__)
    purge_urls = [{"url": f"http://{LOOPBACK}:{port}/purge", "by": "url"}]
    app.config.update(ETAG_PURGE_URLS=purge_urls, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.get("/things/<path:name>")
    def read(name: str) -> tuple[str, int, dict[str, str]]:
        return f"read {next(reads)}", 200, {"Cache-Control": "s-maxage=60"}

    @app.post("/things/<path:name>")
    def write(name: str) -> tuple[str, int]:
        announce_write([f"things/{name}"])
        return "", 204

    with served(app) as origin, requests.Session() as session:
        hosts = [f"http://{LOOPBACK}:{origin}"]
        with nginx_server(tmp_path, lambda chosen: nginx_config(tmp_path, chosen, hosts), port):
            for path in ("/things/caf%C3%A9", "/things/a%20b", "/things/a%2Fb"):
                url = f"http://{LOOPBACK}:{port}{path}"
                stored = session.get(url).text
                assert session.get(url).headers["X-Cache-Status"] == "HIT"
                assert app.test_client().post(path).status_code == 204
                assert session.get(url).text != stored
    assert purge_failed.sends == []


def test_nginx_never_gets_a_purge_that_climbs_out_of_its_purge_location_rfc3986_5_2_4(
    tmp_path: Path, purge_failed: Recorded
) -> None:
    """Behind ``ProxyFix(..., x_prefix=1)`` a client's ``X-Forwarded-Prefix: /..`` made the
    ``PURGE`` of ``/things/1`` go to ``/purge/../things/1``: ``/things/1`` to nginx, which
    resolves dot segments, so not its purge location: the PURGE went on to the app (405),
    and ``/things/1`` stayed stored."""
    purges_at_the_app: list[str] = []
    port = free_port()
    app = Flask(__name__)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    purge_urls = [{"url": f"http://{LOOPBACK}:{port}/purge", "by": "url"}]
    app.config.update(ETAG_PURGE_URLS=purge_urls, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.route("/things/<name>", methods=["GET", "POST", "PURGE"])
    def thing(name: str) -> tuple[str, int, dict[str, str]]:
        if flask.request.method == "PURGE":
            purges_at_the_app.append(name)
            return "", 405, {}
        if flask.request.method == "POST":
            announce_write([f"things/{name}"])
            return "", 204, {}
        return "read", 200, {"Cache-Control": "s-maxage=60"}

    with served(app) as origin, requests.Session() as session:
        hosts = [f"http://{LOOPBACK}:{origin}"]
        with nginx_server(tmp_path, lambda chosen: nginx_config(tmp_path, chosen, hosts), port):
            url = f"http://{LOOPBACK}:{port}/things/1"
            session.get(url)
            assert session.get(url).headers["X-Cache-Status"] == "HIT"
            written = app.test_client().post("/things/1", headers={"X-Forwarded-Prefix": "/.."})
            assert written.status_code == 204
            assert session.get(url).headers["X-Cache-Status"] == "MISS"
    assert purges_at_the_app == []
    assert purge_failed.sends == []


def test_rfc3986_5_2_4_nginx_never_gets_a_purge_climbing_out_by_encoded_slashes(
    tmp_path: Path, purge_failed: Recorded
) -> None:
    """nginx decodes a ``%2F`` in the request target before it resolves dot segments, so
    ``/purge/things/..%2F..%2Fthings/1`` is ``/things/1`` there.  A client that wrote to
    ``/things/..%2F..%2Fthings/1`` (a ``<path:>`` route takes it, and the PURGE keeps the
    ``%2F`` as sent) sent the app's ``PURGE`` past the purge location to ``location /``,
    which passed it on to the app: the client chose where under the cache it went."""
    purges_at_the_app: list[str] = []
    port = free_port()
    app = Flask(__name__)
    purge_urls = [{"url": f"http://{LOOPBACK}:{port}/purge", "by": "url"}]
    app.config.update(ETAG_PURGE_URLS=purge_urls, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.before_request
    def record_purges() -> tuple[str, int] | None:
        if flask.request.method != "PURGE":
            return None
        purges_at_the_app.append(flask.request.path)
        return "", 405

    @app.post("/things/<path:name>")
    def thing(name: str) -> tuple[str, int]:
        announce_write([f"things/{name}"])
        return "", 204

    with served(app) as origin:
        hosts = [f"http://{LOOPBACK}:{origin}"]
        with nginx_server(tmp_path, lambda chosen: nginx_config(tmp_path, chosen, hosts), port):
            written = app.test_client().post("/things/..%2F..%2Fthings/1")
            assert written.status_code == 204
    assert purges_at_the_app == []
    assert purge_failed.sends == []


def test_varnish_is_purged_by_url_of_a_written_url_with_an_encoded_slash_rfc3986_2_2(
    tmp_path: Path, purge_failed: Recorded
) -> None:
    """Varnish keys a response by ``req.url``, the request target as the client sent it:
    ``/things/a%2Fb`` and ``/things/a/b`` are two URLs there (a ``%2F`` is data, RFC 3986
    §2.2).  The ``PURGE`` built from Flask's decoded path named the second, so the written
    URL stayed stored (``examples/varnish.vcl`` purges by URL when no key field comes)."""
    reads = iter(range(1_000_000))
    port = free_port()
    app = Flask(__name__)
    purge_urls = [{"url": f"http://{LOOPBACK}:{port}", "by": "url"}]
    app.config.update(ETAG_PURGE_URLS=purge_urls, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"Cache-Control": "no-store"}

    @app.route("/things/<path:name>", methods=["GET", "POST"])
    def thing(name: str) -> tuple[str, int, dict[str, str]]:
        if flask.request.method == "POST":
            announce_write([f"things/{name}"])
            return "", 204, {}
        return f"read {next(reads)}", 200, {"Cache-Control": "s-maxage=60"}

    with served(app) as origin, requests.Session() as session:
        vcl = VCL.read_text(encoding="utf-8").replace('.port = "5000"', f'.port = "{origin}"')
        with varnish_server(tmp_path, vcl, port, "/healthz") as cache:
            url = f"{cache}/things/a%2Fb"
            stored = session.get(url).text
            assert session.get(url).headers["X-Cache"] == "HIT"
            assert session.post(url).status_code == 204  # through Varnish, as sent
            assert session.get(url).text != stored
    assert purge_failed.sends == []
