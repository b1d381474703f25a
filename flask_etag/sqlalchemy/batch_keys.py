"""The ids of a batch's entries, and an item URL's key, against the items' primary key:
which ids a key takes, which integers its column holds, and how an id as the client sent it
and as the row holds it compare alike (a UUID string and the ``uuid.UUID`` the row holds, an
ISO 8601 date string and the ``date``, an ISO 8601 date and time string and the
``datetime``, ``1.5`` and the ``Decimal("1.50")``)."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from typing import Any

import sqlalchemy as sa

#: What an entry's id must be, by the Python type of the items' key (None: another type).
KINDS: dict[type | None, str] = {
    int: "an integer",
    str: "a string",
    uuid.UUID: "a UUID string",
    datetime.date: "an ISO 8601 date string (2024-01-31)",
    datetime.datetime: "an ISO 8601 date and time string (2024-01-31T09:30:00)",
    decimal.Decimal: "a number, or a string spelling one",
    None: "a string or number",
}

#: Digits before or after the point beyond any numeric key column's: PostgreSQL refuses a
#: number far beyond them in any query ("value overflows numeric format"), a 500.
_NUMERIC_DIGITS = 1000

#: Decimal arithmetic that never rounds and never overflows: a key is compared exactly.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def key_type(model: type[Any]) -> type | None:
    """``int``, ``str``, ``uuid.UUID``, ``datetime.date``, ``datetime.datetime`` or
    ``decimal.Decimal``: the Python type of the items' key; None for another or unknown."""
    try:
        python_type = sa.inspect(model).primary_key[0].type.python_type
    except NotImplementedError:
        return None
    return python_type if python_type in KINDS else None


def is_identity(identity: object, key_type: type | None) -> bool:
    """Whether ``identity`` can name an item of a key of ``key_type`` (None: any scalar)."""
    if isinstance(identity, bool):  # a JSON true is no key, though Python counts it an int
        return False
    if key_type is uuid.UUID:  # JSON carries a UUID as a string
        return isinstance(identity, str) and _as_uuid(identity) is not None
    if key_type is datetime.date:  # and a date as a string
        return isinstance(identity, str) and _as_date(identity) is not None
    if key_type is datetime.datetime:  # and a date and time as a string
        return isinstance(identity, str) and _as_datetime(identity) is not None
    if key_type is decimal.Decimal:  # a number, or a string as Flask's JSON writes a Decimal
        return _as_decimal(identity) is not None
    if key_type is not None:
        return isinstance(identity, key_type)
    return identity is not None and not isinstance(identity, (dict, list))


def is_non_finite(identity: object) -> bool:
    """Whether ``identity`` is an infinite or NaN number: no key column's value, and no JSON
    (RFC 8259 §6), though Python's JSON reads ``1e5000`` as infinity and ``NaN`` as NaN."""
    if isinstance(identity, float):
        return not math.isfinite(identity)
    return isinstance(identity, decimal.Decimal) and not identity.is_finite()


def _as_uuid(identity: str) -> uuid.UUID | None:
    """The UUID a string spells (any form ``uuid.UUID`` reads), or None."""
    try:
        return uuid.UUID(identity)
    except ValueError:
        return None


def _as_date(identity: str) -> datetime.date | None:
    """The date an ISO 8601 string spells, or None."""
    try:
        return datetime.date.fromisoformat(identity)
    except ValueError:
        return None


def _as_datetime(identity: str) -> datetime.datetime | None:
    """The date and time an ISO 8601 string spells, or None."""
    try:
        return datetime.datetime.fromisoformat(identity)
    except ValueError:
        return None


def holds_offsets(model: type[Any], dialect: str) -> bool:
    """Whether the items' key is a date and time with a UTC offset (``DateTime(timezone=
    True)``) on a database ``dialect`` that keeps it: an entry's id then carries one, and
    without, it names none (and the reverse).  SQLite and MariaDB (MySQL) keep the wall time
    alone, whatever the column says, and give it back without an offset, so an id there is
    one too: with one, it never equalled the row's, and every entry was missing."""
    timezone = getattr(sa.inspect(model).primary_key[0].type, "timezone", False)
    return bool(timezone) and dialect not in _NO_OFFSETS


#: The databases whose ``DateTime(timezone=True)`` keeps no offset (SQLAlchemy's docs).
_NO_OFFSETS = frozenset({"sqlite", "mysql", "mariadb"})


def _as_decimal(identity: object) -> decimal.Decimal | None:
    """The finite number a JSON number or a numeric string spells, without trailing zeros,
    or None.  A float is read by its shortest spelling, ``1.1`` as JSON wrote it, not its
    binary expansion."""
    if isinstance(identity, bool) or not isinstance(identity, (int, float, str)):
        return None
    try:
        number = decimal.Decimal(repr(identity) if isinstance(identity, float) else identity)
    except decimal.InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return number.normalize(_EXACT) if number else decimal.Decimal(0)


def bound(identity: Any, key_type: type | None) -> Any:
    """The entry's id as the key column binds and the row holds it: a UUID string as a UUID,
    a date string as a date, a date and time string as a datetime, a number as a ``Decimal``."""
    if key_type is uuid.UUID:
        return uuid.UUID(identity)
    if key_type is datetime.date:
        return datetime.date.fromisoformat(identity)
    if key_type is datetime.datetime:
        return datetime.datetime.fromisoformat(identity)
    if key_type is decimal.Decimal:
        return _as_decimal(identity)
    return identity


def integer_bits(column_type: sa.types.TypeEngine[Any], dialect: str) -> int | None:
    """The bits of a signed integer key column, by its type and the database; None for a key
    that is no integer."""
    if isinstance(column_type, sa.BigInteger):
        return 64
    if isinstance(column_type, sa.SmallInteger):
        return 16
    if isinstance(column_type, sa.Integer):
        return 64 if dialect == "sqlite" else 32
    return None


def held(identity: Any, bits: int | None) -> bool:
    """Whether a key column can hold ``identity``: an integer within its ``bits``, a number
    within any numeric column's digits.  The database refuses a query naming one beyond
    (PostgreSQL's "out of range" and "value overflows numeric format", SQLite's 64 bits)."""
    if isinstance(identity, decimal.Decimal):  # without trailing zeros: its digits are its own
        digits = len(identity.as_tuple().digits)
        return digits < _NUMERIC_DIGITS and abs(identity.adjusted()) < _NUMERIC_DIGITS
    return bits is None or not isinstance(identity, int) or within(identity, bits)


def within(identity: int, bits: int) -> bool:
    """Whether a signed integer key column of ``bits`` can hold ``identity``: the database
    refuses a query naming one beyond it (PostgreSQL's "out of range", SQLite's 64 bits)."""
    limit = 1 << (bits - 1)
    return -limit <= identity < limit


def key(identity: Any) -> str:
    """Identities as the client sent them and as the row holds them compare alike: a
    ``Decimal`` by its value, whatever its trailing zeros (``1.5``, the ``1.50`` a
    ``Numeric(10, 2)`` column gives back); a ``datetime`` with a UTC offset by its instant,
    whatever the offset the client or the database's session wrote it in."""
    if isinstance(identity, decimal.Decimal):
        return repr(identity.normalize(_EXACT) if identity else decimal.Decimal(0))
    if isinstance(identity, datetime.datetime) and identity.tzinfo is not None:
        return repr(identity.astimezone(datetime.timezone.utc))
    return repr(identity)


def bound_key(identity: Any, key_type: type | None) -> str:
    """The :func:`key` of an entry's id as the row holds it (:func:`bound`)."""
    return key(bound(identity, key_type))
