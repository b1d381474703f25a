"""What the OpenAPI document says of a tag sent in a write's JSON body instead of If-Match.

While the app sets ``ETAG_BODY_MEMBER`` (:mod:`flask_etag.body_preconditions`), a write's
``If-Match`` parameter says the member is accepted instead, its inline JSON body schemas get
the member, and it may answer 400 for a bad one.  Apart from the plugin, so the plugin reads
as the order it documents an operation in, and this as what one setting adds to it.
"""

from __future__ import annotations

import re
from typing import Any

from .openapi_components import TAG_EXAMPLE, nullable_string, problem_schema
from .reasons import BAD_BODY_TAG, BODY_DISAGREES

_BODY_PRECONDITION_INVALID = (
    "Bad Request (RFC 9110 §15.5.1): the JSON body's `{member}` member, sent for If-Match, "
    "is not one entity tag (reason bad-body-tag), or names another tag than the If-Match "
    "sent with it (body-disagrees). Nothing was changed."
)
_REASONS_400 = "bad-body-tag or body-disagrees."


def body_precondition_problem(member: str) -> tuple[str, dict[str, Any]]:
    """The 400 a bad tag in the body member gets (RFC 9110 §15.5.1): its description and
    problem schema."""
    return (
        _BODY_PRECONDITION_INVALID.format(member=member),
        problem_schema((BAD_BODY_TAG, BODY_DISAGREES), _REASONS_400),
    )


def if_match_or_body(required: bool, member: str) -> str:
    """If-Match's description where a write may carry its tag in the body member instead."""
    in_body = (
        f"the same tag as the JSON body's `{member}` member (judged as this field and taken "
        "out of the body; 400 if it is not one entity tag, or names another tag than this "
        "field; null is no tag)"
    )
    if required:
        return (
            "Required (RFC 6585 §3): the strong entity-tag of the representation you are "
            "changing; 412 if it is no longer current. Accepted instead: "
            f"{in_body}, or `If-None-Match: *` (create only if absent); without any of them "
            "the answer is 428."
        )
    return (
        "The strong entity-tag of the representation you are changing; 412 if it is no "
        "longer current (strong comparison, RFC 9110 §13.1.1). `*`: only if it exists. Or "
        f"send {in_body}."
    )


#: JSON media types, as werkzeug's ``Request.is_json`` tells them: the body member is read
#: from these.
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:json|[^;\s]*\+json)\s*(?:;|$)", re.IGNORECASE)


def accept_body_member(
    operation: dict[str, Any], member: str, version: tuple[int, int] = (3, 1)
) -> None:
    """Add the tag member to the operation's inline JSON object body schemas; a schema
    component is shared, so it is left alone (``etag_member=`` documents it).  ``version``
    is the document's OpenAPI version, which spells the member's null its own way."""
    request_body = operation.get("requestBody")
    if not isinstance(request_body, dict):
        return
    for media_type, content in request_body.get("content", {}).items():
        schema = content.get("schema") if isinstance(content, dict) else None
        if not _JSON_MEDIA_TYPE.match(media_type) or not isinstance(schema, dict):
            continue
        if "$ref" not in schema and (schema.get("type") == "object" or "properties" in schema):
            schema.setdefault("properties", {}).setdefault(member, _body_tag_member(version))


def _body_tag_member(version: tuple[int, int]) -> dict[str, Any]:
    """The member as the body reads it: null is no tag (RFC 6585 §3), so it is nullable."""
    return nullable_string(
        version,
        description="Instead of If-Match: the entity-tag of the representation you are "
        "changing, as its ETag field sends it (quotes included). The write is judged as if "
        "it had sent If-Match with it (RFC 9110 §13.1.1); the member is not stored. null is "
        "no tag.",
        example=TAG_EXAMPLE,
    )
