"""The components :class:`~flask_etag.openapi.ETagPlugin` registers, and what they say.

Their names (the ids operations refer to), the conditional-request header parameters, the
``ETag`` and ``Last-Modified`` headers a tagged route's 2xx responses carry, and the RFC 9457
problem details its refusals have.  They sit below the plugin so the body-member and batch
documentation (:mod:`flask_etag.openapi_body_preconditions`,
:mod:`flask_etag.openapi_batches`) can use them without importing it.
"""

from __future__ import annotations

from typing import Any

from .routes import RouteTagging

#: Component names ETagPlugin registers (lazily, only when an operation refers to them).
HEADER_ETAG = "ETag"
HEADER_LAST_MODIFIED = "LastModified"
PARAMETER_IF_NONE_MATCH = "IfNoneMatch"
PARAMETER_IF_MATCH = "IfMatch"
PARAMETER_IF_MATCH_REQUIRED = "IfMatchRequired"
PARAMETER_IF_MODIFIED_SINCE = "IfModifiedSince"
PARAMETER_IF_UNMODIFIED_SINCE = "IfUnmodifiedSince"
RESPONSE_NOT_MODIFIED = "NotModified"
RESPONSE_PRECONDITION_FAILED = "PreconditionFailed"
RESPONSE_PRECONDITION_REQUIRED = "PreconditionRequired"
RESPONSE_WRITE_CONFLICT = "WriteConflict"
RESPONSE_BODY_PRECONDITION_INVALID = "BodyPreconditionInvalid"
RESPONSE_BATCH_PRECONDITION_FAILED = "BatchPreconditionFailed"
RESPONSE_BATCH_PRECONDITION_REQUIRED = "BatchPreconditionRequired"
RESPONSE_BAD_BATCH = "BadBatch"
SCHEMA_BATCH_RESULTS = "BatchResults"

_STRING = {"type": "string"}
_HTTP_DATE = {"type": "string", "example": "Tue, 15 Nov 1994 08:12:31 GMT"}
TAG_EXAMPLE = '"52d0fe81eadf4c128ed54e7087cfcc1c"'

PARAMETERS: dict[str, tuple[str, str, bool, dict[str, Any]]] = {
    PARAMETER_IF_NONE_MATCH: (
        "If-None-Match",
        "GET/HEAD: the entity-tags you hold; 304 Not Modified while one still matches "
        "(weak comparison, RFC 9110 §13.1.2). Writes: `*` to create only if absent.",
        False,
        _STRING,
    ),
    PARAMETER_IF_MATCH: (
        "If-Match",
        "The strong entity-tag of the representation you are changing; 412 if it is no "
        "longer current (strong comparison, RFC 9110 §13.1.1). `*`: only if it exists.",
        False,
        _STRING,
    ),
    PARAMETER_IF_MATCH_REQUIRED: (
        "If-Match",
        "Required (RFC 6585 §3): the strong entity-tag of the representation you are "
        "changing; 412 if it is no longer current. `If-None-Match: *` (create only if "
        "absent) is accepted instead; without either the answer is 428.",
        True,
        _STRING,
    ),
    PARAMETER_IF_MODIFIED_SINCE: (
        "If-Modified-Since",
        "304 Not Modified when unchanged since this date; ignored with If-None-Match "
        "(RFC 9110 §13.1.3).",
        False,
        _HTTP_DATE,
    ),
    PARAMETER_IF_UNMODIFIED_SINCE: (
        "If-Unmodified-Since",
        "412 when changed since this date; ignored with If-Match (RFC 9110 §13.1.4).",
        False,
        _HTTP_DATE,
    ),
}
#: The ``If-Match`` parameters, whose text names the body member: registered when first used.
IF_MATCH_PARAMETERS = (PARAMETER_IF_MATCH, PARAMETER_IF_MATCH_REQUIRED)


def header_parameter(
    name: str, description: str, required: bool, schema: dict[str, Any]
) -> dict[str, Any]:
    """A header parameter component, ``required`` only when it is (OpenAPI's default is not)."""
    parameter: dict[str, Any] = {"name": name, "description": description, "schema": schema}
    if required:
        parameter["required"] = True
    return parameter


#: The 412 and 428 responses' descriptions, and the reasons their problem details name.
PRECONDITION_FAILED = (
    "Precondition Failed: the resource changed since you fetched it (RFC 9110 §15.5.13); "
    "nothing was changed. Fetch it again and retry with its current ETag."
)
PRECONDITION_REQUIRED = (
    "Precondition Required: send If-Match with the ETag you hold, or If-None-Match: * to "
    "create (RFC 6585 §3)."
)
WRITE_CONFLICT = (
    "Conflict: another client changed the resource while this write, which sent no "
    "precondition, was applied (RFC 9110 §15.5.10); nothing was changed. Fetch it again "
    "and retry with If-Match and its current ETag."
)
REASONS_412_428 = (
    "412 stale, weak-tag, missing, exists, matched, modified-since or cannot-evaluate; "
    "428 required."
)


def problem_schema(
    reasons: tuple[str, ...], reasons_described: str, *, etag: bool = False
) -> dict[str, Any]:
    """RFC 9457 problem details, the body flask_etag gives its 4xx by default, with the
    extension members (§3.2) ``reason`` and, with ``etag``, the current tag."""
    schema: dict[str, Any] = {
        "type": "object",
        "description": "Problem details (RFC 9457).",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "The cause, and what to do next."},
            "reason": {
                "type": "string",
                "enum": list(reasons),
                "description": f"The cause, as a stable string: {reasons_described}",
            },
        },
    }
    if etag:
        schema["properties"]["etag"] = {
            "type": "string",
            "description": "412: the resource's current ETag, when it still exists.",
        }
    return schema


def nullable_string(version: tuple[int, int], **members: Any) -> dict[str, Any]:
    """A string schema that takes null too, as the document's OpenAPI ``version`` spells it:
    3.0 has no null type and marks the schema ``nullable`` (3.0.3 §4.7.24); 3.1 drops
    ``nullable`` for JSON Schema's ``"null"`` among the types (3.1.0 §4.8.24).  For a tag
    member whose null means "no tag" (a 428 where one is required, RFC 6585 §3)."""
    if version < (3, 1):
        return {"type": "string", "nullable": True, **members}
    return {"type": ["string", "null"], **members}


def current_etag_header() -> dict[str, Any]:
    return {
        "description": "The resource's current entity-tag, to retry the write with "
        "(absent when the resource no longer exists).",
        "schema": {"type": "string", "example": '"52d0fe81eadf4c128ed54e7087cfcc1c"'},
    }


def etag_header() -> dict[str, Any]:
    return {
        "description": "Entity-tag of this representation (RFC 9110 §8.8.3).",
        "schema": dict(_STRING),
    }


def last_modified_header() -> dict[str, Any]:
    return {
        "description": "Last modification date (RFC 9110 §8.8.2).",
        "schema": dict(_HTTP_DATE),
    }


#: A scoped route's ``ETag``: documented as the caller's own.
_SCOPED_ETAG = {
    "description": "The entity-tag of this representation, which is the caller's own: the "
    "route's scope (such as the user) is folded into it, so another caller's differs.",
    "schema": {"type": "string"},
}


def is_inline(response: Any) -> bool:
    """Whether a response is written out in the operation, not a component's id or a
    ``$ref``: a Reference Object takes nothing beside ``$ref`` (OpenAPI 3.1.0 §4.8.23)."""
    return isinstance(response, dict) and "$ref" not in response


def add_validator_headers(operation: dict[str, Any], tagging: RouteTagging) -> None:
    """Put ``ETag`` (and ``Last-Modified``, ``Cache-Control``) on the documented 2xx responses."""
    for code, response in operation.get("responses", {}).items():
        if not str(code).upper().startswith("2") or not is_inline(response):
            continue  # a referenced response component is shared, so it is left alone
        headers = response.setdefault("headers", {})
        headers.setdefault("ETag", HEADER_ETAG if tagging.scope is None else _SCOPED_ETAG)
        if tagging.last_modified:
            headers.setdefault("Last-Modified", HEADER_LAST_MODIFIED)
        if tagging.cache_control is not None:
            headers.setdefault(
                "Cache-Control",
                {
                    "description": "Caching policy.",
                    "schema": {"type": "string", "example": tagging.cache_control},
                },
            )


def etag_member_schema(*, writable: bool = True) -> dict[str, Any]:
    """The schema of an item's ``etag`` member, the tag :func:`~flask_etag.item_etag` gives
    it: for item schemas written by hand, or a marshmallow field's ``metadata``.

    :param writable: whether a write may send it back in its body as its precondition (the
        app's ``ETAG_BODY_MEMBER`` names this member); False marks it ``readOnly``.
    """
    property_schema: dict[str, Any] = {
        "type": "string",
        "description": "This item's entity-tag: the ETag field its own GET sends (RFC 9110 "
        "§8.8.3), quotes included. Send it as If-Match"
        + (", or back in this member of a write's JSON body," if writable else "")
        + " to change the item only while it is unchanged (RFC 9110 §13.1.1).",
        "example": TAG_EXAMPLE,
    }
    if not writable:
        property_schema["readOnly"] = True
    return property_schema
