"""Collections: a tag decided from the database before the view, at any number of rows.

A list endpoint hashed by its body pays for the whole query and render on every 304.  Here
the tag is known from one small read instead:

* **what is selected**: a fingerprint of the ``select()``'s SQL and bound parameters, so each
  filter, sort and page has a tag of its own.  The select travels inside the counters' query
  as a CTE nothing refers to: SQLAlchemy renders it through its compiled-statement cache
  (public API: ``Connection.execute``), the database never runs it, and the SQL and
  parameters handed to the driver are hashed;
* **the state of the tables it reads**: one counter per table in the
  ``flask_etag_table_versions`` table, raised inside every transaction that inserts, updates
  or deletes a row of it (:class:`TableVersions` listens to the session's flushes).  The
  counter moves on every committed change, a delete plus an insert or a delete of the last
  row included, and never without one; reading it costs the same at ten rows or a million.

An aggregate such as ``COUNT(*)`` plus ``MAX(updated_at)`` (Rails' choice) misses a delete
plus an insert of an older row, and a per-row version sum misses a row deleted and created
again with the same id and version; a counter written by the writer's own transaction has
neither gap, and commits or rolls back with the rows it describes.

The body never travels with a tag older or newer than itself: the counters are read again
after the view, and a response whose tables changed while it was read goes out untagged
(the next request gets a tag).  Reads take no locks, so this holds under PostgreSQL's
READ COMMITTED and SQLite's per-statement snapshots alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import g, has_app_context

from ..arguments import url_arguments_error
from ..clocks import judged_at
from ..conditions import Validators, last_modified_at
from ..exceptions import ETagConfigurationError
from ..generators import _LookupGenerator, function_name
from ..surrogate_keys import encoded
from .table_versions import TableVersions
from .tables_read import (
    in_lists_in_order,
    read_by,
    tables_read,
)

#: Where a request keeps the state its collection lookup read: ``(generator, state)``.
_LOOKED_UP = "_flask_etag_collection"


class CollectionState(NamedTuple):
    """What a collection's tag is made of, as looked up before the view."""

    fingerprint: str
    tables: tuple[str, ...]
    versions: tuple[int, ...]
    changed_at: int | None
    #: When the counters were read (just before), less ``ETAG_CLOCK_SKEW``
    #: (:func:`~flask_etag.clocks.clock_skew`): whether ``changed_at``'s second is over
    #: is judged then, not once a slow view has let it end (RFC 9110 §8.8.2.2).
    read_at: datetime | None = None


class CollectionGenerator(_LookupGenerator):
    """Tag a collection by what it selects and the versions of the tables it reads.

    :param select_rows: called with the view's URL arguments (and free to read
        ``request.args``), returns the ``select()`` (or ``union()`` of them) the view runs;
        the view calls it too.
        A ``BadRequest`` it raises for bad arguments is the client's 400.
    :param versions: the app's :class:`TableVersions`.
    :param weak: mark tags weak (default strong: the body is exactly what was selected).
    """

    kind = "collection"
    dated = True  # Last-Modified: the last committed write to the tables read
    rechecks_after_view = True

    def __init__(
        self,
        select_rows: Callable[..., sa.Select[Any] | sa.CompoundSelect[Any]],
        versions: TableVersions,
        *,
        weak: bool | None = False,
    ) -> None:
        if not callable(select_rows):
            raise TypeError(
                "CollectionGenerator needs a function returning a select(), e.g. "
                f"lambda: select(Product).order_by(Product.id); got {select_rows!r}"
            )
        if not isinstance(versions, TableVersions):
            raise TypeError(f"versions must be a TableVersions, not {versions!r}")
        self.select_rows = select_rows
        self.versions = versions
        super().__init__(self._current_state, weak=weak)

    def _current_state(self, **view_args: Any) -> CollectionState:
        statement = self.select_rows(**view_args)
        tables, unordered = read_by(statement)
        selected = in_lists_in_order(statement) if unordered else statement
        read_at = judged_at(datetime.now(timezone.utc))  # every host's clock has passed it
        versions, changed_at, fingerprint = self.versions.read_selecting(
            self.versions.session, tables, selected
        )
        state = CollectionState(fingerprint, tables, versions, changed_at, read_at)
        setattr(g, _LOOKED_UP, (self, state))  # its tables name this request's keys
        return state

    def explain_lookup_error(self, view_args: dict[str, Any]) -> ETagConfigurationError | None:
        """As a lookup's, for ``select_rows``, which is called with the URL arguments: the
        lookup itself (:meth:`_current_state`) takes any."""
        subject = f"the select_rows of {self!r}"
        return url_arguments_error(self.select_rows, subject, "CollectionGenerator(", view_args)

    names_keys = True

    def surrogate_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """One key per table the select reads, ``products``: purged by every write to it.

        The tables of this request's own lookup, when it ran: the select is not built and
        walked a second time (a tenth of a collection 304's cost).
        """
        looked_up = g.get(_LOOKED_UP) if has_app_context() else None
        if looked_up is not None and looked_up[0] is self:
            return tuple(map(encoded, looked_up[1].tables))
        return tuple(map(encoded, tables_read(self.select_rows(**view_args))))

    def written_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """A write to the collection's URL (a ``POST``) changes its lists."""
        return self.surrogate_keys(view_args)

    def still_current(self, checked: Any, view_args: dict[str, Any]) -> bool:
        """After the view: whether no write committed since ``checked`` was looked up."""
        if not isinstance(checked, CollectionState):
            return False
        now = self.versions.read(self.versions.session, checked.tables)
        return now == (checked.versions, checked.changed_at)

    def validators_for(self, value: Any, weak: bool) -> Validators:
        if not isinstance(value, CollectionState):
            raise TypeError(f"a CollectionGenerator state is a CollectionState, not {value!r}")
        opaque = f"{value.fingerprint}.{'.'.join(map(str, value.versions))}"
        if value.changed_at is None:
            return Validators(etag=opaque, weak=weak)
        moment = datetime.fromtimestamp(value.changed_at / 1_000_000, timezone.utc)
        # §8.8.2.2: judged when the counters were read.  The recheck after the view does not
        # cover a slow one: under REPEATABLE READ (MariaDB's default) it reads the counters
        # as they were, and a change later in their second, while the view ran, went unseen.
        modified, second_over = last_modified_at(
            moment, value.read_at or datetime.now(timezone.utc)
        )
        return Validators(etag=opaque, weak=weak, last_modified=modified, second_over=second_over)

    def __repr__(self) -> str:
        return f"CollectionGenerator({function_name(self.select_rows)}, weak={self.weak!r})"
