"""What a view can learn from, and tell, the conditional request it is serving.

A precondition checked before the view cannot stop a concurrent write that lands between the
check and the view's own write.  Only a compare-and-set in the database can: the view reads the
version that was checked with :func:`checked_version`, writes ``... WHERE version = checked``,
raises :class:`~flask_etag.ETagPreconditionFailed` when no row matched, and reports the version
its response describes with :func:`set_response_version`, so the tag matches the body exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import has_request_context, request

#: Where a lookup route keeps, in the request's WSGI environ beside
#: ``"flask_etag.preconditions"``, the state its preconditions were judged against and the
#: one its view reported, while its view runs (:func:`enter_view`, :func:`leave_view`).  A
#: key costs a dict write where ``g`` costs a context lookup and an object per request.
CHECKED_KEY = "flask_etag.checked"
REPORTED_KEY = "flask_etag.reported"
#: In the environ while a write to a decorated route is served (:func:`serving_write`).
WRITING_KEY = "flask_etag.writing"
UNSET: Any = object()
#: No view is running: the report key is absent, so a report has nowhere to go.
_OUTSIDE: Any = object()

_ONLY_IN_LOOKUP_VIEWS = (
    "{name}() is only available inside a view decorated with @etag or @require_if_match "
    "using a VersionGenerator, TimestampGenerator or ModelVersionGenerator"
)


def _environ_of_a_lookup_route() -> dict[str, Any] | None:
    """This request's environ, when it is served by a lookup route; else None."""
    if not has_request_context():
        return None
    environ: dict[str, Any] = request.environ
    return environ if CHECKED_KEY in environ else None


@contextmanager
def serving_write(environ: dict[str, Any]) -> Iterator[None]:
    """Mark the environ while a write is served.  A decorated view that its view calls (to
    answer with the GET's view) or that its ``current=`` names is then served without the
    write's stages: the request was guarded and judged already (RFC 6585 §3, RFC 9110
    §13.2.1), and its write is announced once, by its own route.  Unmarked after it, for
    middleware that serves the environ again."""
    environ[WRITING_KEY] = True
    try:
        yield
    finally:
        del environ[WRITING_KEY]


def enter_view(environ: dict[str, Any], checked: Any) -> tuple[Any, Any]:
    """Give the view about to run the state it was checked against, and no report yet.

    Returns the enclosing view's state, for :func:`leave_view`: a decorated view may call
    another (a page built from a decorated widget), and each must be tagged by its own
    state.  Nor can a report outlive its view in an environ that is served again.
    """
    enclosing = environ.get(CHECKED_KEY, UNSET), environ.pop(REPORTED_KEY, _OUTSIDE)
    environ[CHECKED_KEY] = checked
    environ[REPORTED_KEY] = UNSET  # present while the view runs: it may report
    return enclosing


def leave_view(environ: dict[str, Any], enclosing: tuple[Any, Any]) -> Any:
    """The version the view reported (UNSET when none); the enclosing view's state is back.

    At the outermost view the checked state stays for the rest of the request, so that
    ``checked_version()`` answers in an ``after_request`` hook too.
    """
    reported = environ.pop(REPORTED_KEY, UNSET)
    checked, enclosing_report = enclosing
    if checked is not UNSET:
        environ[CHECKED_KEY] = checked
    if enclosing_report is not _OUTSIDE:
        environ[REPORTED_KEY] = enclosing_report
    return reported


def checked_version() -> Any:
    """The version (or timestamp) this request's preconditions were evaluated against.

    Returns what the generator's function returned before the view ran, or None when the
    resource did not exist.  Use it as the expected version of a compare-and-set write.
    In an ``after_request`` hook it is None too where nothing was checked: after a 428, or
    after the lookup itself answered (``abort(404)``, an access check).

    :raises RuntimeError: outside a view decorated with a version or timestamp generator.
    """
    environ = _environ_of_a_lookup_route()
    if environ is None:
        where = "" if has_request_context() else ", while it serves a request"
        raise RuntimeError(_ONLY_IN_LOOKUP_VIEWS.format(name="checked_version") + f"{where}.")
    return environ[CHECKED_KEY]


def set_response_version(value: Any) -> None:
    """Report the version (or timestamp) that this response's body describes.

    After a write, that is the version the write produced; the response is then tagged with
    exactly that state, never with a re-read that may already include another client's later
    write.  ``None`` means the resource no longer exists (no tag is sent).  A read may report
    too: a view that reads the row itself tags its response with exactly what it read.

    :raises RuntimeError: anywhere else, such as a body-hash route, whose tag is the hash of
        the body it sends and cannot be set, or an ``after_request`` hook, which runs once the
        response is tagged.
    """
    environ = _environ_of_a_lookup_route()
    if environ is None or REPORTED_KEY not in environ:
        raise RuntimeError(
            _ONLY_IN_LOOKUP_VIEWS.format(name="set_response_version")
            + ". A body-hash route (@etag, HashGenerator) is tagged by the hash of the body it "
            "sends, which no version can replace: use a VersionGenerator to tag by version."
        )
    environ[REPORTED_KEY] = value
