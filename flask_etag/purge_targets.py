"""``ETAG_PURGE_URLS``, ``ETAG_PURGE_TIMEOUT`` and ``ETAG_PURGE_REPEAT_AFTER``, checked at
set-up: the shared caches to purge after a write, and how (see :mod:`flask_etag.purging`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, unquote_to_bytes, urlsplit

from flask import Request

from .internals import request_target_as_sent
from .purge_sending import PurgeRequest
from .surrogate_keys import field_value


@dataclass(frozen=True)
class PurgeTarget:
    """One shared cache: its base URL, how it purges (``"key"`` or ``"url"``), and for a URL
    cache the paths each key's responses live at."""

    url: str
    by: Literal["key", "url"] = "key"
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def requests(
        self, keys: tuple[str, ...], paths: tuple[str, ...], key_field: str
    ) -> list[PurgeRequest]:
        """The ``PURGE`` requests that tell this cache about one write."""
        base = self.url.rstrip("/")
        if self.by == "url":
            mapped = [path for key in keys for path in self.paths.get(key, ())]
            every = dict.fromkeys(map(_rooted, (*paths, *mapped)))
            return [PurgeRequest(base + path, missing_confirms=True) for path in every]
        return [
            PurgeRequest(base + "/", {key_field: field_value(batch, key_field)})
            for batch in key_batches(keys)
        ]


def _rooted(path: str) -> str:
    """``path`` from ``/``, its dot segments resolved: appended to a base URL, a path that
    did not start there (a mount point from a client's ``X-Forwarded-Prefix``: ``:8081``,
    ``.example.net``) extended its authority and sent the ``PURGE`` to another port or host
    (RFC 3986 §3.2, §3.3), and a ``..`` climbed out of the base URL's path once the cache
    resolved it (§5.2.4): ``/purge/../api`` is ``/api`` to nginx, which its purge location
    never sees and its app location passes on."""
    return _without_dot_segments(path if path.startswith("/") else f"/{path}")


def _without_dot_segments(path: str) -> str:
    """An absolute ``path`` with its ``.`` and ``..`` segments resolved, RFC 3986 §5.2.4;
    ``%2E`` is a dot (§2.3, §6.2.2.2), and nginx resolves it as one.  The result is the
    same URL to a cache that normalises (nginx keys ``$uri``, resolved), and never one
    above the base URL's path, for any cache.

    nginx decodes a ``%2F`` before it resolves dots, so ``/a/..%2F..%2Fb`` is ``/b`` there:
    a path with a dot segment behind one is resolved as nginx does, every ``%2F`` a ``/``;
    one without keeps its ``%2F`` (a URL of its own to Varnish, RFC 3986 §2.2).
    """
    segments = _SLASH.split(path)[1:]
    if not any(_ENCODED_DOT.sub(".", segment) in (".", "..") for segment in segments):
        return path
    kept: list[str] = []
    for segment in segments:
        dots = _ENCODED_DOT.sub(".", segment)
        if dots == "..":
            del kept[-1:]
        elif dots != ".":
            kept.append(segment)
    if _ENCODED_DOT.sub(".", segments[-1]) in (".", ".."):
        kept.append("")  # "/a/b/.." is "/a/": the last segment, resolved, leaves its slash
    return "/" + "/".join(kept)


_ENCODED_DOT = re.compile("%2e", re.IGNORECASE)
#: A segment's end as nginx reads it: ``/``, or ``%2F``, which it decodes first.
_SLASH = re.compile("/|%2f", re.IGNORECASE)

#: What a path segment holds unencoded (RFC 3986 §3.3: ``pchar``, and ``/``); no ``%``: the
#: path is Flask's decoded one, where a ``%`` is a character of its own.
_PATH_KEPT = "/!$&'()*+,;=:@-._~"


def written_path(served: Request) -> str:
    """The written URL's path as a cache keyed it: under the app's mount point, and
    percent-encoded (RFC 3986 §2.1) as the client sent it; a non-ASCII character, a space
    or a CR/LF would otherwise make the ``PURGE`` fail, and a ``?`` cut the path short."""
    as_sent = _path_info_as_sent(served)
    if as_sent is None:
        as_sent = quote(served.path, safe=_PATH_KEPT)
    return quote(served.script_root, safe=_PATH_KEPT) + as_sent


#: One unit of a raw path: an escape, or any other byte; each decodes to one byte.
_ESCAPE_OR_BYTE = re.compile(rb"%[0-9A-Fa-f]{2}|.", re.DOTALL)


def _path_info_as_sent(served: Request) -> str | None:
    """The request's ``PATH_INFO`` in the form its client encoded it, or None where that
    is unknown.

    The WSGI server decodes the path, and a decoded ``/`` cannot say whether it came as
    ``/`` or ``%2F``, which are two URLs (RFC 3986 §2.2) to a cache keying the target as
    sent (Varnish's ``req.url``).  Of the request target as sent
    (:func:`~flask_etag.internals.request_target_as_sent`), the end that decodes to
    ``PATH_INFO`` is taken, so
    a mount point the server or a proxy took off (``SCRIPT_NAME``) is never counted twice.
    Without such a key, or one a middleware made disagree with ``PATH_INFO``, None.
    """
    target = request_target_as_sent(served.environ)
    path_info = served.environ.get("PATH_INFO", "")
    if target is None or not isinstance(path_info, str):
        return None
    path = target.partition("?")[0]
    if not path.startswith("/"):  # the absolute form, RFC 9112 §3.2.2
        path = urlsplit(path).path
    try:  # WSGI strings carry bytes as Latin-1 (PEP 3333)
        sent, wanted = path.encode("latin-1"), path_info.encode("latin-1")
    except UnicodeEncodeError:
        return None
    starts = [unit.start() for unit in _ESCAPE_OR_BYTE.finditer(sent)]
    if len(starts) < len(wanted):
        return None
    tail = sent[starts[len(starts) - len(wanted)] :] if wanted else b""
    if unquote_to_bytes(tail) != wanted:
        return None
    return quote(tail, safe=_PATH_KEPT + "%")  # what a server let through unencoded


#: The longest key field one ``PURGE`` carries.  Varnish refuses a request with a field
#: longer than its ``http_req_hdr_len`` (8 KB by default: 400, or the connection reset), and
#: nginx one beyond its 8 KB header buffers, so a write of many rows is purged in batches.
KEY_FIELD_LIMIT = 4096


def key_batches(keys: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """``keys`` in order, in batches whose field value fits :data:`KEY_FIELD_LIMIT` (a key
    longer than that alone in its batch)."""
    batch: list[str] = []
    length = 0
    for key in dict.fromkeys(keys):
        added = len(key) + 1 if batch else len(key)  # a separator before all but the first
        if batch and length + added > KEY_FIELD_LIMIT:
            yield tuple(batch)
            batch, length, added = [], 0, len(key)
        batch.append(key)
        length += added
    if batch:
        yield tuple(batch)


def parse_targets(config_value: object) -> tuple[PurgeTarget, ...]:
    """Validate ``ETAG_PURGE_URLS`` at set-up; a clear error names what is wrong."""
    if config_value is None:
        return ()
    if isinstance(config_value, str) or not isinstance(config_value, Iterable):
        raise TypeError(
            "ETAG_PURGE_URLS must be a list such as ['http://127.0.0.1:6081'], "
            f"not {config_value!r}"
        )
    return tuple(_target(entry) for entry in config_value)


def _target(entry: object) -> PurgeTarget:
    if isinstance(entry, str):
        return PurgeTarget(_base_url(entry))
    if not (isinstance(entry, Mapping) and "url" in entry and set(entry) <= _ENTRY_MEMBERS):
        raise TypeError(
            "each ETAG_PURGE_URLS entry is a base URL string or a mapping with 'url', and "
            f"optionally 'by' ('key' or 'url') and 'paths', not {entry!r}"
        )
    by = entry.get("by", "key")
    if by not in ("key", "url"):
        raise ValueError(f"ETAG_PURGE_URLS: 'by' is 'key' or 'url', not {by!r}")
    return PurgeTarget(_base_url(entry["url"]), by, _paths(entry.get("paths", {})))


_ENTRY_MEMBERS = {"url", "by", "paths"}


def _base_url(url: object) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"ETAG_PURGE_URLS: {url!r} is not an http(s) base URL")
    if parts.query or parts.fragment:
        raise ValueError(f"ETAG_PURGE_URLS: {url!r} must have no query or fragment")
    if "@" in parts.netloc:  # never sent, and every failed purge would log the password
        raise ValueError(
            "ETAG_PURGE_URLS: a base URL carries no credentials; allow the app's hosts by address"
        )
    try:
        parts.port  # noqa: B018  # raises for a port that is not a number up to 65535
    except ValueError:
        raise ValueError(f"ETAG_PURGE_URLS: {url!r} has no valid port") from None
    return url  # type: ignore[return-value]  # a str, checked above


def _paths(paths: object) -> dict[str, tuple[str, ...]]:
    """``{"products": ["/api/products", ...]}``: each key's URL paths, each starting at /."""
    if not isinstance(paths, Mapping):
        raise TypeError(f"ETAG_PURGE_URLS: 'paths' maps keys to lists of paths, not {paths!r}")
    checked = {}
    for key, listed in paths.items():
        values = (listed,) if isinstance(listed, str) else tuple(listed)
        if not all(isinstance(path, str) and path.startswith("/") for path in values):
            raise ValueError(f"ETAG_PURGE_URLS: the paths of {key!r} must start with /")
        checked[str(key)] = values
    return checked


def check_seconds(name: str, value: object, *, zero_allowed: bool = False) -> float:
    """``ETAG_PURGE_TIMEOUT`` (above 0), ``ETAG_PURGE_REPEAT_AFTER`` (0 turns it off) or
    ``ETAG_CLOCK_SKEW`` (0: the clocks are one)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else -1
    if not (0 <= number <= 60) or (number == 0 and not zero_allowed):
        smallest = "from 0" if zero_allowed else "above 0"
        raise ValueError(f"{name} must be seconds {smallest} up to 60, not {value!r}")
    return float(number)
