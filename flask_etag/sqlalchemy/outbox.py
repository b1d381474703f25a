"""A purge outbox: a write's purge recorded in the write's own transaction, so no crash can
lose it.

Purges live in the memory of the process that wrote; a host killed after its commit and
before its purge would leave the written resource stale in every cache until ``s-maxage``.
With an outbox, each transaction that writes (as :class:`TableVersions` sees it) also
inserts a row into ``flask_etag_purge_outbox``: the keys and paths to purge, and when the
repeat is due (``ETAG_PURGE_REPEAT_AFTER``, or ``ETAG_PURGE_TIMEOUT`` when repeats are off,
as the commit begins: a row an earlier flush wrote is dated again then, and a commit that
takes long comes that much nearer its repeat).  The row commits or rolls back with the
write.

The writing host still purges at once, before its client hears back.  Every host's sweeper
looks for due rows every :data:`POLL_SECONDS`, claims each one (an ``UPDATE`` that only one
host can win), purges it at its own ``ETAG_PURGE_URLS`` and deletes it: that is the write's
repeat, sent by whichever host is alive, so a host that died before purging leaves its
writes stale for at most the repeat delay plus one poll.  Hosts' clocks are compared, so
keep them synchronised (NTP) to well within the repeat delay.

A row names the caches its writer purged (:func:`purged_caches`): apps that share a
database behind caches of their own, or with settings of their own, each send only their
own rows, so no write's repeat goes to another app's caches instead of its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ..invalidation import route_written_keys
from ..purge_targets import PurgeTarget, written_path
from ..purging import purge
from ..settings import SETTINGS_KEY, Settings
from .table_versions import TableVersions
from .written import RECORDED, written_keys_of

logger = logging.getLogger("flask_etag.purge")

#: The outbox table, created with the app's other tables.
PURGE_OUTBOX = "flask_etag_purge_outbox"
#: How often each host looks for due purges.
POLL_SECONDS = 0.5
#: Rows claimed at once by one host.
_BATCH = 100
#: Keys longer than this in all are recorded by their tables (:func:`_compact`).
_KEYS_IN_FULL = 16_384
#: Where an app keeps its sweeper (``app.extensions``).
_SWEEPER_KEY = "etag_purge_outbox"
#: Where a session keeps the ids of the outbox rows its open transaction inserted.
_ROWS = "flask_etag.outbox_rows"


class PurgeOutbox:
    """Record each write's purge in its transaction; send due ones from any live host.

    :param table_versions: the :class:`TableVersions` whose session's writes are recorded;
        its metadata gets the ``flask_etag_purge_outbox`` table.
    :param app: the app, or later with :meth:`init_app` (application factories).
    """

    def __init__(self, table_versions: TableVersions, app: Flask | None = None) -> None:
        self.table_versions = table_versions
        metadata = table_versions.table.metadata
        existing = metadata.tables.get(PURGE_OUTBOX)
        self.table = existing if existing is not None else _outbox_table(metadata)
        session = table_versions.session
        event.listen(session, "after_flush", self._record_flush)
        event.listen(session, "before_commit", self._record_before_commit)
        event.listen(session, "after_transaction_end", _forget_rows)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Start this process's sweeper for ``app`` (again in each forked worker), when the
        app purges caches at all."""
        settings: Settings | None = app.extensions.get(SETTINGS_KEY)
        if settings is None:
            raise RuntimeError("PurgeOutbox.init_app: initialise flask_etag's ETag(app) first")
        if not settings.purge_targets:
            return
        sweeper = _Sweeper(self, app)
        app.extensions[_SWEEPER_KEY] = sweeper
        sweeper.start()
        os.register_at_fork(after_in_child=sweeper.start)

    @staticmethod
    def stop(app: Flask) -> None:
        """Stop ``app``'s sweeper in this process and wait for it: before disposing of the
        engine (tests), or when an app is torn down.  Other hosts still sweep."""
        sweeper: _Sweeper | None = app.extensions.pop(_SWEEPER_KEY, None)
        if sweeper is not None:
            sweeper.stop()

    def __repr__(self) -> str:
        return f"PurgeOutbox({PURGE_OUTBOX!r})"

    # ----------------------------------------------------------------- in the transaction

    def _record_flush(self, session: Session, _context: Any) -> None:
        self._record(session)

    def _record_before_commit(self, session: Session) -> None:
        """Bulk statements name their keys without a flush; they are recorded here."""
        self._date_at_commit(session)
        self._record(session)

    def _date_at_commit(self, session: Session) -> None:
        """Date the repeat of the rows an earlier flush inserted from the commit: dated at
        the flush, a transaction that worked on after it committed past its repeat's time,
        a sweeper sent the repeat at once, and a read fetched before the commit and stored
        after the first purge was stale for its whole ``s-maxage`` (RFC 9111 §4.4).  The
        flush the commit makes itself comes after this, and dates its own row."""
        rows = session.info.get(_ROWS)
        settings = _settings()
        if not rows or settings is None or session.get_nested_transaction() is not None:
            return  # nothing recorded yet, or a RELEASE: the outermost commit dates them
        delay = settings.purge_repeat_after or settings.purge_timeout
        session.connection().execute(
            sa.update(self.table)
            .where(self.table.c.id.in_(sorted(rows)))
            .values(due=_microseconds(delay))
        )

    def _record(self, session: Session) -> None:
        """Insert a row for the keys written since the last one, in the same transaction."""
        settings = _settings()
        if settings is None or not settings.purge_targets:
            return
        written = written_keys_of(session)
        recorded: set[str] = session.info.setdefault(RECORDED, set())
        new = written - recorded
        if not new:
            return
        recorded.update(new)
        # The route's own keys stay whole: only the rows' keys are given by their tables.
        keys = list(dict.fromkeys((*route_written_keys(), *_compact(sorted(new)))))
        paths = [written_path(request)] if has_request_context() else []
        delay = settings.purge_repeat_after or settings.purge_timeout
        inserted = session.connection().execute(
            sa.insert(self.table).values(
                purged_caches=purged_caches(settings),
                purged_keys="\n".join(keys),
                purged_paths="\n".join(paths),
                due=_microseconds(delay),
            )
        )
        row_id = inserted.inserted_primary_key
        if row_id is not None:
            session.info.setdefault(_ROWS, set()).add(row_id[0])

    # ----------------------------------------------------------------- from any host

    def send_due(self, app: Flask) -> int:
        """Claim the due rows ``app``'s writes recorded (or another app's with the same
        caches), purge them at ``app``'s caches and delete them; how many.

        Each host's sweeper calls this every :data:`POLL_SECONDS`; a test or a command can
        call it too (inside ``app.app_context()``).
        """
        settings: Settings = app.extensions[SETTINGS_KEY]
        engine = self.table_versions.session.get_bind().engine
        lease = _microseconds(2 * settings.purge_timeout + POLL_SECONDS)
        columns = self.table.c
        with engine.begin() as connection:
            due = connection.execute(
                sa.select(columns.id, columns.purged_keys, columns.purged_paths, columns.due)
                .where(
                    columns.purged_caches == purged_caches(settings),
                    columns.due <= _microseconds(0),
                )
                .order_by(columns.due)
                .limit(_BATCH)
            ).all()
        claimed = []
        for row in due:
            with engine.begin() as connection:
                won = connection.execute(
                    sa.update(self.table)
                    .where(columns.id == row.id, columns.due == row.due)
                    .values(due=lease)
                ).rowcount
            if won:
                claimed.append(row)
        for row in claimed:
            keys = tuple(row.purged_keys.split("\n"))
            paths = tuple(filter(None, row.purged_paths.split("\n")))
            told = (settings.purge_targets, keys, paths, settings.surrogate_key_header)
            purge(app, *told, settings.purge_timeout)
        if claimed:
            with engine.begin() as connection:
                connection.execute(
                    sa.delete(self.table).where(columns.id.in_([row.id for row in claimed]))
                )
        return len(claimed)


class _Sweeper:
    """The thread that sends one app's due purges from this process, while the app lives."""

    def __init__(self, outbox: PurgeOutbox, app: Flask) -> None:
        self._outbox = outbox
        self._app = weakref.ref(app)
        self._process = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._process == os.getpid() or self._stopped.is_set():
            return
        self._process = os.getpid()
        self._thread = threading.Thread(
            target=self._run, name="flask-etag-purge-outbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._process == os.getpid():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            app = self._app()
            if app is None:
                return
            try:
                with app.app_context():
                    self._outbox.send_due(app)
            except sa.exc.SQLAlchemyError as error:  # the database is down: try again later
                logger.warning("purge outbox unreadable: %s", error)
            del app


def _forget_rows(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended: its rows are committed (and dated) or gone."""
    if transaction.parent is None:
        session.info.pop(_ROWS, None)


def _compact(keys: list[str]) -> list[str]:
    """``keys``, or, past :data:`_KEYS_IN_FULL` characters, with each row's key (``products/7``)
    given as its table's items (``products/*``): a write of thousands of rows must not fail
    for the size of its purge's record (MariaDB's ``TEXT`` holds 64 KB).  The repeat then
    purges every item of the table once, which is more than needed and never less."""
    if sum(len(key) + 1 for key in keys) <= _KEYS_IN_FULL:
        return keys
    written_tables = set(keys)
    return list(dict.fromkeys(_as_tables_items(key, written_tables) for key in keys))


def _as_tables_items(key: str, written_tables: set[str]) -> str:
    """``products/7`` as ``products/*`` when ``products`` was written; any other key as is."""
    table, separator, _row = key.partition("/")
    return f"{table}/*" if separator and table in written_tables else key


def purged_caches(settings: Settings) -> str:
    """What names an app's caches in its outbox rows: a digest of ``ETAG_PURGE_URLS`` (in
    any order) and the key field, the same on every host of the app.

    A sweeper sends only the rows of its own caches: sent by an app behind other caches, a
    write's repeat missed its own caches, and a read fetched before the commit and stored
    after the first purge stayed stale there for its whole ``s-maxage`` (RFC 9111 §4.4).
    """
    caches = sorted(map(_described, settings.purge_targets))
    described = json.dumps([settings.surrogate_key_header, caches], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def _described(target: PurgeTarget) -> list[Any]:
    """``target`` as JSON can hold it: its URL, how it purges and its paths."""
    return [target.url, target.by, {key: list(paths) for key, paths in target.paths.items()}]


def _settings() -> Settings | None:
    if not has_app_context():
        return None
    settings: Settings | None = current_app.extensions.get(SETTINGS_KEY)
    return settings


def _microseconds(seconds_from_now: float) -> int:
    """Wall-clock microseconds: comparable across hosts, unlike ``time.monotonic()``."""
    return time.time_ns() // 1000 + int(seconds_from_now * 1_000_000)


def _outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        PURGE_OUTBOX,
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        # Whose row it is: the writer's caches (purged_caches()), as each sweeper asks.
        sa.Column("purged_caches", sa.String(64), nullable=False),
        sa.Column("purged_keys", sa.Text, nullable=False),
        sa.Column("purged_paths", sa.Text, nullable=False),
        # Microseconds since the epoch, when the repeat is due (or a claim runs out).
        sa.Column("due", sa.BigInteger, nullable=False),
        sa.Index(f"ix_{PURGE_OUTBOX}_caches_due", "purged_caches", "due"),
    )
