"""What each entry of a batch must be for it to be judged, checked before any query: a 400
names the entry and what it must be, where a query would fail (a 500) or find nothing.

Split from :mod:`flask_etag.sqlalchemy.batches`, which reads and writes the entries.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from werkzeug.exceptions import BadRequest

from ..exceptions import ETagError
from ..tags import is_one_entity_tag
from . import batch_keys

if TYPE_CHECKING:
    from .batches import BatchEntry
    from .items import ModelVersionGenerator


def refuse_unjudgeable(generator: ModelVersionGenerator, entries: Sequence[BatchEntry]) -> None:
    """400, before any query, for a batch with an entry that cannot be judged: an id that
    names no item (no finite number, not of the key's type, a date and time of another
    offset), one item named twice (one UUID spelt two ways), or a tag that is not one entity
    tag (RFC 9110 §8.8.3)."""
    key_type = batch_keys.key_type(generator.model)
    offsets = key_type is datetime.datetime and batch_keys.holds_offsets(
        generator.model, generator.session.get_bind(generator.model).dialect.name
    )
    for number, entry in enumerate(entries, 1):
        _refuse_non_finite_id(entry.identity, number)
        _refuse_unjudgeable_id(entry.identity, key_type)
        if key_type is datetime.datetime:
            _refuse_other_offset(entry.identity, offsets)
        if entry.etag is not None and not is_one_entity_tag(entry.etag):
            raise BadBatch(
                f"Entry {shown(entry.identity)}: its tag must be one entity tag, as the ETag "
                'field sends it (quotes included, such as "\\"7f3a\\""), not '
                f"{shown(entry.etag)}."
            )
    if len({batch_keys.bound_key(entry.identity, key_type) for entry in entries}) != len(entries):
        raise BadBatch("A batch names each item once.")


def _refuse_non_finite_id(identity: object, number: int) -> None:
    """400 for an infinite or NaN id, naming the entry by its place: JSON has no spelling for
    it (RFC 8259 §6), so echoing it would make the answer no JSON, and no key holds it
    (RFC 9110 §15.5.1)."""
    if batch_keys.is_non_finite(identity):
        raise BadBatch(
            f"Entry {number}: its id is no finite number (a number as large as 1e5000 reads "
            "as infinity, and NaN is none), so it names no item."
        )


def _refuse_other_offset(identity: str, offsets: bool) -> None:
    """400 for a date and time whose UTC offset the key column cannot compare: one with an
    offset for a column without (whose rows hold no offset to convert it by), or one without
    for a column with (which instant it names is unsaid) (RFC 9110 §15.5.1)."""
    if (batch_keys.bound(identity, datetime.datetime).tzinfo is not None) != offsets:
        kind = "with a UTC offset (+00:00)" if offsets else "without a UTC offset"
        raise BadBatch(
            f"Each entry's id is a date and time {kind}, as the items' key holds it, not "
            f"{shown(identity)}."
        )


def _refuse_unjudgeable_id(identity: object, key_type: type | None) -> None:
    """400 for an id not of the key's type, or holding a NUL character (PostgreSQL refuses
    one in any query, a 500)."""
    if not batch_keys.is_identity(identity, key_type):
        raise BadBatch(f"Each entry's id is {batch_keys.KINDS[key_type]}, not {shown(identity)}.")
    if isinstance(identity, str) and "\x00" in identity:
        raise BadBatch(f"No item's id holds a NUL character: {shown(identity)}.")


def shown(value: object) -> str:
    """A value of the client's, as JSON, cut short: a detail never echoes a whole body."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else f"{text[:77]}..."


class BadBatch(ETagError, BadRequest):
    """400: the batch is not an array of entries, each naming its item once."""

    reason = "bad-batch"
