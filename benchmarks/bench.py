"""What an ETag costs: flask_etag against bare Flask, werkzeug and flask-smorest, in one run.

An ETag extension exists to save work, so its own cost per request must be close to nothing.
This script measures that cost as a **ratio to bare Flask** serving the same JSON, in-process
(the app is called as a WSGI callable with prebuilt environs, identically for every
contender), interleaved (every round times every case back to back with its bare-Flask
baseline, in a rotating and alternating order, so drift in machine load hits both alike) and
reports the median of the per-round ratios.  Timings use the CPU time of the benchmarking
thread by default (``--clock wall`` for elapsed time): on a shared machine, time spent waiting
for a core is not the framework's cost.

Contenders, each a separate Flask app with the same routes:

- **bare**: plain ``jsonify`` views, no tags (the baseline);
- **ours**: ``@etag`` (blake3 body hash) and ``@etag(VersionGenerator(...))``;
- **werkzeug**: ``response.add_etag()`` + ``response.make_conditional(request)``; the version
  route builds an empty response with ``set_etag(version)`` and calls ``make_conditional``
  before the expensive work;
- **flask-smorest**: ``@blp.etag`` + ``@blp.response(200)`` without a schema (the cheapest
  form); the version route calls ``blp.set_etag(version)`` first in the view, which raises
  its 304 before the expensive work (flask-smorest has no way to decide before the view).

Cases: a ~60 B JSON object and a ~300 KB JSON list, each answered 200 and 304, and a
version-tagged route whose view burns 3 ms of CPU answered 304 (compared with a bare small 200: a
304 that skips the view must cost no more than the cheapest 200).  Then the throughput of
blake3, md5, sha1 and sha256 at 1 KB, 1 MB and 20 MB.

``--e2e`` adds an end-to-end run: the ~100 KB resource served by gunicorn on 127.0.0.1,
loaded by ``wrk`` (Debian package ``wrk``) or, without it, by a small Python client, for a
bounded number of seconds; it prints requests/s and bytes on the wire for 200 and for 304.

Usage (needs ``pip install -e .[benchmark]``)::

    python benchmarks/bench.py                # full in-process run, about a minute
    python benchmarks/bench.py --e2e          # plus gunicorn + wrk on loopback (~20 s more)
    python benchmarks/bench.py --quick        # tiny counts: a smoke test, numbers meaningless
    python benchmarks/bench.py --instructions # instructions per request (valgrind), ~13 min
    python benchmarks/bench.py --rounds 61 --round-seconds 0.05 --clock wall
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blake3 import blake3
from flask import Flask, Response, jsonify, request
from werkzeug.test import EnvironBuilder

from flask_etag import ETag, VersionGenerator, etag

try:
    import flask_smorest
except ImportError:  # pragma: no cover - the benchmark extra installs it
    flask_smorest = None  # type: ignore[assignment]

#: ~60 bytes once serialised: a typical small API object.
SMALL = {"id": 17, "name": "Widget", "price": 9.5, "tags": ["blue", "small"]}
#: ~300 KB once serialised: a large list endpoint.
LARGE = [
    {
        "id": index,
        "name": f"product {index}",
        "price": index * 0.25,
        "stock": index % 97,
        "tags": ["alpha", "beta", "gamma"],
        "description": "a reasonably descriptive line of text",
    }
    for index in range(2100)
]
#: What the version-tagged view would spend (a query, a render) if it ran.
EXPENSIVE_VIEW_SECONDS = 0.003
VERSION = 17

CONTENDERS = ("ours", "werkzeug", "flask-smorest")


# --- the apps -------------------------------------------------------------------------------


class ViewCounter:
    """Counts runs of the expensive view, so a 304 that ran it is caught at setup."""

    def __init__(self) -> None:
        self.runs = 0

    def expensive(self) -> None:
        """Burn the CPU a query and a render would: real work, which either clock counts."""
        self.runs += 1
        deadline = time.thread_time() + EXPENSIVE_VIEW_SECONDS
        while time.thread_time() < deadline:
            pass


def bare_app() -> Flask:
    """The baseline: the same JSON with no tag at all."""
    app = Flask("bare")

    @app.get("/small")
    def small() -> Response:
        return jsonify(SMALL)

    @app.get("/large")
    def large() -> Response:
        return jsonify(LARGE)

    return app


def ours_app(counter: ViewCounter) -> Flask:
    """flask_etag: a blake3 body hash, and a version known before the view."""
    app = Flask("ours")
    ETag(app)

    @app.get("/small")
    @etag
    def small() -> Response:
        return jsonify(SMALL)

    @app.get("/large")
    @etag
    def large() -> Response:
        return jsonify(LARGE)

    @app.get("/versioned")
    @etag(VersionGenerator(lambda: VERSION))
    def versioned() -> Response:
        counter.expensive()
        return jsonify(SMALL)

    return app


def werkzeug_app(counter: ViewCounter) -> Flask:
    """Werkzeug's own tools: ``add_etag`` (sha1 of the body) and ``make_conditional``."""
    app = Flask("werkzeug")

    def conditional(response: Response) -> Response:
        response.add_etag()
        return response.make_conditional(request)

    @app.get("/small")
    def small() -> Response:
        return conditional(jsonify(SMALL))

    @app.get("/large")
    def large() -> Response:
        return conditional(jsonify(LARGE))

    @app.get("/versioned")
    def versioned() -> Response:
        probe = Response()
        probe.set_etag(str(VERSION))
        probe.make_conditional(request)
        if probe.status_code == 304:
            return probe
        counter.expensive()
        response = jsonify(SMALL)
        response.set_etag(str(VERSION))
        return response

    return app


def smorest_app(counter: ViewCounter) -> Flask:
    """flask-smorest: ``@blp.etag`` over ``@blp.response(200)``, no schema (its cheapest form)."""
    assert flask_smorest is not None
    app = Flask("smorest")
    app.config.update(
        API_TITLE="bench", API_VERSION="1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX=None
    )
    api = flask_smorest.Api(app)
    blp = flask_smorest.Blueprint("bench", "bench")

    @blp.route("/small")
    @blp.etag
    @blp.response(200)
    def small() -> Any:
        return SMALL

    @blp.route("/large")
    @blp.etag
    @blp.response(200)
    def large() -> Any:
        return LARGE

    @blp.route("/versioned")
    @blp.etag
    @blp.response(200)
    def versioned() -> Any:
        blp.set_etag(VERSION)  # raises its 304 here, before the expensive part
        counter.expensive()
        return SMALL

    api.register_blueprint(blp)
    return app


# --- calling an app in-process --------------------------------------------------------------


def environ_for(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A GET environ as a WSGI server would pass it; copied before each call."""
    builder = EnvironBuilder(path=path, headers=headers, base_url="http://localhost")
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app: Flask, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    """One request through the full WSGI stack: status, headers and body."""
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, dict(headers)]

    body = app(dict(environ), start_response)
    try:
        data = b"".join(body)
    finally:
        body.close()  # type: ignore[attr-defined]
    return captured[0], captured[1], data


def _noop_start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    return None


#: ``cpu``: CPU time of this thread, which time spent waiting for a core (the machine is shared)
#: does not inflate; ``wall``: elapsed time.  Both are honest for in-process calls, which
#: neither sleep nor wait for I/O.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def time_calls(app: Flask, environ: dict[str, Any], count: int) -> float:
    """Seconds per request over ``count`` requests; the body is consumed and closed."""
    start_response = _noop_start_response
    started = clock()
    for _ in range(count):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        body.close()  # type: ignore[attr-defined]
    return (clock() - started) / count


@dataclass
class Case:
    """One timed request: an app and an environ, checked for its status once at setup."""

    key: str
    app: Flask
    environ: dict[str, Any]
    #: Key of the bare-Flask case this one is compared with; None for a baseline itself.
    baseline: str | None = None
    count: int = 1
    samples: list[float] = field(default_factory=list)
    #: This case's time over its baseline's, timed back to back within each round.
    ratios: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.samples)

    def median_ratio(self) -> float:
        return statistics.median(self.ratios)


@dataclass(frozen=True)
class Row:
    """A line of the ratio table: a case name, its baseline and each contender's case key."""

    label: str
    baseline: str
    keys: dict[str, str]


ROWS = [
    Row("small JSON 200, body-hash tag", "bare small 200", {}),
    Row("small JSON 304, body-hash tag", "bare small 200", {}),
    Row("large JSON 200, body-hash tag", "bare large 200", {}),
    Row("large JSON 304, body-hash tag", "bare large 200", {}),
    Row("version-tagged 304, 3 ms view", "bare small 200", {}),
]
_ROW_PATHS = [("small", 200), ("small", 304), ("large", 200), ("large", 304), ("versioned", 304)]


def build_cases() -> tuple[dict[str, Case], list[ViewCounter]]:
    """Every contender's apps and environs, each request checked to answer as its row says."""
    counters: list[ViewCounter] = []
    apps: dict[str, Flask] = {"bare": bare_app()}
    factories: dict[str, Callable[[ViewCounter], Flask]] = {
        "ours": ours_app,
        "werkzeug": werkzeug_app,
    }
    if flask_smorest is not None:
        factories["flask-smorest"] = smorest_app
    for name, factory in factories.items():
        counter = ViewCounter()
        counters.append(counter)
        apps[name] = factory(counter)

    cases = {
        "bare small 200": Case("bare small 200", apps["bare"], environ_for("/small")),
        "bare large 200": Case("bare large 200", apps["bare"], environ_for("/large")),
    }
    for row in ROWS:
        row.keys.clear()
    for name in factories:
        app = apps[name]
        for row, (path, status) in zip(ROWS, _ROW_PATHS, strict=True):
            environ = environ_for(f"/{path}")
            if status == 304:
                environ = _revalidation_environ(app, path)
            key = f"{name} {path} {status}"
            cases[key] = Case(key, app, environ, baseline=row.baseline)
            row.keys[name] = key
    for case in cases.values():
        _check(case)
    for counter in counters:
        counter.runs = 0
    return cases, counters


def _revalidation_environ(app: Flask, path: str) -> dict[str, Any]:
    """A GET carrying the tag this app sent for ``path``, as a revalidating cache sends it."""
    status, headers, _ = call(app, environ_for(f"/{path}"))
    tag = headers.get("ETag")
    if not status.startswith("200") or not tag:
        raise SystemExit(f"{app.name} {path}: expected a tagged 200, got {status} {headers}")
    return environ_for(f"/{path}", {"If-None-Match": tag})


def _check(case: Case) -> None:
    expected = case.key.rsplit(" ", 1)[1]
    status, _, body = call(case.app, case.environ)
    if not status.startswith(expected) or (expected == "304" and body):
        raise SystemExit(f"{case.key}: expected {expected}, got {status} with {len(body)} bytes")


def calibrate(cases: Iterable[Case], round_seconds: float) -> None:
    """Pick each case's request count so one timing of it lasts about ``round_seconds``."""
    for case in cases:
        time_calls(case.app, case.environ, 2)  # warm up: first-request set-up, caches
        count = 1
        while (elapsed := time_calls(case.app, case.environ, count) * count) < round_seconds / 4:
            count *= 2
        case.count = max(1, round(count * round_seconds / elapsed))


def measure(cases: dict[str, Case], rounds: int) -> None:
    """Time each case back to back with its baseline, every round, rotating the case order.

    Load from other processes drifts over seconds; timing a case and its baseline next to
    each other (in alternating order) and keeping the median of those per-round ratios
    cancels most of it.
    """
    compared = [case for case in cases.values() if case.baseline is not None]
    for round_index in range(rounds):
        shift = round_index % len(compared)
        for case in compared[shift:] + compared[:shift]:
            baseline = cases[case.baseline]  # type: ignore[index]
            pair = (case, baseline) if round_index % 2 else (baseline, case)
            for timed in pair:
                timed.samples.append(time_calls(timed.app, timed.environ, timed.count))
            case.ratios.append(case.samples[-1] / baseline.samples[-1])


# --- hashing --------------------------------------------------------------------------------

HASHES: dict[str, Callable[[bytes], object]] = {
    "blake3": lambda data: blake3(data).hexdigest(length=16),
    "md5": lambda data: hashlib.md5(data).hexdigest(),
    "sha1": lambda data: hashlib.sha1(data).hexdigest(),
    "sha256": lambda data: hashlib.sha256(data).hexdigest(),
}
HASH_SIZES = {"1 KB": 1024, "1 MB": 1024 * 1024, "20 MB": 20 * 1024 * 1024}


def hash_throughput(rounds: int, round_seconds: float) -> dict[tuple[str, str], float]:
    """Median GB/s of each hash at each size, interleaved like the request cases."""
    results: dict[tuple[str, str], list[float]] = {}
    for size_name, size in HASH_SIZES.items():
        data = os.urandom(size)
        counts = {}
        for name, function in HASHES.items():
            started = clock()
            function(data)
            elapsed = max(clock() - started, 1e-7)
            counts[name] = max(1, round(round_seconds / elapsed))
        for _ in range(rounds):
            for name, function in HASHES.items():
                started = clock()
                for _ in range(counts[name]):
                    function(data)
                elapsed = clock() - started
                results.setdefault((name, size_name), []).append(
                    size * counts[name] / elapsed / 1e9
                )
    return {key: statistics.median(values) for key, values in results.items()}


# --- printing -------------------------------------------------------------------------------

TARGETS = {
    "small JSON 200, body-hash tag": 1.10,
    "small JSON 304, body-hash tag": 1.10,
    "version-tagged 304, 3 ms view": 1.00,
    "large JSON 200, body-hash tag": 1.03,
}


def print_ratio_table(cases: dict[str, Case]) -> bool:
    """The table docs/performance.md quotes; returns whether every target of ours holds."""
    contenders = [name for name in CONTENDERS if name in ROWS[0].keys]
    print("Request time as a ratio to bare Flask (median of per-round ratios; lower is better)")
    header = f"{'case':<32} {'baseline':<15}" + "".join(f"{name:>15}" for name in contenders)
    print(header + f"{'target (ours)':>15}")
    print("-" * (len(header) + 15))
    all_met = True
    for row in ROWS:
        cells = [f"{cases[row.keys[name]].median_ratio():>15.3f}" for name in contenders]
        target = TARGETS.get(row.label)
        verdict = ""
        if target is not None:
            met = cases[row.keys["ours"]].median_ratio() <= target
            all_met = all_met and met
            verdict = f"<= {target:.2f} {'ok' if met else 'MISSED'}"
        print(f"{row.label:<32} {row.baseline:<15}" + "".join(cells) + f"{verdict:>15}")
    print()
    print("Microseconds per request (median of rounds)")
    print(f"{'case':<32} {'bare':>15}" + "".join(f"{name:>15}" for name in contenders))
    for row in ROWS:
        base = cases[row.baseline].median() * 1e6
        cells = "".join(f"{cases[row.keys[name]].median() * 1e6:>15.1f}" for name in contenders)
        print(f"{row.label:<32} {base:>15.1f}{cells}")
    return all_met


def print_hash_table(throughput: dict[tuple[str, str], float]) -> None:
    print("Hash throughput, GB/s (median of rounds; higher is better)")
    print(f"{'algorithm':<12}" + "".join(f"{size:>12}" for size in HASH_SIZES))
    for name in HASHES:
        cells = "".join(f"{throughput[(name, size)]:>12.2f}" for size in HASH_SIZES)
        print(f"{name:<12}{cells}")


def print_machine() -> None:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = (
        f"Python {platform.python_version()}, Flask {_version('flask')}, "
        f"Werkzeug {_version('werkzeug')}, flask-smorest "
        f"{_version('flask-smorest') if flask_smorest else 'not installed'}, "
        f"blake3 {_version('blake3')}, flask_etag {_version('flask-etag')}"
    )
    print(f"Machine: {model}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(versions)


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


# --- end to end: gunicorn on loopback ---------------------------------------------------------

#: The ~100 KB resource, tagged by a body hash (the view runs for a 304) and by a version
#: (a 304 skips the view).
E2E_PATHS = {"hash": "/resource", "version": "/versioned-resource"}
#: Length of one load slice: the 200 and 304 loads alternate slice by slice, like the rounds.
E2E_SLICE_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited early with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"gunicorn did not listen on 127.0.0.1:{port} within {timeout} s")


def raw_exchange(port: int, path: str, headers: dict[str, str]) -> tuple[int, int, int, str | None]:
    """One GET over a fresh connection: request bytes, response bytes, status, ETag."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request_bytes)
        while chunk := connection.recv(65536):
            received += chunk
    head = bytes(received).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    match = re.search(r"(?im)^etag:\s*(.+?)\s*$", head)
    return len(request_bytes), len(received), status, match.group(1) if match else None


def load_with_wrk(
    port: int, path: str, headers: dict[str, str], seconds: int
) -> tuple[float, float]:
    """Requests/s and response bytes per request, from wrk's summary."""
    command = ["wrk", "-t1", "-c8", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", output).group(1))  # type: ignore[union-attr]
    totals = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read", output)
    assert totals is not None, output
    units = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
    read = float(totals.group(2)) * units[totals.group(3)]
    return rate, read / int(totals.group(1))


def load_with_python(
    port: int, path: str, headers: dict[str, str], seconds: int
) -> tuple[float, float]:
    """A fallback load generator: 4 keep-alive threads of http.client, bounded in time."""
    import http.client

    deadline = time.monotonic() + seconds
    counts: list[tuple[int, int]] = []

    def client() -> None:
        done = received = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            received += len(response.read()) + sum(
                len(k) + len(v) + 4 for k, v in response.getheaders()
            )
            done += 1
        connection.close()
        counts.append((done, received))

    threads = [threading.Thread(target=client) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - started
    done = sum(count for count, _ in counts)
    return done / elapsed, sum(size for _, size in counts) / max(done, 1)


def _without_control_socket() -> list[str]:
    """gunicorn 27 otherwise opens a control socket in the home folder."""
    major = int(importlib.metadata.version("gunicorn").split(".")[0])
    return ["--no-control-socket"] if major >= 27 else []


def end_to_end(seconds: int) -> None:
    """gunicorn serving the ~100 KB resource; 200 vs 304 throughput and bytes on the wire."""
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread",
        "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "--chdir", str(Path(__file__).resolve().parent), *_without_control_socket(),
        "e2e_app:app",
    ]  # fmt: skip
    tool = "wrk" if shutil.which("wrk") else "python http.client (wrk not installed)"
    load = load_with_wrk if shutil.which("wrk") else load_with_python
    slices = max(1, round(seconds / E2E_SLICE_SECONDS))
    slice_seconds = max(1, seconds // slices)
    rows: list[tuple[str, float, float, int, int]] = []
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port, server, timeout=20)
        for kind, path in E2E_PATHS.items():
            sent_200, got_200, status, tag = raw_exchange(port, path, {})
            assert status == 200 and tag, (path, status, tag)
            revalidate = {"If-None-Match": tag}
            sent_304, got_304, status, _ = raw_exchange(port, path, revalidate)
            assert status == 304, (path, status)
            loads: dict[str, list[tuple[float, float]]] = {"200": [], "304": []}
            for _ in range(slices):
                loads["200"].append(load(port, path, {}, slice_seconds))
                loads["304"].append(load(port, path, revalidate, slice_seconds))
            for status_text, sent, got in (("200", sent_200, got_200), ("304", sent_304, got_304)):
                rates = [rate for rate, _ in loads[status_text]]
                averages = [size for _, size in loads[status_text]]
                rows.append(
                    (f"{kind} {status_text}", statistics.mean(rates), statistics.mean(averages),
                     got, sent)
                )  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(
        f"End to end: gunicorn (2 gthread workers x 4 threads) on 127.0.0.1, load by {tool} "
        f"(8 connections), {slices * slice_seconds} s per row in alternating "
        f"{slice_seconds} s slices"
    )
    print(
        f"{'response':<14}{'requests/s':>12}{'bytes/response':>16}{'request bytes':>15}"
        f"{'load generator bytes/response':>31}"
    )
    for label, rate, average, got, sent in rows:
        print(f"{label:<14}{rate:>12.0f}{got:>16}{sent:>15}{average:>31.0f}")
    full, revalidation = rows[0], rows[1]
    print(
        f"A revalidation (304) moves {revalidation[3] / full[3]:.2%} of the response bytes of a "
        f"full 200 ({(revalidation[3] + revalidation[4]) / (full[3] + full[4]):.2%} counting "
        "both directions)."
    )


# --- main -----------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke test only")
    parser.add_argument("--rounds", type=int, default=41, help="rounds per case (median kept)")
    parser.add_argument(
        "--round-seconds", type=float, default=0.03, help="time each case gets per round"
    )
    parser.add_argument("--e2e", action="store_true", help="also run gunicorn + wrk")
    parser.add_argument("--e2e-seconds", type=int, default=8, help="load time per e2e case")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="cpu", help="what a timing measures"
    )
    parser.add_argument("--no-hash", action="store_true", help="skip the hash throughput table")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request with valgrind instead (benchmarks/instructions.py)",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.rounds, arguments.round_seconds, arguments.e2e_seconds = 2, 0.002, 1
    return arguments


def main(argv: list[str] | None = None) -> int:
    global clock
    arguments = parse_arguments(argv)
    if arguments.instructions:
        from instructions import main as count_instructions

        return count_instructions(["--requests", "20", "--layouts", "1"] if arguments.quick else [])
    clock = CLOCKS[arguments.clock]
    print_machine()
    if flask_smorest is None:
        print(
            "flask-smorest is not installed (pip install -e .[benchmark]): its column is left out"
        )
    print(
        f"Rounds: {arguments.rounds}, about {arguments.round_seconds} s per timing, "
        f"clock: {arguments.clock}\n"
    )
    cases, _ = build_cases()
    calibrate(cases.values(), arguments.round_seconds)
    measure(cases, arguments.rounds)
    targets_met = print_ratio_table(cases)
    print(f"\nTargets for ours: {'all met' if targets_met else 'NOT all met'}")
    if not arguments.no_hash:
        print()
        print_hash_table(hash_throughput(max(3, arguments.rounds // 3), arguments.round_seconds))
    if arguments.e2e:
        print()
        end_to_end(arguments.e2e_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
