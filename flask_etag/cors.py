"""Browser code on another origin can read the tag, so it can send ``If-Match``.

The Fetch standard hides from a cross-origin script every response field that
``Access-Control-Expose-Headers`` does not list, ``ETag`` included.  A cross-origin request
carries ``Origin``, so every tagged answer to one (the 200, the 304, the 412 naming the
current tag) lists ``ETag`` there, unless ``ETAG_CORS_EXPOSE = False``.  Whether the origin
is allowed at all stays the app's decision (Flask-CORS, or its own hook adding
``Access-Control-Allow-Origin``); without that field a browser ignores this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.datastructures import Headers

if TYPE_CHECKING:
    from .settings import Settings

EXPOSE_HEADERS = "Access-Control-Expose-Headers"


def expose_etag(headers: Headers, settings: Settings) -> None:
    """List ``ETag`` in the answer to a cross-origin request (the caller saw ``Origin``)."""
    if settings.cors_expose:
        headers.add(EXPOSE_HEADERS, "ETag")
