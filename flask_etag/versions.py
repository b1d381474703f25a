"""What a version lookup may return, and one value per version.

A version's tag is its text (:func:`~flask_etag.tags.opaque_tag_for`), so a version must be
a value whose text is the version itself, and equal versions must be spelled one way on
every host: else two hosts send two tags for one state, and each answers the other's 200.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Context, Decimal
from typing import Any
from uuid import UUID

#: The instant timestamps count from, and a version too early for UTC is told by.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: What a version lookup may return: values whose text is the version itself.  Anything else
#: (a model instance, say) would be tagged by its repr, which may never change: clients would
#: then get 304 for changed data, and stale ``If-Match`` writes would pass.
VERSION_TYPES = (str, int, bytes, float, Decimal, UUID, date)


def one_version(value: Any) -> Any:
    """``value``, checked to be a version and given the one spelling its tag is made of.

    :raises TypeError: for a value that is no version (a bool, a model instance).
    """
    if isinstance(value, bool):
        raise TypeError(
            f"a VersionGenerator lookup returned {value!r}, which is no version: return "
            "the version itself (str, int, UUID, ...) or None, not a comparison such as "
            "`row is not None` (the same for a value given to set_response_version())"
        )
    if not isinstance(value, VERSION_TYPES):
        raise TypeError(
            "a VersionGenerator lookup must return the version itself (str, int, UUID, ...) "
            f"or None, not {value!r}: e.g. return item.version, not item (the same for a "
            "value given to set_response_version())"
        )
    if isinstance(value, datetime) and value.tzinfo is not None:
        # One instant, one tag: its text in UTC, not in whichever offset the database
        # session (or this process, first) happened to give it.
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:  # before 0001-01-01T00:00Z: still one value per instant
            return value - EPOCH
    if isinstance(value, (Decimal, float)):
        return _one_spelling(value)
    return value


def _one_spelling(number: Decimal | float) -> Decimal | float:
    """One number, one tag on every host: ``Decimal("1.0")``, ``"1.00"`` and ``"1E+0"`` (or
    -0.0 and 0.0) are equal, so the tags kept by value would give each the spelling its
    process saw first.  Trailing zeros are dropped exactly, at the value's own precision.

    :raises TypeError: for a NaN, which equals nothing, itself included: every NaN state
        would share the tag ``"nan"``.
    """
    if number.is_nan() if isinstance(number, Decimal) else math.isnan(number):
        raise TypeError(
            f"a VersionGenerator lookup returned {number!r}, a NaN, which is no version "
            "(a missing value): return the version itself, or None where there is none"
        )
    if not number:
        return type(number)(0)
    if isinstance(number, float) or not number.is_finite():
        return number
    return number.normalize(Context(prec=len(number.as_tuple().digits)))
