"""Batch writes, each entry conditional on the tag its item was read at.

A client that edited several listed rows sends them in one request: each entry names an
item and the tag it was read at (the ``etag`` member the list gave it,
:func:`~flask_etag.item_etag`).  :func:`write_batch` judges every entry as ``If-Match``
would (RFC 9110 §13.1.1) and writes them as compare-and-set (``version_id_col``), so no
concurrent writer's change is ever overwritten:

* **all or nothing** (the default): one transaction; if any entry is stale or its item is
  missing, nothing is written and the 412 problem lists every stale entry with its current
  tag and every missing one;
* **per entry** (``atomic=False``): each entry in a transaction of its own; the fresh ones
  are written, and each entry's result says how it went.

Each result is ``{"id": ..., "status": 200, "etag": <the new tag>}`` (the item named by the
member :func:`read_batch` read it from: ``id``, or its ``id_member=``), or for a refused entry
its status (``412`` with the current tag, ``404``, ``428`` without a tag, or the status of
an HTTP error the ``apply`` function raised) and ``detail``.

A batch with an entry that cannot be judged is refused whole with a 400 before any query,
in either mode: more than :data:`MAX_BATCH_ENTRIES` entries, an id that is not of the
key's type (an ``int`` key takes JSON integers only, a ``Uuid`` key a UUID string, a
``Date`` key an ISO 8601 date string, a ``DateTime`` key an ISO 8601 date and time string,
with a UTC offset where the column holds one and without where not, a ``Numeric`` key a
number or a string spelling one), that is no finite number (JSON's ``1e5000`` reads as
infinity) or that holds a NUL character, an item named twice, or a tag that is not one
entity tag (``*`` included: an entry names the tag it was read at).  An integer id beyond
what the key column holds, or a number beyond any numeric column, names no item (404, or
``missing``).

The route is a plain view, so an OpenAPI document learns it from the app:
``spec.path(view=..., etag_batch=BatchWrites(...))`` (:class:`flask_etag.openapi.BatchWrites`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..conditions import if_match_passes
from ..exceptions import ETagPreconditionFailed, ETagPreconditionRequired
from ..exchange import refuse
from ..item_tags import ItemTags
from ..reasons import MISSING, STALE
from ..settings import current_settings
from . import batch_keys
from .batch_entries import BadBatch, refuse_unjudgeable
from .items import ModelVersionGenerator

#: The most entries :func:`read_batch` takes: a longer batch is a 400, to be sent in parts.
#: One transaction holds every row of an all-or-nothing batch, and a client that sends
#: more is better told at once than left to a long lock or the database's limit on a
#: query's parameters (65,535 for PostgreSQL).
MAX_BATCH_ENTRIES = 1000

#: Identities per ``IN (...)`` query when rows are loaded, well below every database's
#: limit on a query's parameters.
_LOAD_CHUNK = 500

#: The detail of a batch some of whose entries are stale or missing.
_BATCH_REFUSED = (
    "Some items have changed since you read them, or are gone, so nothing was written: "
    "fetch them again and retry with their current ETags."
)


@dataclass(frozen=True)
class BatchEntry:
    """One write of a batch: the item's identity, the tag it was read at, and the changes.

    ``id_member`` is the member that named the item (``read_batch``'s ``id_member``): the
    entry's result and the 412's ``stale`` list name it by that member, as the client sent it.
    """

    identity: Any
    etag: str | None
    changes: Mapping[str, Any] = field(default_factory=dict)
    id_member: str = "id"


class ETagBatchPreconditionFailed(ETagPreconditionFailed):
    """412 for a whole batch: the problem lists every stale entry with its current tag
    (``"stale": [{"id": ..., "etag": ...}]``, the item named by the entry's ``id_member``)
    and every missing one (``"missing": [...]``)."""

    def __init__(self, stale: list[dict[str, Any]], missing: list[Any]) -> None:
        super().__init__(_BATCH_REFUSED, reason=STALE if stale else MISSING)
        self.stale = stale
        self.missing = missing

    def get_body(self, environ: Any = None, scope: Any = None) -> str:
        problem = json.loads(super().get_body(environ, scope))
        problem["detail"] = self.description
        return json.dumps(problem | {"stale": self.stale, "missing": self.missing})


def read_batch(
    document: object, *, id_member: str = "id", max_entries: int = MAX_BATCH_ENTRIES
) -> list[BatchEntry]:
    """The entries of a JSON batch: an array of objects, each with ``id_member`` and the tag
    member (``ETAG_BODY_MEMBER``, ``"etag"``); the other members are the entry's changes.

    A document of another shape, or of more than ``max_entries`` entries, is a 400 problem.
    A tag member that is ``null`` is no tag (the entry is a 428).
    """
    tag_member = current_settings().body_member or "etag"
    if not isinstance(document, list) or not all(
        isinstance(entry, dict) and id_member in entry for entry in document
    ):
        raise BadBatch(f"A batch is a JSON array of objects, each with an {id_member!r} member.")
    if len(document) > max_entries:
        raise BadBatch(
            f"A batch holds at most {max_entries} entries, not {len(document)}: send the "
            "others in another batch."
        )
    identities = [entry[id_member] for entry in document]
    if len(set(map(repr, identities))) != len(identities):
        raise BadBatch("A batch names each item once.")
    return [
        BatchEntry(
            entry[id_member],
            entry.get(tag_member),
            {name: value for name, value in entry.items() if name not in (id_member, tag_member)},
            id_member,
        )
        for entry in document
    ]


def write_batch(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entries: Sequence[BatchEntry],
    apply: Callable[[Any, BatchEntry], None],
    *,
    atomic: bool = True,
) -> list[dict[str, Any]]:
    """Write ``entries``, each only if its item is still at the tag it was read at.

    :param generator: the items' :class:`ModelVersionGenerator` (model and session).
    :param item_view: the item's GET view or endpoint, whose tags the entries carry.
    :param apply: changes one loaded item as an entry asks (raise an HTTP error, such as a
        422, to refuse it).
    :param atomic: all or nothing (412 listing every stale and missing entry), or each
        entry on its own.
    :returns: one result per entry, in order; commits the session.

    An entry that cannot be judged (an id not of the key's type, a tag that is not one
    entity tag) refuses the whole batch with a 400 before any query, in either mode.
    """
    refuse_unjudgeable(generator, entries)
    tags = ItemTags(item_view)  # the item route and this request's folds, found once
    if atomic:
        return _write_all_or_nothing(generator, tags, entries, apply)
    return [_write_one(generator, tags, entry, apply) for entry in entries]


def _write_all_or_nothing(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entries: Sequence[BatchEntry],
    apply: Callable[[Any, BatchEntry], None],
) -> list[dict[str, Any]]:
    if any(entry.etag is None for entry in entries):
        refuse(ETagPreconditionRequired())
    session = generator.session
    rows = _load(generator, entries)
    if len(set(map(id, rows.values()))) < len(rows):  # one row, by two spellings of its key
        session.rollback()
        raise BadBatch("A batch names each item once.")
    _refuse_unless_current(generator, tags, entries, rows)
    try:
        # An apply that queries autoflushes the entries before it, so a write that raced
        # the judgement can fail inside it as well as in the flush (RFC 9110 §13.1.1).
        _apply_all_or_none(session, entries, rows, apply)
        session.flush()  # UPDATE ... WHERE version = <the version judged above>, each row
    except StaleDataError:  # another writer committed between the judgement and the write
        session.rollback()
        _refuse_unless_current(generator, tags, entries, _load(generator, entries))
        refuse(ETagPreconditionFailed())  # changed and changed back: still not what was read
    results = [_written(generator, tags, entry, rows) for entry in entries]
    session.commit()
    return results


def _apply_all_or_none(
    session: Any,
    entries: Sequence[BatchEntry],
    rows: dict[Any, Any],
    apply: Callable[[Any, BatchEntry], None],
) -> None:
    """Apply every entry, or none: an error ``apply`` raises for one (a 422) rolls back the
    changes it made to the others, which a later commit in the request would otherwise write."""
    try:
        for entry in entries:
            apply(rows[batch_keys.key(entry.identity)], entry)
    except Exception:
        session.rollback()
        raise


def _write_one(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entry: BatchEntry,
    apply: Callable[[Any, BatchEntry], None],
) -> dict[str, Any]:
    session = generator.session
    try:
        result = _judged_and_written(generator, tags, entry, apply)
    except StaleDataError:  # another writer committed between the judgement and the write
        session.rollback()
        result = _refused(generator, tags, entry, _load(generator, [entry]))
        if result["status"] == 200:
            result["status"] = 412  # changed and changed back: still not what was read
    except HTTPException as error:
        session.rollback()
        return _result(entry, error.code, detail=error.description)
    if result["status"] == 200:
        session.commit()
    else:
        session.rollback()
    return result


def _judged_and_written(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entry: BatchEntry,
    apply: Callable[[Any, BatchEntry], None],
) -> dict[str, Any]:
    rows = _load(generator, [entry])
    refused = _refused(generator, tags, entry, rows)
    if refused["status"] != 200:
        return refused
    apply(rows[batch_keys.key(entry.identity)], entry)
    generator.session.flush()
    return _written(generator, tags, entry, rows)


def _load(generator: ModelVersionGenerator, entries: Iterable[BatchEntry]) -> dict[Any, Any]:
    """The entries' rows (current versions: none kept from before), by the entries' ids.

    An id beyond what the key column holds names no row, and is not sent: the database
    would refuse the whole query (PostgreSQL's "out of range" and "value overflows numeric
    format", SQLite's 64 bits).
    """
    column = sa.inspect(generator.model).primary_key[0]
    dialect = generator.session.get_bind(generator.model).dialect.name
    bits = batch_keys.integer_bits(column.type, dialect)
    key_type = batch_keys.key_type(generator.model)
    identities = {
        batch_keys.bound_key(entry.identity, key_type): entry.identity for entry in entries
    }
    bound = [batch_keys.bound(identity, key_type) for identity in identities.values()]
    rows = _select(generator, [identity for identity in bound if batch_keys.held(identity, bits)])
    found = {key: row for key, row in rows.items() if key in identities}
    if key_type is str and len(found) < len(identities):  # a collation may fold its spelling
        found |= _found_as_spelt(generator, identities, found)
    return {batch_keys.key(identities[key]): row for key, row in found.items()}


def _found_as_spelt(
    generator: ModelVersionGenerator,
    identities: Mapping[str, Any],
    found: Mapping[str, Any],
) -> dict[str, Any]:
    """The rows of the string ids no row holds as spelt, each looked up alone: a collation
    that folds case, accents or trailing spaces (MariaDB's default) finds ``lamp`` for
    ``LAMP``, as the item's own URL does, and the entry names that row (RFC 9110 §13.1.1).
    The ids of one query cannot tell which of them found a row under another spelling."""
    own: dict[str, Any] = {}
    for key, identity in identities.items():
        if key not in found:
            for row in _select(generator, [identity]).values():
                own[key] = row
    return own


def _select(generator: ModelVersionGenerator, identities: Sequence[Any]) -> dict[Any, Any]:
    """The rows of ``identities``, a query per :data:`_LOAD_CHUNK` of them, by key."""
    mapper = sa.inspect(generator.model)
    key_column = mapper.primary_key[0]
    key_attribute = mapper.get_property_by_column(key_column).key
    rows: dict[Any, Any] = {}
    for start in range(0, len(identities), _LOAD_CHUNK):
        statement = (
            sa.select(generator.model)
            .where(key_column.in_(identities[start : start + _LOAD_CHUNK]))
            .execution_options(populate_existing=True)
        )
        for row in generator.session.scalars(statement):
            rows[batch_keys.key(getattr(row, key_attribute))] = row
    return rows


def _refuse_unless_current(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entries: Sequence[BatchEntry],
    rows: dict[Any, Any],
) -> None:
    """412 listing every stale and every missing entry, unless there is none."""
    judged = [(entry, _refused(generator, tags, entry, rows)) for entry in entries]
    stale = [
        {entry.id_member: entry.identity, "etag": judgement["etag"]}
        for entry, judgement in judged
        if judgement["status"] == 412
    ]
    missing = [entry.identity for entry, judgement in judged if judgement["status"] == 404]
    if stale or missing:
        generator.session.rollback()
        refuse(ETagBatchPreconditionFailed(stale, missing))


def _refused(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entry: BatchEntry,
    rows: dict[Any, Any],
) -> dict[str, Any]:
    """The entry's judgement: status 200 when its tag is current, else why not."""
    row = rows.get(batch_keys.key(entry.identity))
    if row is None:
        return _result(entry, 404, detail="There is no such item.")
    current = tags.validators(generator.version_of(row))
    if entry.etag is None:
        return _result(entry, 428, etag=current.etag_header)
    accept_weakened = current_settings(current_app).accept_weakened
    if not if_match_passes(entry.etag, current, accept_weakened):
        return _result(entry, 412, etag=current.etag_header)
    return _result(entry, 200, etag=current.etag_header)


def _written(
    generator: ModelVersionGenerator,
    tags: ItemTags,
    entry: BatchEntry,
    rows: dict[Any, Any],
) -> dict[str, Any]:
    row = rows[batch_keys.key(entry.identity)]
    etag = tags.validators(generator.version_of(row)).etag_header
    return _result(entry, 200, etag=etag)


def _result(entry: BatchEntry, status: int | None, **members: Any) -> dict[str, Any]:
    """An entry's result, naming its item by the member the entry named it with (the
    route's ``id_member``, not always ``id``), so a client matches results to entries."""
    return {entry.id_member: entry.identity, "status": status, **members}
