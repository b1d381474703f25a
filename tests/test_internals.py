"""What flask_etag relies on inside Flask and werkzeug (``flask_etag.internals``).

A release that changes one of these must fail here, loudly, not serve wrong answers.
"""

from __future__ import annotations

import threading

import pytest
from flask import Flask, Response, after_this_request, current_app, request
from werkzeug.datastructures import Headers

from flask_etag.internals import (
    header_list,
    hooks_after_this_request,
    send_fields_as_built,
    serving_context,
    set_not_modified_status,
    status_code_of,
)


def test_header_list_is_werkzeugs_own_list() -> None:
    """Fields are read and appended in place: werkzeug must keep them in this very list."""
    headers = Headers([("Content-Type", "text/plain")])
    fields = header_list(headers)
    assert fields == [("Content-Type", "text/plain")]
    fields.append(("ETag", '"x"'))
    assert headers.get("etag") == '"x"'
    assert list(headers.items()) == [("Content-Type", "text/plain"), ("ETag", '"x"')]
    headers.set("ETag", '"y"')
    assert header_list(headers) == [("Content-Type", "text/plain"), ("ETag", '"y"')]


def test_serving_context_holds_the_app_and_request_being_served() -> None:
    """The context read in one step is the one ``current_app`` and ``request`` proxy."""
    apps = [Flask("first"), Flask("second")]
    seen: list[tuple[bool, bool]] = []
    for app in apps:

        @app.get("/")
        def index() -> str:
            serving = serving_context()
            seen.append(
                (
                    serving.app is current_app._get_current_object(),  # type: ignore[attr-defined]
                    serving.request is request._get_current_object(),  # type: ignore[attr-defined]
                )
            )
            return "ok"

    threads = [threading.Thread(target=app.test_client().get, args=("/",)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with apps[0].test_request_context("/nested"):
        with apps[1].test_request_context("/inner"):
            assert serving_context().app is apps[1]
            assert serving_context().request.path == "/inner"
        assert serving_context().app is apps[0]
    assert seen == [(True, True), (True, True)]


def test_not_modified_status_is_what_werkzeug_sets_for_304() -> None:
    """The status is set without werkzeug's setter: both attributes must read as its own."""
    response = Response("body", status=200)
    set_not_modified_status(response)
    reference = Response(status=304)
    assert (response.status, response.status_code) == (reference.status, reference.status_code)
    response.status_code = 200  # werkzeug's setter still works on it afterwards
    assert (response.status, response.status_code) == ("200 OK", 200)


def test_status_code_of_reads_what_the_property_reads() -> None:
    """The fast path reads the status code directly: it must be the property's value."""
    for status in (200, 201, 304, 404):
        response = Response("body", status=status)
        assert status_code_of(response) == response.status_code == status
    response.status_code = 204
    assert status_code_of(response) == 204


def test_the_public_fallback_serves_the_same_context() -> None:
    """A Flask without the context variable gets the proxies' answer, not an error."""
    from flask_etag.internals import _serving_context_by_proxies

    app = Flask("fallback")
    with app.test_request_context("/x"):
        fallback = _serving_context_by_proxies()
        assert fallback.app is serving_context().app is app
        assert fallback.request is serving_context().request


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fields_sent_as_built_are_what_werkzeug_would_send(method: str) -> None:
    """The fast path's 200 (werkzeug's two fields and an ETag) skips werkzeug's copy on the
    way out: a werkzeug that fixes anything on such a response must fail here."""
    app = Flask(__name__)
    with app.test_request_context("/", method=method) as context:
        environ = context.request.environ
        response = app.make_response({"id": 1})
        header_list(response.headers).append(("ETag", '"x"'))
        expected = response.get_wsgi_response(environ)
        send_fields_as_built(response)
        assert isinstance(response, app.response_class)
        assert response.get_wsgi_headers(environ) is response.headers  # the copy is skipped
        sent = response.get_wsgi_response(environ)
        assert (list(sent[0]), sent[1], sent[2]) == (list(expected[0]), *expected[1:])
        assert [name for name, _ in sent[2]] == ["Content-Type", "Content-Length", "ETag"]


def test_hooks_after_this_request_are_the_requests_own() -> None:
    """The functions ``after_this_request`` registered, in the order Flask will run them."""
    app = Flask(__name__)
    seen: list[list[object]] = []

    def first(response: Response) -> Response:
        return response

    @app.get("/")
    def index() -> str:
        seen.append(list(hooks_after_this_request()))
        after_this_request(first)
        seen.append(list(hooks_after_this_request()))
        return "ok"

    app.test_client().get("/")
    app.test_client().get("/")
    assert seen == [[], [first], [], [first]]
