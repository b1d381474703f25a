"""Why a request was answered 412 or 428: the ``reason`` member of the problem details.

One message for every cause would leave a client guessing what to do next: fetch again (a
stale tag), send a strong tag (a weak one in ``If-Match``), create instead of change (a
missing resource), change instead of create (``If-None-Match: *`` on an existing one).  Each
reason is a stable string a client can branch on, with a ``detail`` that says what to do.
"""

from __future__ import annotations

from .conditions import (
    Preconditions,
    Validators,
    if_match_passes,
    if_none_match_matches,
    unmodified_since,
)
from .tags import parse_entity_tag_list

#: §13.1.1: the resource changed since the client's tag (or a concurrent write came first).
STALE = "stale"
#: §13.1.1: If-Match compares strongly, so a weak tag never matches.
WEAK_TAG = "weak-tag"
#: §13.1.1: If-Match on a resource that does not exist.
MISSING = "missing"
#: §13.1.2: ``If-None-Match: *`` on a resource that exists.
EXISTS = "exists"
#: §13.1.2: a write whose ``If-None-Match`` lists the current tag.
MATCHED = "matched"
#: §13.1.4: modified after the ``If-Unmodified-Since`` date.
MODIFIED_SINCE = "modified-since"
#: A body-hash route without ``current=`` cannot judge a write's precondition.
CANNOT_EVALUATE = "cannot-evaluate"
#: §15.5.10: a write without preconditions that another client's write overtook (409).
CONFLICT = "conflict"
#: RFC 6585 §3: a write without ``If-Match`` or ``If-None-Match: *`` on a guarded route.
REQUIRED = "required"
#: 400: the body's ``etag`` member is not one entity tag ...
BAD_BODY_TAG = "bad-body-tag"
#: ... or names another tag than the ``If-Match`` sent beside it.
BODY_DISAGREES = "body-disagrees"

DETAILS = {
    STALE: "The resource has changed since the representation you hold: fetch it again and "
    "retry with its current ETag.",
    WEAK_TAG: "If-Match compares entity tags strongly (RFC 9110 §13.1.1), so a weak tag "
    '(W/"...") never matches: send the strong ETag of the representation you hold.',
    MISSING: "The resource does not exist, so If-Match cannot match: to create it only if "
    'absent, send "If-None-Match: *" instead.',
    EXISTS: 'The resource already exists, and "If-None-Match: *" asks to create it only if '
    "absent: fetch it, and change it with If-Match and its ETag.",
    MATCHED: "The resource's current ETag is one that If-None-Match lists, so the request "
    "was not applied.",
    MODIFIED_SINCE: "The resource was modified after the If-Unmodified-Since date: fetch it "
    "again and retry with its current validators.",
    CANNOT_EVALUATE: "This route tags its representation by a hash of the body and has no way "
    "to render the current one before a write, so the precondition cannot be evaluated and "
    "nothing was changed. (Server set-up: give its generator current=..., or use a "
    "VersionGenerator.)",
    CONFLICT: "Another client changed the resource while this write, which sent no "
    "precondition, was being applied, so nothing was changed: fetch it again and retry, with "
    "If-Match and its current ETag.",
    REQUIRED: 'This request must be conditional: send "If-Match" with the ETag of the '
    'representation you are changing, or "If-None-Match: *" to create it only if absent.',
    BAD_BODY_TAG: "The body's etag member must be one entity tag, as the ETag field sends it "
    '(quotes included, such as "\\"7f3a\\""), so it can stand for If-Match.',
    BODY_DISAGREES: "The body's etag member names another tag than the If-Match field sent "
    "with it: send one of them, or the same tag in both.",
}

#: The reasons of a 412 or 428 (a body's tag that cannot be judged is a 400).
PRECONDITION_REASONS = (
    STALE, WEAK_TAG, MISSING, EXISTS, MATCHED, MODIFIED_SINCE, CANNOT_EVALUATE, REQUIRED,
)  # fmt: skip


def failure_reason(
    preconditions: Preconditions, current: Validators, accept_weakened: bool = False
) -> str:
    """The step of RFC 9110 §13.2.2 that failed, for a request answered 412.

    Only called once :func:`~flask_etag.conditions.evaluate_preconditions` has answered 412,
    so the common requests never pay for it.
    """
    if_match = preconditions.if_match
    if if_match is not None:
        if not if_match_passes(if_match, current, accept_weakened):
            return _why_if_match_failed(if_match, current)
    elif preconditions.if_unmodified_since is not None:
        if unmodified_since(preconditions.if_unmodified_since, current) is False:
            return MODIFIED_SINCE
    if_none_match = preconditions.if_none_match
    if if_none_match is not None and if_none_match_matches(if_none_match, current):
        return EXISTS if parse_entity_tag_list(if_none_match).star_tag else MATCHED
    return STALE


def _why_if_match_failed(if_match: str, current: Validators) -> str:
    if not current.exists:
        return MISSING
    tags = parse_entity_tag_list(if_match)
    if current.etag is not None and (current.weak or tags.is_weak(current.etag)):
        return WEAK_TAG
    return STALE
