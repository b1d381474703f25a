"""RFC 9110 §13.2.2's order of evaluation, over HTTP, on every kind of route.

Each precondition alone is tested elsewhere; these tables combine them, so that a shortcut
which decides on one field (the fast path answering 304 on a matching ``If-None-Match``)
cannot skip a field that §13.2.2 evaluates first: ``If-Match`` (step 1), else
``If-Unmodified-Since`` (step 2), then ``If-None-Match`` (step 3), else, for GET and HEAD
only, ``If-Modified-Since`` (step 4).

Every test runs for function, MethodView and async views; the current tag always comes from
a prior GET, so the tables hold templates: ``{tag}`` is the ``ETag`` as sent, ``{opaque}``
its quoted part without ``W/``, ``{bare}`` the opaque-tag without quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest
from conftest import SEEDED_AT, Decorator, Handler, MakeApp, Route, Store, register
from flask.testing import FlaskClient
from werkzeug.http import http_date
from werkzeug.wrappers import Response

from flask_etag import VersionGenerator, require_if_match

#: The tables run in an app with an ``after_request`` hook and in one without (conftest).
WITH_AND_WITHOUT_APP_HOOK = True

#: ``Last-Modified`` of the seeded items and of the served file, and one second before it.
SEEDED = http_date(SEEDED_AT)
EARLIER = http_date(SEEDED_AT - timedelta(seconds=1))
STALE = '"stale"'
OTHER = '"other"'


@dataclass(frozen=True)
class RouteKind:
    """A URL of one kind of route; ``dated`` when its 200 carries ``Last-Modified``."""

    url: str
    dated: bool
    auto: bool = False


ROUTE_KINDS = {
    "body hash": RouteKind("/hashed/1", dated=False),
    "version (require_if_match)": RouteKind("/items/1", dated=False),
    "version (optional)": RouteKind("/optional/1", dated=False),
    "timestamp": RouteKind("/stamped/1", dated=True),
    "file, send_file's own tag": RouteKind("/files/data.txt", dated=True),
    "file, version tag": RouteKind("/items/1/file", dated=True),
    "ETAG_AUTO": RouteKind("/plain", dated=False, auto=True),
    "ETAG_AUTO, send_file's own tag": RouteKind("/plain-files/data.txt", dated=True, auto=True),
}


@dataclass(frozen=True)
class Row:
    """Request fields (templates) and the status RFC 9110 fixes with and without a date."""

    clause: str
    headers: Mapping[str, str]
    dated: int
    undated: int


SAFE_ROWS = [
    Row(
        "§13.2.2 step 1 before 3: stale If-Match fails before a matching If-None-Match",
        {"If-None-Match": "{tag}", "If-Match": STALE},
        412,
        412,
    ),
    Row(
        "§13.2.2 step 1 before 3: stale If-Match, If-None-Match listing the tag",
        {"If-None-Match": OTHER + ", {tag}", "If-Match": STALE},
        412,
        412,
    ),
    Row(
        "§13.1.1 strong comparison: weak form of the current tag fails before If-None-Match",
        {"If-None-Match": "{tag}", "If-Match": "W/{opaque}"},
        412,
        412,
    ),
    Row(
        "§13.2.2 step 1 passes, step 3 matches: 304",
        {"If-None-Match": "{tag}", "If-Match": "{tag}"},
        304,
        304,
    ),
    Row(
        "§13.1.1 If-Match * passes an existing representation, step 3 matches: 304",
        {"If-None-Match": "{tag}", "If-Match": "*"},
        304,
        304,
    ),
    Row(
        "§13.2.2 step 2 before 3: earlier If-Unmodified-Since fails (§13.1.4: ignored undated)",
        {"If-None-Match": "{tag}", "If-Unmodified-Since": EARLIER},
        412,
        304,
    ),
    Row(
        "§13.2.2 step 2 before 3: earlier If-Unmodified-Since, If-None-Match listing the tag",
        {"If-None-Match": OTHER + ", {tag}", "If-Unmodified-Since": EARLIER},
        412,
        304,
    ),
    Row(
        "§13.1.4 If-Unmodified-Since equal to Last-Modified passes, step 3 matches: 304",
        {"If-None-Match": "{tag}", "If-Unmodified-Since": SEEDED},
        304,
        304,
    ),
    Row(
        "§13.2.2 step 2 skipped when If-Match is present, step 3 matches: 304",
        {"If-None-Match": "{tag}", "If-Match": "{tag}", "If-Unmodified-Since": EARLIER},
        304,
        304,
    ),
    Row(
        "§13.2.2 step 4 skipped when If-None-Match is present: matching tag, earlier IMS: 304",
        {"If-None-Match": "{tag}", "If-Modified-Since": EARLIER},
        304,
        304,
    ),
    Row(
        "§13.2.2 step 4 skipped when If-None-Match is present: other tag, equal IMS: 200",
        {"If-None-Match": OTHER, "If-Modified-Since": SEEDED},
        200,
        200,
    ),
    Row(
        "§13.1.3 If-Modified-Since equal to Last-Modified: 304 (ignored undated)",
        {"If-Modified-Since": SEEDED},
        304,
        200,
    ),
    Row(
        "§13.1.3 If-Modified-Since earlier than Last-Modified: 200",
        {"If-Modified-Since": EARLIER},
        200,
        200,
    ),
    Row(
        "§13.1.4 earlier If-Unmodified-Since alone: 412 (ignored undated)",
        {"If-Unmodified-Since": EARLIER},
        412,
        200,
    ),
    Row(
        "§13.1.1 If-Match * alone on an existing representation: 200",
        {"If-Match": "*"},
        200,
        200,
    ),
    Row(
        "§13.1.1 current If-Match alone: 200",
        {"If-Match": "{tag}"},
        200,
        200,
    ),
    Row(
        "§13.2.2 step 1 fails with a non-matching If-None-Match: 412",
        {"If-None-Match": OTHER, "If-Match": STALE},
        412,
        412,
    ),
    Row(
        "§13.1.2 weak comparison: W/ form of the current tag in If-None-Match: 304",
        {"If-None-Match": "W/{opaque}"},
        304,
        304,
    ),
    Row(
        "§8.8.3 §13.1.2 the tag plus a suffix that is no content coding is another tag: 200",
        {"If-None-Match": '"{bare}:unknown"'},
        200,
        200,
    ),
    Row(
        "§8.8.3 §13.1.1 the tag plus a suffix that is no content coding fails If-Match",
        {"If-None-Match": "{tag}", "If-Match": '"{bare}:unknown"'},
        412,
        412,
    ),
]

#: A weak current tag (``/weak/1``): If-None-Match matches it, If-Match never does.
WEAK_ROWS = [
    Row(
        "§13.1.1 weak tag never passes If-Match, even with a matching If-None-Match",
        {"If-None-Match": "{tag}", "If-Match": "{tag}"},
        412,
        412,
    ),
    Row(
        "§13.1.1 strong form of a weak current tag fails If-Match",
        {"If-None-Match": "{tag}", "If-Match": "{opaque}"},
        412,
        412,
    ),
    Row(
        "§13.1.1 If-Match * passes, §13.1.2 weak comparison matches: 304",
        {"If-None-Match": "{tag}", "If-Match": "*"},
        304,
        304,
    ),
    Row(
        "§13.1.2 weak comparison: matching If-None-Match alone: 304",
        {"If-None-Match": "{tag}"},
        304,
        304,
    ),
]


def render(headers: Mapping[str, str], tag: str) -> dict[str, str]:
    """Fill header templates with the current tag."""
    opaque = tag.removeprefix("W/")
    fields = {"tag": tag, "opaque": opaque, "bare": opaque[1:-1]}
    return {name: value.format(**fields) for name, value in headers.items()}


def tag_of(client: FlaskClient, url: str) -> str:
    """The ETag a plain GET of ``url`` answers with."""
    with client.get(url) as response:
        assert response.status_code == 200
        return response.headers["ETag"]


def safe_cases() -> list[object]:
    """Every safe row on every kind of route, with the status for that route's dates."""
    return [
        pytest.param(
            kind, row, row.dated if kind.dated else row.undated, id=f"{name}: {row.clause}"
        )
        for name, kind in ROUTE_KINDS.items()
        for row in SAFE_ROWS
    ]


def client_for(
    kind: RouteKind, client: FlaskClient, make_app: MakeApp, view_style: str
) -> FlaskClient:
    """The client of the app serving ``kind``: the default one, or one with ``ETAG_AUTO``."""
    return make_app(view_style, ETAG_AUTO=True).test_client() if kind.auto else client


def assert_answer(response: Response, method: str, expected: int, tag: str) -> None:
    """The status, and the fields and body RFC 9110 gives that status (§15.4.5, §15.5.13)."""
    assert response.status_code == expected
    if expected == 304:
        assert response.headers.get("ETag") == tag
        assert response.data == b""
    elif expected == 200:
        assert response.headers.get("ETag") == tag
        assert (response.data != b"") is (method == "GET")
    else:
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("kind", "row", "expected"), safe_cases())
def test_reads_follow_the_order_of_evaluation(
    client: FlaskClient,
    make_app: MakeApp,
    view_style: str,
    safe_method: str,
    kind: RouteKind,
    row: Row,
    expected: int,
) -> None:
    """§13.2.2: GET and HEAD with combined preconditions get the status the order fixes."""
    client = client_for(kind, client, make_app, view_style)
    tag = tag_of(client, kind.url)
    with client.open(kind.url, method=safe_method, headers=render(row.headers, tag)) as response:
        assert_answer(response, safe_method, expected, tag)


@pytest.mark.parametrize("row", [pytest.param(row, id=row.clause) for row in WEAK_ROWS])
def test_reads_of_a_weak_tag_follow_the_order_of_evaluation(
    client: FlaskClient, safe_method: str, row: Row
) -> None:
    """§13.2.2 with a weak current tag: If-Match (strong) fails where If-None-Match matches."""
    tag = tag_of(client, "/weak/1")
    assert tag.startswith("W/")
    with client.open("/weak/1", method=safe_method, headers=render(row.headers, tag)) as response:
        assert_answer(response, safe_method, row.dated, tag)


@dataclass(frozen=True)
class WriteRow:
    """A write with combined preconditions; ``{tag}`` is the current tag of ``tag_from``."""

    clause: str
    method: str
    url: str
    headers: Mapping[str, str]
    expected: int
    tag_from: str = ""


WRITE_ROWS = [
    WriteRow(
        "§13.2.2 step 3 on a write: matching If-None-Match fails although If-Match passes",
        "PUT",
        "/optional/1",
        {"If-Match": "{tag}", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 step 3 on a write: If-Match * passes, matching If-None-Match fails",
        "PATCH",
        "/optional/1",
        {"If-Match": "*", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 steps 1 and 3 pass: current If-Match, other If-None-Match",
        "PUT",
        "/optional/1",
        {"If-Match": "{tag}", "If-None-Match": OTHER},
        200,
    ),
    WriteRow(
        "§13.2.2 step 1 fails first: stale If-Match, other If-None-Match",
        "PUT",
        "/optional/1",
        {"If-Match": STALE, "If-None-Match": OTHER},
        412,
    ),
    WriteRow(
        "§13.1.1 strong comparison: W/ form of the current tag fails a write",
        "PUT",
        "/optional/1",
        {"If-Match": "W/{opaque}"},
        412,
    ),
    WriteRow(
        "§13.1.1 §8.8.3 an unquoted tag is not an entity-tag: the write fails",
        "PUT",
        "/optional/1",
        {"If-Match": "{bare}"},
        412,
    ),
    WriteRow(
        "§13.1.1 If-Match * on a missing resource fails: nothing created",
        "PUT",
        "/optional/99",
        {"If-Match": "*"},
        412,
        tag_from="/optional/1",
    ),
    WriteRow(
        "§13.2.2 step 3 on a write: DELETE with current If-Match and matching If-None-Match",
        "DELETE",
        "/optional/1",
        {"If-Match": "{tag}", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 steps 1 and 3 pass: DELETE with current If-Match, other If-None-Match",
        "DELETE",
        "/optional/1",
        {"If-Match": "{tag}", "If-None-Match": OTHER},
        204,
    ),
    WriteRow(
        "§13.2.2 step 3 on a write (require_if_match): If-Match passes, If-None-Match fails",
        "PUT",
        "/items/1",
        {"If-Match": "{tag}", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "RFC 6585 §3 with §13.1.2: If-None-Match * asks for a guard, creates a missing item",
        "PUT",
        "/items/99",
        {"If-None-Match": "*"},
        201,
        tag_from="/items/1",
    ),
    WriteRow(
        "§13.1.2 If-None-Match * on an existing item fails the write",
        "PUT",
        "/items/1",
        {"If-None-Match": "*"},
        412,
    ),
    WriteRow(
        "RFC 6585 §3: a write guarded only by a non-matching If-None-Match still needs If-Match",
        "PUT",
        "/items/1",
        {"If-None-Match": OTHER},
        428,
    ),
    WriteRow(
        "RFC 6585 §3: If-Unmodified-Since is no write guard for require_if_match",
        "PUT",
        "/items/1",
        {"If-Unmodified-Since": SEEDED},
        428,
    ),
    WriteRow(
        "§13.2.2 step 3 on a body-hash write: If-Match passes, If-None-Match fails",
        "PUT",
        "/hashed/1",
        {"If-Match": "{tag}", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 step 3 on a body-hash write: matching If-None-Match alone fails",
        "PUT",
        "/hashed/1",
        {"If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.1.2 If-None-Match * on an existing body-hash resource fails the write",
        "PUT",
        "/hashed/1",
        {"If-None-Match": "*"},
        412,
    ),
    WriteRow(
        "§13.1.2 If-None-Match * on a missing body-hash resource creates it",
        "PUT",
        "/hashed/99",
        {"If-None-Match": "*"},
        201,
        tag_from="/hashed/1",
    ),
    WriteRow(
        "§13.1.1 If-Match * on a missing body-hash resource fails: nothing created",
        "PUT",
        "/hashed/99",
        {"If-Match": "*"},
        412,
        tag_from="/hashed/1",
    ),
    WriteRow(
        "§13.2.2 steps 1 and 3 pass on a body-hash write",
        "PUT",
        "/hashed/1",
        {"If-Match": "{tag}", "If-None-Match": OTHER},
        200,
    ),
    WriteRow(
        "§13.2.2 step 1 fails first on a body-hash write: stale If-Match",
        "PUT",
        "/hashed/1",
        {"If-Match": STALE, "If-None-Match": OTHER},
        412,
    ),
    WriteRow(
        "§13.2.2 step 3 on a body-hash DELETE: matching If-None-Match fails",
        "DELETE",
        "/hashed/1",
        {"If-Match": "{tag}", "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 step 2: earlier If-Unmodified-Since fails the write",
        "PUT",
        "/stamped/1",
        {"If-Unmodified-Since": EARLIER, "If-None-Match": OTHER},
        412,
    ),
    WriteRow(
        "§13.1.4 If-Unmodified-Since equal to Last-Modified lets the write through",
        "PUT",
        "/stamped/1",
        {"If-Unmodified-Since": SEEDED},
        200,
    ),
    WriteRow(
        "§13.2.2 step 2 skipped when If-Match is present: earlier IUS, current If-Match",
        "PUT",
        "/stamped/1",
        {"If-Match": "{tag}", "If-Unmodified-Since": EARLIER},
        200,
    ),
    WriteRow(
        "§13.2.2 step 3 after step 2 on a write: equal IUS passes, matching INM fails",
        "PUT",
        "/stamped/1",
        {"If-Unmodified-Since": SEEDED, "If-None-Match": "{tag}"},
        412,
    ),
    WriteRow(
        "§13.2.2 step 4 is for GET and HEAD only: equal If-Modified-Since on a PUT",
        "PUT",
        "/stamped/1",
        {"If-Modified-Since": SEEDED},
        200,
    ),
    WriteRow(
        "§13.2.2 step 4 is for GET and HEAD only: equal IMS with current If-Match on a PUT",
        "PUT",
        "/stamped/1",
        {"If-Match": "{tag}", "If-Modified-Since": SEEDED},
        200,
    ),
    WriteRow(
        "§13.1.1 weak tag never passes If-Match on a write, whatever If-None-Match says",
        "PUT",
        "/weak/1",
        {"If-Match": "{tag}", "If-None-Match": OTHER},
        412,
    ),
]


def written(store: Store, before: Mapping[int, object]) -> bool:
    """True when the write changed the store."""
    return store.items != before


@pytest.mark.parametrize("row", [pytest.param(row, id=row.clause) for row in WRITE_ROWS])
def test_writes_follow_the_order_of_evaluation(
    client: FlaskClient, store: Store, row: WriteRow
) -> None:
    """§13.2.2 on unsafe methods: a failed precondition writes nothing, a passed one writes."""
    tag = tag_of(client, row.tag_from or row.url)
    before = store.snapshot()
    response = client.open(
        row.url, method=row.method, json={"name": "new"}, headers=render(row.headers, tag)
    )
    assert response.status_code == row.expected
    assert written(store, before) is (200 <= row.expected < 300)
    if row.expected in (412, 428):
        assert response.mimetype == "application/problem+json"
        assert not any(method != "GET" for _, method in store.calls)


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="§13.2.1 no field: no 428"),
        pytest.param({"If-Match": STALE}, id="§13.2.1 stale If-Match: no 412"),
        pytest.param({"If-None-Match": "*"}, id="§13.2.1 If-None-Match *: no 412"),
        pytest.param({"If-Unmodified-Since": EARLIER}, id="§13.2.1 earlier IUS: no 412"),
    ],
)
def test_methods_that_ignore_preconditions(
    make_app: MakeApp, view_style: str, method: str, headers: dict[str, str]
) -> None:
    """§13.2.1: OPTIONS and TRACE ignore preconditions, even behind require_if_match."""
    app = make_app(view_style)
    guarded = require_if_match(VersionGenerator(app.store.version))
    answer: dict[str, tuple[Decorator, Handler]] = {method: (guarded, lambda item_id: ("", 204))}
    register(app, Route("/guarded/<int:item_id>", "guarded", answer), view_style)
    response = app.test_client().open("/guarded/1", method=method, headers=headers)
    assert response.status_code == 204


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_require_if_match_guards_writes_only(
    make_app: MakeApp, view_style: str, method: str
) -> None:
    """RFC 6585 §3: the 428 is for writes; a plain GET or HEAD of a guarded route is 200."""
    app = make_app(view_style)
    guarded = require_if_match(VersionGenerator(app.store.version))
    answer: dict[str, tuple[Decorator, Handler]] = {"GET": (guarded, lambda item_id: "read")}
    register(app, Route("/guarded/<int:item_id>", "guarded", answer), view_style)
    response = app.test_client().open("/guarded/1", method=method)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
