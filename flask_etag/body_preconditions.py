"""A write's precondition sent in its JSON body, where a header cannot be set.

Some clients, proxies and batch formats cannot set ``If-Match``; Google's AIP-154 and OData
carry the tag in the resource's body instead.  A write to a decorated route whose JSON object
has the member ``ETAG_BODY_MEMBER`` (``"etag"``) and no ``If-Match`` is judged as if it had
sent ``If-Match`` with that value, so the 412 and 428 rules hold for either; ``null`` is no
tag (RFC 6585 §3: 428 where one is required), as in a batch entry.  The member is
taken out of the parsed body (``request.get_json()`` returns it without), so it is never
written to the resource.  A member that is not one entity tag, that names another tag
than the ``If-Match`` beside it, or that is sent beside ``If-None-Match: *`` (which asks that
no state exist, where the member names one), is a 400 problem saying so (RFC 9110 §15.5.1).

Only a body sent as JSON (``request.is_json``) is read, and only ``get_json()`` returns it
without the member: the bytes received (``request.data``, ``request.stream``) are left as
they came, the stream readable again from its start.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Request

from .conditions import PRECONDITIONS_KEY, Preconditions
from .exceptions import ETagBodyPreconditionInvalid
from .exchange import Exchange, refuse
from .reasons import BAD_BODY_TAG, BODY_DISAGREES, DETAILS
from .tags import is_one_entity_tag, parse_entity_tag_list

#: How each 400's detail names the member: the default name, ``ETAG_BODY_MEMBER``'s own.
_NAMED_MEMBER = "The body's etag member"

#: The 400 for a member sent beside ``If-None-Match: *``: a client that copied an item's
#: document (tag included) to create another would otherwise get a 412 asking for the
#: ``If-None-Match: *`` it sent.
_CREATE_ONLY_DISAGREES = (
    'The body\'s etag member names a state of the resource, and "If-None-Match: *" asks that '
    "it have none (create only if absent): send one of them. To create, leave the member out."
)


def read_body_precondition(exchange: Exchange) -> Exchange:
    """Stage 1 for a write: its body's tag member, as ``If-Match`` where none was sent."""
    member = exchange.settings.body_member
    if member is None or not exchange.request.is_json:
        return exchange
    document = _json_document(exchange.request)
    if not isinstance(document, dict) or member not in document:
        return exchange
    tag = document.pop(member)
    if tag is None:  # no tag held, as a batch entry's null says: the headers alone judge
        return exchange
    if not is_one_entity_tag(tag):
        _refuse(member, BAD_BODY_TAG)
    preconditions = exchange.preconditions or Preconditions()
    if preconditions.if_match is not None:
        if not _lists(preconditions.if_match, tag):
            _refuse(member, BODY_DISAGREES)
        return exchange
    if preconditions.asks_for_absence:
        _refuse(member, BODY_DISAGREES, _CREATE_ONLY_DISAGREES)
    judged = preconditions._replace(if_match=tag)
    exchange.request.environ[PRECONDITIONS_KEY] = judged
    return exchange._replace(preconditions=judged)


def _refuse(member: str, reason: str, detail: str | None = None) -> None:
    """The 400 (RFC 9110 §15.5.1), its detail naming the member the client sent: an app
    reading ``"_etag"`` or ``"@odata.etag"`` must not tell it to fix an ``etag`` member."""
    text = DETAILS[reason] if detail is None else detail
    if member != "etag":
        text = text.replace(_NAMED_MEMBER, f'The body\'s "{member}" member', 1)
    refuse(ETagBodyPreconditionInvalid(text, reason=reason))


def _json_document(served: Request) -> Any:
    """The parsed body, the very object the view's ``get_json()`` returns; None when it is
    not JSON (the view answers that itself)."""
    try:
        document = served.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting: not a document with a member to find
        document = None
    # Reading drained the stream; a view that parses it itself (json.load(request.stream),
    # ijson) would find it empty and store nothing.  Werkzeug's cached ``stream`` is set
    # to the bytes just read (§9.3.4: the write's content is all of them).
    served.stream = io.BytesIO(served.get_data())
    return document


def _lists(if_match: str, tag: str) -> bool:
    """Whether the ``If-Match`` field lists the body's tag, strong or weak as written."""
    listed = parse_entity_tag_list(if_match)
    opaque = next(iter(parse_entity_tag_list(tag).as_set(include_weak=True)))
    if listed.star_tag:
        return False
    weak = tag.lstrip(" \t").startswith("W/")
    return listed.is_weak(opaque) if weak else listed.is_strong(opaque)
