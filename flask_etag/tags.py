"""Entity-tag text: making safe tags from any value and reading client-sent lists strictly.

No Flask import: everything here is plain RFC 9110 §8.8.3 syntax.
"""

from __future__ import annotations

import re

from blake3 import blake3
from werkzeug.datastructures import ETags

#: RFC 9110 §8.8.3: ``etagc = %x21 / %x23-7E / obs-text``; obs-text is left out on purpose
#: because werkzeug and many clients mishandle non-ASCII header bytes.
_ETAGC = r"[\x21\x23-\x7e]"
_SAFE_OPAQUE = re.compile(rf"{_ETAGC}{{1,128}}")

#: One list member of ``If-Match`` / ``If-None-Match``: ``*`` or ``[W/]"etagc*"``.
_ENTITY_TAG = re.compile(rf'[ \t]*(?:(W/)?"({_ETAGC}*)")?[ \t]*(?:,|$)')

#: Hex digits kept from a hash when a value cannot be used as an opaque-tag as it is.
_DIGEST_HEX_LENGTH = 32

#: Content codings (RFC 9110 §8.4.1 and the IANA registry) a compressor may add to a tag as
#: ``"x:gzip"``, the form Flask-Compress uses: the coded bytes get a strong tag of their own.
CONTENT_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"})

#: Joins a resource state's tag and the hash of a request's negotiated fields (``vary=``).
VARIANT_SEPARATOR = "~"

#: Hex digits of the negotiated fields' hash in a variant tag.
_VARIANT_HEX_LENGTH = 16


def opaque_tag_for(value: object) -> str:
    """Return an opaque-tag (RFC 9110 §8.8.3) for a version value, deterministic everywhere.

    Safe short values are used as they are so that tags stay readable (``"17"``); anything
    else (quotes, CR/LF, spaces, non-ASCII, very long) is hashed, so a version can never
    inject a header or break the quoting.
    """
    text = value if isinstance(value, str) else str(value)
    if _SAFE_OPAQUE.fullmatch(text):
        return text
    return blake3(text.encode("utf-8", "surrogatepass")).hexdigest(length=_DIGEST_HEX_LENGTH // 2)


def format_entity_tag(opaque: str, weak: bool) -> str:
    """Quote an opaque-tag for the ``ETag`` header: ``"x"`` or ``W/"x"``."""
    return f'W/"{opaque}"' if weak else f'"{opaque}"'


def parse_entity_tag_list(value: str) -> ETags:
    """Parse ``If-Match`` strictly: ``*`` or a list of quoted entity-tags (RFC 9110 §13.1.1).

    Werkzeug's parser accepts unquoted words as tags; for a header that guards writes that is
    too lenient, so anything that is not valid syntax gives an empty set, which matches nothing
    and so fails the precondition.  Empty list elements are allowed (RFC 9110 §5.6.1).
    """
    if value.strip(" \t") == "*":  # §5.5: OWS, not any Unicode space
        return ETags(star_tag=True)
    strong: list[str] = []
    weak: list[str] = []
    position, end = 0, len(value)
    while position < end:
        match = _ENTITY_TAG.match(value, position)
        if match is None or match.end() == position:
            return ETags()
        is_weak, opaque = match.groups()
        if opaque is not None:
            (weak if is_weak else strong).append(opaque)
        position = match.end()
    return ETags(strong, weak)


def strip_coding(opaque: str) -> str:
    """The identity form of a content-coded opaque-tag: ``x:gzip`` -> ``x``; others as they are."""
    base, colon, coding = opaque.rpartition(":")
    return base if colon and coding.lower() in CONTENT_CODINGS else opaque


def coded_opaque_tag(opaque: str, coding: str) -> str:
    """The opaque-tag of a representation coded with ``coding`` (RFC 9110 §8.8.3): ``x:gzip``."""
    coding = coding.strip()
    return opaque if opaque.endswith(f":{coding}") else f"{opaque}:{coding}"


def variant_opaque_tag(state: str, negotiated: tuple[str | None, ...]) -> str:
    """The opaque-tag of the representation negotiated by ``negotiated`` field values.

    One resource state has a representation per negotiated answer (``Accept``: JSON or CSV),
    and a strong tag names one representation (RFC 9110 §8.8.3), so the request's values
    go into the tag.  An absent field and an empty one hash differently.
    """
    text = "\n".join("\x00" if value is None else value for value in negotiated)
    digest = blake3(text.encode("latin-1", "replace")).hexdigest(length=_VARIANT_HEX_LENGTH // 2)
    return f"{state}{VARIANT_SEPARATOR}{digest}"
