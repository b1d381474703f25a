"""The only places flask_etag reaches into Flask's and werkzeug's internals, for speed.

Each is a measurable share of a small request (``benchmarks/instructions.py``), and each has
a test in ``tests/test_internals.py`` that fails loudly if a release changes what it relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from types import SimpleNamespace
from typing import Protocol

from flask import Flask, Request, Response, current_app, request
from werkzeug.datastructures import Headers


class ServingContext(Protocol):
    """What flask_etag reads of the context a request is served in."""

    app: Flask
    request: Request


def _serving_context_by_proxies() -> ServingContext:
    """The public way, one Python call and two context lookups slower."""
    return SimpleNamespace(
        app=current_app._get_current_object(),  # type: ignore[attr-defined]
        request=request._get_current_object(),  # type: ignore[attr-defined]
    )


#: The context of the request being served: its ``app`` and ``request`` in one read.  The
#: ``current_app`` and ``request`` proxies each cost a Python call and a context lookup.
serving_context: Callable[[], ServingContext]
try:  # Flask 2.2 to 3.1: the request context holds the app and the request.
    from flask.globals import _cv_request
except ImportError:  # pragma: no cover - a Flask that no longer has it
    serving_context = _serving_context_by_proxies
else:
    serving_context = _cv_request.get


#: The list a werkzeug ``Headers`` keeps its fields in, to read and extend in place:
#: ``Headers`` methods check every value again and scan for every name, which costs a
#: measurable share of a small request.  An ``attrgetter``, so reading it costs no Python call.
header_list: Callable[[Headers], list[tuple[str, str]]] = attrgetter("_list")


#: A response's status code, read without the Python call of werkzeug's property.
status_code_of: Callable[[Response], int] = attrgetter("_status_code")


def set_not_modified_status(response: Response) -> None:
    """Make ``response``'s status 304, as ``response.status_code = 304`` would.

    werkzeug's setter parses the value and builds the status line on every call; these are
    the two attributes it sets, to the values it sets for 304.
    """
    response._status, response._status_code = _NOT_MODIFIED_STATUS


_NOT_MODIFIED_STATUS = ("304 NOT MODIFIED", 304)
