"""The ``ETag`` extension: init_app, ``ETAG_*`` config, several apps, error bodies, auto mode.

Misuse errors (bad config values, decorators without ``init_app``, wrong generator
arguments) are covered in ``test_misuse.py``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.http import http_date

from flask_etag import ETag, ETagPreconditionFailed, HashGenerator, etag
from flask_etag.generators import body_digest_function

if TYPE_CHECKING:
    from conftest import MakeApp, Store


def quoted(opaque: str) -> str:
    return f'"{opaque}"'


# ---------------------------------------------------------------- init_app and config


def test_constructor_and_init_app_register_the_extension() -> None:
    ext = ETag()
    first, second = Flask("first"), Flask("second")
    assert ETag(first) is not ext
    ext.init_app(second)
    assert isinstance(first.extensions["etag"].extension, ETag)
    assert second.extensions["etag"].extension is ext


def test_config_defaults_are_set_without_overwriting() -> None:
    """``init_app`` uses ``setdefault``: documented defaults appear, app values are kept."""
    app = Flask(__name__)
    app.config["ETAG_WEAK"] = True
    ETag(app)
    assert app.config["ETAG_ALGORITHM"] == "blake3"
    assert app.config["ETAG_WEAK"] is True
    assert app.config["ETAG_AUTO"] is False
    assert app.config["ETAG_CACHE_CONTROL"] is None


@pytest.mark.parametrize("algorithm", ["blake3", "sha256", "md5", "sha3_256"])
def test_etag_algorithm_hashes_the_body(make_app: MakeApp, algorithm: str) -> None:
    """``ETAG_ALGORITHM`` picks the body hash of ``@etag`` routes."""
    client = make_app(ETAG_ALGORITHM=algorithm).test_client()
    response = client.get("/hashed/1")
    assert response.headers["ETag"] == quoted(body_digest_function(algorithm)(response.data))
    if algorithm == "sha256":
        assert response.headers["ETag"] == quoted(hashlib.sha256(response.data).hexdigest())


def test_hash_generator_algorithm_overrides_the_app_default() -> None:
    app = Flask(__name__)
    app.config["ETAG_ALGORITHM"] = "md5"
    ETag(app)

    @app.get("/")
    @etag(HashGenerator("sha256"))
    def index() -> str:
        return "body"

    assert app.test_client().get("/").headers["ETag"] == quoted(hashlib.sha256(b"body").hexdigest())


def test_etag_weak_marks_hash_tags_weak(make_app: MakeApp) -> None:
    """``ETAG_WEAK``: body-hash tags become ``W/"..."``; still revalidate (§8.8.3.2 weak
    comparison) but never satisfy If-Match (§13.1.1 strong comparison)."""
    client = make_app(ETAG_WEAK=True).test_client()
    tag = client.get("/hashed/1").headers["ETag"]
    assert tag.startswith('W/"')
    assert client.get("/hashed/1", headers={"If-None-Match": tag}).status_code == 304
    assert client.put("/hashed/1", json={}, headers={"If-Match": tag}).status_code == 412
    assert client.get("/items/1").headers["ETag"] == '"1"', "explicitly strong generator"


def test_etag_cache_control_is_the_default_policy(make_app: MakeApp) -> None:
    """``ETAG_CACHE_CONTROL`` applies to 2xx and 304 unless the decorator sets its own."""
    client = make_app(ETAG_CACHE_CONTROL="private, max-age=5").test_client()
    full = client.get("/weak/1")
    assert full.headers["Cache-Control"] == "private, max-age=5"
    revalidated = client.get("/weak/1", headers={"If-None-Match": full.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Cache-Control"] == "private, max-age=5"
    assert client.get("/items/1").headers["Cache-Control"] == "no-cache"


def test_cache_control_is_on_a_304_answered_without_the_view(
    client: FlaskClient, store: Store
) -> None:
    """Issue: ``cache_control=`` is on the 2xx and on a 304 that never ran the view."""
    full = client.get("/items/1")
    assert full.headers["Cache-Control"] == "no-cache"
    runs = store.view_calls()
    revalidated = client.get("/items/1", headers={"If-None-Match": full.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Cache-Control"] == "no-cache"
    assert store.view_calls() == runs


def test_several_apps_keep_their_own_config(make_app: MakeApp) -> None:
    """One extension object, two apps, two configs: nothing leaks between them."""
    ext = ETag()
    apps: list[Flask] = []
    for config in ({"ETAG_ALGORITHM": "sha256", "ETAG_WEAK": True}, {}):
        app = Flask(f"app{len(apps)}")
        app.config.update(config)
        ext.init_app(app)
        app.add_url_rule("/", view_func=etag(lambda: "same body"), endpoint="index")
        apps.append(app)
    weak_sha256, default = (app.test_client().get("/").headers["ETag"] for app in apps)
    assert weak_sha256 == f"W/{quoted(hashlib.sha256(b'same body').hexdigest())}"
    assert default == quoted(body_digest_function("blake3")(b"same body"))
    assert apps[0].extensions["etag"].extension is apps[1].extensions["etag"].extension is ext


# ---------------------------------------------------------------- 412 / 428 bodies


def test_412_is_problem_json_by_default(client: FlaskClient) -> None:
    """RFC 9457 problem details: type, title, status, detail."""
    response = client.put("/items/1", json={}, headers={"If-Match": '"stale"'})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    problem = response.get_json(force=True)
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Precondition Failed"
    assert problem["status"] == 412
    assert problem["detail"]


def test_428_is_problem_json_naming_the_header(client: FlaskClient) -> None:
    """RFC 6585 §3: the 428 tells the client which header to send."""
    response = client.delete("/items/1")
    assert response.status_code == 428
    assert response.mimetype == "application/problem+json"
    problem = response.get_json(force=True)
    assert (problem["title"], problem["status"]) == ("Precondition Required", 428)
    assert "If-Match" in problem["detail"]


@pytest.mark.parametrize("key", [412, ETagPreconditionFailed], ids=["code", "class"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("PUT", "/items/1", id="version route, before the view"),
        pytest.param("PUT", "/hashed/1", id="body-hash write"),
        pytest.param("GET", "/hashed/1", id="body-hash read"),
    ],
)
def test_errorhandler_412_customises_the_response(
    make_app: MakeApp, view_style: str, key: Any, method: str, url: str
) -> None:
    """The 412 is a werkzeug PreconditionFailed, so ``@app.errorhandler(412)`` replaces it."""
    app = make_app(view_style)
    app.register_error_handler(key, lambda error: ({"error": "conflict"}, 412))
    response = app.test_client().open(url, method=method, json={}, headers={"If-Match": '"x"'})
    assert response.status_code == 412
    assert response.get_json() == {"error": "conflict"}


def test_errorhandler_428_customises_the_response(make_app: MakeApp, view_style: str) -> None:
    app = make_app(view_style)
    app.register_error_handler(428, lambda error: ("send If-Match", 428))
    response = app.test_client().put("/items/1", json={})
    assert (response.status_code, response.text) == (428, "send If-Match")
    assert app.store.view_calls() == 0


# ---------------------------------------------------------------- ETAG_AUTO


@pytest.fixture
def auto_client(make_app: MakeApp) -> FlaskClient:
    return make_app(ETAG_AUTO=True).test_client()


def test_auto_tags_untagged_get_responses(auto_client: FlaskClient) -> None:
    """``ETAG_AUTO``: an undecorated GET gets a body-hash tag and conditional handling."""
    response = auto_client.get("/plain")
    assert response.headers["ETag"] == quoted(body_digest_function("blake3")(b"plain text"))
    revalidated = auto_client.get("/plain", headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == response.headers["ETag"]
    head = auto_client.head("/plain", headers={"If-None-Match": response.headers["ETag"]})
    assert head.status_code == 304


def test_auto_answers_failed_if_match_with_412(auto_client: FlaskClient) -> None:
    response = auto_client.get("/plain", headers={"If-Match": '"stale"'})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"


def test_auto_412_keeps_the_fields_of_the_apps_hooks_rfc9110_13_1_1(make_app: MakeApp) -> None:
    """Auto mode judges in an ``after_request`` hook, where nothing may be raised: its 412 is
    the response itself, refused, so the fields the app's hooks set (here ``Vary``) stay."""
    app = make_app(ETAG_AUTO=True)
    client = app.test_client()
    current = client.get("/plain").headers["ETag"]
    response = client.get("/plain", headers={"If-Match": '"stale"'})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["etag"] == response.headers["ETag"] == current
    assert response.headers["Vary"] == "Accept"
    assert "plain text" not in response.text


def test_auto_412_drops_the_representations_freshness_and_location_rfc9111_3() -> None:
    """An auto-mode 412 is made of the 200 it refuses: the 200's ``Cache-Control`` and
    ``Expires`` (RFC 9111 §3: a shared cache could store the 412 and serve it to every later
    GET), its ``Content-Location`` and ``Content-Disposition`` (§8.7) must not stay."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, ETAG_CACHE_CONTROL="public, max-age=600")
    ETag(app)

    @app.get("/report")
    def report() -> Any:
        fields = {
            "Content-Location": "/report.json",
            "Content-Disposition": 'inline; filename="report.json"',
            "Expires": "Thu, 01 Dec 2099 16:00:00 GMT",
        }
        return {"x": 1}, fields

    client = app.test_client()
    served = client.get("/report")
    assert served.headers["Cache-Control"] == "public, max-age=600"
    refused = client.get("/report", headers={"If-Match": '"stale"'})
    assert refused.status_code == 412
    assert refused.mimetype == "application/problem+json"
    for name in ("Cache-Control", "Expires", "Content-Location", "Content-Disposition"):
        assert name not in refused.headers, name
    assert refused.headers["ETag"] == served.headers["ETag"]


@pytest.mark.parametrize(
    ("url", "headers", "expected_status"),
    [
        pytest.param("/plain-stream", {}, 200, id="§13.2.1 streamed, unconditional"),
        pytest.param("/plain-stream", {"If-None-Match": '"x"'}, 200, id="§13.1.2 no tag to match"),
        pytest.param("/plain-stream", {"If-None-Match": "*"}, 304, id="§13.1.2 * matches a stream"),
        pytest.param("/plain-stream", {"If-Match": '"x"'}, 412, id="§13.1.1 no tag to match"),
        pytest.param("/plain-missing", {"If-None-Match": "*"}, 404, id="§13.2.1 404 untouched"),
    ],
)
def test_auto_leaves_streams_untagged_and_errors_alone(
    auto_client: FlaskClient, url: str, headers: dict[str, str], expected_status: int
) -> None:
    """A stream is never buffered to be hashed, but it exists: `*` and If-Match still apply."""
    response = auto_client.get(url, headers=headers)
    assert response.status_code == expected_status
    assert "ETag" not in response.headers
    if expected_status == 200:
        assert response.data == b"one two three"


def test_auto_keeps_tags_set_by_decorators(auto_client: FlaskClient) -> None:
    assert auto_client.get("/items/1").headers["ETag"] == '"1"'


FILE = "/plain-files/data.txt"
EARLIER = "Mon, 06 May 2024 07:08:08 GMT"  # a second before the file's Last-Modified


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"If-None-Match": "{tag}"}, 304, id="§13.2.2 step 3 before Range: 304"),
        pytest.param({"If-Unmodified-Since": EARLIER}, 412, id="§13.2.2 step 2 before Range: 412"),
        pytest.param({"If-Match": '"stale"'}, 412, id="§13.2.2 step 1 before Range: 412"),
        pytest.param({"If-Match": "*"}, 206, id="§13.1.1 If-Match * passes a file: 206"),
        pytest.param({"If-Match": "{tag}"}, 206, id="§13.1.1 the file's own tag passes: 206"),
    ],
)
def test_auto_judges_a_files_own_validators_before_its_range_rfc9110_13_2_2(
    make_app: MakeApp, view_style: str, headers: dict[str, str], expected: int
) -> None:
    """An undecorated ``send_file`` keeps its own tag, and auto mode judges the request by
    it and its ``Last-Modified`` as RFC 9110 orders, before ``Range``: werkzeug's own rules
    answered ``If-Match: *`` with 412 and sent a part of a file changed since
    ``If-Unmodified-Since``."""
    client = make_app(view_style, ETAG_AUTO=True).test_client()
    with client.get(FILE) as first:
        tag = first.headers["ETag"]
    fields = {name: value.format(tag=tag) for name, value in headers.items()}
    with client.get(FILE, headers={"Range": "bytes=0-9", **fields}) as response:
        assert response.status_code == expected
        assert response.headers["ETag"] == tag
        if expected == 206:
            assert response.data == b"0123456789"
        else:
            assert "Content-Range" not in response.headers
        if expected == 412:
            assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("if_range", "expected"),
    [
        pytest.param("{tag}", 206, id="§13.1.5 the current strong tag: 206"),
        pytest.param('"stale"', 200, id="§13.1.5 another tag: the whole"),
        pytest.param("W/{tag}", 200, id="§13.1.5 a weak tag never matches: the whole"),
        pytest.param("Mon, 06 May 2024 07:08:10 GMT", 200, id="§13.1.5 a later date: the whole"),
    ],
)
def test_auto_judges_if_range_strictly_rfc9110_13_1_5(
    make_app: MakeApp, if_range: str, expected: int
) -> None:
    """werkzeug's ``send_file`` sends a part for a weak tag, and for any date not earlier
    than the file's: a client would splice it onto another version's bytes."""
    client = make_app(ETAG_AUTO=True).test_client()
    with client.get(FILE) as first:
        tag = first.headers["ETag"]
    fields = {"Range": "bytes=0-9", "If-Range": if_range.format(tag=tag)}
    with client.get(FILE, headers=fields) as response:
        assert (response.status_code, response.headers["ETag"]) == (expected, tag)
        assert len(response.data) == (10 if expected == 206 else 1000)


UNSATISFIABLE = "bytes=5000-"  # the file holds 1000 bytes


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"If-Match": '"stale"'}, 412, id="§13.2.2 step 1 before Range: 412"),
        pytest.param({"If-Unmodified-Since": EARLIER}, 412, id="§13.2.2 step 2 before Range: 412"),
        pytest.param({"If-None-Match": "{tag}"}, 304, id="§13.2.2 step 3 before Range: 304"),
    ],
)
def test_rfc9110_13_2_2_auto_judges_preconditions_before_an_unsatisfiable_range(
    make_app: MakeApp, view_style: str, method: str, headers: dict[str, str], expected: int
) -> None:
    """§13.2.2 evaluates the preconditions before ``Range`` (§14.2, step 5).  ``send_file``
    answered a range past the file's end 416 inside the view, before the hook could judge
    them: the client holding the current tag got 416 for its 304, a stale writer's read its
    416 for 412.  Passing preconditions still meet the range: 416, and a satisfiable one a
    206 made of the whole (the view never saw it); a view that serves no ranges stays 200."""
    client = make_app(view_style, ETAG_AUTO=True).test_client()
    with client.get(FILE) as first:
        tag = first.headers["ETag"]
    fields = {name: value.format(tag=tag) for name, value in headers.items()}
    ranged = {"Range": UNSATISFIABLE, **fields}
    with client.open(FILE, method=method, headers=ranged) as response:
        assert response.status_code == expected
        assert "Content-Range" not in response.headers
    passing = {"Range": UNSATISFIABLE, "If-Match": tag}
    with client.open(FILE, method=method, headers=passing) as response:
        assert response.status_code == 416
        assert response.headers["Content-Range"] == "bytes */1000"
    passing["Range"] = "bytes=990-"
    with client.open(FILE, method=method, headers=passing) as response:
        assert (response.status_code, response.headers["ETag"]) == (206, tag)
        assert response.headers["Content-Range"] == "bytes 990-999/1000"
        assert response.data == (b"0123456789" if method == "GET" else b"")
    with client.open("/plain", method=method, headers={**passing, "If-Match": "*"}) as response:
        assert response.status_code == 200 and "Content-Range" not in response.headers


def test_rfc9110_13_2_2_auto_judges_static_files_before_an_unsatisfiable_range(
    tmp_path: Path,
) -> None:
    """Flask's static route (``send_from_directory``) too: 412 and 304 before its 416."""
    (tmp_path / "site.css").write_bytes(b"b" * 100)
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    app.config["ETAG_AUTO"] = True
    ETag(app)
    client = app.test_client()
    with client.get("/static/site.css") as served:
        tag = served.headers["ETag"]
    past_the_end = {"Range": "bytes=500-"}
    stale = {**past_the_end, "If-Match": '"stale"'}
    with client.get("/static/site.css", headers=stale) as response:
        assert response.status_code == 412
    with client.get("/static/site.css", headers={**past_the_end, "If-None-Match": tag}) as response:
        assert (response.status_code, response.headers["ETag"]) == (304, tag)
    with client.get("/static/site.css", headers={**past_the_end, "If-Match": "*"}) as response:
        assert response.status_code == 416


def own_ranges_app(**config: Any) -> Flask:
    """An auto-mode app whose view cuts its own single byte range (werkzeug's
    ``make_conditional``), answers several with the whole, as §14.2 allows, and says
    ``Accept-Ranges: bytes``; ``/weak`` tags its body weakly, as ``ETAG_WEAK`` does."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, **config)
    ETag(app)
    body = bytes(range(100))

    @app.get("/parts")
    def parts() -> Response:
        whole = Response(body, mimetype="application/octet-stream")
        whole.headers["Accept-Ranges"] = "bytes"
        if request.range is not None and len(request.range.ranges) == 1:
            whole.make_conditional(request, accept_ranges=True, complete_length=len(body))
        return whole

    @app.get("/weak")
    def weak() -> Response:
        whole = parts()
        whole.headers["ETag"] = 'W/"v1"'
        return whole

    return app


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_rfc9110_15_5_17_auto_answers_no_416_to_satisfiable_ranges_beside_preconditions(
    method: str,
) -> None:
    """§15.5.17: 416 says no range asked for can be served, and a server may ignore a
    ``Range`` it will not serve as asked (§14.2).  Held back from the view beside a
    precondition, two satisfiable ranges were cut by werkzeug's ``make_conditional``, which
    serves one range only and raised 416 for the two: the view, which met them without a
    precondition, answered 200 with the whole.  One range is still cut, and a range past
    the end is still 416."""
    client = own_ranges_app().test_client()
    two = {"Range": "bytes=0-1,5-6"}
    with client.open("/parts", method=method, headers=two) as response:
        assert response.status_code == 200
    with client.open("/parts", method=method, headers={**two, "If-Match": "*"}) as response:
        assert response.status_code == 200
        assert "Content-Range" not in response.headers
        assert response.content_length == 100
    one = {"Range": "bytes=5-6", "If-Match": "*"}
    with client.open("/parts", method=method, headers=one) as response:
        assert (response.status_code, response.headers["Content-Range"]) == (206, "bytes 5-6/100")
    past_the_end = {"Range": "bytes=500-", "If-Match": "*"}
    with client.open("/parts", method=method, headers=past_the_end) as response:
        assert (response.status_code, response.headers["Content-Range"]) == (416, "bytes */100")


@pytest.mark.parametrize(
    ("path", "config"),
    [
        pytest.param("/weak", {}, id="the view's own weak tag"),
        pytest.param("/parts", {"ETAG_WEAK": True}, id="ETAG_WEAK auto tag"),
    ],
)
def test_rfc9110_13_1_5_auto_serves_no_part_by_if_range_against_a_weak_tag(
    path: str, config: dict[str, Any]
) -> None:
    """§13.1.5: If-Range passes only by the strong comparison (§8.8.3.2), which a weak tag
    never passes: it names no exact bytes, so a part by it could be spliced onto other
    bytes.  Cut by the hook beside a precondition, the part was judged by werkzeug's
    ``make_conditional``, which drops the weakness of the response's tag: ``"v1"`` matched
    ``W/"v1"`` and a 206 went out.  The whole is due."""
    client = own_ranges_app(**config).test_client()
    tag = client.get(path).headers["ETag"]
    assert tag.startswith('W/"')
    strong_form = tag[2:]
    fields = {"Range": "bytes=0-9", "If-Range": strong_form, "If-None-Match": '"other"'}
    with client.get(path, headers=fields) as response:
        assert response.status_code == 200
        assert "Content-Range" not in response.headers
        assert len(response.data) == 100


def test_auto_judges_flasks_static_files_rfc9110_13_1_1(tmp_path: Path) -> None:
    """Flask's own static route (``send_from_directory``) is judged like any auto read."""
    (tmp_path / "site.css").write_text("body { color: teal }")
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    app.config["ETAG_AUTO"] = True
    ETag(app)
    client = app.test_client()
    with client.get("/static/site.css") as served:
        tag, modified = served.headers["ETag"], served.last_modified
    assert modified is not None
    with client.get("/static/site.css", headers={"If-Match": "*"}) as response:
        assert (response.status_code, response.headers["ETag"]) == (200, tag)
    earlier = http_date(modified - timedelta(seconds=1))
    with client.get("/static/site.css", headers={"If-Unmodified-Since": earlier}) as response:
        assert response.status_code == 412
    with client.get("/static/site.css", headers={"If-None-Match": f"W/{tag}"}) as response:
        assert (response.status_code, response.headers["ETag"]) == (304, tag)


def test_auto_leaves_a_decorated_route_to_decide_before_its_view_rfc9110_13_2_1(
    make_app: MakeApp, view_style: str
) -> None:
    """Auto mode takes the fields only where no decorator will: a version route still
    answers 304 without running its view."""
    app = make_app(view_style, ETAG_AUTO=True)
    client = app.test_client()
    tag = client.get("/items/1").headers["ETag"]
    ran = app.store.calls[("items", "GET")]
    assert client.get("/items/1", headers={"If-None-Match": tag}).status_code == 304
    assert app.store.calls[("items", "GET")] == ran


def test_auto_is_off_by_default(make_app: MakeApp) -> None:
    client = make_app().test_client()
    response = client.get("/plain", headers={"If-None-Match": "*"})
    assert response.status_code == 200
    assert "ETag" not in response.headers
