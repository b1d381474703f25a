"""The last word on a response, after every other ``after_request`` hook has had its say.

A body-hash tag must describe the exact bytes sent (RFC 9110 §8.8.3), but an app's own hooks
run after the view: one that appends a token to HTML makes two bodies share a tag if the tag
was taken at the view.  So when an app has other ``after_request`` hooks, a body-hash route
tags the view's bytes and leaves the decision to :func:`finish_response`, the hook that runs
last: it re-hashes a body a hook rewrote, then answers 304 or 412.  ``ETAG_AUTO`` tags there.

Compression is the one rewrite that must come after the tag: coded bytes are not the identity
bytes a tag is computed from (gzip output even embeds a time).  So a second hook,
:func:`tag_before_coding`, runs just before Flask-Compress's and tags the identity bytes it is
about to code; the coded response then carries the coded form of that tag
(:mod:`flask_etag.compression`), and the last hook judges it.

An app with no other hook has nothing that could rewrite a response: there the decorators
decide at once and no hook is installed, so plain requests pay nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, current_app, request

from .compression import tag_coded_representation
from .conditions import SAFE_METHODS, Preconditions
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator
from .handling import HASHED_BODY, body_etag_header, judge_safe_request
from .responses import apply_cache_policy, body_bytes, field_value, is_success
from .settings import Settings, current_settings

#: The generator of ``ETAG_AUTO`` tags: the app's algorithm and weakness.
AUTO_GENERATOR = HashGenerator()

_arranging = threading.Lock()


def install(app: Flask) -> None:
    """Decide on ``app``'s first request whether the finishing hook is needed, and where."""
    hooks = app.before_request_funcs.setdefault(None, [])
    if _arrange_on_first_request not in hooks:
        hooks.insert(0, _arrange_on_first_request)


def _arrange_on_first_request() -> None:
    """Install the finishing hooks, if the app needs them: :func:`finish_response` to run
    last, and :func:`tag_before_coding` just before a compressor's hook.

    Flask accepts no new hooks once an app has served a request, so the hooks seen now are
    all there will be.  The lists are replaced, not changed in place, because Flask is
    iterating over the before-request list that holds this very function.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with _arranging:
        before = app.before_request_funcs.get(None, [])
        if _arrange_on_first_request not in before:
            return  # a concurrent first request arranged it already
        remaining = [hook for hook in before if hook is not _arrange_on_first_request]
        if remaining:
            app.before_request_funcs[None] = remaining
        else:
            del app.before_request_funcs[None]  # not even an empty list left to walk
        settings = current_settings(app)
        others = any(hooks for hooks in app.after_request_funcs.values())
        settings.finish_in_last_hook(others)
        if others or settings.auto:
            app.after_request_funcs[None] = _with_finishing_hooks(
                app.after_request_funcs.get(None, [])
            )


def _with_finishing_hooks(hooks: list[Any]) -> list[Any]:
    """``hooks`` plus ours.  Flask runs app-level hooks in reverse order of registration, so
    index 0 runs last, and ``index + 1`` runs just before the hook at ``index``."""
    arranged = list(hooks)
    for index in range(len(arranged) - 1, -1, -1):
        if _is_content_coder(arranged[index]):
            arranged.insert(index + 1, tag_before_coding)
            break
    arranged.insert(0, finish_response)
    return arranged


def _is_content_coder(hook: Any) -> bool:
    """True for Flask-Compress's hook (a bound method of its ``Compress`` object)."""
    owner = getattr(hook, "__self__", None)
    return owner is not None and type(owner).__module__.startswith("flask_compress")


def tag_before_coding(response: Response) -> Response:
    """``after_request``, just before a compressor: tag the identity bytes it will code.

    The compressor then derives the coded tag (``"x:gzip"``) from a tag of the right bytes.
    """
    _tag_identity_bytes(response, current_settings(), request.method)
    return response


def finish_response(response: Response) -> Response:
    """``after_request``, last: tag by the bytes really sent, then answer 304 or 412."""
    settings = current_settings()
    method = request.method
    try:
        _tag_identity_bytes(response, settings, method)
        pending = response.__dict__.pop(HASHED_BODY, None)
        if pending is not None and method in SAFE_METHODS:
            response = _judged(response, method)
    except ETagPreconditionFailed as error:
        # After-request hooks may not raise (Flask would answer 500), so render it here,
        # through the app's own 412 handler when it has one.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return app.make_response(app.handle_user_exception(error))  # type: ignore[no-any-return]
    if is_success(response):
        tag_coded_representation(response)  # a hand-written coder that ran before this hook
    return response


def _tag_identity_bytes(response: Response, settings: Settings, method: str) -> None:
    """Make the body-hash ``ETag`` describe the identity bytes the response holds now.

    A response tagged at the view carries the bytes hashed then (:data:`HASHED_BODY`); a hook
    may have rewritten them since.  ``ETAG_AUTO`` tags untagged GET/HEAD 2xx responses here.
    A coded body is left as it is: its tag was taken from its identity bytes before coding.
    """
    pending = response.__dict__.get(HASHED_BODY)
    if pending is None:
        if not _auto_tags(response, settings, method):
            return
        pending = (None, AUTO_GENERATOR)
        apply_cache_policy(response.headers, None, settings.cache_control)
    hashed, generator = pending
    coding = field_value(response.headers, "content-encoding")
    if coding is not None and coding.strip().lower() != "identity":
        setattr(response, HASHED_BODY, pending)
        return
    sent = body_bytes(response)
    if sent is None:  # streamed (perhaps by a hook): no tag can describe it
        if hashed is not None:
            del response.headers["ETag"]
    elif sent is not hashed and sent != hashed:
        response.headers["ETag"] = body_etag_header(sent, generator, settings)
    setattr(response, HASHED_BODY, (sent, generator))


def _auto_tags(response: Response, settings: Settings, method: str) -> bool:
    """``ETAG_AUTO``: an untagged GET/HEAD 2xx with a representation gets a body-hash tag.

    Like Django's ConditionalGetMiddleware or Spring's ShallowEtagHeaderFilter: no view runs
    less, but unchanged bodies are not sent again.
    """
    status = response.status_code
    return (
        settings.auto
        and method in SAFE_METHODS
        and 200 <= status < 300
        and status not in (204, 206)
        and field_value(response.headers, "etag") is None
    )


def _judged(response: Response, method: str) -> Response:
    """Answer 304 or 412 by the validators the finished response carries (§13.2.2)."""
    preconditions = Preconditions.from_environ(request.environ)
    if preconditions is None:
        return response
    return judge_safe_request(
        response, field_value(response.headers, "etag"), method, preconditions
    )
