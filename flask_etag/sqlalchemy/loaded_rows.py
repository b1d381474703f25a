"""The rows a request's lookups loaded: kept for the view, found by their URL's key, and
written as they were checked even when the view reads them again.

:class:`~flask_etag.sqlalchemy.ModelVersionGenerator`'s lookup loads the row, the client's
``If-Match`` is judged against the version it holds, and the view's commit is then a
compare-and-set against that version (``version_id_col``).  A view that reads the row again
into the same instance (``populate_existing``, also with ``with_for_update()``, or
``session.refresh()``) replaces that version with the newest one, and a write that raced the
check would be overwritten in silence.  So before such a row is written, the version it
holds is compared with the one expected: the checked version, then the one each of the
request's own flushes wrote; a row expired (``session.expire()``) is written against the
expected version, where the write would load the newest.  A row read again at another
version raises ``StaleDataError``, which ``ModelVersionGenerator.call_view`` answers 412
(RFC 9110 §13.1.1).  A rollback undoes the request's own writes it covers, so the version
expected returns to the one before them: the last committed (at first the checked one), or
the one held when the savepoint began.

A row the lookup found absent for ``If-None-Match: *`` (create only if absent) is expected
to stay absent: one another client created since the check is not updated or deleted by
the view (its get-or-create finds it), but refused the same way (RFC 9110 §13.1.2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import Mapper, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .written import row_identity, row_key

#: The rows the request's lookups loaded, by ``id``: the identity map holds instances
#: weakly, so they are kept alive here until the request ends (on ``g``).
_LOADED_ROWS = "_flask_etag_loaded_rows"

#: The rows (table, own key) a lookup found absent for ``If-None-Match: *`` ...
_ABSENT_ROWS = "_flask_etag_absent_rows"
#: ... and the instances the request itself inserted, by ``id``: its own creation of one.
_CREATED_ROWS = "_flask_etag_created_rows"

#: A version not known without a query (expired, or set by the database).
_UNKNOWN = object()


@dataclasses.dataclass
class _Loaded:
    instance: Any
    expected: Any  # the version the row's next write must find in it
    url_key: tuple[str, Any]  # its table and the URL's key, which a collation may fold
    committed: Any = None  # the version expected once a rollback undid the open transaction
    at_savepoints: dict[SessionTransaction, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.committed = self.expected


def keep(instance: Any, version: Any, url_key: tuple[str, Any]) -> None:
    """Keep a row a lookup loaded at ``url_key`` for the view, with the version its writes
    must find (in an app context)."""
    g.setdefault(_LOADED_ROWS, {})[id(instance)] = _Loaded(instance, version, url_key)


def keep_absent(table: str, identity: Any) -> None:
    """Remember that a lookup found no row of ``table`` at ``identity`` for a request that
    asked for none (``If-None-Match: *``), in an app context."""
    g.setdefault(_ABSENT_ROWS, set()).add((table, row_key((identity,))))


def row_at(url_key: tuple[str, Any]) -> Any:
    """The row a lookup of this request loaded at ``url_key``, or None."""
    for loaded in g.get(_LOADED_ROWS, {}).values():
        if loaded.url_key == url_key:
            return loaded.instance
    return None


def checked_here(instance: Any) -> bool:
    """Whether ``instance`` is the row a lookup of this request judged: one it loaded, or
    one created at a key it found absent for ``If-None-Match: *``.  Only such a row's
    version is the state of the route that request is served by."""
    if not has_app_context():
        return False
    if _loaded(instance) is not None:
        return True
    absent = g.get(_ABSENT_ROWS)
    table = sa.inspect(instance).mapper.local_table.name
    return bool(absent) and (table, row_identity(instance)) in absent


def own_key_at(url_key: tuple[str, Any]) -> str | None:
    """The own key of the row loaded at ``url_key`` as its writes name it
    (:func:`.written.row_identity`), or None.  Taken with no query: the view's commit expires
    the row, and loading it again would fail for a row deleted since (a 500 on a read that
    had its answer)."""
    loaded = row_at(url_key)
    identity = None if loaded is None else sa.inspect(loaded).identity
    return None if identity is None else row_key(identity)


def guard_writes(model: type[Any]) -> None:
    """Compare the version of each of ``model``'s checked rows before it is written (once
    per model: the listeners are the module's own functions)."""
    for event, listener in (
        ("before_update", _refuse_if_read_again),
        ("before_delete", _refuse_if_read_again),
        ("after_update", _expect_what_was_written),
        ("after_insert", _created_here),
    ):
        if not sa.event.contains(model, event, listener):
            sa.event.listen(model, event, listener, propagate=True)


def guard_transactions() -> None:
    """Move the version expected back when a session rolls back the writes that moved it
    (once: on every session, since the one a lookup is given may be a proxy)."""
    for event, listener in (
        ("after_transaction_create", _savepoint_began),
        ("after_commit", _committed),
        ("after_rollback", _rolled_back),
    ):
        if not sa.event.contains(Session, event, listener):
            sa.event.listen(Session, event, listener)


def _savepoint_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        for loaded in _loaded_in(session):
            loaded.at_savepoints[transaction] = loaded.expected


def _committed(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    for loaded in _loaded_in(session):
        if savepoint is not None:  # released: its writes wait for the outermost commit
            loaded.at_savepoints.pop(savepoint, None)
        else:
            loaded.committed = loaded.expected
            loaded.at_savepoints.clear()


def _rolled_back(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    for loaded in _loaded_in(session):
        if savepoint is not None:
            loaded.expected = loaded.at_savepoints.pop(savepoint, loaded.expected)
        else:
            loaded.expected = loaded.committed
            loaded.at_savepoints.clear()


def _loaded_in(session: Session) -> list[_Loaded]:
    """The checked rows ``session`` holds, in an app context."""
    if not has_app_context():
        return []
    rows: dict[int, _Loaded] = g.get(_LOADED_ROWS, {})
    return [loaded for loaded in rows.values() if loaded.instance in session]


def _refuse_if_read_again(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    loaded = _loaded(target)
    if loaded is None:
        _refuse_if_created_since(mapper, target)
        return
    if loaded.expected is _UNKNOWN:
        return
    key = _version_key(mapper)
    state = sa.inspect(target)
    if key not in state.dict:  # expired: the write would load the newest version to compare
        set_committed_value(target, key, loaded.expected)  # so it compares the expected one
        return
    history = state.attrs[key].history
    held = (history.deleted or history.unchanged or (_UNKNOWN,))[0]  # no load emitted
    if held is not _UNKNOWN and held != loaded.expected:
        raise StaleDataError(
            f"{type(target).__name__} was read again at version {held!r} after the request's "
            f"precondition was checked against {loaded.expected!r}."
        )


def _refuse_if_created_since(mapper: Mapper[Any], target: Any) -> None:
    """A row the check found absent (``If-None-Match: *``) that another client created since:
    writing it would overwrite their creation, so it is refused as a changed row is."""
    absent = g.get(_ABSENT_ROWS) if has_app_context() else None
    if not absent or g.get(_CREATED_ROWS, {}).get(id(target)) is target:
        return
    if (mapper.local_table.name, row_identity(target)) in absent:  # type: ignore[attr-defined]
        raise StaleDataError(
            f"{type(target).__name__} was created by another writer after the request's "
            '"If-None-Match: *" found it absent.'
        )


def _created_here(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    """The request's own insert: a row it created is its own to write again."""
    if has_app_context() and g.get(_ABSENT_ROWS):
        g.setdefault(_CREATED_ROWS, {})[id(target)] = target


def _expect_what_was_written(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    """The request's own write moves the version on: a later flush expects the new one."""
    loaded = _loaded(target)
    if loaded is not None:
        loaded.expected = sa.inspect(target).dict.get(_version_key(mapper), _UNKNOWN)


def _loaded(target: Any) -> _Loaded | None:
    if not has_app_context():
        return None
    loaded: _Loaded | None = g.get(_LOADED_ROWS, {}).get(id(target))
    return loaded if loaded is not None and loaded.instance is target else None


def _version_key(mapper: Mapper[Any]) -> str:
    column = mapper.version_id_col
    assert column is not None  # ModelVersionGenerator refuses a model without one
    return mapper.get_property_by_column(column).key
