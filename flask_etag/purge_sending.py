"""One ``PURGE`` sent to one cache, done or abandoned by one deadline.

A socket timeout bounds each read, not the exchange: a cache that sends one byte every half
second never times out, and would hold its sender forever.  Neither ``urllib``, nor
``http.client``, nor urllib3 bounds a whole exchange in blocking code, so the status line is
read here, each ``recv`` given only the time left.  Only the status matters (a purge's body
says nothing a sender acts on), so the connection is closed after it.  Nor does a socket
timeout bound resolving the cache's host name, which comes first: that is given the time
left too (:mod:`flask_etag.purge_addresses`).
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .purge_addresses import AddressInfo, addresses

#: A status line longer than this is not HTTP.
_STATUS_LINE_LIMIT = 8192


@dataclass(frozen=True)
class PurgeRequest:
    """A ``PURGE`` of one URL, with the fields that say what to drop (surrogate keys)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Whether a 404 confirms it: nginx's cache-purge says "was not cached" so, for a URL.
    #: A purge by key has no such answer: a 404 is a cache that did not handle ``PURGE``.
    missing_confirms: bool = False


@dataclass(frozen=True)
class Unconfirmed:
    """Why a cache did not confirm a purge."""

    error: str
    #: Whether the cache answered at once that it will not take this purge: set up wrong
    #: (no ``PURGE`` in its VCL, the app's host not in its ACL), not failing, so no reason
    #: to back it off (:mod:`flask_etag.purge_breaker`).
    refused: bool = False


class PurgeDeadlinePassed(OSError):
    """The cache did not answer in the time given."""


def send(request: PurgeRequest, deadline: float) -> Unconfirmed | None:
    """Send ``request`` and read the status before ``deadline`` (``time.monotonic()``).

    :returns: None when the cache confirmed the purge (2xx; for a URL, nginx's cache-purge
        404, "was not cached", too), else what went wrong.
    """
    parts = urlsplit(request.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    tls = parts.scheme == "https"
    try:
        found = addresses(parts.hostname or "", parts.port or (443 if tls else 80), deadline)
        connected = _connected(found, deadline)
        connection = (_TLSConnection if tls else _Connection)(parts.netloc)
        connection.connected = connected
        try:
            connection.request("PURGE", path, headers=request.headers)
            status = _status(connection.sock, deadline)
        finally:
            connection.close()
            connected.close()  # never taken when the request was refused before connecting
    except (OSError, ValueError, http.client.HTTPException) as error:
        name = type(error).__name__
        return Unconfirmed(f"{name}: {error}" if str(error) else name)
    if 200 <= status < 300 or (status == 404 and request.missing_confirms):
        return None
    return Unconfirmed(f"answered {status}", refused=_is_refusal(status))


def _connected(found: Sequence[AddressInfo], deadline: float) -> socket.socket:
    """A connection to the first of ``found`` that takes one before ``deadline``."""
    error: OSError = OSError("the cache's host name has no address")
    for family, kind, protocol, _, address in found:
        candidate = socket.socket(family, kind, protocol)
        try:
            candidate.settimeout(_time_left(deadline))
            candidate.connect(address)
        except OSError as failed:
            candidate.close()
            error = failed
        else:
            return candidate
    raise error


class _Connection(http.client.HTTPConnection):
    """An HTTP connection over a socket already connected (to an address resolved within
    the purge's deadline); ``Host`` still names the cache as configured."""

    #: The socket to send over, connected with the time left as its timeout.
    connected: socket.socket | None = None

    def connect(self) -> None:
        """Take the connected socket: connecting again would resolve the name, unbounded."""
        if self.connected is None:
            raise ConnectionError("no connection to send the purge over")
        self.sock = self.connected


class _TLSConnection(http.client.HTTPSConnection, _Connection):
    """HTTPS over the connected socket: ``HTTPSConnection.connect`` wraps what
    :meth:`_Connection.connect` gives, and checks the certificate against the name."""


def _is_refusal(status: int) -> bool:
    """Whether ``status`` refuses the purge, from a cache that works: a 4xx says the request
    is wrong (RFC 9110 §15.5), a 501 that its method is not supported (§15.6.2); asking
    again later changes neither.  A 408 or 429 says "not now" (§15.5.9, RFC 6585 §4), and
    other 5xx that the cache is failing: those count towards backing it off."""
    return (400 <= status < 500 and status not in (408, 429)) or status == 501


def _status(connection: socket.socket, deadline: float) -> int:
    """The status code of the answer, read before ``deadline`` however slowly it comes."""
    received = b""
    while b"\r\n" not in received:
        connection.settimeout(_time_left(deadline))
        try:
            chunk = connection.recv(1024)
        except TimeoutError:
            raise PurgeDeadlinePassed("no answer before the deadline") from None
        if not chunk:
            raise ConnectionError("closed before answering")
        received += chunk
        if len(received) > _STATUS_LINE_LIMIT:
            raise ValueError("the answer is not HTTP")
    version, _, rest = received.split(b"\r\n", 1)[0].partition(b" ")
    code = rest[:3]
    if not (version.startswith(b"HTTP/") and code.isdigit()):
        raise ValueError("the answer is not HTTP")
    return int(code)


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PurgeDeadlinePassed("no answer before the deadline")
    return left
