"""The only places flask_etag reaches past a public API, each because users need what it
gives and no public API offers it; each has a test in ``tests/test_internals.py`` run against
the released and the upcoming Flask and Werkzeug (the ``upcoming`` nox session).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from types import CodeType
from typing import Any


def code_of(function: Any) -> CodeType | None:
    """A function's code object (``__code__``), or None for anything else."""
    code = getattr(function, "__code__", None)
    return code if isinstance(code, CodeType) else None


@functools.cache
def wrapper_codes(module: str, decorator: str, nested: tuple[str, ...]) -> tuple[CodeType, ...]:
    """The code objects of the wrappers another package's ``decorator`` makes.

    A decorator placed in the wrong order around ``@etag`` (an access check under it, a
    serialiser or a cache above it) fails silently, and the wrappers copy the view's name
    with ``functools.wraps``, so nothing public tells them apart; the code of the nested
    function each returns does: it is one constant of the enclosing function's code
    (``co_consts``), shared by every wrapper the decorator makes.
    """
    function: Any = sys.modules[module]
    for attribute in decorator.split("."):
        function = getattr(function, attribute, None)
    outer = code_of(function)
    codes = [] if outer is None else [outer]
    for name in nested:
        codes = [
            constant
            for code in codes
            for constant in code.co_consts
            if isinstance(constant, CodeType) and constant.co_name == name
        ]
    return tuple(codes)


def request_target_as_sent(environ: Mapping[str, object]) -> str | None:
    """The request target as its client sent it, percent-escapes kept, or None.

    A purge by URL must name the URL a cache stored, and a decoded ``PATH_INFO`` cannot tell
    ``/`` from ``%2F`` (two URLs, RFC 3986 §2.2).  Neither WSGI (PEP 3333) nor Flask nor
    Werkzeug offers the target as sent; the servers keep it in the environ by custom:
    ``RAW_URI`` (gunicorn, werkzeug's server and test client), ``REQUEST_URI`` (uWSGI,
    mod_wsgi).  A server that keeps neither gets None, and the caller encodes the path again.
    """
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    return target if isinstance(target, str) else None
