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

Each result is ``{"id": ..., "status": 200, "etag": <the new tag>}``, or for a refused entry
its status (``412`` with the current tag, ``404``, ``428`` without a tag, or the status of
an HTTP error the ``apply`` function raised) and ``detail``.

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
from werkzeug.exceptions import BadRequest, HTTPException

from ..conditions import if_match_passes
from ..exceptions import ETagError, ETagPreconditionFailed, ETagPreconditionRequired
from ..exchange import refuse
from ..item_tags import item_validators
from ..reasons import MISSING, STALE
from ..settings import current_settings
from .items import ModelVersionGenerator

#: The detail of a batch some of whose entries are stale or missing.
_BATCH_REFUSED = (
    "Some items have changed since you read them, or are gone, so nothing was written: "
    "fetch them again and retry with their current ETags."
)


@dataclass(frozen=True)
class BatchEntry:
    """One write of a batch: the item's identity, the tag it was read at, and the changes."""

    identity: Any
    etag: str | None
    changes: Mapping[str, Any] = field(default_factory=dict)


class ETagBatchPreconditionFailed(ETagPreconditionFailed):
    """412 for a whole batch: the problem lists every stale entry with its current tag
    (``"stale": [{"id": ..., "etag": ...}]``) and every missing one (``"missing": [...]``)."""

    def __init__(self, stale: list[dict[str, Any]], missing: list[Any]) -> None:
        super().__init__(_BATCH_REFUSED, reason=STALE if stale else MISSING)
        self.stale = stale
        self.missing = missing

    def get_body(self, environ: Any = None, scope: Any = None) -> str:
        problem = json.loads(super().get_body(environ, scope))
        problem["detail"] = self.description
        return json.dumps(problem | {"stale": self.stale, "missing": self.missing})


def read_batch(document: object, *, id_member: str = "id") -> list[BatchEntry]:
    """The entries of a JSON batch: an array of objects, each with ``id_member`` and the tag
    member (``ETAG_BODY_MEMBER``, ``"etag"``); the other members are the entry's changes.

    A document of another shape is a 400 problem.
    """
    tag_member = current_settings().body_member or "etag"
    if not isinstance(document, list) or not all(
        isinstance(entry, dict) and id_member in entry for entry in document
    ):
        raise _BadBatch(f"A batch is a JSON array of objects, each with an {id_member!r} member.")
    identities = [entry[id_member] for entry in document]
    if len(set(map(repr, identities))) != len(identities):
        raise _BadBatch("A batch names each item once.")
    return [
        BatchEntry(
            entry[id_member],
            entry.get(tag_member),
            {name: value for name, value in entry.items() if name not in (id_member, tag_member)},
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
    """
    if atomic:
        return _write_all_or_nothing(generator, item_view, entries, apply)
    return [_write_one(generator, item_view, entry, apply) for entry in entries]


def _write_all_or_nothing(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entries: Sequence[BatchEntry],
    apply: Callable[[Any, BatchEntry], None],
) -> list[dict[str, Any]]:
    if any(entry.etag is None for entry in entries):
        refuse(ETagPreconditionRequired())
    session = generator.session
    rows = _load(generator, entries)
    _refuse_unless_current(generator, item_view, entries, rows)
    for entry in entries:
        apply(rows[_key(entry.identity)], entry)
    try:
        session.flush()  # UPDATE ... WHERE version = <the version judged above>, each row
    except StaleDataError:  # another writer committed between the judgement and the write
        session.rollback()
        _refuse_unless_current(generator, item_view, entries, _load(generator, entries))
        refuse(ETagPreconditionFailed())  # changed and changed back: still not what was read
    results = [_written(generator, item_view, entry, rows) for entry in entries]
    session.commit()
    return results


def _write_one(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entry: BatchEntry,
    apply: Callable[[Any, BatchEntry], None],
) -> dict[str, Any]:
    session = generator.session
    try:
        result = _judged_and_written(generator, item_view, entry, apply)
    except StaleDataError:  # another writer committed between the judgement and the write
        session.rollback()
        result = _refused(generator, item_view, entry, _load(generator, [entry]))
        if result["status"] == 200:
            result["status"] = 412  # changed and changed back: still not what was read
    except HTTPException as error:
        session.rollback()
        return {"id": entry.identity, "status": error.code, "detail": error.description}
    if result["status"] == 200:
        session.commit()
    else:
        session.rollback()
    return result


def _judged_and_written(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entry: BatchEntry,
    apply: Callable[[Any, BatchEntry], None],
) -> dict[str, Any]:
    rows = _load(generator, [entry])
    refused = _refused(generator, item_view, entry, rows)
    if refused["status"] != 200:
        return refused
    apply(rows[_key(entry.identity)], entry)
    generator.session.flush()
    return _written(generator, item_view, entry, rows)


def _load(generator: ModelVersionGenerator, entries: Iterable[BatchEntry]) -> dict[Any, Any]:
    """The entries' rows in one query (current versions: none kept from before), by key."""
    mapper = sa.inspect(generator.model)
    key_column = mapper.primary_key[0]
    identities = [entry.identity for entry in entries]
    statement = (
        sa.select(generator.model)
        .where(key_column.in_(identities))
        .execution_options(populate_existing=True)
    )
    found = generator.session.scalars(statement).all()
    key_attribute = mapper.get_property_by_column(key_column).key
    return {_key(getattr(row, key_attribute)): row for row in found}


def _refuse_unless_current(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entries: Sequence[BatchEntry],
    rows: dict[Any, Any],
) -> None:
    """412 listing every stale and every missing entry, unless there is none."""
    judged = [_refused(generator, item_view, entry, rows) for entry in entries]
    stale = [{"id": judgement["id"], "etag": judgement["etag"]} for judgement in judged
             if judgement["status"] == 412]  # fmt: skip
    missing = [judgement["id"] for judgement in judged if judgement["status"] == 404]
    if stale or missing:
        generator.session.rollback()
        refuse(ETagBatchPreconditionFailed(stale, missing))


def _refused(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entry: BatchEntry,
    rows: dict[Any, Any],
) -> dict[str, Any]:
    """The entry's judgement: status 200 when its tag is current, else why not."""
    row = rows.get(_key(entry.identity))
    if row is None:
        return {"id": entry.identity, "status": 404, "detail": "There is no such item."}
    current = item_validators(item_view, generator.version_of(row))
    if entry.etag is None:
        return {"id": entry.identity, "status": 428, "etag": current.etag_header}
    accept_weakened = current_settings(current_app).accept_weakened
    if not if_match_passes(entry.etag, current, accept_weakened):
        return {"id": entry.identity, "status": 412, "etag": current.etag_header}
    return {"id": entry.identity, "status": 200, "etag": current.etag_header}


def _written(
    generator: ModelVersionGenerator,
    item_view: str | Callable[..., Any],
    entry: BatchEntry,
    rows: dict[Any, Any],
) -> dict[str, Any]:
    row = rows[_key(entry.identity)]
    etag = item_validators(item_view, generator.version_of(row)).etag_header
    return {"id": entry.identity, "status": 200, "etag": etag}


def _key(identity: Any) -> str:
    """Identities as the client sent them and as the row holds them compare alike."""
    return repr(identity)


class _BadBatch(ETagError, BadRequest):
    """400: the batch is not an array of entries, each naming its item once."""

    reason = "bad-batch"
