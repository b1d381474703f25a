"""Conditional reads over HTTP (issue 2 rules 1, 2, 6, 7, 8, 10 for GET and HEAD).

Every test runs for function, MethodView and async views (the ``client`` fixture).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import FILE_BODY, SEEDED_AT
from flask import Flask, Response, request, send_file
from flask.testing import FlaskClient
from werkzeug.http import http_date
from werkzeug.test import TestResponse

from flask_etag import ETag, HashGenerator, TimestampGenerator, etag, etag_written
from flask_etag.generators import body_digest_function

#: The tables run in an app with an ``after_request`` hook and in one without (conftest).
WITH_AND_WITHOUT_APP_HOOK = True

if TYPE_CHECKING:
    from conftest import MakeApp, Store

#: Routes that tag GET responses, one per kind of generator (see conftest).
TAGGED_READS = [
    pytest.param("/items/1", id="version"),
    pytest.param("/weak/1", id="weak version"),
    pytest.param("/stamped/1", id="timestamp"),
    pytest.param("/hashed/1", id="body hash"),
]

#: If-None-Match values built from the current tag; {tag} is the ETag, {opaque} its quoted part.
MATCHING_IF_NONE_MATCH = [
    pytest.param("{tag}", id="§13.1.2 same tag"),
    pytest.param("W/{opaque}", id="§8.8.3.2 weak comparison W/ prefix"),
    pytest.param('"other", {tag}', id="§13.1.2 list member"),
    pytest.param(' ,, "other" ,\t{tag} , ', id="§5.6.1 odd whitespace and empty elements"),
    pytest.param("*", id="§13.1.2 star"),
]

NON_MATCHING_IF_NONE_MATCH = [
    pytest.param('"other"', id="§13.1.2 other tag"),
    pytest.param('"a", W/"b"', id="§13.1.2 list without the tag"),
    pytest.param("garbage", id="§13.1.2 garbage"),
    pytest.param("", id="§13.1.2 empty"),
]

#: The seeded Last-Modified of the store's items (conftest.SEEDED_AT) in the three formats.
SEEDED_DATES = [
    pytest.param("Mon, 06 May 2024 07:08:09 GMT", id="§5.6.7 IMF-fixdate"),
    pytest.param("Monday, 06-May-24 07:08:09 GMT", id="§5.6.7 rfc850-date"),
    pytest.param("Mon May  6 07:08:09 2024", id="§5.6.7 asctime-date"),
]
ONE_SECOND_BEFORE = "Mon, 06 May 2024 07:08:08 GMT"
INVALID_DATES = [
    pytest.param("yesterday", id="word"),
    pytest.param("2024-05-06T07:08:09Z", id="ISO 8601"),
    pytest.param("Mon, 06 May 2024 07:08:09 GMT, Mon, 06 May 2024 07:08:09 GMT", id="two dates"),
]

#: RFC 9110 §15.4.5: fields a 304 must carry when the 200 would.  Last-Modified is not
#: among them: werkzeug drops it from every 304 it sends, as §15.4.5 allows where the 304
#: carries an ETag, which every 304 of a tagged route does.
KEPT_ON_304 = ("ETag", "Cache-Control", "Content-Location", "Expires", "Vary")
#: Representation metadata a 304 must not carry.
DROPPED_ON_304 = ("Content-Type", "Content-Length", "Content-Language", "Content-Range")


def tag_of(client: FlaskClient, url: str) -> str:
    """The ETag a plain GET of ``url`` answers with."""
    response = client.get(url)
    assert response.status_code == 200
    return response.headers["ETag"]


def render(template: str, tag: str) -> str:
    """Fill an If-None-Match template with the current tag."""
    return template.format(tag=tag, opaque=tag.removeprefix("W/"))


# ---------------------------------------------------------------- rule 1: only on 2xx


@pytest.mark.parametrize("code", [302, 404, 500, 503])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"If-None-Match": "*"}, id="If-None-Match *"),
        pytest.param({"If-Match": '"nope"'}, id="If-Match failing"),
        pytest.param({"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}, id="IMS future"),
        pytest.param({"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, id="IUS epoch"),
    ],
)
def test_non_2xx_is_never_made_304_or_412(
    client: FlaskClient, code: int, headers: dict[str, str]
) -> None:
    """§13.2.1: preconditions apply only where the answer would be 2xx; errors stay untagged."""
    response = client.get(f"/status/{code}", headers=headers)
    assert response.status_code == code
    assert "ETag" not in response.headers


@pytest.mark.parametrize("code", [302, 404, 500, 503])
def test_non_2xx_from_version_route_is_untagged(client: FlaskClient, code: int) -> None:
    """§13.2.1: a version route whose view fails sends no tag (nothing was represented)."""
    response = client.get(f"/status-versioned/{code}", headers={"If-None-Match": '"other"'})
    assert response.status_code == code
    assert "ETag" not in response.headers


@pytest.mark.parametrize("url", ["/items/99", "/stamped/99", "/hashed/99"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"If-Match": "*"}, id="§13.1.1 If-Match star"),
        pytest.param({"If-None-Match": "*"}, id="§13.1.2 If-None-Match star"),
        pytest.param({"If-Modified-Since": ONE_SECOND_BEFORE}, id="§13.1.3 IMS"),
    ],
)
def test_missing_resource_answers_404_to_reads(
    client: FlaskClient, url: str, headers: dict[str, str]
) -> None:
    """§13.2.1: a GET of a missing resource is a 404 from the view, never 304/412."""
    response = client.get(url, headers=headers)
    assert response.status_code == 404
    assert "ETag" not in response.headers


# ---------------------------------------------------------------- rule 2: If-None-Match


@pytest.mark.parametrize("url", TAGGED_READS)
@pytest.mark.parametrize("template", MATCHING_IF_NONE_MATCH)
def test_matching_if_none_match_answers_304(
    client: FlaskClient, safe_method: str, url: str, template: str
) -> None:
    tag = tag_of(client, url)
    response = client.open(
        url, method=safe_method, headers={"If-None-Match": render(template, tag)}
    )
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize("url", TAGGED_READS)
@pytest.mark.parametrize("value", NON_MATCHING_IF_NONE_MATCH)
def test_non_matching_if_none_match_answers_200(client: FlaskClient, url: str, value: str) -> None:
    tag = tag_of(client, url)
    response = client.get(url, headers={"If-None-Match": value})
    assert response.status_code == 200
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize("url", TAGGED_READS)
def test_if_none_match_on_several_field_lines(client: FlaskClient, url: str) -> None:
    """§5.3: several If-None-Match lines are one comma-separated list."""
    tag = tag_of(client, url)
    lines = [("If-None-Match", '"a", "b"'), ("If-None-Match", tag)]
    assert client.get(url, headers=lines).status_code == 304
    stale = [("If-None-Match", '"a"'), ("If-None-Match", '"b"')]
    assert client.get(url, headers=stale).status_code == 200


def test_if_none_match_answers_304_without_running_a_version_view(
    client: FlaskClient, store: Store
) -> None:
    """A version lookup decides the 304 before the view: the view never runs."""
    tag = tag_of(client, "/items/1")
    before = store.view_calls()
    for _ in range(3):
        assert client.get("/items/1", headers={"If-None-Match": tag}).status_code == 304
    assert store.view_calls() == before


def test_changed_version_answers_200_with_the_new_tag(client: FlaskClient, store: Store) -> None:
    """§13.1.2: once the resource changes, the old tag no longer matches."""
    old = tag_of(client, "/items/1")
    store.items[1].version = 7
    response = client.get("/items/1", headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"7"'


# ---------------------------------------------------------------- rule 3: If-Match on GET


@pytest.mark.parametrize("url", TAGGED_READS)
def test_if_match_applies_to_reads(client: FlaskClient, safe_method: str, url: str) -> None:
    """§13.1.1: If-Match is evaluated for GET too; weak tags fail strong comparison."""
    tag = tag_of(client, url)
    assert client.open(url, method=safe_method, headers={"If-Match": '"other"'}).status_code == 412
    assert client.open(url, method=safe_method, headers={"If-Match": "*"}).status_code == 200
    expected = 412 if tag.startswith("W/") else 200
    assert client.open(url, method=safe_method, headers={"If-Match": tag}).status_code == expected


# ---------------------------------------------------------------- rule 6: dates


@pytest.mark.parametrize("value", SEEDED_DATES)
def test_if_modified_since_answers_304(client: FlaskClient, safe_method: str, value: str) -> None:
    """§13.1.3: not modified since the given date (any of the three formats) answers 304."""
    full = client.open("/stamped/1", method=safe_method)
    response = client.open("/stamped/1", method=safe_method, headers={"If-Modified-Since": value})
    assert full.headers["Last-Modified"] == "Mon, 06 May 2024 07:08:09 GMT"
    assert_is_304_of(response, full)


def test_if_modified_since_before_last_modified_answers_200(client: FlaskClient) -> None:
    response = client.get("/stamped/1", headers={"If-Modified-Since": ONE_SECOND_BEFORE})
    assert response.status_code == 200


@pytest.mark.parametrize("value", INVALID_DATES)
def test_invalid_if_modified_since_is_ignored(client: FlaskClient, value: str) -> None:
    """§13.1.3: an invalid date is ignored, never an error."""
    response = client.get("/stamped/1", headers={"If-Modified-Since": value})
    assert response.status_code == 200


def test_if_modified_since_ignored_when_if_none_match_present(client: FlaskClient) -> None:
    """§13.1.3: If-None-Match takes precedence; IMS alone would have answered 304."""
    headers = {"If-None-Match": '"other"', "If-Modified-Since": "Mon, 06 May 2024 07:08:09 GMT"}
    assert client.get("/stamped/1", headers=headers).status_code == 200


@pytest.mark.parametrize("value", SEEDED_DATES)
def test_if_unmodified_since_applies_to_reads(client: FlaskClient, value: str) -> None:
    """§13.1.4: a date before Last-Modified fails; the same date passes."""
    assert client.get("/stamped/1", headers={"If-Unmodified-Since": value}).status_code == 200
    before = {"If-Unmodified-Since": ONE_SECOND_BEFORE}
    assert client.get("/stamped/1", headers=before).status_code == 412


def test_last_modified_has_one_second_resolution(client: FlaskClient, store: Store) -> None:
    """§8.8.2: a change within the second of the IMS date still answers 304 (dates are whole
    seconds), while the tag keeps the full precision and changes."""
    old_tag = tag_of(client, "/stamped/1")
    item = store.items[1]
    item.modified = item.modified + timedelta(microseconds=500_000)
    seeded = "Mon, 06 May 2024 07:08:09 GMT"
    assert client.get("/stamped/1").headers["Last-Modified"] == seeded
    response = client.get("/stamped/1", headers={"If-Modified-Since": seeded})
    assert response.status_code == 304
    assert response.headers["ETag"] != old_tag


def test_last_modified_never_later_than_now(client: FlaskClient, store: Store) -> None:
    """§8.8.2.1: a modification time in the future is never sent.  It would be replaced by
    the current time, a second still running, which §8.8.2.2 cannot trust: no date is sent,
    and an If-Modified-Since of this second decides nothing (the tag still revalidates)."""
    store.items[1].modified = datetime.now(timezone.utc) + timedelta(days=2)
    response = client.get("/stamped/1")
    assert response.status_code == 200 and "Last-Modified" not in response.headers
    now = http_date(datetime.now(timezone.utc))
    assert client.get("/stamped/1", headers={"If-Modified-Since": now}).status_code == 200
    revalidated = client.get("/stamped/1", headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304


def test_rfc9110_8_8_2_2_a_change_later_in_the_same_second_is_not_hidden_by_a_304(
    client: FlaskClient, store: Store
) -> None:
    """A date names a whole second.  A state read in the second still running got that
    second as its Last-Modified, and a change later in the same second was answered 304 to
    an If-Modified-Since holding it: the client kept the old body.  Such a second is not
    sent, nor does it decide a 304 by itself."""
    item = store.items[1]
    for _ in range(5):  # the three steps must fall within one second of the clock
        started = datetime.now(timezone.utc)
        item.modified = started
        first = client.get("/stamped/1")
        item.modified = started + timedelta(microseconds=1)
        again = client.get("/stamped/1", headers={"If-Modified-Since": http_date(started)})
        if datetime.now(timezone.utc).replace(microsecond=0) == started.replace(microsecond=0):
            assert "Last-Modified" not in first.headers
            assert again.status_code == 200
            return
    pytest.fail("five tries, and no three requests fell within one second")


#: Where a view's own Last-Modified comes from a file's mtime: a body-hash route keeping
#: send_file's tag, and a version route whose send_file sets no tag.
VIEW_DATED_FILES = [
    pytest.param("/files/data.txt", id="body hash, send_file's tag"),
    pytest.param("/items/1/file", id="version tag, send_file's date"),
]


def _rewrite(path: Path, body: bytes, moment: float) -> None:
    path.write_bytes(body)
    os.utime(path, (moment, moment))


@pytest.mark.parametrize("url", VIEW_DATED_FILES)
def test_rfc9110_8_8_2_2_a_file_modified_this_second_sends_no_date_and_gets_no_304(
    client: FlaskClient, files_dir: Path, url: str
) -> None:
    """send_file's Last-Modified is the file's mtime.  Sent while its second ran, a client
    holding it was answered 304 after a second change in that second, and kept the old
    body; If-Range with that date got a 206 that could splice the two files.  A view's
    date follows the rule of a looked-up one: not sent in its second, deciding nothing."""
    path = files_dir / "data.txt"
    for _ in range(5):  # the steps must fall within one second of the clock
        started = time.time()
        _rewrite(path, b"a" * len(FILE_BODY), started)
        with client.get(url) as first:
            sent = first.headers.get("Last-Modified")
        _rewrite(path, b"b" * len(FILE_BODY), started)
        date = http_date(int(started))
        with client.get(url, headers={"If-Modified-Since": date}) as again:
            status, body = again.status_code, again.get_data()
        ranged = {"Range": "bytes=0-9", "If-Range": date}
        with client.get(url, headers=ranged) as partial:
            partial_status = partial.status_code
        if int(time.time()) == int(started):
            assert (status, body) == (200, b"b" * len(FILE_BODY))
            assert partial_status == 200
            assert sent is None
            return
    pytest.fail("five tries, and no requests fell within one second")


@pytest.mark.parametrize("url", VIEW_DATED_FILES)
def test_rfc9110_8_8_2_1_a_file_modified_in_the_future_sends_no_date(
    client: FlaskClient, files_dir: Path, url: str
) -> None:
    """A file whose mtime is ahead of the clock (an archive from a host ahead of this one):
    its date was sent, and once the file was replaced its If-Modified-Since got a 304."""
    path = files_dir / "data.txt"
    _rewrite(path, FILE_BODY, time.time() + 86_400)
    with client.get(url) as response:
        assert response.status_code == 200
        assert "Last-Modified" not in response.headers


def test_rfc9110_8_8_2_2_a_file_date_is_judged_when_send_file_read_it(tmp_path: Path) -> None:
    """A view that ran past the end of the second its file's mtime fell in: that second
    was judged over when the response was tagged, and sent.  A file replaced later in it
    (an atomic rename, while send_file still held the old one open) then got a 304 to
    If-Modified-Since of that second, and the client kept the old bytes."""
    path = tmp_path / "page.txt"
    app = Flask(__name__)
    app.config["TESTING"] = True
    ETag(app)

    read_at: list[float] = []

    @app.get("/page")
    @etag
    def page() -> Response:
        read_at.append(time.time())
        served = send_file(path, conditional=True)
        fresh = tmp_path / "fresh.txt"
        _rewrite(fresh, b"new", os.stat(path).st_mtime)  # same second, new bytes
        os.replace(fresh, path)
        time.sleep(1 - time.time() % 1 + 0.01)  # the view outlives that second
        return served

    client = app.test_client()
    for _ in range(5):
        started = time.time()
        _rewrite(path, b"old", started)
        with client.get("/page") as first:
            body, sent = first.get_data(), first.headers.get("Last-Modified")
        # The case in question: send_file read the date within its second (a loaded
        # machine may start the view after it, when the date is rightly sent).
        read_in_its_second = int(read_at[-1]) == int(started)
        if body == b"old" and int(os.stat(path).st_mtime) == int(started) and read_in_its_second:
            assert sent is None
            return
    pytest.fail("five tries, and the file was never replaced within its second")


def test_rfc9110_8_8_2_2_auto_mode_judges_a_view_date_of_this_second_as_modified() -> None:
    """Auto mode judged a view's own Last-Modified of the second still running as a date
    whose second was over: sent, and a change later in it was answered 304."""
    app = Flask(__name__)
    app.config.update(TESTING=True, ETAG_AUTO=True)
    ETag(app)
    state = {"body": "one", "modified": time.time()}

    @app.get("/dated")
    def dated() -> Response:
        response = Response(state["body"])
        response.last_modified = state["modified"]
        return response

    client = app.test_client()
    for _ in range(5):
        started = time.time()
        state.update(body="one", modified=started)
        first = client.get("/dated")
        state["body"] = "two"
        date = http_date(int(started))
        again = client.get("/dated", headers={"If-Modified-Since": date})
        if int(time.time()) == int(started):
            assert (again.status_code, again.data) == (200, b"two")
            assert "Last-Modified" not in first.headers
            return
    pytest.fail("five tries, and no requests fell within one second")


def test_naive_timestamps_are_utc(client: FlaskClient, store: Store) -> None:
    store.items[1].modified = datetime(2024, 1, 2, 3, 4, 5)
    response = client.get("/stamped/1")
    assert response.headers["Last-Modified"] == "Tue, 02 Jan 2024 03:04:05 GMT"


# ---------------------------------------------------------------- rule 7: the 304 itself


def assert_is_304_of(not_modified: TestResponse, full: TestResponse) -> None:
    """§15.4.5: same ETag and caching fields as the 200, no body, no representation metadata."""
    assert not_modified.status_code == 304
    assert not_modified.data == b""
    for name in KEPT_ON_304:
        assert not_modified.headers.get(name) == full.headers.get(name), name
    for name in DROPPED_ON_304:
        assert name not in not_modified.headers, name


def test_304_of_a_hash_route_keeps_the_headers_the_view_set(
    client: FlaskClient, safe_method: str
) -> None:
    """§15.4.5: Content-Location, Expires, Cache-Control and Vary set by the view survive."""
    full = client.open("/hashed/1", method=safe_method)
    assert {"Content-Location", "Expires", "Vary", "Cache-Control"} <= set(full.headers.keys())
    not_modified = client.open(
        "/hashed/1", method=safe_method, headers={"If-None-Match": full.headers["ETag"]}
    )
    assert_is_304_of(not_modified, full)


@pytest.mark.parametrize("vary_hook", [True], ids=["app-hook"], indirect=True)
def test_304_of_a_version_route_keeps_after_request_vary(
    client: FlaskClient, safe_method: str
) -> None:
    """§15.4.5: Vary from an after_request hook and the route's Cache-Control are on the 304."""
    full = client.open("/items/1", method=safe_method)
    assert full.headers["Vary"] == "Accept"
    assert full.headers["Cache-Control"] == "no-cache"
    not_modified = client.open(
        "/items/1", method=safe_method, headers={"If-None-Match": full.headers["ETag"]}
    )
    assert_is_304_of(not_modified, full)


@pytest.mark.parametrize(
    "conditional",
    [
        pytest.param("If-None-Match", id="§13.1.2 If-None-Match"),
        pytest.param("If-Modified-Since", id="§13.1.3 If-Modified-Since"),
    ],
)
def test_304_of_a_timestamp_route_carries_the_etag_rfc9110_15_4_5(
    client: FlaskClient, conditional: str
) -> None:
    """A 304 carries the 200's ETag, by which a cache updates what it holds; werkzeug drops
    Last-Modified from it, which §15.4.5 allows beside an ETag."""
    full = client.get("/stamped/1")
    validator = full.headers["ETag" if conditional == "If-None-Match" else "Last-Modified"]
    not_modified = client.get("/stamped/1", headers={conditional: validator})
    assert_is_304_of(not_modified, full)
    assert not_modified.headers["ETag"] == full.headers["ETag"]
    assert "Last-Modified" not in not_modified.headers


# ---------------------------------------------------------------- rule 8: HEAD, own tags, streams


@pytest.mark.parametrize("url", TAGGED_READS)
def test_head_is_get_without_a_body(client: FlaskClient, url: str) -> None:
    """§9.3.2: HEAD answers the same status and validators as GET, without content."""
    get, head = client.get(url), client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.data == b""
    for name in ("ETag", "Last-Modified", "Cache-Control", "Content-Type"):
        assert head.headers.get(name) == get.headers.get(name), name


def test_etag_set_by_the_view_is_kept(client: FlaskClient) -> None:
    """§8.8.3: send_file's own ETag is kept (not replaced by a body hash) and is used."""
    with client.get("/files/data.txt") as response:
        own_tag = response.headers["ETag"]
        body = response.get_data()
    body_hash = '"' + body_digest_function("blake3")(body) + '"'
    assert own_tag != body_hash
    with client.get("/files/data.txt", headers={"If-None-Match": own_tag}) as response:
        assert response.status_code == 304
        assert response.headers["ETag"] == own_tag
    with client.get("/files/data.txt", headers={"If-None-Match": body_hash}) as response:
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("*", 200, id="§13.1.1 If-Match star passes"),
        pytest.param("{tag}", 200, id="§13.1.1 If-Match own tag passes"),
        pytest.param("W/{tag}", 412, id="§8.8.3.2 If-Match weak tag fails"),
        pytest.param('"other"', 412, id="§13.1.1 If-Match other tag fails"),
    ],
)
def test_if_match_on_a_view_tagged_file(client: FlaskClient, header: str, expected: int) -> None:
    """§13.1.1 on a send_file route: flask_etag decides, not werkzeug's make_conditional
    (which answers 412 to ``If-Match: *`` and compares weakly)."""
    with client.get("/files/data.txt") as response:
        own_tag = response.headers["ETag"]
    with client.get(
        "/files/data.txt", headers={"If-Match": header.format(tag=own_tag)}
    ) as response:
        assert response.status_code == expected
        if expected == 412:
            assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, 200, id="§13.2.1 unconditional"),
        pytest.param({"If-None-Match": '"x"'}, 200, id="§13.1.2 no tag to match"),
        pytest.param({"If-None-Match": "*"}, 304, id="§13.1.2 * matches: it exists"),
        pytest.param({"If-Match": "*"}, 200, id="§13.1.1 * passes: it exists"),
        pytest.param({"If-Match": '"x"'}, 412, id="§13.1.1 a listed tag never matches"),
    ],
)
def test_streamed_response_stays_untagged_but_exists(
    client: FlaskClient, headers: dict[str, str], expected: int
) -> None:
    """A streamed body is never buffered to be hashed, so it has no tag; but it exists."""
    response = client.get("/stream", headers=headers)
    assert response.status_code == expected
    assert "ETag" not in response.headers
    if expected != 412:
        assert response.data == (b"one two three" if expected == 200 else b"")


# ---------------------------------------------------------------- rule 10: determinism, safety


@pytest.mark.parametrize("url", TAGGED_READS)
def test_tags_are_the_same_in_another_app_instance(
    make_app: MakeApp, view_style: str, url: str
) -> None:
    """Same content or version gives the same tag in another process/host (no random salt)."""
    first = make_app(view_style).test_client().get(url)
    second = make_app(view_style).test_client().get(url)
    assert first.headers["ETag"] == second.headers["ETag"]


#: RFC 9110 §8.8.3 entity-tag syntax, without obs-text.
VALID_ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')


@pytest.mark.parametrize(
    "version",
    [
        pytest.param('7"; W/"8', id="quotes"),
        pytest.param("7\r\nSet-Cookie: session=stolen", id="CR LF injection"),
        pytest.param("versión-7 ✓", id="non-ASCII"),
        pytest.param("v" * 1000, id="very long"),
    ],
)
def test_awkward_versions_give_safe_usable_tags(
    client: FlaskClient, store: Store, version: str
) -> None:
    """§8.8.3: the ETag is one valid entity-tag, no header is injected, and it revalidates."""
    store.items[1].version = version
    response = client.get("/items/1")
    tag = response.headers["ETag"]
    assert VALID_ENTITY_TAG.fullmatch(tag)
    assert "Set-Cookie" not in response.headers
    assert len(response.headers.getlist("ETag")) == 1
    assert client.get("/items/1", headers={"If-None-Match": tag}).status_code == 304


MALFORMED = [
    pytest.param('"unterminated', id="unterminated quote"),
    pytest.param("W/", id="bare W/"),
    pytest.param('W/"a", W/', id="dangling W/"),
    pytest.param(",,,", id="only commas"),
    pytest.param("*, *", id="double star"),
    pytest.param('"a""b"', id="adjacent tags"),
    pytest.param("\x7f\x01", id="control characters"),
    pytest.param("é" * 50, id="non-ASCII"),
    pytest.param("Mon, 32 Foo 2024 99:99:99 GMT", id="impossible date"),
    pytest.param("Sun, 06 Nov 1994 08:49:37 GMT" * 20, id="date repeated"),
    pytest.param("x" * 8000, id="8000 characters"),
    pytest.param("bytes=0-", id="range syntax"),
]


def expected_for_malformed(header: str, url: str) -> int:
    """The exact answer to a malformed conditional field (sent with ``Range: bytes=0-4``).

    - §13.1.1: an If-Match that is not ``*`` or a list of entity-tags matches nothing, so it
      fails: 412 (flask_etag's deliberate fail-safe reading for a field that guards writes);
    - §13.1.2: a malformed If-None-Match lists no current tag: it does not match;
    - §13.1.3, §13.1.4: an invalid date MUST be ignored;
    - §13.1.5: an If-Range that is neither a valid entity-tag nor a date never matches, so the
      Range is ignored and the whole representation is sent;
    - §13.2.1: none of it applies to a 404; only ``send_file`` serves the Range (§14.2).
    """
    if url == "/status/404":
        return 404
    if header == "If-Match":
        return 412
    if header == "If-Range":
        return 200
    return 206 if url == "/files/data.txt" else 200


@pytest.mark.parametrize(
    "header", ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"]
)
@pytest.mark.parametrize("url", [*TAGGED_READS, "/files/data.txt", "/status/404"])
def test_malformed_conditional_headers_get_their_exact_answer(
    client: FlaskClient, header: str, url: str
) -> None:
    """Issue rule 10: any header text gets the answer RFC 9110 gives it, never a 5xx."""
    expected = expected_for_malformed(header, url)
    for value in MALFORMED:
        headers = {header: value.values[0], "Range": "bytes=0-4"}
        with client.get(url, headers=headers) as response:
            assert response.status_code == expected, value.id


def test_http_date_helper_roundtrip() -> None:
    """Sanity check of the date constant the tests above rely on."""
    assert (
        http_date(datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)) == SEEDED_DATES[0].values[0]
    )


def test_rfc9110_8_8_2_2_a_second_is_judged_over_when_the_state_was_read() -> None:
    """A date names a whole second.  The state a read looked up in a second still running
    was tagged with that second once a slow view let the second end: a change made later
    in it, while the view ran, was then answered 304 to an If-Modified-Since holding the
    date, and the client kept the old body."""
    app = Flask(__name__)
    ETag(app)
    state = {"modified": datetime.now(timezone.utc), "name": "old"}

    @app.get("/note")
    @etag(TimestampGenerator(lambda: state["modified"]))
    def note() -> str:
        name = state["name"]  # the body is read in the second the lookup ran in ...
        state.update(modified=datetime.now(timezone.utc), name="new")  # ... a write lands
        ended = state["modified"].replace(microsecond=0) + timedelta(seconds=1)
        time.sleep((ended - datetime.now(timezone.utc)).total_seconds() + 0.01)
        return name  # ... and the view answers once that second is over

    client = app.test_client()
    started = datetime.now(timezone.utc)
    time.sleep(1.01 - started.microsecond / 1_000_000)  # early in a second of its own
    state["modified"] = datetime.now(timezone.utc)
    first = client.get("/note")
    assert first.get_data(as_text=True) == "old"
    assert state["modified"].replace(microsecond=0) < datetime.now(timezone.utc).replace(
        microsecond=0
    )
    sent = first.headers.get("Last-Modified")
    if sent is not None:  # a date sent must never keep the client on the old body
        again = client.get("/note", headers={"If-Modified-Since": sent})
        assert again.status_code == 200 and again.get_data(as_text=True) == "new"


@pytest.mark.parametrize(
    "state_date",
    [
        pytest.param(SEEDED_AT, id="the state's date sent"),
        pytest.param(None, id="the state's date withheld while its second runs"),
    ],
)
def test_timestamp_route_sends_the_date_it_judges_by_rfc9110_8_8_2_13_1_4(
    tmp_path: Path, state_date: datetime | None
) -> None:
    """A timestamp route judges every date by its state's timestamp, so the ``Last-Modified``
    it sends is that one, not the one its view set (``send_file``'s file mtime): a client
    that sent back the mtime it was given got 412 on an unchanged resource, and never a 304.
    """
    page = tmp_path / "page.txt"
    page.write_bytes(FILE_BODY)
    os.utime(page, (1_700_000_000, 1_700_000_000))  # 2023, earlier than the state's date
    app = Flask(__name__)
    ETag(app)

    @app.route("/page", methods=["GET", "PUT"])
    @etag(TimestampGenerator(lambda: state_date or datetime.now(timezone.utc)))
    def page_view() -> Response:
        return send_file(page, conditional=True)

    client = app.test_client()
    with client.get("/page") as first:
        sent = first.headers.get("Last-Modified")
    assert sent == (None if state_date is None else http_date(state_date))
    if sent is not None:
        with client.get("/page", headers={"If-Modified-Since": sent}) as revalidated:
            assert revalidated.status_code == 304
        with client.put("/page", headers={"If-Unmodified-Since": sent}) as written:
            assert written.status_code == 200


def own_tag_app(auto: bool, own: str, *more: str) -> Flask:
    """A page whose view sets its ``ETag`` itself, as ``headers["ETag"] = own`` (then adds a
    line for each of ``more``): decorated (with a write judged by ``current=``), or
    undecorated under ``ETAG_AUTO``."""
    app = Flask(__name__)
    app.config["ETAG_AUTO"] = auto
    ETag(app)

    def render() -> Response:
        response = app.response_class("page")
        response.headers["ETag"] = own
        for line in more:
            response.headers.add("ETag", line)
        return response

    def page() -> Response:
        return render() if request.method == "GET" else app.response_class("saved")

    view = page if auto else etag(HashGenerator(current=render))(page)
    app.add_url_rule("/page", view_func=view, methods=["GET", "PUT"])
    return app


@pytest.mark.parametrize("auto", [False, True], ids=["decorated", "ETAG_AUTO"])
@pytest.mark.parametrize(
    ("own", "sent"),
    [("abc", '"abc"'), ("W/abc", 'W/"abc"'), ('"abc"', '"abc"')],
    ids=["unquoted", "unquoted weak", "quoted"],
)
def test_rfc9110_8_8_3_a_views_unquoted_etag_is_sent_and_judged_quoted(
    auto: bool, own: str, sent: str
) -> None:
    """An entity-tag is quoted (§8.8.3): a view's ``abc`` is sent as werkzeug's ``set_etag``
    would have sent it, and the request is judged by that form, which the client sends back."""
    client = own_tag_app(auto, own).test_client()
    page = client.get("/page")
    assert page.status_code == 200 and page.headers["ETag"] == sent
    assert client.get("/page", headers={"If-None-Match": sent}).status_code == 304
    assert client.get("/page", headers={"If-Match": '"other"'}).status_code == 412
    if own != sent:  # the bare text is no entity-tag, so it names none (§13.1.2)
        assert client.get("/page", headers={"If-None-Match": own}).status_code == 200


def test_rfc9110_8_8_3_a_views_malformed_etag_is_sent_as_a_tag_never_a_5xx() -> None:
    """A view's tag that cannot be quoted as it is (a quote, a space) is hashed, as a version
    is: a tag the client can send back, and the write's 412 names the very tag the GET sent."""
    client = own_tag_app(False, 'a "b').test_client()
    page = client.get("/page")
    sent = page.headers["ETag"]
    assert page.status_code == 200 and re.fullmatch(r'"[0-9a-f]{32}"', sent)
    assert client.get("/page", headers={"If-None-Match": sent}).status_code == 304
    stale = client.put("/page", headers={"If-Match": '"old"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == sent
    assert client.put("/page", headers={"If-Match": sent}).status_code == 200


@pytest.mark.parametrize("auto", [False, True], ids=["decorated", "ETAG_AUTO"])
@pytest.mark.parametrize(
    "lines",
    [("abc", '"def"'), ('"abc"', "def"), ('"abc"', '"def"')],
    ids=["unquoted first", "unquoted second", "both quoted"],
)
def test_rfc9110_5_3_8_8_3_a_views_several_etag_lines_go_out_as_its_first_quoted(
    auto: bool, lines: tuple[str, str]
) -> None:
    """``ETag`` is no list field, so a sender never sends it twice (§5.3); a view that added
    a second line (``headers.add`` after ``send_file`` set one) had both sent, an unquoted
    one among them (§8.8.3), and a decorated GET was judged by its last line while the
    write's ``current=`` and every other stage read the first.  The first goes out alone,
    quoted, and every request is judged by it."""
    client = own_tag_app(auto, *lines).test_client()
    page = client.get("/page")
    assert page.status_code == 200 and page.headers.getlist("ETag") == ['"abc"']
    assert client.get("/page", headers={"If-None-Match": '"abc"'}).status_code == 304
    assert client.get("/page", headers={"If-None-Match": '"def"'}).status_code == 200
    if not auto:  # the write is judged by the tag the GET sent
        assert client.put("/page", headers={"If-Match": '"abc"'}).status_code == 200


@pytest.mark.parametrize(
    ("own", "sent"), [("v2", '"v2"'), ("W/v2", 'W/"v2"')], ids=["strong", "weak"]
)
def test_rfc9110_8_8_3_a_writes_own_unquoted_etag_is_sent_quoted(own: str, sent: str) -> None:
    """A write's answer that is no representation of the target (``{"saved": true}``) is
    not tagged by its body, but the view may send the new state's tag itself, for the
    client's next ``If-Match``: a view's ``v2`` went out as it was, no entity-tag
    (§8.8.3), and the ``etag_written`` signal carried it so, while the GET's own ``v2``
    went out as ``"v2"``."""
    app = Flask(__name__)
    ETag(app)
    written: list[str | None] = []
    etag_written.connect(lambda sender, **sent: written.append(sent["etag"]), app, weak=False)

    def render() -> Response:
        return app.response_class("page", headers={"ETag": "v1"})

    @app.route("/page", methods=["GET", "PUT"])
    @etag(HashGenerator(current=render))
    def page() -> Response:
        if request.method == "GET":
            return render()
        return app.response_class("saved", headers={"ETag": own})

    client = app.test_client()
    saved = client.put("/page", headers={"If-Match": client.get("/page").headers["ETag"]})
    assert saved.status_code == 200 and saved.headers.getlist("ETag") == [sent]
    assert written == [sent]


#: How far behind the reference clock (this process's) the second host's clock is.
_BEHIND = timedelta(seconds=0.8)


def _two_host_app(files_dir: Path) -> tuple[Flask, dict[str, datetime]]:
    """A note dated by its writer's clock, and a file dated by its mtime, on an app whose
    hosts' clocks may be a second apart (``ETAG_CLOCK_SKEW``)."""
    app = Flask(__name__)
    app.config.update(TESTING=True, ETAG_CLOCK_SKEW=1.0)
    ETag(app)
    note = {"at": datetime.now(timezone.utc)}

    @app.get("/note")
    @etag(TimestampGenerator(lambda: note["at"]))
    def read_note() -> dict[str, str]:
        return {"at": note["at"].isoformat()}

    @app.get("/file")
    @etag
    def read_file() -> Response:
        return send_file(files_dir / "data.txt", mimetype="text/plain")

    return app, note


def _write(files_dir: Path, note: dict[str, datetime], body: bytes, at: datetime) -> None:
    """A change as a host stamps it: the note's date, the file's mtime, by its clock."""
    note["at"] = at
    _rewrite(files_dir / "data.txt", body, at.timestamp())


@pytest.mark.parametrize("url", ["/note", "/file"], ids=["timestamp", "view's own date"])
def test_rfc9110_8_8_2_2_a_change_dated_by_a_clock_behind_is_not_hidden_by_a_304(
    files_dir: Path, url: str
) -> None:
    """Two hosts, the second's clock 0.8 s behind: it dates the change it makes after a
    client read the first's, in the second the client holds as ``Last-Modified``.  Sent as
    soon as this clock left that second, the date answered 304 to ``If-Modified-Since`` and
    the client kept the old body (§13.1.3).  With ``ETAG_CLOCK_SKEW`` a date is sent once
    every clock has left its second, so no change dated after it can fall in it."""
    app, note = _two_host_app(files_dir)
    client = app.test_client()
    _write(files_dir, note, b"first", datetime.now(timezone.utc))
    deadline = time.monotonic() + 5
    held = None
    while held is None and time.monotonic() < deadline:
        with client.get(url) as first:
            held = first.headers.get("Last-Modified")
        time.sleep(0.05)
    assert held is not None
    _write(files_dir, note, b"second", datetime.now(timezone.utc) - _BEHIND)
    with client.get(url, headers={"If-Modified-Since": held}) as after:
        assert after.status_code == 200
        assert b"second" in after.get_data() or url == "/note"
