"""Purge targets that misbehave the ways real caches do, on loopback, for the purge tests.

* :func:`recording_cache`: confirms every ``PURGE`` (at once, or a while after it came) and
  records when it came;
* :func:`hung_cache`: accepts connections and never answers (a hung Varnish);
* :func:`trickling_cache`: answers one byte at a time, never finishing its status line (a
  proxy in between that stalls; a socket timeout per read never fires on it);
* a dead cache is a free port with nothing listening (:func:`support_processes.free_port`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from support_processes import LOOPBACK


def eventually(check: Any, seconds: float = 5.0) -> None:
    """Wait until ``check()`` holds, ``seconds`` at most, and assert that it does."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert check()


class Purge(NamedTuple):
    """One purge a recording cache confirmed: when (``time.monotonic()``), where, and its
    fields."""

    at: float
    path: str
    fields: dict[str, str]

    @property
    def surrogate_key(self) -> str:
        return self.fields.get("Surrogate-Key", "")


@dataclass
class Received:
    """The purges a recording cache confirmed, in the order they came."""

    purges: list[Purge] = field(default_factory=list)

    def surrogate_keys(self) -> list[str]:
        return [purge.surrogate_key for purge in self.purges]

    def times_of(self, keys: str) -> list[float]:
        return [purge.at for purge in self.purges if purge.surrogate_key == keys]


class _Recorder(BaseHTTPRequestHandler):
    def do_PURGE(self) -> None:
        received: Received = self.server.received  # type: ignore[attr-defined]
        received.purges.append(Purge(time.monotonic(), self.path, dict(self.headers)))
        time.sleep(self.server.answer_after)  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def recording_cache(
    port: int = 0, answer_after: float = 0.0, status: int = 200
) -> Iterator[tuple[str, Received]]:
    """A cache that confirms every purge ``answer_after`` seconds after it came (a busy but
    healthy cache), or answers each with ``status`` (one that refuses purges: 403, 405);
    yields its URL and what it received."""
    server = ThreadingHTTPServer((LOOPBACK, port), _Recorder)
    server.daemon_threads = True
    server.received = Received()  # type: ignore[attr-defined]
    server.answer_after = answer_after  # type: ignore[attr-defined]
    server.status = status  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def hung_cache() -> Iterator[str]:
    """A cache that takes connections (the kernel's backlog) and never reads or answers."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(1024)
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        listener.close()


@contextlib.contextmanager
def trickling_cache(seconds_per_byte: float = 0.2) -> Iterator[str]:
    """A cache that answers ``HTTP/1.1 200 OK`` one byte at a time, and never ends the line."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    stopped = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            answer = b"HTTP/1.1 200 OK" + b"K" * 100_000
            for byte in answer:
                if stopped.wait(seconds_per_byte):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stopped.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stopped.set()
        listener.close()
