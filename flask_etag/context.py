"""What a view can learn from, and tell, the conditional request it is serving.

A precondition checked before the view cannot stop a concurrent write that lands between the
check and the view's own write.  Only a compare-and-set in the database can: the view reads the
version that was checked with :func:`checked_version`, writes ``... WHERE version = checked``,
raises :class:`~flask_etag.ETagPreconditionFailed` when no row matched, and reports the version
its response describes with :func:`set_response_version`, so the tag matches the body exactly.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context, has_request_context

_STATE = "_flask_etag"
UNSET: Any = object()


class RequestState:
    """Per-request state on ``g`` (a private name, as Flask's extension guide asks).

    The handler keeps the object it put on ``g`` and reads the view's report from it
    directly, so a request pays for one ``g`` access, not one per read.

    :param checked: the version the preconditions were judged against, or UNSET.
    """

    __slots__ = ("checked", "response_version")

    def __init__(self, checked: Any = UNSET) -> None:
        self.checked = checked
        self.response_version: Any = UNSET


_ONLY_IN_LOOKUP_VIEWS = (
    "{name}() is only available inside a view decorated with @etag or @require_if_match "
    "using a VersionGenerator, TimestampGenerator or ModelVersionGenerator"
)


def _state_or_none() -> RequestState | None:
    return g.get(_STATE) if has_app_context() else None


def remember_checked(value: Any) -> RequestState:
    """Record the version or timestamp the preconditions were evaluated against."""
    state = RequestState(value)
    setattr(g._get_current_object(), _STATE, state)
    return state


def checked_version() -> Any:
    """The version (or timestamp) this request's preconditions were evaluated against.

    Returns what the generator's function returned before the view ran, or None when the
    resource did not exist.  Use it as the expected version of a compare-and-set write.

    :raises RuntimeError: outside a view decorated with a version or timestamp generator.
    """
    state = _state_or_none()
    if state is None or state.checked is UNSET:
        where = "" if has_request_context() else ", while it serves a request"
        raise RuntimeError(_ONLY_IN_LOOKUP_VIEWS.format(name="checked_version") + f"{where}.")
    return state.checked


def set_response_version(value: Any) -> None:
    """Report the version (or timestamp) that this response's body describes.

    After a write, that is the version the write produced; the response is then tagged with
    exactly that state, never with a re-read that may already include another client's later
    write.  ``None`` means the resource no longer exists (no tag is sent).  A read may report
    too: a view that reads the row itself tags its response with exactly what it read.

    :raises RuntimeError: anywhere else, such as a body-hash route, whose tag is the hash of
        the body it sends and cannot be set.
    """
    state = _state_or_none()
    if state is None:
        raise RuntimeError(
            _ONLY_IN_LOOKUP_VIEWS.format(name="set_response_version")
            + ". A body-hash route (@etag, HashGenerator) is tagged by the hash of the body it "
            "sends, which no version can replace: use a VersionGenerator to tag by version."
        )
    state.response_version = value
