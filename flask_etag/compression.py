"""Content coding and entity-tags: a compressed response never keeps a strong tag.

A strong tag names exact bytes (RFC 9110 §8.8.1, §8.8.3), and compression changes the bytes,
so when an app compresses responses (Flask-Compress, or any ``after_request`` coder) the
compressed representation and the identity one must not share a strong tag.  Like nginx's
gzip filter and Django's GZipMiddleware, flask_etag weakens the tag of a response whose content
coding was negotiated: ``"x"`` becomes ``W/"x"``.  The weak form still matches ``"x"`` under the
weak comparison If-None-Match uses (§13.1.2), so a compressing client's revalidation is answered
304 before the view runs; under the strong comparison of If-Match (§13.1.1) and If-Range
(§13.1.5) it never matches, which is right: it does not name exact bytes.

Flask-Compress (1.5 and later) makes a strong ``"x:gzip"`` of a strong ``"x"`` instead.  That
suffix is dropped here, so the weak tag equals the identity tag and our own evaluation matches
it; and Flask-Compress's second evaluation by werkzeug (``COMPRESS_EVALUATE_CONDITIONAL_REQUEST``)
is turned off, because it answers 412 to a GET whose ``If-Match`` the request already passed.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.http import parse_etags, unquote_etag

from .responses import field_value
from .tags import format_entity_tag


def install(app: Flask) -> None:
    """Weaken tags of compressed responses on ``app``, whichever extension compresses them.

    The hook goes first in the app's ``after_request`` list, so it runs last (Flask runs those
    hooks in reverse), after a compressor registered before or after this extension.
    """
    hooks = app.after_request_funcs.setdefault(None, [])
    if weaken_tags_of_coded_responses not in hooks and _decide_on_first_response not in hooks:
        hooks.insert(0, _decide_on_first_response)
    # flask_etag has judged the preconditions (RFC 9110 §13.2.2); a re-evaluation against the
    # coding-suffixed tag would turn a GET with a passing If-Match into a 412.
    app.config["COMPRESS_EVALUATE_CONDITIONAL_REQUEST"] = False


def _decide_on_first_response(response: Response) -> Response:
    """Stand-in for the hook until the app's first response: then the real hook, or none.

    Once a Flask app has handled a request it accepts no new ``after_request`` hook, so an app
    that has no other hook by then has no coder that could ever change a response, and the
    hook would only cost time (Flask's per-hook dispatch included) on every request.
    """
    after_request_funcs = current_app.after_request_funcs
    hooks = after_request_funcs.get(None, [])
    coders = [
        hook
        for funcs in after_request_funcs.values()
        for hook in funcs
        if hook is not _decide_on_first_response
    ]
    try:
        position = hooks.index(_decide_on_first_response)
    except ValueError:
        pass  # a concurrent first request decided already
    else:
        if coders:
            hooks[position] = weaken_tags_of_coded_responses
        else:
            del hooks[position]  # the only hook: Flask's iteration over the list ends here
    return weaken_tags_of_coded_responses(response)


def weaken_tags_of_coded_responses(response: Response) -> Response:
    """``after_request`` hook: weaken a content-coded 2xx's tag; echo the weak form on a 304."""
    if field_value(response.headers, "vary") is None:
        return response  # not negotiated (nearly every response): one scan, nothing to do
    status = response.status_code
    if status == 304:
        _echo_weak_form(response)
    elif 200 <= status < 300:
        _weaken_if_coded(response)
    return response


def _varies_by_coding(response: Response) -> bool:
    """True when the representation was chosen by ``Accept-Encoding`` (RFC 9110 §12.5.5)."""
    vary = field_value(response.headers, "vary")
    if vary is None:
        return False
    fields = {field.strip().lower() for field in vary.split(",")}
    return "accept-encoding" in fields or "*" in fields


def _strong_opaque_tag(response: Response) -> str | None:
    """The response's opaque-tag when its ``ETag`` is strong; None when weak or absent."""
    header = response.headers.get("ETag")
    if header is None:
        return None
    opaque, weak = unquote_etag(header)
    return None if weak or opaque is None else opaque


def _weaken_if_coded(response: Response) -> None:
    """§8.8.3: the coded bytes are not the identity bytes, so their tag cannot stay strong."""
    coding = field_value(response.headers, "content-encoding")
    if coding is None:
        return  # nearly every response: checked before anything dearer
    header = response.headers.get("ETag")
    if header is None or coding.strip().lower() in ("", "identity"):
        return
    opaque, weak = unquote_etag(header)
    if opaque is None or not _varies_by_coding(response):
        return  # the coded bytes are the only representation there is: the tag stands
    suffix = f":{coding.strip()}"
    if opaque.endswith(suffix):
        # Flask-Compress's derived tag (older releases suffix weak ones too): the weak identity tag
        # is what our own evaluation compares, so a 304 can be decided before the view.
        opaque = opaque[: -len(suffix)]
    elif weak:
        return
    response.headers["ETag"] = format_entity_tag(opaque, weak=True)


def _echo_weak_form(response: Response) -> None:
    """§15.4.5: a 304 carries the ETag the 200 would have; for a coded 200 that is ``W/"x"``.

    The 304 has no body to tell whether the 200 would have been compressed, but the client's
    ``If-None-Match`` tells which form it holds; echoing that form lets a cache update the very
    response it revalidated (RFC 9111 §4.3.4).
    """
    if not _varies_by_coding(response):
        return  # nearly every 304: checked before anything dearer
    opaque = _strong_opaque_tag(response)
    if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
    if opaque is None or if_none_match is None:
        return
    held = parse_etags(if_none_match)
    if held.is_weak(opaque) and not held.is_strong(opaque):
        response.headers["ETag"] = format_entity_tag(opaque, weak=True)
