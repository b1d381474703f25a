"""Per-table counters: one version per table, raised inside every transaction that writes it.

:class:`TableVersions` listens to the session's flushes and ORM bulk statements, and a
write made around it (raw SQL) calls :meth:`TableVersions.raise_versions`.  The counter and
the date of its last change commit or roll back with the rows they describe, and a
collection's tag (:mod:`flask_etag.sqlalchemy.collections`) is read from them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from blake3 import blake3
from sqlalchemy import event
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from ..exceptions import ETagConfigurationError
from ..surrogate_keys import bulk_written_keys, written_item_keys
from .tables_read import (
    association_tables_written,
    referencing_tables_written,
    tables_written_by_references,
)
from .written import keep_written_keys, row_identities, written_keys_of

#: The table of per-table counters, created with the app's other tables.
TABLE_VERSIONS = "flask_etag_table_versions"
#: The name of the unreferenced CTE a collection's select is rendered as (:meth:`read_selecting`).
SELECTED = "flask_etag_selected"
#: Where a session keeps the tables whose counters its open transaction raised ...
_RAISED = "flask_etag.raised_tables"
#: ... and the earliest moment it dated them at.
_DATED = "flask_etag.raised_dated_at"


class TableVersions:
    """One version per table, raised in every transaction that writes the table.

    :param session: the session (or ``scoped_session``, e.g. ``db.session``) writes go
        through; its flushes and ORM bulk statements raise the versions of the tables they
        touch.  Writes made around it (raw SQL) call :meth:`raise_versions` themselves.
    :param metadata: where ``flask_etag_table_versions`` is declared, e.g. ``db.metadata``,
        so ``create_all`` creates it with the rest.
    """

    def __init__(self, session: Session | Any, metadata: sa.MetaData) -> None:
        existing = metadata.tables.get(TABLE_VERSIONS)
        self.table = existing if existing is not None else _versions_table(metadata)
        self.session = session
        #: Selects of the counters, by the tables a collection reads: one per collection shape.
        self._read_statements: dict[tuple[str, ...], sa.Select[Any]] = {}
        event.listen(session, "after_flush", self._after_flush)
        event.listen(session, "do_orm_execute", self._after_bulk_statement)
        event.listen(session, "before_commit", self._stamp_at_commit)
        event.listen(session, "after_transaction_end", _forget_raised)
        keep_written_keys(session)

    def raise_versions(
        self, session: Session | Any, tables: Iterable[str], *, rows_written: bool = True
    ) -> None:
        """Raise the versions of ``tables`` in ``session``'s transaction, for a write made
        around the session (raw SQL): its rows are not known one by one, so its commit
        purges every list and every item of the tables, as a bulk ``update()``'s does
        (RFC 9111 §4.4).  A rollback forgets both.

        :param rows_written: False where no row is written around the session (the counter
            taken as a lock before an insert through it, which names its own row): only the
            tables' lists are purged, not every cached item.
        """
        names = set(tables) - {TABLE_VERSIONS}
        self._raise(session, names)
        for name in names:
            written = bulk_written_keys(name)
            written_keys_of(session).update(written if rows_written else written[:1])

    def _raise(self, session: Session, names: set[str]) -> None:
        """Raise the counters of ``names`` (sorted: every writer takes the counter rows in
        the same order, so they never deadlock on them)."""
        connection = session.connection()
        moment = _microseconds_now()
        dialect = connection.dialect.name
        with _naming_a_missing_table():
            for name in sorted(names):
                if dialect in ("mysql", "mariadb") and self._raised_in_place(
                    connection, name, moment
                ):
                    continue
                connection.execute(self._raise_statement(dialect, name, moment))
        session.info.setdefault(_RAISED, set()).update(names)
        dated = min(session.info.get(_DATED, moment), moment)
        session.info[_DATED] = dated
        now = _microseconds_now()
        if now // 1_000_000 > dated // 1_000_000:
            self._date_again(session, now)

    def _date_again(self, session: Session, moment: int) -> None:
        """Date every counter the open transaction raised at ``moment``, once a second began
        after an earlier date: that date may be older than the commit by that much.  A
        writer that waited at a counter's row lock for another writer of the table
        (PostgreSQL, MariaDB) dated it before the wait; committed at once after the wait,
        its change fell in a second whose date a client already held for the list before
        it, and was answered 304 to it (RFC 9110 §8.8.2.2)."""
        connection, columns = session.connection(), self.table.c
        with _naming_a_missing_table():
            for name in sorted(session.info.get(_RAISED, ())):  # all locked by now: no wait
                connection.execute(
                    sa.update(self.table).where(columns.name == name).values(changed_at=moment)
                )
        session.info[_DATED] = moment

    def _stamp_at_commit(self, session: Session) -> None:
        """``before_commit``: date the counters an earlier flush raised by the commit, when
        their change becomes visible.  Dated at the flush, a change committed once its second
        was over fell in a second whose date a client already held, for another state, and
        its ``If-Modified-Since`` was answered 304 (RFC 9110 §8.8.2.2).  The flush the commit
        makes itself comes after this: it dates its own counters, and all of them again if
        a second began meanwhile."""
        if not session.info.get(_RAISED) or session.get_nested_transaction() is not None:
            return  # nothing raised yet, or a RELEASE: the outermost commit dates them
        self._date_again(session, _microseconds_now())

    def read(self, session: Session, tables: tuple[str, ...]) -> tuple[tuple[int, ...], int | None]:
        """The versions of ``tables`` (0 for a table never written) and the latest change."""
        result = self._execute(session, self._read_statement(tables))
        return _versions_in(result.all(), tables)

    def read_selecting(
        self,
        session: Session,
        tables: tuple[str, ...],
        selected: sa.Select[Any] | sa.CompoundSelect[Any],
    ) -> tuple[tuple[int, ...], int | None, str]:
        """:meth:`read`, plus a fingerprint of ``selected``: its SQL and parameters, hashed.

        One query: ``selected`` rides in the counters' select as a CTE that nothing refers
        to (``add_cte``).  SQLAlchemy renders it through its compiled-statement cache, so a
        statement shape is compiled once, whatever its values; SQLite, PostgreSQL and
        MariaDB never evaluate a CTE the query does not read.  The fingerprint hashes the
        SQL and parameters handed to the driver (the result's ``ExecutionContext``: its
        documented ``statement`` and ``parameters``): every value and every clause of the
        select is in them, as text, so every host computes the same one.  ORM loader
        options (``joinedload``...) render nothing in a subquery, so they are not.

        :param session: the session whose transaction the counters are read in.
        :param tables: the tables ``selected`` reads, sorted.
        :param selected: the collection's ``select()``.
        """
        result = self._execute(
            session, self._read_statement(tables).add_cte(selected.cte(SELECTED))
        )
        versions, changed = _versions_in(result.all(), tables)
        executed = result.context
        return versions, changed, _hash(f"{executed.statement}\n{executed.parameters!r}")

    def _execute(self, session: Session, statement: sa.Select[Any]) -> sa.CursorResult[Any]:
        """Through the session's connection (its transaction), as Core: no ORM events run."""
        with _naming_a_missing_table():
            return session.connection().execute(statement)

    def _read_statement(self, tables: tuple[str, ...]) -> sa.Select[Any]:
        """The counters' select for ``tables``, built once per tuple of tables.

        One equality per table rather than ``IN``: an ``IN`` list is an expanding parameter,
        which SQLAlchemy renders into the SQL again on every execution.
        """
        if tables not in self._read_statements:
            columns = self.table.c
            self._read_statements[tables] = sa.select(
                columns.name, columns.version, columns.changed_at
            ).where(sa.or_(*(columns.name == name for name in tables)))
        return self._read_statements[tables]

    def _raised_in_place(self, connection: sa.Connection, name: str, moment: int) -> bool:
        """MariaDB and MySQL: raise an existing counter with a plain ``UPDATE``.

        InnoDB's upsert takes a shared lock on the existing row before its exclusive one, so
        two writers raising one counter deadlock; an ``UPDATE`` takes the exclusive lock at
        once, and writers queue.  False when the counter does not exist yet.
        """
        columns = self.table.c
        raised = connection.execute(
            sa.update(self.table)
            .where(columns.name == name)
            .values(version=_next_version(columns.version, moment), changed_at=moment)
        )
        return bool(raised.rowcount)

    def _raise_statement(self, dialect: str, name: str, moment: int) -> sa.Executable:
        """One upsert: the first write to a table creates its counter, later ones raise it."""
        insert: Any
        if dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert

            statement = insert(self.table).values(name=name, version=moment, changed_at=moment)
            raised: sa.Executable = statement.on_duplicate_key_update(
                version=_next_version(self.table.c.version, moment), changed_at=moment
            )
            return raised
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise NotImplementedError(
                f"TableVersions supports PostgreSQL, MariaDB, MySQL and SQLite, not {dialect}"
            )
        statement = insert(self.table).values(name=name, version=moment, changed_at=moment)
        upsert: sa.Executable = statement.on_conflict_do_update(
            index_elements=[self.table.c.name],
            set_={"version": _next_version(self.table.c.version, moment), "changed_at": moment},
        )
        return upsert

    def _after_flush(self, session: Session, _context: Any) -> None:
        written = [*session.new, *session.deleted]
        written += [item for item in session.dirty if session.is_modified(item)]
        tables: set[str] = set()
        keys = written_keys_of(session)
        for item in written:
            identities = row_identities(item)
            for table in sa.inspect(item).mapper.tables:
                tables.add(table.name)
                for identity in identities:
                    keys.update(written_item_keys(table.name, identity))
        for name in association_tables_written(session) | referencing_tables_written(session):
            tables.add(name)
            keys.update(bulk_written_keys(name))
        if tables:
            self._raise(session, tables - {TABLE_VERSIONS})

    def _after_bulk_statement(self, state: ORMExecuteState) -> sa.Result[Any] | None:
        """``session.execute(update(Model)...)`` and the like write without a flush.

        The statement runs first, then the counters (of the tags, RFC 9110 §8.8.3) are
        raised, in the order a flush takes them: its rows, then the counters.  Raised first,
        a bulk ``update()`` held the counter while it waited for a row a flush had written,
        and the flush, holding that row, waited for the counter: a deadlock, and one of the
        two writes refused.
        """
        if not (state.is_insert or state.is_update or state.is_delete):
            return None
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name is None or name == TABLE_VERSIONS:
            return None
        result = state.invoke_statement()
        names = {name}
        if isinstance(table, sa.Table) and not state.is_insert:
            # Rows a foreign key's ON DELETE or ON UPDATE action writes (RFC 9110 §8.8.3).
            deleted, updated = ([table], []) if state.is_delete else ([], list(table.columns))
            names |= tables_written_by_references(deleted, updated)
        self.raise_versions(state.session, names)
        return result


def _versions_in(
    rows: Iterable[Any], tables: tuple[str, ...]
) -> tuple[tuple[int, ...], int | None]:
    """The counters' rows as the versions of ``tables``, in order, and the latest change."""
    found = {name: (version, changed) for name, version, changed in rows}
    versions = tuple(found.get(name, (0, None))[0] for name in tables)
    changes = [changed for _, changed in found.values() if changed is not None]
    return versions, max(changes) if changes else None


#: A table's name as its counter's key, compared as the database compares table names:
#: byte for byte.  MariaDB's and MySQL's default collations fold case, so ``Notes`` and
#: ``notes``, two tables there (as on PostgreSQL), would share one counter row: writes to
#: either raised it, and a list of ``Notes`` found no row of that name, its tag unchanged
#: by any write (RFC 9110 §8.8.3).
_TABLE_NAME = sa.String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


def _versions_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE_VERSIONS,
        metadata,
        sa.Column("name", _TABLE_NAME, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        # Microseconds since the epoch: the same integer on every database.
        sa.Column("changed_at", sa.BigInteger, nullable=False),
    )


def _next_version(version: sa.ColumnElement[int], moment: int) -> sa.ColumnElement[int]:
    """The next version: the clock's ``moment``, or one more than ``version`` when that is
    later (a writer whose clock is behind another's, or two writes in one microsecond).

    A plain count starts again from a restored backup's numbers, and hands the next write
    the version a lost write had: a client holding that write's tag was answered 304 to
    other rows (RFC 9110 §8.8.1: a strong tag names one representation across the whole
    history).  The clock has moved past every version given before the restore."""
    return sa.case((version >= moment, version + 1), else_=sa.literal(moment, sa.BigInteger))


def _microseconds_now() -> int:
    return time.time_ns() // 1000


def _forget_raised(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended (committed, rolled back or closed)."""
    if transaction.parent is None:
        session.info.pop(_RAISED, None)
        session.info.pop(_DATED, None)


#: How SQLite, PostgreSQL and MariaDB/MySQL say a table is missing.
_NO_SUCH_TABLE = re.compile(
    rf"no such table: {TABLE_VERSIONS}|{TABLE_VERSIONS}\W* does not exist"
    rf"|{TABLE_VERSIONS}\W* doesn't exist"
)


@contextmanager
def _naming_a_missing_table() -> Iterator[None]:
    """Turn the database's "no such table" for the counters into the set-up fix it needs."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        if _NO_SUCH_TABLE.search(str(error.orig)) is None:
            raise
        raise ETagConfigurationError(
            f"the table {TABLE_VERSIONS} does not exist in the database. TableVersions(session, "
            "metadata) adds it to the metadata, so create it with the app's other tables: "
            "build TableVersions before db.create_all() (or call db.create_all() again), or, "
            "with migrations, add one that creates it."
        ) from error


def _hash(text: str) -> str:
    return blake3(text.encode()).digest(8).hex()
