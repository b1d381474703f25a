"""Blinker signals sent when flask_etag answers a request 304, 412 or 428, so an app can count them.

Each signal is sent once per request so answered, with the app as sender and these keyword
arguments: ``endpoint`` (``request.endpoint``), ``method``, ``etag`` (the current ``ETag``
header value the request was judged against, or None when it is not known, e.g. for a 428 or a
412 a view raised itself), and the client's ``if_match`` and ``if_none_match`` field values
(raw strings, or None when absent).

Connect a receiver as with Flask's own signals::

    from flask_etag import etag_not_modified

    @etag_not_modified.connect_via(app)
    def count(sender, endpoint, **extra):
        not_modified_counter.labels(endpoint).inc()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blinker import NamedSignal, Namespace
from flask import current_app, has_request_context, request

from .conditions import PRECONDITIONS_KEY, Preconditions

if TYPE_CHECKING:
    from flask import Response

# flask.signals.Namespace is deprecated: Flask itself now builds its signals on blinker's.
_signals = Namespace()

etag_not_modified: NamedSignal = _signals.signal(
    "etag-not-modified",
    doc="A request was answered 304 Not Modified (RFC 9110 §15.4.5).",
)
etag_precondition_failed: NamedSignal = _signals.signal(
    "etag-precondition-failed",
    doc="A request was answered 412 Precondition Failed (RFC 9110 §15.5.13).",
)
etag_precondition_required: NamedSignal = _signals.signal(
    "etag-precondition-required",
    doc="An unconditional write was answered 428 Precondition Required (RFC 6585 §3).",
)

etag_written: NamedSignal = _signals.signal(
    "etag-written",
    doc="A write committed: sent with ``endpoint``, ``method``, ``url``, ``etag`` (the new "
    "tag, None after a delete or when unknown) and ``keys`` (the surrogate keys it changed).",
)
etag_purge_failed: NamedSignal = _signals.signal(
    "etag-purge-failed",
    doc="A shared cache did not confirm a purge: sent with ``url`` (the PURGE request's), "
    "``error`` and ``keys``, from the thread that sent (or dropped) it.",
)
etag_purge_circuit_opened: NamedSignal = _signals.signal(
    "etag-purge-circuit-opened",
    doc="A shared cache failed three purges in a row and is backed off: sent with ``url`` "
    "(the cache's) and ``error`` (the latest).",
)
etag_purge_circuit_closed: NamedSignal = _signals.signal(
    "etag-purge-circuit-closed",
    doc="A backed-off shared cache answered a trial purge (confirmed it, or refused it at "
    "once) and is in use again: sent with ``url``.",
)

_SIGNAL_FOR_STATUS = {412: etag_precondition_failed, 428: etag_precondition_required}


def announce_not_modified(response: Response) -> None:
    """Send :data:`etag_not_modified` for the 304 ``response``; free when nobody listens."""
    if etag_not_modified.receivers:
        _send(etag_not_modified, response.headers.get("ETag"))


def announce_error(status: int, etag: str | None) -> None:
    """Send the 412 or 428 signal; called where those errors are created, inside a request."""
    signal = _SIGNAL_FOR_STATUS.get(status)
    if signal is not None and signal.receivers and has_request_context():
        _send(signal, etag)


def _send(signal: NamedSignal, etag: str | None) -> None:
    # The fields were taken out of the environ when the request was read (stage 1).
    preconditions = request.environ.get(PRECONDITIONS_KEY) or Preconditions()
    signal.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        endpoint=request.endpoint,
        method=request.method,
        etag=etag,
        if_match=preconditions.if_match,
        if_none_match=preconditions.if_none_match,
    )
