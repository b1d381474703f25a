"""Putting validators on responses, and making the 304 that RFC 9110 §15.4.5 describes.

Every response here is an ordinary response of the app's response class, changed through
werkzeug's public API, so werkzeug finalises it as it sends it (a non-ASCII
``Content-Location`` percent-encoded, a relative ``Location`` made absolute) and any
extension can copy, pickle or cache it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Flask, Response
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, unquote_etag

from .conditions import Validators, parse_http_date, utc_seconds
from .signals import announce_not_modified

#: Representation metadata a 304 must not carry (RFC 9110 §15.4.5); everything else the 200
#: would carry (ETag, Cache-Control, Content-Location, Date, Expires, Vary, and fields such as
#: Set-Cookie) is kept.  werkzeug drops these, and Last-Modified, as it sends a 304; they go
#: at once so that the app's ``after_request`` hooks see the 304 as it will be sent.
_NOT_ON_304 = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-range",
        "content-md5",
        "transfer-encoding",
    }
)


def not_modified(app: Flask, fields: Iterable[tuple[str, str]]) -> Response:
    """A new 304 of ``app``'s response class carrying ``fields`` (the 200's validators)."""
    response = app.response_class(status=304, headers=Headers(list(fields)))
    response.headers.remove("Content-Type")  # the class's default mimetype: no representation
    announce_not_modified(response)
    return response


def turn_not_modified(response: Response) -> Response:
    """Make ``response`` the 304 that stands for it: its fields less representation metadata.

    Done in place, as werkzeug's own ``make_conditional`` does: the fields the view and its
    ``after_this_request`` functions set (a cookie, ``Vary``) stay, and the body, never sent
    (§15.4.5), is still closed when werkzeug closes the response.
    """
    headers = response.headers
    for name in {name for name, _ in headers if name.lower() in _NOT_ON_304}:
        headers.remove(name)
    response.status_code = 304
    announce_not_modified(response)
    return response


def validator_fields(
    validators: Validators, cache_control: str | None, vary: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The ``ETag``, ``Last-Modified``, ``Cache-Control`` and ``Vary`` fields for ``validators``."""
    fields = []
    if validators.etag_header is not None:
        fields.append(("ETag", validators.etag_header))
    if validators.last_modified is not None:
        fields.append(("Last-Modified", http_date(validators.last_modified)))
    if cache_control is not None:
        fields.append(("Cache-Control", cache_control))
    if vary:
        fields.append(("Vary", ", ".join(vary)))
    return fields


def set_validators(response: Response, etag_header: str | None, last_modified: str | None) -> None:
    """Put a route's validators on its 2xx response.

    The route's tag replaces one the view set (``send_file`` sets its own): the tag a client
    receives must be the one its next conditional request is judged by.  A ``Last-Modified``
    the view set is kept.
    """
    headers = response.headers
    if etag_header is not None:
        headers["ETag"] = etag_header
    if last_modified is not None and "Last-Modified" not in headers:
        headers["Last-Modified"] = last_modified


def apply_cache_policy(headers: Headers, explicit: str | None, default: str | None) -> None:
    """The decorator's ``Cache-Control`` replaces the view's; ``ETAG_CACHE_CONTROL`` only fills in.

    A view that says ``private, no-store`` (an account page) must never go out as ``public``
    because of a site-wide default (RFC 9111 §5.2.2.5, §5.2.2.7).
    """
    if explicit is not None:
        headers["Cache-Control"] = explicit
    elif default is not None and "Cache-Control" not in headers:
        headers["Cache-Control"] = default


def body_bytes(response: Response) -> bytes | None:
    """The body of a response held in memory, as ``get_data()`` returns it; None if streamed.

    A streamed or passed-through body (a generator, a file) would be consumed by reading it.
    """
    if response.is_streamed or response.direct_passthrough:
        return None
    return response.get_data()


def parse_last_modified(modified_header: str | None) -> datetime | None:
    """A ``Last-Modified`` field value as aware UTC; None when absent or not an HTTP-date."""
    modified = parse_http_date(modified_header)
    return None if modified is None else utc_seconds(modified)


def validators_of(response: Response) -> Validators:
    """The validators a response already carries (``ETag``, ``Last-Modified``)."""
    headers = response.headers
    etag_header = headers.get("ETag")
    opaque, weak = unquote_etag(etag_header) if etag_header else (None, False)
    return Validators(
        etag=opaque,
        weak=bool(weak),
        last_modified=parse_last_modified(headers.get("Last-Modified")),
    )


def is_success(response: Response) -> bool:
    """RFC 9110 §13.2.1: preconditions only apply where the answer would be 2xx."""
    return 200 <= response.status_code < 300


def has_representation(status: int) -> bool:
    """A 2xx that carries a representation to tag: not 204 (§15.3.5), not 202, which says
    the request is not yet applied, so no tag could describe the state (§15.3.3, §9.3.4)."""
    return 200 <= status < 300 and status not in (202, 204)
