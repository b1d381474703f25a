"""Purging shared caches after a write: by surrogate key (Varnish ``xkey``) or by URL (nginx).

A shared cache that keeps responses for a while (``s-maxage``) serves the old body after a
write until it is told otherwise.  ``ETAG_PURGE_URLS`` names the caches to tell:

* a URL string, e.g. ``"http://127.0.0.1:6081"``: one ``PURGE /`` carrying the written keys in
  the surrogate-key field (Varnish with the ``xkey`` vmod; ``examples/varnish.vcl``);
* ``{"url": "http://127.0.0.1:8080/purge", "by": "url", "paths": {...}}``: one
  ``PURGE <url><path>`` per path to purge (nginx with the cache-purge module, whose 404 means
  "was not cached"): the written request's own path, and for each written key the paths
  ``"paths"`` maps it to, e.g. ``{"products": ["/api/products"]}``.  A URL cache knows no
  keys, so this map is what ties a write to the lists it changes (cache-purge 2.4 and later
  also take a trailing ``*``, every URL that starts so; Debian 12's 2.3 does not).

The caches are told in parallel, and the write waits at most ``ETAG_PURGE_TIMEOUT`` seconds
for them all: a cache that is down or slow never fails nor holds up the client's write.  A
failed purge is logged and signalled (:data:`~flask_etag.etag_purge_failed`); that cache's
entries then go stale only until their ``max-age``/``s-maxage`` runs out.  Each write is
purged once more ``ETAG_PURGE_REPEAT_AFTER`` seconds later (:func:`purge_again_later`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from .purge_targets import PurgeTarget

logger = logging.getLogger("flask_etag.purge")

#: Caches told at once; more targets than this wait for a free thread (still bounded).
_THREADS = 8
#: The purging threads of this process, by its id: a forked worker (gunicorn) makes its own.
_pools: dict[int, ThreadPoolExecutor] = {}

#: No proxy: the caches to purge sit beside the app, and an ``http_proxy`` variable meant
#: for the outside world must not swallow their ``PURGE``.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class PurgeFailure:
    """A cache that did not confirm a purge in time: which, and why."""

    url: str
    error: str


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


def purge_again_later(
    targets: tuple[PurgeTarget, ...],
    keys: tuple[str, ...],
    paths: tuple[str, ...],
    key_field: str,
    timeout: float,
    delay: float,
) -> None:
    """Send the same purges once more after ``delay`` seconds, in the background.

    A read whose fetch from the app began before the write committed reaches the cache
    after the purge, and is stored: the old body, for its whole ``s-maxage``.  No cache can
    tell that fetch apart, so the write is purged a second time, once such fetches are over;
    that bounds the race's staleness by ``delay``.  Repeats are sent in order by one thread
    per process; a failed one is logged.
    """
    requests = [
        request for target in targets for request in target.requests(keys, paths, key_field)
    ]
    if requests:
        _repeat_queue().put((time.monotonic() + delay, requests, timeout))


_repeat_queues: dict[int, queue.SimpleQueue[tuple[float, list[urllib.request.Request], float]]] = {}
_repeat_lock = threading.Lock()


def _repeat_queue() -> queue.SimpleQueue[tuple[float, list[urllib.request.Request], float]]:
    with _repeat_lock:
        process = os.getpid()
        repeats = _repeat_queues.get(process)
        if repeats is None:
            _repeat_queues.clear()  # a parent's: its thread did not survive the fork
            repeats = _repeat_queues[process] = queue.SimpleQueue()
            worker = threading.Thread(
                target=_repeat_forever, args=(repeats,), name="flask-etag-purge-again", daemon=True
            )
            worker.start()
        return repeats


def _repeat_forever(
    repeats: queue.SimpleQueue[tuple[float, list[urllib.request.Request], float]],
) -> None:
    while True:
        due, requests, timeout = repeats.get()
        time.sleep(max(0.0, due - time.monotonic()))
        for request in requests:
            error = _send(request, timeout)
            if error is not None:
                logger.warning("repeated purge at %s failed: %s", request.full_url, error)


def _pool() -> ThreadPoolExecutor:
    with _repeat_lock:
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
