"""The only places flask_etag reaches into Flask's and werkzeug's internals, for speed.

Each is a measurable share of a small request (``benchmarks/instructions.py``), and each has
a test in ``tests/test_internals.py`` that fails loudly if a release changes what it relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from types import SimpleNamespace
from typing import Any, Protocol

from flask import Flask, Request, Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as WerkzeugResponse


class ServingContext(Protocol):
    """What flask_etag reads of the context a request is served in."""

    app: Flask
    request: Request
    _after_request_functions: list[Any]


def _serving_context_by_proxies() -> ServingContext:
    """The public way, one Python call and two context lookups slower."""
    from flask.globals import request_ctx

    return SimpleNamespace(
        app=current_app._get_current_object(),  # type: ignore[attr-defined]
        request=request._get_current_object(),  # type: ignore[attr-defined]
        _after_request_functions=request_ctx._after_request_functions,
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


def hooks_after_this_request() -> list[Any]:
    """The functions the request being served registered with ``flask.after_this_request``.

    They run after the view returns and before the app's ``after_request`` hooks, so they
    may rewrite a body the view's tag was taken from.
    """
    return serving_context()._after_request_functions


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


def send_fields_as_built(response: Response) -> None:
    """Send the 200 ``response``'s header fields as they are, without werkzeug's copy of them.

    On the way out werkzeug's ``get_wsgi_headers`` copies every field, checking each value
    again, to fix ``Location``, ``Content-Location`` and a missing ``Content-Length``: about a
    sixteenth of a small request's instructions (``benchmarks/instructions.py``).  A body-hash
    fast-path 200 has exactly ``Content-Type`` and ``Content-Length`` as werkzeug set them and
    the ``ETag`` flask_etag appended: nothing to fix or check again.  Should anything later
    (the session, a ``request_finished`` receiver) change the status or the number of fields,
    werkzeug's own method runs after all.  An app's response class that overrides the method
    (to add fields of its own, say) is left to it.
    """
    cls = _sent_as_built_class(type(response))
    if cls is not None:
        response._flask_etag_fields_as_built = len(header_list(response.headers))  # type: ignore[attr-defined]
        response.__class__ = cls


def overrides_get_wsgi_headers(cls: type[Response]) -> bool:
    """True for a response class with a ``get_wsgi_headers`` of its own, which must still run."""
    return cls.get_wsgi_headers is not WerkzeugResponse.get_wsgi_headers


#: The class :func:`send_fields_as_built` gives responses of each response class (None where
#: that class has its own ``get_wsgi_headers``).
_sent_as_built_classes: dict[type[Response], type[Response] | None] = {}


def _sent_as_built_class(base: type[Response]) -> type[Response] | None:
    """A subclass of ``base`` (the app's response class) that skips the copy while it may;
    None when ``base`` has its own method."""
    try:
        return _sent_as_built_classes[base]
    except KeyError:  # the app's first such response
        pass
    cls = None if overrides_get_wsgi_headers(base) else _skipping_the_copy(base)
    _sent_as_built_classes[base] = cls
    return cls


def _skipping_the_copy(base: type[Response]) -> type[Response]:
    def get_wsgi_headers(self: Response, environ: dict[str, object]) -> Headers:
        headers = self.headers
        if self._status_code == 200 and len(headers._list) == self._flask_etag_fields_as_built:  # type: ignore[attr-defined]
            return headers
        return base.get_wsgi_headers(self, environ)

    return type(base.__name__, (base,), {"get_wsgi_headers": get_wsgi_headers})
