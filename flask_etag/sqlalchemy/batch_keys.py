"""The ids of a batch's entries, and an item URL's key, against the items' primary key:
which ids a key takes, which integers its column holds, and how an id as the client sent it
and as the row holds it compare alike (a UUID string and the ``uuid.UUID`` the row holds)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

#: What an entry's id must be, by the Python type of the items' key (None: another type).
KINDS: dict[type | None, str] = {
    int: "an integer",
    str: "a string",
    uuid.UUID: "a UUID string",
    None: "a string or number",
}


def key_type(model: type[Any]) -> type | None:
    """``int``, ``str`` or ``uuid.UUID``: the Python type of the items' key; None for another
    or unknown."""
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
    if key_type is not None:
        return isinstance(identity, key_type)
    return identity is not None and not isinstance(identity, (dict, list))


def _as_uuid(identity: str) -> uuid.UUID | None:
    """The UUID a string spells (any form ``uuid.UUID`` reads), or None."""
    try:
        return uuid.UUID(identity)
    except ValueError:
        return None


def bound(identity: Any, key_type: type | None) -> Any:
    """The entry's id as the key column binds and the row holds it: a UUID string as a UUID."""
    return uuid.UUID(identity) if key_type is uuid.UUID else identity


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


def within(identity: int, bits: int) -> bool:
    """Whether a signed integer key column of ``bits`` can hold ``identity``: the database
    refuses a query naming one beyond it (PostgreSQL's "out of range", SQLite's 64 bits)."""
    limit = 1 << (bits - 1)
    return -limit <= identity < limit


def key(identity: Any) -> str:
    """Identities as the client sent them and as the row holds them compare alike."""
    return repr(identity)


def bound_key(identity: Any, key_type: type | None) -> str:
    """The :func:`key` of an entry's id as the row holds it (:func:`bound`)."""
    return key(bound(identity, key_type))
