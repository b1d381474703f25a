"""A cache's addresses, found before a purge's deadline however long its resolver takes.

``socket.getaddrinfo`` takes no timeout: a DNS server that never answers holds the caller for
as long as the C library's resolver tries (5 s a try, twice, by default), and a socket timeout
starts only once the name is resolved.  A sender waiting that long is lost to its cache, and
its purge is concluded only afterwards, so the cache is not backed off and every write waits
its whole deadline for it.  So a name is resolved in a thread of its own, and a sender waits
for it no longer than its purge's deadline; while one resolution of a name runs, the purges
to that name wait for it rather than start another, so a hung resolver ties up one thread
per cache, not one per purge.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: What :func:`socket.getaddrinfo` gives: family, type, protocol, canonical name, address.
AddressInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


class NameNotResolvedInTime(OSError):
    """The cache's host name was not resolved before the purge's deadline."""


@dataclass
class _Resolution:
    """One ``getaddrinfo`` of a name, running in its own thread, and what it gave."""

    done: threading.Event = field(default_factory=threading.Event)
    addresses: Sequence[AddressInfo] = ()
    error: OSError | ValueError | None = None


_running: dict[tuple[str, int], _Resolution] = {}
_running_lock = threading.Lock()


def addresses(host: str, port: int, deadline: float) -> Sequence[AddressInfo]:
    """The TCP addresses of ``host``, found before ``deadline`` (``time.monotonic()``).

    An address written as one (``127.0.0.1``, ``[::1]``) needs no resolver and is taken at
    once; a name is resolved in a thread that the purge waits for until its deadline.

    :raises NameNotResolvedInTime: the resolver had not answered by ``deadline``.
    :raises OSError: the resolver answered that the name has no address.
    :raises ValueError: ``host`` is no name (``UnicodeError``: not IDNA).
    """
    try:
        return _literal(host, port)
    except socket.gaierror:
        pass
    resolution = _resolution_of(host, port)
    if not resolution.done.wait(max(0.0, deadline - time.monotonic())):
        raise NameNotResolvedInTime(f"{host} was not resolved before the deadline")
    if resolution.error is not None:
        raise resolution.error
    return resolution.addresses


def _literal(host: str, port: int) -> Sequence[AddressInfo]:
    """``host`` as an address written out; ``socket.gaierror`` for a name."""
    flags = socket.AI_NUMERICHOST
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)


def _resolution_of(host: str, port: int) -> _Resolution:
    """The running resolution of ``host``, or a new one: never two for one name at once."""
    with _running_lock:
        resolution = _running.get((host, port))
        if resolution is None:
            resolution = _running[(host, port)] = _Resolution()
            name = f"flask-etag-resolve {host}"
            resolving = threading.Thread(
                target=_resolve, args=(host, port, resolution), name=name, daemon=True
            )
            resolving.start()
        return resolution


def _resolve(host: str, port: int, resolution: _Resolution) -> None:
    try:
        resolution.addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        resolution.error = error
    finally:
        with _running_lock:
            del _running[(host, port)]
        resolution.done.set()


def _forget_the_parents_resolutions() -> None:
    """In a forked child: the parent's resolving threads are gone, and the lock one of them
    held at the fork would stay held forever."""
    global _running, _running_lock
    _running, _running_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_the_parents_resolutions)
