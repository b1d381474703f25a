"""The only places flask_etag reaches past a public API, each because users need what it
gives and no public API offers it; each has a test in ``tests/test_internals.py`` run against
the released and the upcoming Flask and Werkzeug (the ``upcoming`` nox session).
"""

from __future__ import annotations

from typing import Any


def statement_cache_key(statement: Any) -> Any:
    """SQLAlchemy's cache key of a ``select()``: its shape, and its bound values apart.

    A collection's fingerprint needs the SQL of each statement shape, and compiling a
    statement costs more than the rest of a 304; SQLAlchemy compiles each shape once by this
    same key, but offers it only as ``_generate_cache_key`` (its compiled-statement cache).
    None for a construct SQLAlchemy itself will not cache.
    """
    return statement._generate_cache_key()
