"""Putting validators on responses, and building the 304 that RFC 9110 §15.4.5 describes."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, current_app
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, parse_date, unquote_etag

from .conditions import Validators, utc_seconds

#: Representation metadata a 304 must not carry (RFC 9110 §15.4.5); everything else the 200
#: would carry (ETag, Cache-Control, Content-Location, Date, Expires, Vary, Last-Modified,
#: and non-representation fields such as Set-Cookie) is kept.
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

_not_modified_classes: dict[type[Response], type[Response]] = {}


def _not_modified_class(base: type[Response]) -> type[Response]:
    """A subclass of the app's response class whose headers go out exactly as built.

    Werkzeug strips ``Last-Modified`` from every 304 it sends; §15.4.5 allows it, and it
    helps caches, so this class skips that clean-up: the headers were filtered already.
    """
    cls = _not_modified_classes.get(base)
    if cls is None:
        cls = type(
            "NotModifiedResponse",
            (base,),
            {"default_mimetype": None, "get_wsgi_headers": lambda self, environ: self.headers},
        )
        _not_modified_classes[base] = cls
    return cls


def not_modified(headers: Iterable[tuple[str, str]]) -> Response:
    """A bodiless 304 carrying ``headers`` (already free of representation metadata)."""
    cls = _not_modified_class(current_app.response_class)
    return cls(status=304, headers=Headers(list(headers)))


def not_modified_like(response: Response) -> Response:
    """The 304 that stands for ``response``: its headers less representation metadata."""
    return not_modified(
        (name, value) for name, value in response.headers if name.lower() not in _NOT_ON_304
    )


def validator_headers(validators: Validators, cache_control: str | None) -> list[tuple[str, str]]:
    """The ``ETag``, ``Last-Modified`` and ``Cache-Control`` fields for ``validators``."""
    headers = []
    if validators.etag is not None:
        headers.append(("ETag", validators.etag_header or ""))
    if validators.last_modified is not None:
        headers.append(("Last-Modified", http_date(validators.last_modified)))
    if cache_control is not None:
        headers.append(("Cache-Control", cache_control))
    return headers


def add_validators(response: Response, validators: Validators, cache_control: str | None) -> None:
    """Set the validators on a 2xx response; an ``ETag`` the view set itself is kept."""
    headers = response.headers
    for name, value in validator_headers(validators, cache_control):
        if name == "Cache-Control" or name not in headers:
            headers[name] = value


def validators_of(response: Response) -> Validators:
    """Read the validators a response already carries (``ETag``, ``Last-Modified``)."""
    etag_header = response.headers.get("ETag")
    modified_header = response.headers.get("Last-Modified")
    opaque, weak = unquote_etag(etag_header) if etag_header else (None, False)
    modified = parse_date(modified_header) if modified_header else None
    return Validators(
        etag=opaque,
        weak=bool(weak),
        last_modified=None if modified is None else utc_seconds(modified),
    )


def is_success(response: Response) -> bool:
    """RFC 9110 §13.2.1: preconditions only apply where the answer would be 2xx."""
    return 200 <= response.status_code < 300
