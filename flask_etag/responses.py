"""Putting validators on responses, and making the 304 that RFC 9110 §15.4.5 describes.

Every response here is an ordinary response of the app's response class, changed through
werkzeug's public API, so werkzeug finalises it as it sends it (a non-ASCII
``Content-Location`` percent-encoded, a relative ``Location`` made absolute) and any
extension can copy, pickle or cache it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urljoin

from flask import Request, Response
from werkzeug.datastructures import Headers
from werkzeug.http import unquote_etag

from .clocks import judged_at
from .conditions import Validators, last_modified_at, parse_http_date
from .signals import announce_not_modified
from .tags import format_entity_tag, is_one_entity_tag, opaque_tag_for


def turn_not_modified(response: Response) -> Response:
    """Make ``response`` the 304 that stands for it (RFC 9110 §15.4.5).

    Done in place, as werkzeug's own ``make_conditional`` does: the fields the view set (a
    cookie, ``Vary``, ``Content-Location``) stay, and the body, never sent, is still closed
    when werkzeug closes the response.  werkzeug drops the representation metadata
    (``Content-Type``, ``Content-Length``, ...) as it sends a 304.
    """
    response.status_code = 304
    announce_not_modified(response)
    return response


def set_validators(
    response: Response,
    etag_header: str | None,
    last_modified: str | None,
    *,
    view_date_judged: bool = False,
) -> bool:
    """Put a route's validators on its 2xx response; returns whether its body is coded.

    The route's tag replaces one the view set (``send_file`` sets its own): the tag a client
    receives must be the one its next conditional request is judged by.  So too the date:
    where the state has one (``last_modified`` is not None, ``""`` while it is withheld), it
    replaces the view's (§13.1.3, §13.1.4); else a ``Last-Modified`` the view set is kept,
    once its second is over (:func:`withhold_running_date`).  One pass over the fields finds
    all three.

    :param view_date_judged: the request's date conditions are still to be judged by the
        view's ``Last-Modified``, which then withholds it (``judge_by_view_date``).
    """
    headers = response.headers
    tagged = coded = False
    view_modified = None
    for name, value in headers:
        size = len(name)  # the length first: it rules out nearly every field cheaply
        if size == 4:
            tagged = tagged or name.lower() == "etag"
        elif size == 13:
            if view_modified is None and name.lower() == "last-modified":
                view_modified = value
        elif size == 16:
            coded = coded or name.lower() == "content-encoding"
    if etag_header is not None:
        if tagged:
            headers["ETag"] = etag_header
        else:
            headers.add("ETag", etag_header)
    if last_modified is not None:  # the state's date, the one every date is judged by
        if view_modified is not None:
            headers.remove("Last-Modified")
        if last_modified:
            headers.add("Last-Modified", last_modified)
    elif view_modified is not None and not view_date_judged:
        withhold_running_date(headers, view_modified)
    return coded


def apply_cache_policy(headers: Headers, explicit: str | None, default: str | None) -> None:
    """The decorator's ``Cache-Control`` replaces the view's; ``ETAG_CACHE_CONTROL`` only fills in.

    A view that says ``private, no-store`` (an account page) must never go out as ``public``
    because of a site-wide default (RFC 9111 §5.2.2.5, §5.2.2.7).
    """
    if explicit is not None:
        headers["Cache-Control"] = explicit
    elif default is not None and field(headers, "cache-control") is None:
        headers.add("Cache-Control", default)


def field(headers: Headers, lowered_name: str) -> str | None:
    """The first value of the field ``lowered_name`` (lower case), or None when absent.

    Every response pays for these reads: werkzeug's ``get`` and ``in`` raise and catch an
    exception for an absent field, the usual case, which costs several times this scan.
    """
    size = len(lowered_name)
    for name, value in headers:
        # The length first: it rules out nearly every field without lower-casing its name.
        if len(name) == size and name.lower() == lowered_name:
            return value
    return None


def names_the_target(served: Request, reference: str) -> bool:
    """Whether a URI reference a response sends (``Location``, ``Content-Location``) names
    the request's own target, once resolved against it (RFC 9110 §8.7, §10.2.2)."""
    url = served.url
    return urljoin(url, reference) == url


def describes_another_resource(served: Request, response: Response) -> bool:
    """A write's 2xx whose validators would describe another resource than the target: a
    201 whose ``Location`` names it (a POST to a collection, §15.3.2), or one whose
    ``Content-Location`` does, which says the body is that resource's representation (§8.7).
    The target's version beside it would be taken for that resource's tag."""
    headers = response.headers
    if response.status_code == 201 and _names_another(served, field(headers, "location")):
        return True
    return _names_another(served, field(headers, "content-location"))


def _names_another(served: Request, reference: str | None) -> bool:
    """Whether a URI reference the response sends names another resource than the target."""
    return reference is not None and not names_the_target(served, reference)


def body_bytes(response: Response) -> bytes | None:
    """The body of a response held in memory, as ``get_data()`` returns it; None if streamed.

    A streamed or passed-through body (a generator, a file) would be consumed by reading it.
    ``jsonify`` and ``render_template`` leave the body as one bytes chunk in a list
    (``response.response``), read here as it is.
    """
    if response.direct_passthrough:
        return None
    chunks = response.response
    if type(chunks) is list and len(chunks) == 1 and type(chunks[0]) is bytes:
        return chunks[0]
    if response.is_streamed:
        return None
    return response.get_data()


def view_date(headers: Headers, modified_header: str | None) -> tuple[datetime | None, bool]:
    """A ``Last-Modified`` the view set (``send_file``'s: a file's mtime) as it is judged:
    never later than now (RFC 9110 §8.8.2.1), and whether its second was over (§8.8.2.2)
    when the view read it, as a looked-up date is
    (:func:`~flask_etag.conditions.last_modified_at`).  That is the response's ``Date``
    where the view set one (``send_file`` does, right after reading the mtime): a view
    that ran past the end of that second would otherwise have it judged over.  Less
    ``ETAG_CLOCK_SKEW`` (:func:`~flask_etag.clocks.clock_skew`): another host may have set
    the file's mtime by a clock behind this one."""
    modified = parse_http_date(modified_header)
    if modified is None:
        return None, True
    now = datetime.now(timezone.utc)
    dated = parse_http_date(field(headers, "date"))
    return last_modified_at(modified, judged_at(now if dated is None else min(dated, now)))


def withhold_running_date(headers: Headers, modified_header: str | None = None) -> None:
    """§8.8.2.2: a view's ``Last-Modified`` whose second is still running (or is yet to
    come) is not sent: a change later in that second would be answered 304 to it.

    :param modified_header: the field's value where the caller found it already.
    """
    if modified_header is None:
        modified_header = field(headers, "last-modified")
        if modified_header is None:
            return
    if not view_date(headers, modified_header)[1]:
        headers.remove("Last-Modified")


def quote_view_etag(headers: Headers, etag_header: str) -> str:
    """A view's own ``ETag`` as RFC 9110 §8.8.3 requires it: a quoted entity-tag.

    A view that writes ``headers["ETag"] = "abc"`` (werkzeug's ``set_etag`` would have quoted
    it) gets ``"abc"``, the tag its ``If-None-Match`` and ``If-Match`` are then judged by; a
    value that cannot be quoted as it is (a quote, a space, a control character inside) is
    hashed, as a version is (:func:`~flask_etag.tags.opaque_tag_for`), so a view's mistake
    never reaches a client as an unparseable tag, nor as a 5xx.  ``etag_header`` is the
    field's first line, which every stage judges by: a view that added more lines (``ETag``
    is no list field, §5.3) sends that one alone.  Returns the field's value.
    """
    if is_one_entity_tag(etag_header):
        if len(headers.getlist("ETag")) == 1:
            return etag_header
        quoted = etag_header
    else:
        text = etag_header.strip(" \t")
        weak = text.startswith("W/")
        quoted = format_entity_tag(opaque_tag_for(text[2:] if weak else text), weak)
    headers["ETag"] = quoted
    return quoted


def quote_own_etag(headers: Headers) -> str | None:
    """:func:`quote_view_etag` of the ``ETag`` the response carries, where it carries one."""
    own = field(headers, "etag")
    return None if own is None else quote_view_etag(headers, own)


def validators_of(response: Response) -> Validators:
    """The validators a response already carries (``ETag``, ``Last-Modified``)."""
    headers = response.headers
    etag_header = field(headers, "etag")
    opaque, weak = unquote_etag(etag_header) if etag_header else (None, False)
    modified, second_over = view_date(headers, field(headers, "last-modified"))
    return Validators(etag=opaque, weak=bool(weak), last_modified=modified, second_over=second_over)


def is_success(response: Response) -> bool:
    """RFC 9110 §13.2.1: preconditions only apply where the answer would be 2xx."""
    return 200 <= response.status_code < 300


def has_representation(status: int) -> bool:
    """A 2xx that carries a representation to tag: not 204 or 205, which carry no content
    (§15.3.5, §15.3.6), not 202, which says the request is not yet applied, so no tag could
    describe the state (§15.3.3, §9.3.4)."""
    return 200 <= status < 300 and status not in (202, 204, 205)
