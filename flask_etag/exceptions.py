"""HTTP errors raised by flask_etag, rendered as RFC 9457 problem details by default.

They subclass werkzeug's exceptions, so ``@app.errorhandler(412)`` (or the class) replaces
the default body, as with any Flask error.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    HTTPException,
    PreconditionFailed,
    PreconditionRequired,
)

from .reasons import BAD_BODY_TAG, CONFLICT, DETAILS, REQUIRED, STALE

PROBLEM_JSON = "application/problem+json"
#: Where an error keeps the state its ``etag`` names, until the route that looked the state
#: up tags it (:func:`flask_etag.exchange.naming_state`).
NAMED_STATE = "_flask_etag_state"


class ETagError(HTTPException):
    """Base class of the HTTP errors this extension raises.

    The extension sends its signal (:mod:`flask_etag.signals`) where it decides the answer,
    and where a decorated view raises one itself.

    :param etag: the current ``ETag`` the request was judged against, when known.
    :param reason: why, as a stable string a client can branch on (:mod:`flask_etag.reasons`);
        its ``detail`` is the description unless one is given.
    :param version: the resource's current state, as the route's version or timestamp
        lookup returns it (the write that won against the view's compare-and-set).  Raised
        in a view decorated with a version or timestamp generator, the error carries the
        ``ETag`` that route's GET sends for it, with the route's ``vary=`` and ``scope=``
        and the app's folds in, so the client's next ``If-None-Match`` with it is a 304
        (RFC 9110 §8.8.3); it takes the place of ``etag``, which is sent elsewhere.  A value
        that generator refuses (a row for its version, NaN) is logged, and the error is sent
        as raised, without it: still a 412 or 409, never a 500.
    """

    #: The reason of an error raised without one.
    reason: str = ""

    def __init__(
        self,
        description: str | None = None,
        response: Any = None,
        *,
        etag: str | None = None,
        reason: str | None = None,
        version: Any = None,
    ) -> None:
        if reason is not None:
            self.reason = reason
            if description is None:
                description = DETAILS.get(reason)
        super().__init__(description, response)
        self.etag = etag
        if version is not None:  # the route folds it as its GET would (exchange.run_view)
            setattr(self, NAMED_STATE, version)

    def get_body(self, environ: Any = None, scope: Any = None) -> str:
        """RFC 9457 problem details: ``type``, ``title``, ``status``, ``detail``, and the
        extension members (§3.2) ``reason`` and, when it is known, the current ``etag``."""
        problem = {
            "type": "about:blank",
            "title": self.name,
            "status": self.code,
            "detail": self.description,
        }
        if self.reason:
            problem["reason"] = self.reason
        if self.etag is not None:
            problem["etag"] = self.etag
            problem["detail"] = f"{self.description} The current ETag is {self.etag}."
        return json.dumps(problem)

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        """The problem's media type, and the current ``ETag``: a client can retry its write
        with it at once, without a GET that a shared cache might answer stale (§8.8.3).

        Without ``environ`` the request being served is the one answered: Flask's own JSON
        error handler recipe calls ``error.get_response()`` bare, and a cross-origin
        script must still be able to read the tag (see cors.py).
        """
        headers = [("Content-Type", PROBLEM_JSON)]
        if self.etag is not None:
            headers.append(("ETag", self.etag))
            if environ is None and has_request_context():
                environ = request.environ
            if environ is not None and "HTTP_ORIGIN" in environ and _exposes_etag():
                headers.append(("Access-Control-Expose-Headers", "ETag"))  # see cors.py
        return headers


def _exposes_etag() -> bool:
    """The app's ``ETAG_CORS_EXPOSE``: a cross-origin script must read the current tag."""
    if not has_app_context():
        return True
    settings = current_app.extensions.get("etag")
    return bool(getattr(settings, "cors_expose", True))


class ETagPreconditionFailed(ETagError, PreconditionFailed):
    """412: a precondition evaluated false (RFC 9110 §15.5.13), so nothing was changed.

    A view raises it too when its conditional write matched no row: another client changed
    the resource after the precondition was checked.  ``version=`` the state that won gives
    the client the tag to retry with, as the route sends it.
    """

    reason = STALE
    description = DETAILS[STALE]


class ETagConflict(ETagError, Conflict):
    """409: a write that sent no precondition lost a compare-and-set to another client's
    write (RFC 9110 §15.5.10), so nothing was changed; a 412 would name a condition the
    request never gave (§15.5.13)."""

    reason = CONFLICT
    description = DETAILS[CONFLICT]


class ETagPreconditionRequired(ETagError, PreconditionRequired):
    """428: this route only accepts conditional writes (RFC 6585 §3)."""

    reason = REQUIRED
    description = DETAILS[REQUIRED]


class ETagBodyPreconditionInvalid(ETagError, BadRequest):
    """400: the body's tag member cannot stand for ``If-Match`` (RFC 9110 §15.5.1)."""

    reason = BAD_BODY_TAG
    description = DETAILS[BAD_BODY_TAG]


class ETagConfigurationError(RuntimeError):
    """flask_etag was set up wrongly; the message says how to fix it."""
