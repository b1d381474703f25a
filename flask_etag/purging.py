"""Purging shared caches after a write: by surrogate key (Varnish ``xkey``) or by URL (nginx).

A shared cache that keeps responses for a while (``s-maxage``) serves the old body after a
write until it is told otherwise.  ``ETAG_PURGE_URLS`` names the caches to tell:

* a URL string, e.g. ``"http://127.0.0.1:6081"``: one ``PURGE /`` carrying the written keys in
  the surrogate-key field (Varnish with the ``xkey`` vmod; ``examples/varnish.vcl``), which
  a 2xx confirms (a 404 is a cache that did not handle ``PURGE``: the app behind it);
* ``{"url": "http://127.0.0.1:8080/purge", "by": "url", "paths": {...}}``: one
  ``PURGE <url><path>`` per path to purge (nginx with the cache-purge module, whose 404 means
  "was not cached"): the written request's own path, and for each written key the paths
  ``"paths"`` maps it to, e.g. ``{"products": ["/api/products"]}``.  A URL cache knows no
  keys, so this map is what ties a write to the lists it changes (cache-purge 2.4 and later
  also take a trailing ``*``, every URL that starts so; Debian 12's 2.3 does not).

Each cache is on its own: it has a bounded queue (:data:`QUEUE_SIZE`) and its own sender
threads, so a slow, hung or dead cache never delays the purges of another.  A request
thread never sends: it queues its purges and waits until the caches in use confirm them,
``ETAG_PURGE_TIMEOUT`` seconds at most.  That is also each purge's whole deadline (name lookup,
connect, send, answer), counted from when its sender takes it: a purge that waited its turn, or
waited out a pause of the whole process (a garbage collection, a starved CPU), still gets
all of it.  One that waited :data:`QUEUE_WAIT_DEADLINES` deadlines is given up: its cache
is slower than the writes.  So the client hears of its write once its next read through
any cache that keeps up is fresh, and a cache that fails is never waited for again until it
recovers (:mod:`flask_etag.purge_breaker`).  Every purge that is not confirmed (failed,
dropped from a full queue, backed off, out of time) is counted (:func:`purge_statistics`),
logged and signalled (:data:`~flask_etag.etag_purge_failed`), never silently lost; one
confirmed after its write was answered is counted and logged as late.  Each write is
purged once more ``ETAG_PURGE_REPEAT_AFTER`` seconds later (:func:`purge_again_later`).
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from blinker import NamedSignal

from .purge_breaker import Change, CircuitBreaker
from .purge_sending import PurgeRequest, send
from .purge_targets import PurgeTarget
from .signals import etag_purge_circuit_closed, etag_purge_circuit_opened, etag_purge_failed

logger = logging.getLogger("flask_etag.purge")

#: Purges waiting per cache; a write beyond that is dropped for this cache (and reported).
QUEUE_SIZE = 1024
#: Purges sent at once to one cache.
SENDERS_PER_CACHE = 4
#: A purge that waited this many times its deadline for a sender is given up (reported):
#: its cache answers, but slower than the writes come, and fresh purges beat a backlog of
#: old ones.  Five deadlines, not one: a process paused by a full garbage collection or a
#: starved CPU must not give up purges that it never tried.
QUEUE_WAIT_DEADLINES = 5
#: At exit, queued purges get at most this long (gunicorn's graceful timeout is 30 s).
SHUTDOWN_SECONDS = 5.0
#: A sender thread with nothing to do for this long ends; the next purge starts another.
_IDLE_SECONDS = 30.0
#: How long past its own deadline a write waits for the senders to say how its purges went.
_REPORT_GRACE = 0.05


@dataclass(frozen=True)
class PurgeFailure:
    """A cache that did not confirm a purge in time: which, and why."""

    url: str
    error: str


@dataclass
class _Job:
    """One ``PURGE`` on its way to one cache, and how it went."""

    request: PurgeRequest
    #: Seconds its exchange may take, from when a sender takes it (resolve, connect, send, answer).
    timeout: float
    keys: tuple[str, ...]
    #: Whom the signals name as their sender: the app that wrote.
    app: Any
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    #: When it was put in its cache's queue (``time.monotonic()``).
    queued_at: float = 0.0
    #: Until when its write waits for it; None when no write does (a repeat, a backed-off
    #: cache).  Confirmed later, it is counted ``late``.
    awaited_until: float | None = None


class _Cache:
    """One cache's queue, senders, circuit breaker and counts, in this process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.breaker = CircuitBreaker()
        self.jobs: queue.Queue[_Job] = queue.Queue(QUEUE_SIZE)
        self.counts = {"sent": 0, "failed": 0, "dropped": 0, "late": 0}
        self._lock = threading.Lock()
        self._senders = 0
        self._unfinished = 0
        self._finished = threading.Condition(self._lock)

    def submit(self, job: _Job) -> bool:
        """Queue ``job``; False (reported) when the queue is full."""
        job.queued_at = time.monotonic()
        with self._lock:
            try:
                self.jobs.put_nowait(job)
            except queue.Full:
                self.counts["dropped"] += 1
                full = True
            else:
                self._unfinished += 1
                full = False
                if self._senders < SENDERS_PER_CACHE:
                    self._senders += 1
                    name = f"flask-etag-purge {self.name}"
                    threading.Thread(target=self._send_queued, name=name, daemon=True).start()
        if full:
            _conclude(job, f"dropped: {QUEUE_SIZE} purges already wait for this cache")
        return not full

    def wait_until_idle(self, deadline: float) -> bool:
        """Wait for the queued purges to be sent (or dropped), until ``deadline``."""
        with self._finished:
            while self._unfinished and time.monotonic() < deadline:
                self._finished.wait(deadline - time.monotonic())
            return not self._unfinished

    def _send_queued(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self.jobs.empty():
                        self._senders -= 1
                        return
                continue
            try:
                self._send(job)
            except Exception:  # a defect must not cost this cache a sender, or the job its end
                logger.exception("sending a purge to %s failed unexpectedly", self.name)
                job.done.set()
            finally:
                with self._finished:
                    self._unfinished -= 1
                    self._finished.notify_all()

    def _send(self, job: _Job) -> None:
        waited = time.monotonic() - job.queued_at
        if waited > QUEUE_WAIT_DEADLINES * job.timeout:
            self._count("dropped")
            _conclude(job, f"dropped: it waited {waited:.1f} s for a sender to this cache")
            return
        if not self.breaker.allows():
            self._count("dropped")
            _conclude(job, f"dropped: this cache is backed off for {self.breaker.backoff:g} s")
            return
        unconfirmed = send(job.request, time.monotonic() + job.timeout)
        error = None if unconfirmed is None else unconfirmed.error
        self._count("failed" if error else "sent")
        if error is None and job.awaited_until is not None:
            self._note_if_late(job, job.awaited_until)
        # A refusal is reported like any failure, but says the cache answers: backing it
        # off would only drop its purges for a minute after it is set right.
        failing = unconfirmed is not None and not unconfirmed.refused
        change = self.breaker.failed() if failing else self.breaker.succeeded()
        _conclude(job, error)
        if change is Change.OPENED:
            logger.warning("purges to %s back off after failing again: %s", self.name, error)
            send_logging_errors(etag_purge_circuit_opened, job.app, url=self.name, error=error)
        elif change is Change.CLOSED:
            logger.warning("purges to %s answered again", self.name)
            send_logging_errors(etag_purge_circuit_closed, job.app, url=self.name)

    def _note_if_late(self, job: _Job, awaited_until: float) -> None:
        """A purge confirmed after its write stopped waiting: the client may have read the
        old body meanwhile, so it is counted and logged, though nothing was lost."""
        late_by = time.monotonic() - awaited_until
        if late_by > 0:
            self._count("late")
            logger.warning("purge at %s confirmed %.2f s after its write", job.request.url, late_by)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


def _conclude(job: _Job, error: str | None) -> None:
    """Record how ``job`` went; a failure is logged and signalled (from the sending thread)."""
    job.error = error
    if error is not None:
        logger.warning("purge at %s failed: %s", job.request.url, error)
        send_logging_errors(
            etag_purge_failed, job.app, url=job.request.url, error=error, keys=job.keys
        )
    job.done.set()


def send_logging_errors(signal: NamedSignal, app: Any, **about: Any) -> None:
    """Send ``signal``; a receiver that raises is logged, never let into a sender thread
    (which it would end) or a write (which has committed)."""
    try:
        signal.send(app, **about)
    except Exception:
        logger.exception("a receiver of %s raised", signal.name)


def purge(
    app: Any,
    targets: tuple[PurgeTarget, ...],
    keys: tuple[str, ...],
    paths: tuple[str, ...],
    key_field: str,
    timeout: float,
    given_up: set[tuple[str, str]] | None = None,
) -> list[PurgeFailure]:
    """Queue one write's purges at every target, and wait for the targets in use to confirm
    them, ``timeout`` seconds at most; a backed-off target is not waited for.

    :param given_up: the targets (URL, how) that did not confirm an earlier purge of the
        same request, which are not waited for; one that does not confirm now is added.
        A request that commits N times beside a hung cache waits one deadline, not N: the
        breaker opens only after three, for every request.
    """
    reported_by = time.monotonic() + timeout + _REPORT_GRACE
    given_up = set() if given_up is None else given_up
    waited: list[tuple[tuple[str, str], _Job]] = []
    for target in targets:
        cache, name = _cache(target), (target.url, target.by)
        waits = cache.breaker.closed and name not in given_up
        for request in target.requests(keys, paths, key_field):
            job = _Job(request, timeout, keys, app, awaited_until=reported_by if waits else None)
            if cache.submit(job) and waits:
                waited.append((name, job))
    for _, job in waited:
        job.done.wait(max(0.0, reported_by - time.monotonic()))
    unconfirmed = [(name, job) for name, job in waited if job.error or not job.done.is_set()]
    given_up.update(name for name, _ in unconfirmed)
    return [
        PurgeFailure(job.request.url, job.error or "no answer in time") for _, job in unconfirmed
    ]


def purge_again_later(
    app: Any,
    targets: tuple[PurgeTarget, ...],
    keys: tuple[str, ...],
    paths: tuple[str, ...],
    key_field: str,
    timeout: float,
    delay: float,
) -> None:
    """Queue the same purges once more ``delay`` seconds from now, each with ``timeout``.

    A read whose fetch from the app began before the write committed reaches the cache
    after the purge, and is stored: the old body, for its whole ``s-maxage``.  No cache can
    tell that fetch apart, so the write is purged a second time, once such fetches are over;
    that bounds the race's staleness by ``delay``.  One timer thread per process hands each
    repeat to its cache's queue when due; it never sends, so no cache can hold it up.
    """
    due = time.monotonic() + delay
    for target in targets:
        for request in target.requests(keys, paths, key_field):
            _repeats().add(due, _cache(target), _Job(request, timeout, keys, app))


class _Repeats:
    """Repeats waiting for their time, in order; each is queued at its cache when due."""

    def __init__(self) -> None:
        self._waiting: list[tuple[float, int, _Cache, _Job]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        threading.Thread(target=self._queue_due, name="flask-etag-purge-again", daemon=True).start()

    def add(self, due: float, cache: _Cache, job: _Job) -> None:
        with self._changed:
            heapq.heappush(self._waiting, (due, next(self._order), cache, job))
            self._changed.notify()

    def _queue_due(self) -> None:
        while True:
            with self._changed:
                while not self._waiting or self._waiting[0][0] > time.monotonic():
                    wait = self._waiting[0][0] - time.monotonic() if self._waiting else None
                    self._changed.wait(wait)
                _, _, cache, job = heapq.heappop(self._waiting)
            cache.submit(job)


@dataclass
class _ProcessState:
    """This process's caches and timer: a forked worker (gunicorn) starts its own."""

    process: int
    caches: dict[tuple[str, str], _Cache] = field(default_factory=dict)
    repeats: _Repeats | None = None


_state = _ProcessState(os.getpid())
_state_lock = threading.Lock()


def _current_state() -> _ProcessState:
    global _state
    if _state.process != os.getpid():  # a parent's: its threads did not survive the fork
        _state = _ProcessState(os.getpid())
    return _state


def _forget_the_parents_state() -> None:
    """In a forked child: the parent's threads are gone, and a lock one of them held at
    the fork would stay held forever."""
    global _state, _state_lock
    _state, _state_lock = _ProcessState(os.getpid()), threading.Lock()


os.register_at_fork(after_in_child=_forget_the_parents_state)


def _cache(target: PurgeTarget) -> _Cache:
    with _state_lock:
        caches = _current_state().caches
        key = (target.url, target.by)
        if key not in caches:
            caches[key] = _Cache(target.url)
        return caches[key]


def _repeats() -> _Repeats:
    with _state_lock:
        state = _current_state()
        if state.repeats is None:
            state.repeats = _Repeats()
        return state.repeats


def purge_statistics() -> list[dict[str, Any]]:
    """Each cache this process has purged: its URL, whether it is backed off (and for how
    long), the purges waiting, and the counts sent, failed, dropped and late (confirmed
    after their write stopped waiting)."""
    with _state_lock:
        caches = list(_current_state().caches.values())
    return [
        {
            "url": cache.name,
            "backed_off": not cache.breaker.closed,
            "backoff_seconds": cache.breaker.backoff,
            "queued": cache.jobs.qsize(),
            **cache.counts,
        }
        for cache in caches
    ]


@atexit.register
def _send_what_can_be_sent() -> None:
    """At exit (gunicorn's SIGTERM included), give queued purges :data:`SHUTDOWN_SECONDS`.

    What is still queued then is dropped: a write recorded in a
    :class:`~flask_etag.sqlalchemy.PurgeOutbox` is purged by another host.  Repeats not yet
    due are left to the outbox too.
    """
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    with _state_lock:
        caches = list(_current_state().caches.values())
    for cache in caches:
        if not cache.wait_until_idle(deadline):
            logger.warning("exiting with %s purges to %s unsent", cache.jobs.qsize(), cache.name)
