"""Hashing a body into an opaque-tag, by ``blake3`` or any :mod:`hashlib` algorithm."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from blake3 import blake3

#: Hex digits of a body hash kept in the tag: 128 bits, collision-free in practice and short.
BODY_HASH_HEX_LENGTH = 32


def body_digest_function(algorithm: str) -> Callable[[bytes], str]:
    """Return a function that hashes bytes to a hex opaque-tag; ValueError if unknown."""
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be a string such as 'blake3', not {algorithm!r}")
    name = algorithm.lower()
    if name == "blake3":
        # The same hex as ``hexdigest(length)``: ``digest(length).hex()`` is cheaper per call (its
        # hex step is CPython's), which matters when hashing a small body costs less than that.
        length = BODY_HASH_HEX_LENGTH // 2
        return lambda body: blake3(body).digest(length).hex()
    if name not in hashlib.algorithms_available:
        raise ValueError(
            f"unknown hash algorithm {algorithm!r}: use 'blake3' or one of "
            f"{', '.join(sorted(hashlib.algorithms_guaranteed))}"
        )
    if name.startswith("shake_"):
        return lambda body: hashlib.new(name, body).hexdigest(BODY_HASH_HEX_LENGTH // 2)  # type: ignore[call-arg]
    return lambda body: hashlib.new(name, body).hexdigest()


def body_tag_function(algorithm: str, weak: bool) -> Callable[[bytes], str]:
    """A function from body bytes to the whole ``ETag`` field value, for the app's defaults.

    One call where the fast path would otherwise hash, then quote: with blake3 (the default)
    the hash and the quotes are one expression.
    """
    opening = 'W/"' if weak else '"'
    if algorithm.lower() == "blake3":
        length = BODY_HASH_HEX_LENGTH // 2
        return lambda body: f'{opening}{blake3(body).digest(length).hex()}"'
    digest = body_digest_function(algorithm)
    return lambda body: f'{opening}{digest(body)}"'
