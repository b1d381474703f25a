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
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from flask import Response
from werkzeug.http import unquote_etag

from .conditions import Preconditions
from .responses import field
from .tags import (
    CODINGS_JOINER,
    coded_opaque_tag,
    format_entity_tag,
    strip_coding,
    tags_in_order,
)


def varies_by_coding(vary: str | None) -> bool:
    """True when the ``Vary`` value says the coding was chosen by ``Accept-Encoding`` (§12.5.5)."""
    if not vary:
        return False
    fields = {name.strip().lower() for name in vary.split(",")}
    return "accept-encoding" in fields or "*" in fields


def tag_coded_representation(response: Response) -> None:
    """Give a negotiated, content-coded 2xx the coded form of its strong tag: ``"x:gzip"``.

    A weak tag already allows equivalent representations to share it (§8.8.1), and a coded
    response that does not vary is the only representation there is: both are left alone.
    """
    headers = response.headers
    coding = field(headers, "content-encoding")
    if coding is None:
        return  # nearly every response
    coding = coding.strip().lower()
    header = field(headers, "etag")
    if header is None or coding in ("", "identity"):
        return
    if not varies_by_coding(", ".join(headers.getlist("Vary"))):  # all its lines (§5.3)
        return
    opaque, weak = unquote_etag(header)
    if opaque is None or weak:
        return
    coded = coded_opaque_tag(opaque, coding)
    if coded != opaque:
        headers.set("ETag", format_entity_tag(coded, weak=False))


def tag_held_by_client(
    etag_header: str, preconditions: Preconditions | None, environ: Mapping[str, object]
) -> str:
    """The ``ETag`` of a 304: the form of the current tag that the client holds (§15.4.5).

    A client revalidating the coded form (``"x:gzip"``) of the current ``"x"`` that still
    accepts that coding would be sent that form again, and one holding only the identity form
    keeps it: the 304 names the very response the client or cache holds (RFC 9111 §4.3.4).
    A client listing several forms gets the first coded one it accepts, by name: the answer
    is a function of the request alone, the same on every host.  ``If-None-Match: *`` names
    no form, so its 304 carries the one the 200 to the request would, ``etag_header``
    (§15.4.5): the coded form where the body was coded when it was judged.
    """
    if preconditions is None:
        return etag_header
    if_none_match = preconditions.if_none_match
    if if_none_match is None or if_none_match == etag_header or preconditions.asks_for_absence:
        return etag_header
    opaque, weak = unquote_etag(etag_header)
    if opaque is None or weak:
        return etag_header
    identity = strip_coding(opaque)
    weights = _coding_weights(environ.get("HTTP_ACCEPT_ENCODING"))
    for held in tags_in_order(if_none_match):
        if held != identity and strip_coding(held) == identity:
            codings = held.rpartition(":")[2].lower().split(CODINGS_JOINER)
            if all(_accepts(weights, coding) for coding in codings):
                return format_entity_tag(held, weak=False)
    return format_entity_tag(identity, weak=False)


#: RFC 9110 §12.4.2: the weights that refuse: ``q=0``, ``q=0.``, ``q=0.0`` ... ``q=0.000``,
#: the parameter's name in any case.
_ZERO_WEIGHT = re.compile(r"q=0(?:\.0{0,3})?", re.IGNORECASE)


def _coding_weights(accept_encoding: object) -> dict[str, bool]:
    """Each coding ``Accept-Encoding`` names, ``*`` included: whether its weight is
    non-zero (RFC 9110 §12.5.3)."""
    if not isinstance(accept_encoding, str):
        return {}
    weights = {}
    for member in accept_encoding.split(","):
        coding, _, parameters = member.partition(";")
        refused = _ZERO_WEIGHT.fullmatch(parameters.strip(" \t")) is not None
        weights[coding.strip().lower()] = not refused
    return weights


def _accepts(weights: dict[str, bool], coding: str) -> bool:
    """§12.5.3: a coding named is accepted by its own weight; ``*`` stands for every coding
    not named, so a compressor may answer ``Accept-Encoding: *`` with any coding."""
    named = weights.get(coding)
    return weights.get("*", False) if named is None else named


def identity_bytes(response: Response) -> bytes | None:
    """The identity bytes of a content-coded body held in memory; None when the coding is
    one this Python cannot decode, or the body is streamed.

    A strong tag is taken from the identity bytes (the coded form is derived from it), so a
    body coded before it was tagged is decoded to be tagged.
    """
    coding = (field(response.headers, "content-encoding") or "identity").strip().lower()
    if response.is_streamed or response.direct_passthrough:
        return None
    body = response.get_data()
    decode = _DECODERS.get(coding)
    if coding == "identity" or decode is None:
        return body if coding == "identity" else None
    try:
        return decode(body)
    except Exception:  # a body that is not what its field says: nothing to tag
        return None


#: The most identity bytes a coded body is decoded into to be tagged: one that decodes to
#: more (a compression bomb: half a megabyte of gzip holds 500 MB of zeros) goes untagged,
#: as a stream does, rather than take a worker's memory.
MAX_DECODED_BYTES = 64 * 1024 * 1024


def _one_stream(body: bytes, wbits: int) -> bytes:
    """The identity bytes of a body that is one gzip member or zlib stream, and nothing else.

    ``zlib.decompress`` stops at the end of the first and ignores what follows, so two bodies
    that differ after it would be tagged alike: one strong tag for two representations (RFC
    9110 §8.8.3), and a client holding the old one answered 304.  A body with more (another
    gzip member, RFC 1952 §2.2, or stray bytes) is not decoded, so it goes untagged: decoding
    member after member would copy the rest of the body each time.  Nor is one that decodes
    to more than :data:`MAX_DECODED_BYTES`.
    """
    decoder = zlib.decompressobj(wbits)
    identity = decoder.decompress(body, MAX_DECODED_BYTES)
    if not decoder.eof or decoder.unused_data:  # more than one stream, or past the limit
        raise ValueError("not one coded stream within the limit")
    return identity


def _one_zstd_frame(decoder: Any, body: bytes) -> bytes:
    """As :func:`_one_stream`, for one Zstandard frame (``ZstdDecompressor``)."""
    identity = decoder.decompress(body, MAX_DECODED_BYTES)
    if not decoder.eof or decoder.unused_data:
        raise ValueError("not one zstd frame within the limit")
    return bytes(identity)


def _whole_brotli(decoder: Any, body: bytes) -> bytes:
    """As :func:`_one_stream`, for a brotli stream (``brotli.Decompressor``)."""
    identity = decoder.process(body, output_buffer_limit=MAX_DECODED_BYTES)
    # Its buffer stops growing once at the limit, so it may end a little past it.
    if not decoder.is_finished() or len(identity) > MAX_DECODED_BYTES:
        raise ValueError("not a whole brotli stream within the limit")
    return bytes(identity)


def _decoders() -> dict[str, Callable[[bytes], bytes]]:
    decoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": lambda body: _one_stream(body, 16 + zlib.MAX_WBITS),
        "x-gzip": lambda body: _one_stream(body, 16 + zlib.MAX_WBITS),
        "deflate": lambda body: _one_stream(body, zlib.MAX_WBITS),
    }
    with suppress(ImportError):
        import brotli  # type: ignore[import-untyped]  # Flask-Compress's dependency

        # brotli 1.2 bounds the output (output_buffer_limit, with can_accept_more_data);
        # an older one could only decode a bomb whole, so its bodies go untagged.
        if hasattr(brotli.Decompressor, "can_accept_more_data"):
            decoders["br"] = lambda body: _whole_brotli(brotli.Decompressor(), body)
    with suppress(ImportError):
        from backports import zstd  # Flask-Compress's own dependency before Python 3.14

        decoders["zstd"] = lambda body: _one_zstd_frame(zstd.ZstdDecompressor(), body)
    return decoders


_DECODERS = _decoders()
