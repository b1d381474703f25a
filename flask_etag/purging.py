"""Purging shared caches after a write: by surrogate key (Varnish ``xkey``) or by URL (nginx).

A shared cache that keeps responses for a while (``s-maxage``) serves the old body after a
write until it is told otherwise.  ``ETAG_PURGE_URLS`` names the caches to tell:

* a URL string, e.g. ``"http://127.0.0.1:6081"``: one ``PURGE /`` carrying the written keys in
  the surrogate-key field (Varnish with the ``xkey`` vmod; ``examples/varnish.vcl``);
* ``{"url": "http://127.0.0.1:8080/purge", "by": "url", "paths": {...}}``: one
  ``PURGE <url><path>`` per path to purge (nginx with the cache-purge module, whose 404 means
  "was not cached"): the written request's own path, and for each written key the paths
  ``"paths"`` maps it to, e.g. ``{"products": ["/api/products", "/api/products?*"]}`` for
  every page of the list (a trailing ``*`` purges every URL that starts so).  A URL cache
  knows no keys, so this map is what ties a write to the lists it changes.

The caches are told in parallel, and the write waits at most ``ETAG_PURGE_TIMEOUT`` seconds
for them all: a cache that is down or slow never fails nor holds up the client's write.  A
failed purge is logged and signalled (:data:`~flask_etag.etag_purge_failed`); that cache's
entries then go stale only until their ``max-age``/``s-maxage`` runs out.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .surrogate_keys import field_value

logger = logging.getLogger("flask_etag.purge")

#: Caches told at once; more targets than this wait for a free thread (still bounded).
_THREADS = 8
#: The purging threads of this process, by its id: a forked worker (gunicorn) makes its own.
_pools: dict[int, ThreadPoolExecutor] = {}

#: No proxy: the caches to purge sit beside the app, and an ``http_proxy`` variable meant
#: for the outside world must not swallow their ``PURGE``.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class PurgeTarget:
    """One shared cache: its base URL, how it purges (``"key"`` or ``"url"``), and for a URL
    cache the paths each key's responses live at."""

    url: str
    by: Literal["key", "url"] = "key"
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def requests(
        self, keys: tuple[str, ...], paths: tuple[str, ...], key_field: str
    ) -> list[urllib.request.Request]:
        """The ``PURGE`` requests that tell this cache about one write."""
        base = self.url.rstrip("/")
        if self.by == "url":
            mapped = [path for key in keys for path in self.paths.get(key, ())]
            every = dict.fromkeys((*paths, *mapped))
            return [urllib.request.Request(base + path, method="PURGE") for path in every]
        if not keys:
            return []
        fields = {key_field: field_value(keys, key_field)}
        return [urllib.request.Request(base + "/", method="PURGE", headers=fields)]


@dataclass(frozen=True)
class PurgeFailure:
    """A cache that did not confirm a purge in time: which, and why."""

    url: str
    error: str


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


def check_timeout(value: object) -> float:
    """``ETAG_PURGE_TIMEOUT``: seconds a write may wait for the caches, above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 60:
        raise ValueError(f"ETAG_PURGE_TIMEOUT must be seconds between 0 and 60, not {value!r}")
    return float(value)


def purge(
    targets: tuple[PurgeTarget, ...],
    keys: tuple[str, ...],
    paths: tuple[str, ...],
    key_field: str,
    timeout: float,
) -> list[PurgeFailure]:
    """Tell every target about one write, in parallel, waiting ``timeout`` seconds in all."""
    pool = _pool()
    sent = {
        pool.submit(_send, request, timeout): (target, request)
        for target in targets
        for request in target.requests(keys, paths, key_field)
    }
    if not sent:
        return []
    done, late = wait(sent, timeout=timeout)
    failures = [PurgeFailure(sent[future][1].full_url, "no answer in time") for future in late]
    for future in done:
        error = future.result()
        if error is not None:
            failures.append(PurgeFailure(sent[future][1].full_url, error))
    for failure in failures:
        logger.warning("purge at %s failed: %s", failure.url, failure.error)
    return failures


def _pool() -> ThreadPoolExecutor:
    process = os.getpid()
    pool = _pools.get(process)
    if pool is None:
        _pools.clear()  # a parent's pool: its threads did not survive the fork
        pool = _pools[process] = ThreadPoolExecutor(_THREADS, "flask-etag-purge")
    return pool


def _send(request: urllib.request.Request, timeout: float) -> str | None:
    """Send one ``PURGE``; None when the cache confirmed it, else what went wrong."""
    try:
        with _opener.open(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as refused:
        refused.close()
        if refused.code == 404:  # nginx's cache-purge: nothing stored under that URL
            return None
        return f"answered {refused.code} {refused.reason}"
    except (OSError, ValueError) as error:  # refused, reset, timed out, bad address
        return f"{type(error).__name__}: {error}"
    return None
