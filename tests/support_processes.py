"""Real processes for the tests: gunicorn on a free loopback port, and a PostgreSQL schema.

Tests that need something this machine may lack (gunicorn, a PostgreSQL server) call
:func:`skip_or_fail`: they skip with the reason, except in strict mode (``ETAG_TESTS_STRICT``
set to 1, true, yes or on, as CI does), where a missing dependency is a failure, so CI can
never pass by skipping.  Any other value than those or 0, false, no, off and empty stops the
run: a misspelt setting must not quietly turn skips back on.

Usage::

    with gunicorn_server("examples.products:create_app()", workers=4, threads=4,
                         env={"FLASK_SQLALCHEMY_DATABASE_URI": url},
                         ready_path="/api/products/101") as base_url:
        requests.get(f"{base_url}/api/products/101")

The server is always stopped on leaving the block (SIGTERM, then SIGKILL of its process group
after a bounded wait), and its start-up is bounded too.  :func:`gunicorn_process` yields the
process as well, for a test that kills the server itself (:func:`kill_process_group`).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import quote

import pytest

#: The repository root: gunicorn runs there, so ``examples.products`` and ``tests.x`` import.
REPO_ROOT = Path(__file__).resolve().parent.parent

LOOPBACK = "127.0.0.1"

#: Where the PostgreSQL tests connect (trust auth); override with ETAG_TESTS_POSTGRES_URL.
POSTGRES_URL = os.environ.get(
    "ETAG_TESTS_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

#: Where the MariaDB tests connect (root, no password); override with ETAG_TESTS_MARIADB_URL.
MARIADB_URL = os.environ.get(
    "ETAG_TESTS_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
)

#: Lines of the server log shown when something goes wrong.
_LOG_TAIL_LINES = 60


STRICT_VARIABLE = "ETAG_TESTS_STRICT"
#: The spellings of the strict setting, compared case-insensitively, surrounding spaces ignored.
STRICT_VALUES = ("1", "true", "yes", "on")
LENIENT_VALUES = ("", "0", "false", "no", "off")


def strict_mode() -> bool:
    """True when ETAG_TESTS_STRICT says strict: a missing binary or service then fails.

    Unset or a false spelling is not strict; anything else is refused with a usage error that
    names the variable and the accepted values.
    """
    raw = os.environ.get(STRICT_VARIABLE)
    value = "" if raw is None else raw.strip().lower()
    if value in STRICT_VALUES:
        return True
    if value in LENIENT_VALUES:
        return False
    raise pytest.UsageError(
        f"{STRICT_VARIABLE}={raw!r} is not understood: use one of {', '.join(STRICT_VALUES)} "
        f"(strict: a missing dependency fails) or {', '.join(repr(v) for v in LENIENT_VALUES)} "
        "(not strict: it skips), in any case"
    )


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test needing something this machine lacks; fail instead in strict mode."""
    if strict_mode():
        pytest.fail(f"{reason} ({STRICT_VARIABLE} forbids skipping)")
    pytest.skip(reason)


# Checked on import, so a misspelt value stops the run at collection, not at the first skip.
strict_mode()


def require_module(name: str, why: str) -> None:
    """Skip (or fail in strict mode) when the Python module ``name`` is not installed."""
    if importlib.util.find_spec(name) is None:
        skip_or_fail(f"{name} is not installed ({why}): pip install -e '.[test]'")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time; the message holds its log."""


def without_control_socket() -> list[str]:
    """gunicorn 27's option against its control socket, which it otherwise puts in the home
    folder, one path shared by every server: a test must leave nothing there."""
    from importlib.metadata import version

    major = int(version("gunicorn").split(".")[0])
    return ["--no-control-socket"] if major >= 27 else []


@dataclass(frozen=True)
class Server:
    """A running server: its base URL, and its master process, which leads a process group
    of its own (the workers are in it too)."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def gunicorn_server(app: str, **options: Any) -> Iterator[str]:
    """Serve ``app`` (gunicorn's ``module:variable`` or ``module:factory()``) on loopback;
    yields the base URL (``http://127.0.0.1:PORT``).  ``options`` as :func:`gunicorn_process`."""
    with gunicorn_process(app, **options) as server:
        yield server.url


@contextlib.contextmanager
def gunicorn_process(
    app: str,
    *,
    workers: int = 1,
    threads: int = 1,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
    startup_timeout: float = 30.0,
    shutdown_timeout: float = 10.0,
    extra_args: Sequence[str] = (),
    working_dir: Path | None = None,
) -> Iterator[Server]:
    """Serve ``app`` on loopback; yields the :class:`Server` (URL and process) once
    ``ready_path`` answers with any status below 500.  Leaving the block stops what is left
    of it, even when the test stopped or killed it itself.

    gthread workers: ``workers`` processes of ``threads`` threads each.  ``env`` is added to
    this process's environment for the server; ``working_dir`` is where it runs (the
    repository by default, which stays importable either way).
    """
    require_module("gunicorn", "the test runs the app under a real WSGI server")
    with tempfile.TemporaryFile("w+", prefix="gunicorn-", suffix=".log") as log:
        process, port = _start_on_a_free_port(
            app,
            workers,
            threads,
            env,
            ready_path,
            startup_timeout,
            extra_args,
            log,
            working_dir or REPO_ROOT,
        )
        try:
            yield Server(f"http://{LOOPBACK}:{port}", process)
        except BaseException:
            print(f"--- gunicorn log ({app}) ---\n{_tail(log)}")
            raise
        finally:
            stop_process(process, shutdown_timeout)


def _start_on_a_free_port(
    app: str,
    workers: int,
    threads: int,
    env: Mapping[str, str] | None,
    ready_path: str,
    startup_timeout: float,
    extra_args: Sequence[str],
    log: IO[str],
    working_dir: Path,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start gunicorn and wait until it answers; a port taken meanwhile is retried."""
    for _attempt in range(3):
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind={LOOPBACK}:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--worker-class=gthread",
            "--timeout=60",
            "--graceful-timeout=5",
            f"--chdir={working_dir}",
            f"--pythonpath={REPO_ROOT}",
            "--error-logfile=-",
            "--log-level=warning",
            *without_control_socket(),
            *extra_args,
            app,
        ]
        process = subprocess.Popen(
            command,
            cwd=working_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its workers can be killed too
        )
        try:
            wait_until_ready(process, port, ready_path, startup_timeout, log)
        except ServerStartError as error:
            stop_process(process, 5.0)
            if "Address already in use" in str(error):
                continue
            raise
        return process, port
    raise ServerStartError(f"gunicorn found no free port for {app} after 3 attempts")


def wait_until_ready(
    process: subprocess.Popen[bytes],
    port: int,
    path: str,
    timeout: float,
    log: IO[str],
) -> None:
    """Poll ``path`` until it answers below 500; raise with the log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the server exited with {process.returncode}:\n{_tail(log)}")
        if _answers(port, path):
            return
        time.sleep(0.1)
    raise ServerStartError(f"the server did not answer {path} within {timeout} s:\n{_tail(log)}")


def _answers(port: int, path: str) -> bool:
    """True when a GET of ``path`` gets an HTTP status below 500."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (gunicorn stops its workers gracefully), then SIGKILL its process group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind by a killed master
    if process.poll() is None:
        process.wait(timeout)


def kill_process_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL the whole process group ``process`` leads (a gunicorn master and its workers)
    at once, as a crash would: none of them gets to answer a request or close a connection
    politely.  Returns once the master is reaped; the workers are dead too, though their
    new parent may reap them a moment later."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout)


def _tail(log: IO[str]) -> str:
    """The last lines of the server log."""
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-_LOG_TAIL_LINES:])


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path, prefix: str) -> Iterator[str]:
    """A SQLAlchemy URL to an empty database of ``backend``: a SQLite file in ``folder``, or
    a PostgreSQL schema or MariaDB database of its own, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{prefix}.sqlite3'}"
    elif backend == "postgresql":
        with postgres_schema(prefix) as url:
            yield url
    else:
        with mariadb_database(prefix) as url:
            yield url


@contextlib.contextmanager
def mariadb_database(prefix: str = "flask_etag_test") -> Iterator[str]:
    """A fresh MariaDB database for one test; yields a SQLAlchemy URL into it.

    Nothing outside it is touched; it is dropped afterwards.  Skips (fails in strict mode)
    when no server answers at :data:`MARIADB_URL`.
    """
    require_module("pymysql", "MariaDB tests use the PyMySQL driver")
    import sqlalchemy as sa

    server = sa.make_url(MARIADB_URL)
    engine = sa.create_engine(server, connect_args={"connect_timeout": 3})
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE `{name}`"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        skip_or_fail(f"no MariaDB server reachable at {server.render_as_string()}: {error.orig}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE `{name}`"))
        engine.dispose()


@contextlib.contextmanager
def postgres_schema(prefix: str = "flask_etag_test") -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; yields a SQLAlchemy URL whose search_path is it.

    Nothing outside the schema is touched, so tests (and parallel runs) cannot collide; the
    schema and everything in it are dropped afterwards.  Skips (fails in strict mode) when no
    server answers at :data:`POSTGRES_URL`.
    """
    require_module("psycopg", "PostgreSQL tests use the psycopg driver")
    import psycopg

    libpq_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(libpq_url, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        skip_or_fail(f"no PostgreSQL server reachable at {libpq_url}: {error}".strip())
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            separator = "&" if "?" in POSTGRES_URL else "?"
            yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
