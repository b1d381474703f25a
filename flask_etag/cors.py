"""Browser code on another origin can read the tag, so it can send ``If-Match``.

The Fetch standard hides from a cross-origin script every response field that
``Access-Control-Expose-Headers`` does not list, ``ETag`` included.  A cross-origin request
carries ``Origin``, so every tagged answer to one (the 200, the 304, the 412 naming the
current tag, a 201 the view tagged with the item it created) lists ``ETag`` there, unless
``ETAG_CORS_EXPOSE = False``.  Whether the origin is allowed at all stays the app's decision
(Flask-CORS, or its own hook adding ``Access-Control-Allow-Origin``); without that field a
browser ignores this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from werkzeug.datastructures import Headers

from .responses import field

if TYPE_CHECKING:
    from .settings import Settings

EXPOSE_HEADERS = "Access-Control-Expose-Headers"


def expose_etag(headers: Headers, settings: Settings) -> None:
    """List ``ETag`` in the answer to a cross-origin request (the caller saw ``Origin``)."""
    if settings.cors_expose:
        headers.add(EXPOSE_HEADERS, "ETag")


def expose_view_etag(headers: Headers, environ: Mapping[str, object], settings: Settings) -> None:
    """List an ``ETag`` the view set itself where the route made none: a 201's tag of the item
    it created (RFC 9110 §15.3.2), which the script sends as its next ``If-Match``."""
    if "HTTP_ORIGIN" in environ and field(headers, "etag") is not None:
        expose_etag(headers, settings)
