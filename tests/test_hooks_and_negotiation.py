"""Tags that describe what is really sent: rewriting hooks and negotiated representations.

- Issue 8 item 6 (RFC 9110 §8.8.3): an ``after_request`` hook that rewrites the body runs
  after the view, yet the tag must describe the exact bytes sent, whatever order the app
  registered its hooks and extensions in, with ``@etag`` and in ``ETAG_AUTO``.
- Issue 8 item 10 (§8.8.3, §12.5.5): one URL serving JSON or CSV by ``Accept`` gives each
  representation its own strong tag with ``vary=``, and ``Vary`` on the 200 and the 304.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import flask_compress
import pytest
from blake3 import blake3
from conftest import VIEW_STYLES, Route, register
from flask import Flask, Response, after_this_request, request_finished
from flask.testing import FlaskClient

from flask_etag import ETag, TimestampGenerator, VersionGenerator, etag, require_if_match

PAGE = "<p>a page</p>" * 50


def body_tag(body: bytes) -> str:
    """The strong tag of exactly ``body``: blake3, 128 bits, the extension's default."""
    return f'"{blake3(body).hexdigest(length=16)}"'


# ------------------------------------------------------------------ item 6: rewriting hooks


def _append_token(tokens: Callable[[], str]) -> Callable[[Response], Response]:
    """A hook like a CSRF or analytics injector: it appends a token to every HTML 200."""

    def append_token(response: Response) -> Response:
        if response.status_code == 200 and response.mimetype == "text/html":
            response.set_data(response.get_data() + f"<!-- {tokens()} -->".encode())
        return response

    return append_token


def _rewriting_app(
    order: str, view_style: str, tokens: Callable[[], str], *, auto: bool, compress: bool
) -> Flask:
    """An app whose token hook, Flask-Compress and ETag are set up in the order named."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=auto, COMPRESS_MIN_SIZE=0)
    steps: dict[str, Callable[[], Any]] = {
        "hook": lambda: app.after_request(_append_token(tokens)),
        "etag": lambda: ETag(app),
        "compress": lambda: flask_compress.Compress(app) if compress else None,
        "blueprint": lambda: None,
    }
    for step in order.split("-"):
        steps[step]()
    decorator = (lambda view: view) if auto else etag
    register(app, Route("/page", "page", {"GET": (decorator, lambda: PAGE)}), view_style)
    return app


ORDERS = [
    "hook-etag",
    "etag-hook",
    "hook-compress-etag",
    "etag-compress-hook",
    "compress-hook-etag",
]


#: Orders in which ETag is set up before the hooks that rewrite: auto mode's hook then runs
#: after them (Flask runs ``after_request`` hooks in reverse order of registration).
ETAG_FIRST = ["etag-hook", "etag-compress-hook"]


@pytest.mark.parametrize("view_style", VIEW_STYLES)
@pytest.mark.parametrize("order", ETAG_FIRST)
def test_auto_tag_describes_the_bytes_after_later_hooks_rfc9110_8_8_3(
    order: str, view_style: str
) -> None:
    """§8.8.3: two different bodies never share a strong tag, and a client holding the tag of
    an old body is not told 304 for a new one."""
    counter = itertools.count()
    app = _rewriting_app(order, view_style, lambda: str(next(counter)), auto=True, compress=True)
    client = app.test_client()
    first = client.get("/page")
    assert first.headers["ETag"] == body_tag(first.get_data())
    second = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200  # the token changed, so the bytes did
    assert second.get_data() != first.get_data()
    assert second.headers["ETag"] == body_tag(second.get_data())


@pytest.mark.parametrize("view_style", VIEW_STYLES)
@pytest.mark.parametrize("order", ETAG_FIRST)
def test_auto_unchanged_rewritten_bytes_revalidate_to_304_rfc9110_13_1_2(
    order: str, view_style: str
) -> None:
    """§13.1.2: a hook that adds the same bytes every time keeps the tag, and 304 works."""
    app = _rewriting_app(order, view_style, lambda: "constant", auto=True, compress=True)
    client = app.test_client()
    first = client.get("/page")
    assert first.get_data().endswith(b"<!-- constant -->")
    assert first.headers["ETag"] == body_tag(first.get_data())
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.get_data()) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("view_style", VIEW_STYLES)
@pytest.mark.parametrize("order", ORDERS)
def test_etag_route_behind_a_deterministic_app_hook_revalidates_rfc9110_13_1_2(
    order: str, view_style: str
) -> None:
    """An app hook that rewrites a decorated route's body the same way each time (a minifier)
    leaves a tag that changes exactly when the bytes sent do (§8.8.1): revalidation works in
    every order, and a change of the view's body is a 200 with a new tag."""
    app = _rewriting_app(order, view_style, lambda: "constant", auto=False, compress=True)
    client = app.test_client()
    first = client.get("/page")
    assert first.get_data().endswith(b"<!-- constant -->")
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.get_data()) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]
    stale = client.get("/page", headers={"If-None-Match": '"stale"'})
    assert (stale.status_code, stale.headers["ETag"]) == (200, first.headers["ETag"])


@pytest.mark.parametrize("auto", [False, True], ids=["@etag", "ETAG_AUTO"])
def test_compressed_rewritten_page_keeps_its_coded_tag_rfc9110_8_8_3(auto: bool) -> None:
    """The coded form of the tag, ``"x:gzip"``, revalidates to 304 with that form; in auto
    mode ``x`` is the hash of the rewritten identity bytes, decoded from the gzip body."""
    app = _rewriting_app(
        "etag-compress-hook", "function", lambda: "constant", auto=auto, compress=True
    )
    client = app.test_client()
    identity = client.get("/page")
    coded = client.get("/page", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.headers["ETag"] == f'{identity.headers["ETag"][:-1]}:gzip"'
    if auto:
        assert identity.headers["ETag"] == body_tag(identity.get_data())
    again = client.get(
        "/page", headers={"Accept-Encoding": "gzip", "If-None-Match": coded.headers["ETag"]}
    )
    assert (again.status_code, again.headers["ETag"]) == (304, coded.headers["ETag"])


def test_failed_precondition_is_412_through_the_app_handler_with_its_hook_fields() -> None:
    """§13.1.1: a 412 is raised before the app's hooks run, so the app's 412 handler renders
    it and its ``after_request`` hooks add their fields (CORS, HSTS) to it."""
    app = _rewriting_app("etag-hook", "function", lambda: "constant", auto=False, compress=False)
    app.register_error_handler(412, lambda error: ("custom 412", 412))

    @app.after_request
    def allow_origin(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    client = app.test_client()
    tag = client.get("/page").headers["ETag"]
    assert client.get("/page", headers={"If-Match": tag}).status_code == 200
    refused = client.get("/page", headers={"If-Match": '"stale"'})
    assert (refused.status_code, refused.text) == (412, "custom 412")
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def _after_this_request_app(
    register_hook: Callable[[], None], *, config: dict[str, Any], other_hook: bool
) -> Flask:
    """An app whose ``/page`` view registers ``after_this_request`` functions as it runs;
    decorated with ``@etag``, except in auto mode, which tags it in its hook."""
    app = Flask(__name__)
    app.config.update(config)
    ETag(app)
    if other_hook:
        app.after_request(lambda response: response)

    def page() -> str:
        register_hook()
        return PAGE

    app.get("/page")(page if config.get("ETAG_AUTO") else etag(page))
    return app


#: A plain app, an app-wide policy, an app with a hook of its own, and ETAG_AUTO.
AFTER_THIS_REQUEST_APPS = pytest.mark.parametrize(
    ("config", "other_hook"),
    [
        ({}, False),
        ({"ETAG_CACHE_CONTROL": "no-cache"}, False),
        ({}, True),
        ({"ETAG_AUTO": True}, False),
    ],
    ids=["plain", "policy", "app-hook", "auto"],
)


def test_rfc9110_8_8_3_auto_mode_tags_the_bytes_an_after_this_request_function_wrote() -> None:
    """Auto mode tags in a hook that runs after the request's ``after_this_request``
    functions: a token that changes on every request changes the tag, and an old tag is
    answered 200, never 304."""
    counter = itertools.count()
    app = _after_this_request_app(
        lambda: after_this_request(_append_token(lambda: str(next(counter)))),
        config={"ETAG_AUTO": True},
        other_hook=False,
    )
    client = app.test_client()
    first = client.get("/page")
    assert first.headers["ETag"] == body_tag(first.get_data())
    assert first.get_data().endswith(b"<!-- 0 -->")
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.headers["ETag"]) == (200, body_tag(again.get_data()))


@AFTER_THIS_REQUEST_APPS
def test_rfc9110_13_1_2_unchanged_bytes_after_this_request_revalidate_to_304(
    config: dict[str, Any], other_hook: bool
) -> None:
    """An ``after_this_request`` function that writes the same bytes each time keeps a tag
    that changes exactly when the bytes sent do (§8.8.1), so 304s work."""
    app = _after_this_request_app(
        lambda: after_this_request(_append_token(lambda: "constant")),
        config=config,
        other_hook=other_hook,
    )
    client = app.test_client()
    first = client.get("/page")
    assert first.get_data() == PAGE.encode() + b"<!-- constant -->"
    if config.get("ETAG_AUTO"):
        assert first.headers["ETag"] == body_tag(first.get_data())
    else:  # the decorator tags the bytes the view returned
        assert first.headers["ETag"] == body_tag(PAGE.encode())
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.headers["ETag"], again.get_data()) == (
        304,
        first.headers["ETag"],
        b"",
    )


def _status_204(response: Response) -> None:
    response.status_code = 204


def _relative_iri_location(response: Response) -> None:
    response.headers["Location"] = "/pages/\u00fc"


def _cookie(response: Response) -> None:
    response.set_cookie("seen", "1")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_status_204, {"status": 204, "content-length": None, "body": b""}),
        (_relative_iri_location, {"status": 200, "location": "/pages/%C3%BC"}),
        (_cookie, {"status": 200, "set-cookie": "seen=1; Path=/"}),
    ],
    ids=[
        "rfc9110_8_6_no_content_length_on_204",
        "rfc9110_10_2_2_location_sent_as_uri",
        "rfc9110_5_3_set_cookie_kept",
    ],
)
def test_body_hash_200_gets_werkzeugs_fixes_after_a_later_change(
    change: Callable[[Response], None], expected: dict[str, Any]
) -> None:
    """A tagged 200 is an ordinary response: a status or field changed after flask_etag
    (here by a ``request_finished`` receiver, the last code to see it) gets werkzeug's fixes."""
    app = Flask(__name__)
    ETag(app)
    app.get("/page")(etag(lambda: PAGE))

    def receiver(sender: Flask, response: Response, **extra: Any) -> None:
        change(response)

    with request_finished.connected_to(receiver, app):
        sent = app.test_client().get("/page")
    assert sent.status_code == expected.pop("status")
    if "body" in expected:
        assert sent.get_data() == expected.pop("body")
    for name, value in expected.items():
        assert sent.headers.get(name) == value, name


class _HardenedResponse(Response):
    """A response class that adds fields of its own as werkzeug sends the response."""

    def get_wsgi_headers(self, environ: Any) -> Any:
        headers = super().get_wsgi_headers(environ)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Cache-Control"] = "private"
        return headers


STAMP = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize("generator", ["body-hash", "timestamp"])
def test_rfc9110_15_4_5_response_classs_own_fields_on_the_200_and_the_304(generator: str) -> None:
    """An app whose response class adds fields in ``get_wsgi_headers`` gets them on the 200
    and on the 304, which must carry the 200's ``Cache-Control`` (§15.4.5)."""
    app = Flask(__name__)
    app.response_class = _HardenedResponse
    ETag(app)
    tagging = etag if generator == "body-hash" else etag(TimestampGenerator(lambda: STAMP))
    app.get("/page")(tagging(lambda: PAGE))
    client = app.test_client()
    first = client.get("/page")
    assert first.status_code == 200
    again = client.get("/page", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    for sent in (first, again):
        assert sent.headers.get("X-Content-Type-Options") == "nosniff"
        assert sent.headers.get("Cache-Control") == "private"
    assert again.headers["ETag"] == first.headers["ETag"]
    if generator == "timestamp":
        assert first.headers["Last-Modified"] == "Mon, 06 May 2024 07:08:09 GMT"


def test_app_without_auto_mode_installs_no_hook() -> None:
    """Decorated routes do their work in the decorator: no hook costs an undecorated route
    anything on each request."""
    app = Flask(__name__)
    ETag(app)
    app.get("/page")(etag(lambda: PAGE))
    assert app.test_client().get("/page").status_code == 200
    assert app.after_request_funcs == {}
    assert None not in app.before_request_funcs


def test_first_request_arrangement_keeps_the_apps_own_before_request_hooks() -> None:
    """The one-time arranging hook must not make Flask skip the app's next hook."""
    app = Flask(__name__)
    seen: list[str] = []
    ETag(app)
    app.before_request(lambda: seen.append("before"))
    app.get("/page")(etag(lambda: PAGE))
    client = app.test_client()
    client.get("/page")
    client.get("/page")
    assert seen == ["before", "before"]


# ------------------------------------------------------------------ item 10: negotiation


def _negotiating_app(view_style: str, versions: dict[int, int]) -> Flask:
    """``/reports/<id>``: JSON or CSV by ``Accept``, version-tagged with ``vary=``."""
    app = Flask(__name__)
    ETag(app)
    version = VersionGenerator(lambda report_id: versions.get(report_id))

    def read(report_id: int) -> Any:
        rows = [{"id": report_id, "version": versions[report_id]}]
        from flask import request

        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            csv = "id,version\n" + "".join(f"{r['id']},{r['version']}\n" for r in rows)
            return Response(csv, mimetype="text/csv")
        return rows

    def write(report_id: int) -> Any:
        versions[report_id] += 1
        return "", 204

    route = Route(
        "/reports/<int:report_id>",
        "reports",
        {
            "GET": (etag(version, vary=("Accept",)), read),
            "PUT": (require_if_match(version, vary="Accept"), write),
        },
    )
    register(app, route, view_style)
    return app


@pytest.fixture
def negotiating(view_style: str) -> tuple[FlaskClient, dict[int, int]]:
    versions = {1: 3}
    return _negotiating_app(view_style, versions).test_client(), versions


JSON, CSV = {"Accept": "application/json"}, {"Accept": "text/csv"}


def test_each_representation_has_its_own_strong_tag(
    negotiating: tuple[FlaskClient, dict[int, int]],
) -> None:
    """§8.8.3: a strong tag identifies one representation; JSON and CSV differ."""
    client, _ = negotiating
    json_response, csv_response = (
        client.get("/reports/1", headers=JSON),
        client.get("/reports/1", headers=CSV),
    )
    assert json_response.mimetype == "application/json"
    assert csv_response.mimetype == "text/csv"
    json_tag, csv_tag = json_response.headers["ETag"], csv_response.headers["ETag"]
    assert json_tag != csv_tag
    assert not json_tag.startswith("W/") and not csv_tag.startswith("W/")
    for response in (json_response, csv_response):
        assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("held", "sent", "expected"),
    [
        pytest.param(JSON, JSON, 304, id="§13.1.2 JSON tag, JSON asked: 304"),
        pytest.param(CSV, CSV, 304, id="§13.1.2 CSV tag, CSV asked: 304"),
        pytest.param(CSV, JSON, 200, id="§13.1.2 CSV tag, JSON asked: 200"),
        pytest.param(JSON, CSV, 200, id="§13.1.2 JSON tag, CSV asked: 200"),
        pytest.param(
            JSON, {"Accept": "  application/json "}, 304, id="§5.5 whitespace is insignificant"
        ),
        pytest.param(JSON, {}, 200, id="§12.5.1 no Accept is another request"),
    ],
)
def test_revalidation_matches_only_the_same_representation(
    negotiating: tuple[FlaskClient, dict[int, int]],
    held: dict[str, str],
    sent: dict[str, str],
    expected: int,
) -> None:
    client, _ = negotiating
    tag = client.get("/reports/1", headers=held).headers["ETag"]
    response = client.get("/reports/1", headers={**sent, "If-None-Match": tag})
    assert response.status_code == expected
    assert "Accept" in response.headers["Vary"]  # §15.4.5: on the 304 too
    if expected == 304:
        assert response.headers["ETag"] == tag


def test_writes_are_judged_by_the_resource_state_whatever_was_negotiated(
    negotiating: tuple[FlaskClient, dict[int, int]],
) -> None:
    """§13.1.1: If-Match asks whether the resource changed: a CSV tag guards a write sent
    with another Accept; once the state changed, the old tag of any form is refused."""
    client, versions = negotiating
    csv_tag = client.get("/reports/1", headers=CSV).headers["ETag"]
    assert client.put("/reports/1", headers={**JSON, "If-Match": csv_tag}).status_code == 204
    assert versions[1] == 4
    assert client.put("/reports/1", headers={**CSV, "If-Match": csv_tag}).status_code == 412
    json_tag = client.get("/reports/1", headers=JSON).headers["ETag"]
    assert client.put("/reports/1", headers={**CSV, "If-Match": json_tag}).status_code == 204
    assert client.put("/reports/1", headers={"If-Match": '"4"'}).status_code == 412
    assert client.put("/reports/1").status_code == 428
    assert versions[1] == 5


def test_body_hash_route_keeps_the_views_vary_on_304() -> None:
    """§15.4.5: a 304 carries the Vary the 200 would; ``vary=`` adds its fields to it."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/greeting")
    @etag(vary=("Accept-Language",))
    def greeting() -> Any:
        return "hello", {"Vary": "Cookie"}

    client = app.test_client()
    full = client.get("/greeting")
    fields = {name.strip() for name in full.headers["Vary"].split(",")}
    assert fields == {"Cookie", "Accept-Language"}
    revalidated = client.get("/greeting", headers={"If-None-Match": full.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Vary"] == full.headers["Vary"]


@pytest.mark.parametrize(
    ("vary", "error"),
    [
        pytest.param(("*",), ValueError, id="§12.5.5 * is not a request field"),
        pytest.param(("Accept Language",), ValueError, id="§5.1 not a token"),
        pytest.param((3,), ValueError, id="not a string"),
        pytest.param(3, TypeError, id="not a collection"),
    ],
)
def test_bad_vary_is_refused_at_set_up(vary: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="vary"):
        etag(VersionGenerator(lambda: 1), vary=vary)
