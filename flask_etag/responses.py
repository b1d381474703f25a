"""Putting validators on responses, and building the 304 that RFC 9110 §15.4.5 describes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Response, current_app
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, parse_date, unquote_etag

from .conditions import Validators, utc_seconds
from .internals import header_list, overrides_get_wsgi_headers, set_not_modified_status
from .signals import announce_not_modified

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
    helps caches, so this class skips that clean-up: the headers were filtered already.  An
    app's class that overrides ``get_wsgi_headers`` (to add ``Cache-Control``, say, which a
    304 must carry like its 200) keeps its method, with ``Last-Modified`` put back after it.
    """
    cls = _not_modified_classes.get(base)
    if cls is None:
        send: Callable[[Response, dict[str, Any]], Headers]
        if overrides_get_wsgi_headers(base):
            send = _with_last_modified_kept(base.get_wsgi_headers)
        else:
            send = _headers_as_built
        cls = type(
            "NotModifiedResponse", (base,), {"default_mimetype": None, "get_wsgi_headers": send}
        )
        _not_modified_classes[base] = cls
    return cls


def _headers_as_built(response: Response, environ: dict[str, Any]) -> Headers:
    return response.headers


def _with_last_modified_kept(
    get_wsgi_headers: Callable[[Response, dict[str, Any]], Headers],
) -> Callable[[Response, dict[str, Any]], Headers]:
    """The app's own ``get_wsgi_headers``, and the ``Last-Modified`` werkzeug's part drops."""

    def send(self: Response, environ: dict[str, Any]) -> Headers:
        last_modified = self.headers.get("Last-Modified")
        headers = get_wsgi_headers(self, environ)
        if last_modified is not None and "Last-Modified" not in headers:
            headers["Last-Modified"] = last_modified
        return headers

    return send


def not_modified(headers: Iterable[tuple[str, str]]) -> Response:
    """A bodiless 304 carrying ``headers`` (already free of representation metadata)."""
    cls = _not_modified_class(current_app.response_class)
    response = cls(status=304, headers=Headers(list(headers)))
    announce_not_modified(response)
    return response


def not_modified_like(response: Response) -> Response:
    """Turn ``response`` into the 304 that stands for it: its headers less representation metadata.

    Done in place, as werkzeug's own ``make_conditional`` does: building a new response costs
    more than the rest of a revalidation, and the original keeps its ``call_on_close``
    callbacks and still closes its body, which a 304 does not send (RFC 9110 §15.4.5).
    """
    # Headers' own list, read and rebuilt directly: ``headers[:] = kept`` would check each kept
    # value again (they were checked when set), and its ``__iter__``/``__len__`` are calls.
    fields = header_list(response.headers)
    kept = [field for field in fields if field[0].lower() not in _NOT_ON_304]
    if len(kept) < len(fields):
        fields[:] = kept  # one rebuild, where ``del`` would rebuild the list once per field
    return turn_not_modified(response)


def turn_not_modified(response: Response) -> Response:
    """Make ``response``, already free of representation metadata, the 304 it stands for."""
    set_not_modified_status(response)
    # The same object, as the subclass that sends the headers exactly as they are now.
    response.__class__ = _not_modified_class(type(response))
    announce_not_modified(response)
    return response


def validator_headers(
    validators: Validators, cache_control: str | None, vary: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The ``ETag``, ``Last-Modified``, ``Cache-Control`` and ``Vary`` fields for ``validators``."""
    headers = []
    if validators.etag is not None:
        headers.append(("ETag", validators.etag_header or ""))
    if validators.last_modified is not None:
        headers.append(("Last-Modified", http_date(validators.last_modified)))
    if cache_control is not None:
        headers.append(("Cache-Control", cache_control))
    if vary:
        headers.append(("Vary", ", ".join(vary)))
    return headers


def add_validators(
    response: Response,
    validators: Validators,
    cache_control: str | None,
    default_cache_control: str | None,
    vary: tuple[str, ...] = (),
) -> None:
    """Set the validators of a route decided before the view on its 2xx response.

    The route's tag replaces one the view set (``send_file`` sets its own): the tag a client
    receives must be the one its next conditional request is judged by.  A ``Last-Modified``
    the view set is kept.
    """
    headers = response.headers
    if validators.etag is not None:
        headers.set("ETag", validators.etag_header)
    if validators.last_modified is not None and field_value(headers, "last-modified") is None:
        headers.add("Last-Modified", http_date(validators.last_modified))
    apply_cache_policy(headers, cache_control, default_cache_control)
    if vary:
        response.vary.update(vary)


def set_route_validators(
    response: Response,
    etag_header: str,
    last_modified: str | None,
    cache_control: str | None,
    default_cache_control: str | None,
) -> bool:
    """:func:`add_validators` for a route without ``vary``, in one pass over the fields.

    The values were made by flask_etag (a quoted opaque-tag, an HTTP-date, a policy checked
    at set-up), so they are appended without werkzeug's checks.  Returns whether the body
    is content-coded (its tag then needs its coded form).
    """
    fields = header_list(response.headers)
    tags = modified = policy = coded = 0
    for name, _ in fields:
        size = len(name)  # the length first: it rules out nearly every field cheaply
        if size == 4 and name.lower() == "etag":
            tags += 1
        elif size == 13:
            lowered = name.lower()
            modified += lowered == "last-modified"
            policy += lowered == "cache-control"
        elif size == 16 and name.lower() == "content-encoding":
            coded = 1
    if tags:
        response.headers.set("ETag", etag_header)  # replaces the view's own, every copy
    else:
        fields.append(("ETag", etag_header))
    if last_modified is not None and not modified:
        fields.append(("Last-Modified", last_modified))
    if cache_control is not None:
        if policy:
            response.headers.set("Cache-Control", cache_control)
        else:
            fields.append(("Cache-Control", cache_control))
    elif default_cache_control is not None and not policy:
        fields.append(("Cache-Control", default_cache_control))
    return bool(coded)


def apply_cache_policy(headers: Headers, explicit: str | None, default: str | None) -> None:
    """The decorator's ``Cache-Control`` replaces the view's; ``ETAG_CACHE_CONTROL`` only fills in.

    A view that says ``private, no-store`` (an account page) must never go out as ``public``
    because of a site-wide default (RFC 9111 §5.2.2.5, §5.2.2.7).
    """
    if explicit is not None:
        headers.set("Cache-Control", explicit)
    elif default is not None and field_value(headers, "cache-control") is None:
        headers.add("Cache-Control", default)


def field_value(headers: Headers, lowered_name: str) -> str | None:
    """The first value of the field ``lowered_name``, or None when absent.

    For a hook that runs on every response: werkzeug's ``get`` raises and catches an exception
    when the field is absent, the usual case, which costs several times this scan.
    """
    size = len(lowered_name)
    for name, value in headers:
        # The length first: it rules out nearly every field without lower-casing its name.
        if len(name) == size and name.lower() == lowered_name:
            return value
    return None


def validator_fields(headers: Headers) -> tuple[str | None, str | None]:
    """The ``ETag`` and ``Last-Modified`` field values of ``headers`` (None where absent).

    One pass over the few fields a response has: werkzeug's ``in`` and ``get`` raise and catch
    an exception for every absent field, which costs more than this whole scan.
    """
    etag_header = modified_header = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "etag":
            etag_header = value if etag_header is None else etag_header
        elif lowered == "last-modified":
            modified_header = value if modified_header is None else modified_header
    return etag_header, modified_header


def body_bytes(response: Response) -> bytes | None:
    """The body of a response held in memory, as ``get_data()`` returns it; None if streamed.

    A streamed or passed-through body (a generator, a file) would be consumed by reading it.
    ``jsonify`` and ``render_template`` leave the body as one bytes chunk in a list; taking it
    directly skips the six calls ``is_streamed`` and ``get_data`` spend re-checking and
    re-encoding it, a measurable share of a small request.
    """
    chunks = response.response
    if type(chunks) is list and len(chunks) == 1 and type(chunks[0]) is bytes:
        return None if response.direct_passthrough else chunks[0]
    if response.is_streamed or response.direct_passthrough:
        return None
    return response.get_data()


def parse_last_modified(modified_header: str | None) -> datetime | None:
    """A ``Last-Modified`` field value as aware UTC; None when absent or not a date."""
    modified = parse_date(modified_header) if modified_header else None
    return None if modified is None else utc_seconds(modified)


def validators_of(response: Response) -> Validators:
    """Read the validators a response already carries (``ETag``, ``Last-Modified``)."""
    etag_header, modified_header = validator_fields(response.headers)
    opaque, weak = unquote_etag(etag_header) if etag_header else (None, False)
    return Validators(
        etag=opaque, weak=bool(weak), last_modified=parse_last_modified(modified_header)
    )


def is_success(response: Response) -> bool:
    """RFC 9110 §13.2.1: preconditions only apply where the answer would be 2xx."""
    return 200 <= response.status_code < 300
