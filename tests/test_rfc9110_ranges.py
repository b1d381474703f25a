"""Range requests under preconditions (issue 2 rule 8, RFC 9110 §13.1.5, §13.2.2 step 5, §14).

Two routes serve the same file with ``send_file``: ``/files/data.txt`` keeps the ETag
``send_file`` sets, ``/items/1/file`` is tagged by the item's version (``"1"``).  Every test
runs for function, MethodView and async views.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest
from flask import Flask, Response, after_this_request, request, send_file
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_etag import ETag, VersionGenerator, etag

#: The tables run in an app with an ``after_request`` hook and in one without (conftest).
WITH_AND_WITHOUT_APP_HOOK = True

if TYPE_CHECKING:
    from conftest import Store

FILE_BODY = b"0123456789" * 100
FIRST_TEN = "bytes=0-9"
LAST_MODIFIED = "Mon, 06 May 2024 07:08:09 GMT"
EARLIER = "Mon, 06 May 2024 07:08:08 GMT"
LATER = "Mon, 06 May 2024 07:08:10 GMT"
SEEDED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
ROUTES = [
    pytest.param("/files/data.txt", id="view's own tag"),
    pytest.param("/items/1/file", id="version tag"),
]


def fetch(client: FlaskClient, url: str, **headers: str) -> TestResponse:
    """GET ``url`` and read the whole response, closing the file behind it."""
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    response = client.get(url, headers=fields)
    response.get_data()
    response.close()
    return response


def own_tag(client: FlaskClient, url: str) -> str:
    return fetch(client, url).headers["ETag"]


def assert_partial(response: TestResponse) -> None:
    assert response.status_code == 206
    assert response.data == FILE_BODY[:10]
    assert response.headers["Content-Range"] == f"bytes 0-9/{len(FILE_BODY)}"


def assert_full(response: TestResponse) -> None:
    """§13.1.5: a failed If-Range means the Range is ignored: the whole representation."""
    assert response.status_code == 200
    assert response.data == FILE_BODY
    assert "Content-Range" not in response.headers


@pytest.mark.parametrize("url", ROUTES)
def test_plain_range_is_served(client: FlaskClient, url: str) -> None:
    """§14.2: without conditions a satisfiable Range gets 206."""
    assert_partial(fetch(client, url, Range=FIRST_TEN))


@pytest.mark.parametrize("url", ROUTES)
def test_range_with_matching_if_none_match_answers_304(client: FlaskClient, url: str) -> None:
    """§13.2.2: If-None-Match (step 3) is decided before Range (step 5): 304, not 206."""
    tag = own_tag(client, url)
    response = fetch(client, url, Range=FIRST_TEN, If_None_Match=tag)
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag
    assert "Content-Range" not in response.headers


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize("date", ["", "yesterday", "Mon, 32 Jan 2026 00:00:00 GMT"])
def test_an_invalid_if_unmodified_since_defers_no_304_rfc9110_13_1_4(
    client: FlaskClient, url: str, date: str
) -> None:
    """§13.1.4: a field that is not one valid HTTP-date is ignored, so If-None-Match: * on
    an existing file is 304 (step 3), before an unsatisfiable Range could give 416."""
    response = fetch(
        client, url, If_Unmodified_Since=date, If_None_Match="*", Range=f"bytes={10**6}-"
    )
    assert response.status_code == 304


@pytest.mark.parametrize("url", ROUTES)
def test_range_with_stale_if_none_match_is_served(client: FlaskClient, url: str) -> None:
    assert_partial(fetch(client, url, Range=FIRST_TEN, If_None_Match='"stale"'))


@pytest.mark.parametrize("url", ROUTES)
def test_range_with_failing_if_match_answers_412(client: FlaskClient, url: str) -> None:
    """§13.2.2: If-Match (step 1) comes before Range: 412, no partial content."""
    response = fetch(client, url, Range=FIRST_TEN, If_Match='"stale"')
    assert response.status_code == 412
    assert "Content-Range" not in response.headers


@pytest.mark.parametrize("url", ROUTES)
def test_range_with_passing_if_match_is_served(client: FlaskClient, url: str) -> None:
    assert_partial(fetch(client, url, Range=FIRST_TEN, If_Match=own_tag(client, url)))


def test_range_with_if_modified_since_answers_304(client: FlaskClient) -> None:
    """§13.2.2: If-Modified-Since (step 4) comes before Range (step 5)."""
    response = fetch(client, "/files/data.txt", Range=FIRST_TEN, If_Modified_Since=LAST_MODIFIED)
    assert response.status_code == 304
    assert response.headers["ETag"] == own_tag(client, "/files/data.txt")


@pytest.mark.parametrize("url", ROUTES)
def test_if_range_with_the_current_strong_tag_gives_206(client: FlaskClient, url: str) -> None:
    """§13.1.5: If-Range matching the current strong tag: the range is served."""
    assert_partial(fetch(client, url, Range=FIRST_TEN, If_Range=own_tag(client, url)))


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize(
    "if_range",
    [
        pytest.param('"stale"', id="§13.1.5 stale tag"),
        pytest.param("W/{tag}", id="§13.1.5 weak tag never matches"),
        pytest.param("{opaque}", id="§13.1.5 unquoted tag"),
        pytest.param("garbage, {tag}", id="§13.1.5 a list is not one validator"),
    ],
)
def test_if_range_that_does_not_match_sends_everything(
    client: FlaskClient, url: str, if_range: str
) -> None:
    tag = own_tag(client, url)
    value = if_range.format(tag=tag, opaque=tag.strip('"'))
    assert_full(fetch(client, url, Range=FIRST_TEN, If_Range=value))


def test_if_range_with_the_exact_last_modified_gives_206(client: FlaskClient) -> None:
    """§13.1.5: an HTTP-date If-Range matches only the exact Last-Modified."""
    assert fetch(client, "/files/data.txt").headers["Last-Modified"] == LAST_MODIFIED
    assert_partial(fetch(client, "/files/data.txt", Range=FIRST_TEN, If_Range=LAST_MODIFIED))


def test_if_range_with_another_date_sends_everything(client: FlaskClient) -> None:
    assert_full(fetch(client, "/files/data.txt", Range=FIRST_TEN, If_Range=EARLIER))


def test_if_range_after_a_change_sends_everything(client: FlaskClient, store: Store) -> None:
    """§13.1.5: the client's partial copy is of an older version: send the new one whole."""
    old = own_tag(client, "/items/1/file")
    store.items[1].version = 2
    response = fetch(client, "/items/1/file", Range=FIRST_TEN, If_Range=old)
    assert_full(response)
    assert response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("url", ROUTES)
def test_if_range_without_range_is_ignored(client: FlaskClient, url: str) -> None:
    """§13.1.5: If-Range without Range is ignored."""
    assert_full(fetch(client, url, If_Range='"stale"'))


@pytest.mark.parametrize("url", ROUTES)
def test_every_304_of_a_file_carries_the_etag(client: FlaskClient, url: str) -> None:
    """§13.1.3, §15.4.5: If-Modified-Since of exactly the file's Last-Modified is 304, with
    the ETag (on the version route too: the view's Last-Modified decides it)."""
    tag = own_tag(client, url)
    response = fetch(client, url, If_Modified_Since=LAST_MODIFIED)
    assert response.status_code == 304
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize(
    ("field", "date", "expected"),
    [
        pytest.param("If-Modified-Since", EARLIER, 200, id="§13.1.3 modified since: 200"),
        pytest.param("If-Unmodified-Since", EARLIER, 412, id="§13.1.4 modified since: 412"),
        pytest.param("If-Unmodified-Since", LAST_MODIFIED, 200, id="§13.1.4 unmodified: 200"),
    ],
)
def test_file_dates_decide_date_conditions(
    client: FlaskClient, url: str, field: str, date: str, expected: int
) -> None:
    response = fetch(client, url, **{field.replace("-", "_"): date})
    assert response.status_code == expected
    if expected == 200:
        assert response.data == FILE_BODY


BEYOND_THE_FILE = f"bytes={len(FILE_BODY) + 10}-{len(FILE_BODY) + 20}"


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize(
    ("field", "date", "expected"),
    [
        pytest.param("If-Modified-Since", LAST_MODIFIED, 304, id="§13.2.2 step 4 before 416"),
        pytest.param("If-Unmodified-Since", EARLIER, 412, id="§13.2.2 step 2 before 416"),
        pytest.param("If-Modified-Since", EARLIER, 416, id="§14.2 dates pass: 416"),
    ],
)
def test_file_dates_come_before_an_unsatisfiable_range_rfc9110_13_2_2(
    client: FlaskClient, url: str, field: str, date: str, expected: int
) -> None:
    """§13.2.2: the date conditions (steps 2 and 4) are judged before Range (step 5), on the
    version route too, where the file's own Last-Modified decides them (send_file's 416
    must wait for that judgement)."""
    tag = own_tag(client, url)
    response = fetch(client, url, Range=BEYOND_THE_FILE, **{field.replace("-", "_"): date})
    assert response.status_code == expected
    if expected != 416:
        assert response.headers["ETag"] == tag


def _scoped_app_building_its_own_parts() -> Flask:
    """A body-hash route under ``ETAG_SCOPE`` whose view answers ``Range`` itself, untagged,
    and says so (``Accept-Ranges``), as a range of its whole is cut for it where the request
    holds If-Range (§14.3)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", ETAG_SCOPE=lambda: request.headers.get("X-User"))
    ETag(app)

    @app.get("/doc")
    @etag
    def doc() -> Response:
        asked = request.range
        if asked is None:
            return Response(FILE_BODY, headers={"Accept-Ranges": "bytes"})
        span = asked.range_for_length(len(FILE_BODY))
        assert span is not None
        start, stop = span
        content_range = f"bytes {start}-{stop - 1}/{len(FILE_BODY)}"
        return Response(FILE_BODY[start:stop], 206, {"Content-Range": content_range})

    return app


def test_a_part_carries_the_scoped_tag_of_the_whole_rfc9110_15_3_7() -> None:
    """§15.3.7: a 206 carries the ETag the 200 would; on a scoped route that is the tag with
    the user's scope folded in, so If-Range with it resumes the download (§13.1.5)."""
    client = _scoped_app_building_its_own_parts().test_client()
    whole = client.get("/doc", headers={"X-User": "ann"})
    part = client.get("/doc", headers={"X-User": "ann", "Range": FIRST_TEN})
    assert (part.status_code, part.headers["ETag"]) == (206, whole.headers["ETag"])
    resumed = client.get(
        "/doc", headers={"X-User": "ann", "Range": FIRST_TEN, "If-Range": whole.headers["ETag"]}
    )
    assert (resumed.status_code, resumed.data) == (206, FILE_BODY[:10])
    bobs = client.get("/doc", headers={"X-User": "bob", "Range": FIRST_TEN})
    assert bobs.headers["ETag"] != part.headers["ETag"]


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize("unit", ["items=0-9", "Items = 0-9", "rows"])
def test_a_range_unit_the_view_does_not_understand_is_ignored_rfc9110_14_2(
    client: FlaskClient, url: str, unit: str
) -> None:
    """§14.2: an origin server MUST ignore a Range in a unit it does not understand.
    ``send_file`` knows bytes only and answers such a range 416: the whole is due, tagged,
    and judged like any whole (a matching If-None-Match still gets 304)."""
    tag = own_tag(client, url)
    response = fetch(client, url, Range=unit)
    assert_full(response)
    assert response.headers["ETag"] == tag
    revalidated = fetch(client, url, Range=unit, If_None_Match=tag)
    assert (revalidated.status_code, revalidated.headers["ETag"]) == (304, tag)


def test_a_view_keeps_the_416_of_a_unit_it_understands_rfc9110_14_2() -> None:
    """§14.2: a view that serves its own range unit answers that unit's 416 itself."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/rows")
    @etag
    def rows() -> Response:
        return Response("", 416, {"Content-Range": "items */3"})

    response = app.test_client().get("/rows", headers={"Range": "items=5-9"})
    assert (response.status_code, response.headers["Content-Range"]) == (416, "items */3")


def _app_sending_an_untagged_file(runs: list[str]) -> Flask:
    """A body-hash route whose view sends a file object (a generated PDF): ``send_file``
    gives it no tag and passes the file through, so its body is never hashed."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/report.pdf")
    @etag
    def report() -> Response:
        runs.append("view")

        @after_this_request
        def count_download(response: Response) -> Response:
            response.headers.add("X-Download", "counted")
            return response

        return send_file(io.BytesIO(FILE_BODY), mimetype="application/pdf", last_modified=SEEDED_AT)

    return app


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="Range alone"),
        pytest.param({"If-Range": LAST_MODIFIED}, id="If-Range with the exact date"),
        pytest.param({"If-None-Match": '"other"'}, id="If-None-Match naming no tag"),
    ],
)
def test_a_part_of_an_untagged_file_runs_the_view_once_rfc9110_15_3_7(
    headers: dict[str, str],
) -> None:
    """§15.3.7: a 206 carries the ETag its 200 would, and a file passed through has none.

    The part was once thrown away to render the whole again for a tag it could not have:
    the view and its ``after_this_request`` function ran twice, and a 200 of the whole was
    sent where the 206 was due (§14.2).
    """
    runs: list[str] = []
    client = _app_sending_an_untagged_file(runs).test_client()
    response = fetch(client, "/report.pdf", Range=FIRST_TEN, **_as_keywords(headers))
    assert_partial(response)
    assert "ETag" not in response.headers
    assert runs == ["view"]
    assert response.headers.getlist("X-Download") == ["counted"]


def test_a_part_of_an_untagged_file_still_honours_if_range_rfc9110_13_1_5() -> None:
    """§13.1.5: an If-Range date that is not exactly the file's sends the whole, where
    werkzeug would send the part for any date not earlier; ``If-None-Match: *`` is 304."""
    runs: list[str] = []
    client = _app_sending_an_untagged_file(runs).test_client()
    assert_full(fetch(client, "/report.pdf", Range=FIRST_TEN, If_Range=LATER))
    matched = fetch(client, "/report.pdf", Range=FIRST_TEN, If_None_Match="*")
    assert (matched.status_code, matched.data) == (304, b"")


def _as_keywords(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("-", "_"): value for name, value in headers.items()}


@pytest.mark.parametrize(
    ("if_range", "expected"),
    [
        pytest.param("{tag}", 206, id="§13.1.5 the current strong tag: the part"),
        pytest.param('"stale"', 200, id="§13.1.5 another tag: the whole"),
    ],
)
def test_a_make_conditional_view_that_tags_its_whole_resumes_rfc9110_13_1_5(
    if_range: str, expected: int
) -> None:
    """real-apps.md: a body-hash view that serves ``Range`` itself tags its whole first
    (``add_etag``), since werkzeug matches ``If-Range`` with the tag its response carries;
    the route keeps that tag, so the part and the whole name one representation (§15.3.7)."""
    app = Flask(__name__)
    ETag(app)

    @app.get("/doc")
    @etag
    def doc() -> Response:
        whole = Response(FILE_BODY)
        whole.add_etag()
        return whole.make_conditional(request, accept_ranges=True, complete_length=len(FILE_BODY))

    client = app.test_client()
    tag = client.get("/doc").headers["ETag"]
    asked = {"Range": FIRST_TEN, "If-Range": if_range.format(tag=tag)}
    response = client.get("/doc", headers=asked)
    assert (response.status_code, response.headers["ETag"]) == (expected, tag)
    if expected == 206:
        assert_partial(response)
    else:
        assert_full(response)
    assert client.get("/doc", headers={"If-None-Match": tag}).status_code == 304


def _app_counting_view_runs(runs: list[str]) -> Flask:
    """Three routes that serve byte ranges, each view noting its run and its
    ``after_this_request`` function's: ``send_file``'s own tag (a body-hash route),
    ``make_conditional`` untagged (the route hashes the whole), and ``send_file`` on a version
    route, whose date conditions its ``Last-Modified`` decides."""
    app = Flask(__name__)
    ETag(app)

    def count_run() -> None:  # first: send_file raises the 416
        runs.append("view")

        @after_this_request
        def count(sent: Response) -> Response:
            runs.append("after")
            return sent

    def file_of(tag: str | bool) -> Response:
        return send_file(
            io.BytesIO(FILE_BODY), mimetype="text/plain", etag=tag, last_modified=SEEDED_AT
        )

    @app.get("/own-tag")
    @etag
    def own_tag() -> Response:
        count_run()
        return file_of("v1")

    @app.get("/hashed")
    @etag
    def hashed() -> Response:
        count_run()
        whole = Response(FILE_BODY, mimetype="text/plain")
        whole.last_modified = SEEDED_AT
        return whole.make_conditional(request, accept_ranges=True, complete_length=len(FILE_BODY))

    @app.get("/versioned")
    @etag(VersionGenerator(lambda: 1))
    def versioned() -> Response:
        count_run()
        return file_of(False)

    return app


CURRENT = "{tag}"  # the route's current tag, as its 200 sends it
_ONE_RUN_CASES = [
    ("/own-tag", FIRST_TEN, {"If-None-Match": CURRENT}, 304, "§13.2.2 step 3 before Range"),
    ("/own-tag", BEYOND_THE_FILE, {"If-None-Match": CURRENT}, 304, "§13.2.2 304 before 416"),
    ("/own-tag", BEYOND_THE_FILE, {"If-Match": '"stale"'}, 412, "§13.2.2 412 before 416"),
    ("/own-tag", BEYOND_THE_FILE, {"If-None-Match": '"stale"'}, 416, "§14.2 passed: 416"),
    ("/own-tag", FIRST_TEN, {"If-Range": '"stale"'}, 200, "§13.1.5 stale If-Range"),
    ("/own-tag", BEYOND_THE_FILE, {"If-Range": '"stale"'}, 200, "§13.1.5 before 416"),
    ("/own-tag", FIRST_TEN, {"If-Range": LATER}, 200, "§13.1.5 a later date"),
    ("/own-tag", FIRST_TEN, {"If-Match": CURRENT}, 206, "§13.1.1 passed: 206"),
    ("/hashed", FIRST_TEN, {"If-None-Match": '"stale"'}, 206, "§15.3.7 the whole's tag"),
    ("/hashed", FIRST_TEN, {"If-Range": CURRENT}, 206, "§13.1.5 the whole's tag: 206"),
    ("/hashed", FIRST_TEN, {"If-Range": '"stale"'}, 200, "§13.1.5 hashed, stale If-Range"),
    ("/hashed", BEYOND_THE_FILE, {"If-Unmodified-Since": EARLIER}, 412, "§13.2.2 step 2"),
    ("/hashed", BEYOND_THE_FILE, {"If-Modified-Since": LAST_MODIFIED}, 304, "§13.2.2 step 4"),
    ("/versioned", BEYOND_THE_FILE, {"If-Modified-Since": LAST_MODIFIED}, 304, "§13.1.3 date"),
    ("/versioned", BEYOND_THE_FILE, {"If-Unmodified-Since": EARLIER}, 412, "§13.1.4 date"),
    ("/versioned", BEYOND_THE_FILE, {"If-Modified-Since": EARLIER}, 416, "§14.2 dates pass"),
    ("/versioned", FIRST_TEN, {"If-Modified-Since": EARLIER}, 206, "§14.2 dates pass: 206"),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    ("url", "asked", "conditions", "expected"),
    [pytest.param(*case[:4], id=f"{case[0]} {case[4]}") for case in _ONE_RUN_CASES],
)
def test_rfc9110_13_2_2_a_range_beside_preconditions_runs_the_view_once(
    method: str, url: str, asked: str, conditions: dict[str, str], expected: int
) -> None:
    """§13.2.2 judges preconditions and If-Range (§13.1.5) before Range (step 5), by the
    whole representation's validators (§15.3.7).

    The view ran a second time, without the range, wherever its part or its 416 had to wait
    for that judgement: its queries, side effects and ``after_this_request`` functions twice.
    Now the range is held back, the view sends the whole once, and the part is cut from it.
    """
    runs: list[str] = []
    client = _app_counting_view_runs(runs).test_client()
    tag = client.get(url).headers["ETag"]
    runs.clear()
    headers = {name: value.format(tag=tag) for name, value in conditions.items()}
    response = client.open(url, method=method, headers={"Range": asked, **headers})
    response.close()
    assert response.status_code == expected
    assert runs == ["view", "after"]
    if expected in (200, 206, 304):
        assert response.headers["ETag"] == tag
    if expected == 206:
        assert response.headers["Content-Range"] == f"bytes 0-9/{len(FILE_BODY)}"
        assert response.data == (FILE_BODY[:10] if method == "GET" else b"")
