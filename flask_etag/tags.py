"""Entity-tag text: making safe tags from any value and reading client-sent lists strictly.

No Flask import: everything here is plain RFC 9110 §8.8.3 syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from blake3 import blake3
from werkzeug.datastructures import ETags

#: RFC 9110 §8.8.3: ``etagc = %x21 / %x23-7E / obs-text``.  Tags this server makes leave
#: obs-text out (werkzeug and many clients mishandle non-ASCII header bytes); a client's list
#: may hold them, and WSGI hands them over as latin-1 characters.
_ETAGC = r"[\x21\x23-\x7e]"
_SAFE_OPAQUE = re.compile(rf"{_ETAGC}{{1,128}}")

#: A whole ``If-Match`` list (§13.1.1, §5.6.1): members ``[W/]"etagc*"``, empty ones allowed.
#: The trailing separators sit inside the group: outside it, a list without a member would
#: let two runs of ``[ \t,]*`` share the same text, and a long run of separators ending in
#: a stray character would be retried at every split point, in quadratic time.
_MEMBER = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ENTITY_TAG_LIST = re.compile(rf"[ \t,]*(?:{_MEMBER}(?:[ \t]*,[ \t,]*{_MEMBER})*[ \t,]*)?")
#: One entity tag, as an ``ETag`` field sends it, with optional whitespace around.
_ONE_ENTITY_TAG = re.compile(rf"[ \t]*{_MEMBER}[ \t]*")


def _werkzeug_parser() -> Callable[[str], ETags]:
    """werkzeug's entity-tag list parser: ``ETags.from_header`` where it exists; Werkzeug 3.2
    deprecates ``parse_etags`` for it, so that name is only imported where it is the one."""
    from_header: Callable[[str], ETags] | None = getattr(ETags, "from_header", None)
    if from_header is not None:
        return from_header
    from werkzeug.http import parse_etags  # Werkzeug before 3.2

    return parse_etags


_parse_etags = _werkzeug_parser()

#: An int version this long (over 512 bits: more digits than a readable tag holds, so it
#: is hashed anyway) is hashed by its hex text, which ``str()`` never refuses.
_LONG_INT = 1 << 512

#: Hex digits kept from a hash when a value cannot be used as an opaque-tag as it is.
_DIGEST_HEX_LENGTH = 32

#: Content codings (RFC 9110 §8.4.1 and the IANA registry) a compressor may add to a tag as
#: ``"x:gzip"``, the form Flask-Compress uses: the coded bytes get a strong tag of their own.
CONTENT_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"})

#: Joins the codings of a body coded more than once in its coded tag: ``"x:gzip+br"``.
CODINGS_JOINER = "+"

#: Joins a resource state's tag and the hash of a request's negotiated fields (``vary=``).
VARIANT_SEPARATOR = "~"

#: Hex digits of the negotiated fields' hash in a variant tag.
_VARIANT_HEX_LENGTH = 16
#: What folding adds to a state's opaque-tag: the separator and that hash.
FOLD_LENGTH = len(VARIANT_SEPARATOR) + _VARIANT_HEX_LENGTH


def opaque_tag_for(value: object) -> str:
    """Return an opaque-tag (RFC 9110 §8.8.3) for a version value, deterministic everywhere.

    Safe short values are used as they are so that tags stay readable (``"17"``); anything
    else (quotes, CR/LF, spaces, non-ASCII, very long) is hashed, so a version can never
    inject a header or break the quoting.
    """
    if isinstance(value, str):
        text = value
    elif type(value) is int and not -_LONG_INT < value < _LONG_INT:
        # str() refuses an int over sys.get_int_max_str_digits(), which each host sets: the
        # hex text has no limit, so every host hashes the same one (RFC 9110 §8.8.3).
        text = hex(value)
    else:
        text = str(value)
    if _SAFE_OPAQUE.fullmatch(text):
        return text
    return blake3(text.encode("utf-8", "surrogatepass")).hexdigest(length=_DIGEST_HEX_LENGTH // 2)


def format_entity_tag(opaque: str, weak: bool) -> str:
    """Quote an opaque-tag for the ``ETag`` header: ``"x"`` or ``W/"x"``."""
    return f'W/"{opaque}"' if weak else f'"{opaque}"'


def parse_entity_tag_list(value: str) -> ETags:
    """``If-Match`` or ``If-None-Match``: ``*``, or a list of entity-tags (RFC 9110 §13.1).

    The syntax is checked first, in one linear pass: werkzeug's parser takes unquoted words
    for tags (for a field that guards writes that is too lenient), reads ``*, *`` as ``*``
    from 3.2 on, and there takes quadratic time on some long values.  A value that is not
    the syntax lists nothing, which matches no tag: If-Match fails, If-None-Match passes.
    Empty list members (§5.6.1) are no tags.  Then werkzeug's parser reads the list.
    """
    if value.strip(" \t") == "*":  # §5.5: OWS, not any Unicode space
        return ETags(star_tag=True)
    if _ENTITY_TAG_LIST.fullmatch(value) is None:
        return ETags()
    parsed = _parse_etags(value.strip(" \t"))
    # A set: each tag is looked up in it in constant time; a list made a long list quadratic.
    strong = {tag for tag in parsed.as_set() if tag}
    weak = [tag for tag in parsed.as_set(include_weak=True) if tag and tag not in strong]
    return ETags(strong, weak)


def is_one_entity_tag(value: object) -> bool:
    """Whether ``value`` is one entity tag as an ``ETag`` field sends it (RFC 9110 §8.8.3),
    weak or strong, commas inside its quotes included; never ``*``, which names no tag."""
    return isinstance(value, str) and _ONE_ENTITY_TAG.fullmatch(value) is not None


def tags_in_order(value: str) -> list[str]:
    """The opaque-tags a list names, strong and weak, sorted: the same on every host."""
    return sorted(parse_entity_tag_list(value).as_set(include_weak=True))


def strip_coding(opaque: str) -> str:
    """The identity form of a content-coded opaque-tag: ``x:gzip`` -> ``x``; others as they are."""
    base, colon, coding = opaque.rpartition(":")
    return base if colon and _names_codings(coding.lower()) else opaque


def _names_codings(coding: str) -> bool:
    """``gzip``, or codings applied in turn as :func:`coded_opaque_tag` joins them."""
    return coding in CONTENT_CODINGS or all(
        part in CONTENT_CODINGS for part in coding.split(CODINGS_JOINER)
    )


#: What Apache's mod_deflate and mod_brotli append inside the quotes of a strong tag they
#: coded: ``"x"`` becomes ``"x-gzip"``.
PROXY_CODING_SUFFIXES = ("-gzip", "-br")


def strip_proxy_coding(opaque: str) -> str:
    """The tag a proxy's ``"x-gzip"`` stands for: ``x``; others as they are."""
    for suffix in PROXY_CODING_SUFFIXES:
        if opaque.endswith(suffix):
            return opaque[: -len(suffix)]
    return opaque


def coded_opaque_tag(opaque: str, coding: str) -> str:
    """The opaque-tag of a representation coded with ``coding`` (RFC 9110 §8.8.3): ``x:gzip``;
    codings applied in turn (``gzip, br``) as ``x:gzip+br``, since an entity tag holds no
    space."""
    coding = CODINGS_JOINER.join(part.strip() for part in coding.split(","))
    return opaque if opaque.endswith(f":{coding}") else f"{opaque}:{coding}"


def variant_opaque_tag(
    state: str, negotiated: tuple[str | None, ...], key: bytes | None = None
) -> str:
    """The opaque-tag of the representation negotiated by ``negotiated`` field values.

    One resource state has a representation per negotiated answer (``Accept``: JSON or CSV),
    and a strong tag names one representation (RFC 9110 §8.8.3), so the request's values
    go into the tag.  An absent field and an empty one hash differently.

    :param key: a secret key (:func:`flask_etag.folding.fold_key`) where a value is secret
        (a credential, a scope): the hash then reveals nothing and cannot be checked offline.

    The suffix never depends on ``state``: :func:`flask_etag.item_tagger` folds it once per
    list and appends it to every item's state.
    """
    text = "\n".join("\x00" if value is None else value for value in negotiated)
    data = text.encode("utf-8", "surrogatepass")
    hasher = blake3(data) if key is None else blake3(data, key=key)
    digest = hasher.hexdigest(length=_VARIANT_HEX_LENGTH // 2)
    return f"{state}{VARIANT_SEPARATOR}{digest}"
