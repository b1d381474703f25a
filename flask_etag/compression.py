"""Content coding and entity-tags: coded bytes get a strong tag of their own.

A strong tag names exact bytes (RFC 9110 §8.8.1, §8.8.3) and compression changes the bytes, so
when a response is compressed with a coding chosen from ``Accept-Encoding`` (Flask-Compress, a
view, or any ``after_request`` coder), its strong tag ``"x"`` becomes ``"x:gzip"``: the form
Flask-Compress itself uses, like Apache's ``"x-gzip"``.  The two representations never share a
strong tag, and both stay strong:

- revalidation: ``If-None-Match: "x:gzip"`` names the coded form of the current ``"x"``, so
  it is answered 304 (before the view on version routes), carrying the form the client holds;
- writes: ``If-Match: "x:gzip"`` names the same resource state as ``"x"``, and If-Match asks
  whether the resource changed (§13.1.1), so a client that received gzip can chain its write;
- ``If-Range`` compares exactly (§13.1.5): a coded tag never makes a 206 of identity bytes.

Flask-Compress's own re-evaluation by werkzeug (``COMPRESS_EVALUATE_CONDITIONAL_REQUEST``) is
turned off: flask_etag has decided the request already (§13.2.2).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, Response
from werkzeug.http import parse_etags, unquote_etag

from .responses import field_value
from .tags import coded_opaque_tag, format_entity_tag, strip_coding


def install(app: Flask) -> None:
    """Stop Flask-Compress from judging conditional requests a second time on ``app``."""
    app.config["COMPRESS_EVALUATE_CONDITIONAL_REQUEST"] = False


def varies_by_coding(vary: str | None) -> bool:
    """True when the ``Vary`` value says the coding was chosen by ``Accept-Encoding`` (§12.5.5)."""
    if vary is None:
        return False
    fields = {name.strip().lower() for name in vary.split(",")}
    return "accept-encoding" in fields or "*" in fields


def tag_coded_representation(response: Response) -> None:
    """Give a negotiated, content-coded 2xx the coded form of its strong tag: ``"x:gzip"``.

    A weak tag already allows equivalent representations to share it (§8.8.1), and a coded
    response that does not vary is the only representation there is: both are left alone.
    """
    headers = response.headers
    coding = field_value(headers, "content-encoding")
    if coding is None:
        return  # nearly every response: decided by one scan
    coding = coding.strip().lower()
    header = field_value(headers, "etag")
    if header is None or coding in ("", "identity"):
        return
    if not varies_by_coding(field_value(headers, "vary")):
        return
    opaque, weak = unquote_etag(header)
    if opaque is None or weak:
        return
    coded = coded_opaque_tag(opaque, coding)
    if coded != opaque:
        headers.set("ETag", format_entity_tag(coded, weak=False))


def tag_held_by_client(etag_header: str, environ: Mapping[str, object]) -> str:
    """The ``ETag`` of a 304: the form of the current tag that the client holds (§15.4.5).

    A client revalidating the coded form (``"x:gzip"``) of the current ``"x"`` that still
    accepts that coding would be sent that form again, and one holding the identity form keeps
    it: the 304 names the very response the client or cache holds (RFC 9111 §4.3.4).
    """
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if not isinstance(if_none_match, str) or if_none_match == etag_header:
        return etag_header
    opaque, weak = unquote_etag(etag_header)
    if opaque is None or weak:
        return etag_header
    identity = strip_coding(opaque)
    accepted = _accepted_codings(environ.get("HTTP_ACCEPT_ENCODING"))
    for held in parse_etags(if_none_match).as_set():
        if not isinstance(held, str) or strip_coding(held) != identity:
            continue
        if held == identity or held.rpartition(":")[2].lower() in accepted:
            return format_entity_tag(held, weak=False)
    return format_entity_tag(identity, weak=False)


def _accepted_codings(accept_encoding: object) -> set[str]:
    """The codings named in ``Accept-Encoding`` with a non-zero weight (RFC 9110 §12.5.3)."""
    if not isinstance(accept_encoding, str):
        return set()
    accepted = set()
    for member in accept_encoding.split(","):
        coding, _, parameters = member.partition(";")
        if parameters.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        accepted.add(coding.strip().lower())
    return accepted
