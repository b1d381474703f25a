"""When to stop trying a cache that keeps failing, and when to try it again.

A dead or hung cache would cost every write its whole deadline, and its queue would fill
with purges it will never take.  After :data:`FAILURES_TO_OPEN` failures in a row (a
refusal is none: a cache that answers 403 or 405 at once works, and is set up wrong) the
cache is backed off ("the circuit opens"): purges to it are dropped at once (each counted and
signalled).  After :data:`FIRST_BACKOFF` seconds one purge is let through as a trial; if it
is confirmed the circuit closes, else the wait doubles, up to :data:`LONGEST_BACKOFF`.

A cache that was down comes back empty (Varnish and nginx keep their stores in memory or
rebuild them), and one that only hung keeps its entries no longer than their ``s-maxage``:
what was dropped meanwhile goes stale for at most that long.
"""

from __future__ import annotations

import threading
import time
from enum import Enum

#: Failures in a row that open the circuit.
FAILURES_TO_OPEN = 3
#: Seconds before the first trial, doubled after each failed trial ...
FIRST_BACKOFF = 1.0
#: ... up to this.
LONGEST_BACKOFF = 60.0


class Change(Enum):
    """What a result did to the circuit, for the signals."""

    OPENED = "opened"
    CLOSED = "closed"


class CircuitBreaker:
    """The state of one cache: closed (in use), open (backed off) or on trial."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._trial_running = False

    @property
    def closed(self) -> bool:
        """Whether the cache is in use: writes wait for it to confirm."""
        return self._backoff == 0.0

    @property
    def backoff(self) -> float:
        """Seconds the cache is left alone after its latest failure (0 while closed)."""
        return self._backoff

    def allows(self) -> bool:
        """Whether a purge may be sent now: always while closed, else one trial at a time
        once the backoff has passed."""
        with self._lock:
            if self._backoff == 0.0:
                return True
            if self._trial_running or time.monotonic() < self._retry_at:
                return False
            self._trial_running = True
            return True

    def succeeded(self) -> Change | None:
        """A purge was confirmed, or refused at once: the cache answers, the circuit closes."""
        with self._lock:
            was_open = self._backoff > 0.0
            self._failures, self._backoff, self._trial_running = 0, 0.0, False
            return Change.CLOSED if was_open else None

    def failed(self) -> Change | None:
        """A purge failed: the circuit opens on the third failure in a row; a failed trial
        doubles the backoff (a purge sent before the circuit opened changes nothing)."""
        with self._lock:
            self._failures += 1
            if self._trial_running:
                self._trial_running = False
                self._backoff = min(2 * self._backoff, LONGEST_BACKOFF)
                change = None
            elif self._backoff == 0.0 and self._failures >= FAILURES_TO_OPEN:
                self._backoff = FIRST_BACKOFF
                change = Change.OPENED
            else:
                return None
            self._retry_at = time.monotonic() + self._backoff
            return change
