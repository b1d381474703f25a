"""The surrogate keys a session's open transaction has written, kept until it ends.

A transaction's keys are announced (and purged, RFC 9111 §4.4) when it commits and forgotten
when it rolls back.  SQLAlchemy sends ``after_commit`` and ``after_rollback`` for a
``SAVEPOINT`` too (``session.begin_nested()``), and neither says which transaction ended.
Releasing a savepoint commits nothing yet, so its keys wait for the outermost transaction;
rolling one back undoes only what it wrote, so the keys return to what they were when it
began, and the writes before it are still announced when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ..invalidation import committed

#: Where a session keeps the surrogate keys its open transaction wrote ...
_WRITTEN = "flask_etag.written_keys"
#: ... and those of them a purge outbox has recorded in it (:mod:`.outbox`).
RECORDED = "flask_etag.recorded_keys"
#: Both, as they were when each open savepoint began.
_AT_SAVEPOINTS = "flask_etag.keys_at_savepoints"

_Snapshot = tuple[frozenset[str], frozenset[str]]


def written_keys_of(session: Session) -> set[str]:
    """The keys the session's open transaction has written so far."""
    keys: set[str] = session.info.setdefault(_WRITTEN, set())
    return keys


def row_identity(instance: Any) -> str:
    """The row's own primary key, as its keys name it (``7``; ``7/2`` for a composite one)."""
    return row_key(sa.inspect(instance).mapper.primary_key_from_instance(instance))


def row_identities(instance: Any) -> tuple[str, ...]:
    """The keys a flush of the row wrote: its own, and the one it had before the flush
    changed its primary key (a natural key renamed).  The reads at the old URL carry the
    old key, and must be purged with the row (RFC 9111 §4.4).  ``after_flush`` still sees
    the identity the row was loaded under."""
    state = sa.inspect(instance)
    current = row_key(state.mapper.primary_key_from_instance(instance))
    if state.key is None:  # inserted by this flush
        return (current,)
    former = row_key(state.key[1])
    return (current,) if former == current else (current, former)


def row_key(primary_key: Iterable[Any]) -> str:
    """A primary key's values as a row's surrogate keys name it: ``7``, or ``7/2``."""
    return "/".join(map(str, primary_key))


def keep_written_keys(session: Session | Any) -> None:
    """Keep ``session``'s written keys per transaction (a ``scoped_session`` too)."""
    event.listen(session, "after_transaction_create", _savepoint_began)
    event.listen(session, "after_commit", _committed)
    event.listen(session, "after_rollback", _rolled_back)
    event.listen(session, "after_transaction_end", _ended)


def _savepoints(session: Session) -> dict[SessionTransaction, _Snapshot]:
    snapshots: dict[SessionTransaction, _Snapshot] = session.info.setdefault(_AT_SAVEPOINTS, {})
    return snapshots


def _savepoint_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        recorded = frozenset(session.info.get(RECORDED, ()))
        _savepoints(session)[transaction] = (frozenset(written_keys_of(session)), recorded)


def _committed(session: Session) -> None:
    """Announce the keys once the outermost transaction commits (not at a ``RELEASE``:
    the writes can still roll back with it)."""
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        _savepoints(session).pop(savepoint, None)
        return
    session.info.pop(_AT_SAVEPOINTS, None)
    keys = session.info.pop(_WRITTEN, None)
    recorded = session.info.pop(RECORDED, None)
    if keys:
        committed(sorted(keys), recorded=bool(recorded) and keys <= recorded)


def _rolled_back(session: Session) -> None:
    """Forget what the rolled-back transaction wrote; a savepoint, only what it wrote."""
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        _forget(session)
        return
    snapshot = _savepoints(session).pop(savepoint, None)
    if snapshot is not None:
        written, recorded = snapshot
        session.info[_WRITTEN], session.info[RECORDED] = set(written), set(recorded)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended: a commit has announced its keys by now, and one
    ``session.close()`` discarded, with no ``after_rollback``, wrote nothing."""
    if transaction.parent is None:
        _forget(session)


def _forget(session: Session) -> None:
    for name in (_WRITTEN, RECORDED, _AT_SAVEPOINTS):
        session.info.pop(name, None)
