"""Document a batch route written with :func:`~flask_etag.sqlalchemy.write_batch`.

``spec.path(..., etag_batch=BatchWrites(...))``: the entries the route takes (each with the
tag its item was read at), the results it answers, and its whole-batch refusals (400, 412,
428).  A batch is a request body and answers of its own, unlike any other tagged route's, so
it is documented apart from the plugin's header parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from .openapi_components import (
    RESPONSE_BAD_BATCH,
    RESPONSE_BATCH_PRECONDITION_FAILED,
    RESPONSE_BATCH_PRECONDITION_REQUIRED,
    SCHEMA_BATCH_RESULTS,
    TAG_EXAMPLE,
    is_inline,
    nullable_string,
    problem_schema,
)
from .reasons import MISSING, REQUIRED, STALE

#: ``read_batch``'s 400 (flask_etag.sqlalchemy.batches, which needs SQLAlchemy to import).
_BAD_BATCH = "bad-batch"


@dataclass(frozen=True)
class BatchWrites:
    """A batch route written with :func:`~flask_etag.sqlalchemy.read_batch` and
    :func:`~flask_etag.sqlalchemy.write_batch`, for :class:`ETagPlugin` to document:
    ``spec.path(view=patch_products, etag_batch=BatchWrites(...))``.

    :param atomic: True for all or nothing (a stale or missing entry, or one without a tag,
        refuses the whole batch with 412 or 428), False for each entry on its own (every
        result has its status), None when the request chooses (as the example's
        ``?atomic=false`` does).
    :param id_member: the entries' member naming their item (``read_batch``'s ``id_member``).
    :param id_schema: that member's schema, such as ``{"type": "integer"}``; any JSON value
        when not given.
    :param changes: the schema of an entry's other members, its changes: a schema or the name
        of a schema component.
    :param media_types: the request's media types (the JSON ones the route accepts).
    """

    atomic: bool | None = True
    id_member: str = "id"
    id_schema: Mapping[str, Any] | None = None
    changes: str | Mapping[str, Any] | None = None
    media_types: tuple[str, ...] = ("application/json",)


def document_batch_operation(
    operation: dict[str, Any],
    batch: BatchWrites,
    tag_member: str,
    *,
    results: str = SCHEMA_BATCH_RESULTS,
    failed: str = RESPONSE_BATCH_PRECONDITION_FAILED,
    version: tuple[int, int] = (3, 1),
) -> None:
    """The entries a batch write takes, and what it answers (flask_etag.sqlalchemy.batches).

    ``results`` and ``failed`` are the components of its results and of its 412, which name
    the item by ``batch.id_member`` (:func:`batch_results_schema`, :func:`batch_problems`);
    ``version`` is the document's OpenAPI version, which spells a null tag its own way.
    """
    entries = {"type": "array", "items": _batch_entry_schema(batch, tag_member, version)}
    operation.setdefault(
        "requestBody",
        {
            "required": True,
            "content": {kind: {"schema": deepcopy(entries)} for kind in batch.media_types},
        },
    )
    responses = operation.setdefault("responses", {})
    written = responses.setdefault("200", {"description": _BATCH_WRITTEN[batch.atomic]})
    if is_inline(written):
        written.setdefault("content", {"application/json": {"schema": results}})
    responses.setdefault("400", RESPONSE_BAD_BATCH)
    if batch.atomic is not False:
        responses.setdefault("412", failed)
        responses.setdefault("428", RESPONSE_BATCH_PRECONDITION_REQUIRED)


def _batch_entry_schema(
    batch: BatchWrites, tag_member: str, version: tuple[int, int]
) -> dict[str, Any]:
    """One entry: its item, the tag that item was read at (null: none, so the entry is a
    428, RFC 6585 §3) and, when given, its changes."""
    identity = {"description": "The item this entry changes.", **(batch.id_schema or {})}
    entry: dict[str, Any] = {
        "type": "object",
        "description": "One item's change: the item, the tag it was read at, and the members "
        "to change.",
        "required": [batch.id_member, tag_member],
        "properties": {
            batch.id_member: identity,
            tag_member: nullable_string(
                version,
                description="The ETag the item was read at (the list's etag member, or its "
                "GET's ETag field): the entry is written only while the item is still at it "
                "(RFC 9110 §13.1.1). null is no tag: the entry is refused with 428.",
                example=TAG_EXAMPLE,
            ),
        },
    }
    if batch.changes is None:
        return entry
    changes = batch.changes if isinstance(batch.changes, str) else dict(deepcopy(batch.changes))
    return {"allOf": [changes, entry]}


_BATCH_WRITTEN = {
    True: "Every entry was written: one result per entry, in order, each with status 200 "
    "and its item's new ETag.",
    False: "Each entry on its own: one result per entry, in order, with its status (200 "
    "written, 412 stale, 404 missing, 428 without a tag, or the status its change was "
    "refused with).",
    None: "One result per entry, in order. All or nothing: each with status 200 and its "
    "item's new ETag. Each entry on its own: each with its status (200 written, 412 stale, "
    "404 missing, 428 without a tag, or the status its change was refused with).",
}


def batch_problems() -> list[tuple[str, str, dict[str, Any]]]:
    """The batch route's refusals: component id, description, problem schema."""
    return [
        (RESPONSE_BATCH_PRECONDITION_FAILED, *batch_precondition_failed()),
        (
            RESPONSE_BATCH_PRECONDITION_REQUIRED,
            _BATCH_PRECONDITION_REQUIRED,
            problem_schema((REQUIRED,), "required."),
        ),
        (RESPONSE_BAD_BATCH, _BAD_BATCH_DESCRIPTION, problem_schema((_BAD_BATCH,), "bad-batch.")),
    ]


def batch_precondition_failed(id_member: str = "id") -> tuple[str, dict[str, Any]]:
    """The whole batch's 412: its description and problem schema, whose ``stale`` entries
    name their item by ``id_member``, as ``write_batch`` sends them."""
    entry_tag = {
        "type": "object",
        "properties": {
            id_member: {"description": "The entry's item, as the entry named it."},
            "etag": {"type": "string", "description": "The item's current ETag."},
        },
    }
    failed = problem_schema((STALE, MISSING), "stale when an entry is stale, else missing.")
    failed["properties"] |= {
        "stale": {
            "type": "array",
            "description": "Each entry whose item changed since it was read, with its "
            "current ETag to retry with.",
            "items": entry_tag,
        },
        "missing": {
            "type": "array",
            "description": "The ids of the entries whose item does not exist.",
            "items": {},
        },
    }
    return _BATCH_PRECONDITION_FAILED, failed


_BATCH_PRECONDITION_FAILED = (
    "Precondition Failed: some entries' items changed since they were read, or are gone, so "
    "nothing was written (RFC 9110 §13.1.1, §15.5.13). `stale` lists each changed one with "
    "its current ETag, `missing` the others: read them again and retry."
)
_BATCH_PRECONDITION_REQUIRED = (
    "Precondition Required: an entry carries no tag, and every entry must carry the ETag its "
    "item was read at (RFC 6585 §3). Nothing was written."
)
_BAD_BATCH_DESCRIPTION = (
    "Bad Request: the body is not a JSON array of entries within the limit (1,000 by default), "
    "each an object naming its item once by an id of the key's type, with a tag that is one "
    "entity tag (or null). Nothing was written."
)


def batch_results_schema(id_member: str = "id") -> dict[str, Any]:
    """What ``write_batch`` returns: one result per entry, in the batch's order, naming its
    item by ``id_member`` (the member ``read_batch`` read it from)."""
    return {
        "type": "array",
        "description": "One result per entry, in the batch's order.",
        "items": {
            "type": "object",
            "required": [id_member, "status"],
            "properties": {
                id_member: {"description": "The entry's item, as the entry named it."},
                "status": {
                    "type": "integer",
                    "description": "200 written; 412 stale (etag is the item's current "
                    "tag); 404 no such item; 428 the entry carried no tag; else the status "
                    "its change was refused with (such as 422), with detail.",
                    "example": 200,
                },
                "etag": {
                    "type": "string",
                    "description": "200: the item's new ETag; 412 and 428: its current one.",
                    "example": TAG_EXAMPLE,
                },
                "detail": {"type": "string", "description": "Why the entry was refused."},
            },
        },
    }
