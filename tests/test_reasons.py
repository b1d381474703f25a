"""Issue 20: each 412 and 428 says its cause, in ``detail`` and the ``reason`` member.

A client branches on ``reason`` (RFC 9457 §3.2 extension member): fetch again (stale), send
a strong tag (weak-tag), create instead (missing), change instead (exists).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from flask import Flask, request

from flask_etag import (
    ETag,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    etag,
    require_if_match,
)
from flask_etag.exceptions import PROBLEM_JSON

NOTES = {1: 3}
EDITED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def reasons_app() -> Flask:
    app = Flask(__name__)
    ETag(app)
    versions = VersionGenerator(lambda note_id: NOTES.get(note_id))

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(versions)
    def note(note_id: int) -> Any:
        return {"id": note_id}

    @app.put("/diaries/<int:diary_id>")
    @etag(TimestampGenerator(lambda diary_id: EDITED))
    def diary(diary_id: int) -> Any:
        return {"id": diary_id}

    @app.route("/pages/<int:page_id>", methods=["GET", "PUT"])
    @etag(HashGenerator())
    def page(page_id: int) -> Any:
        return {"id": page_id, "method": request.method}

    return app


CASES = [
    pytest.param(
        "PUT",
        "/notes/1",
        {"If-Match": '"2"'},
        412,
        "stale",
        '"3"',
        "has changed",
        id="rfc9110_13_1_1-stale-if-match",
    ),
    pytest.param(
        "PUT",
        "/notes/1",
        {"If-Match": 'W/"3"'},
        412,
        "weak-tag",
        '"3"',
        "strongly",
        id="rfc9110_13_1_1-weak-tag-in-if-match",
    ),
    pytest.param(
        "PUT",
        "/notes/9",
        {"If-Match": '"3"'},
        412,
        "missing",
        None,
        "does not exist",
        id="rfc9110_13_1_1-if-match-on-a-missing-resource",
    ),
    pytest.param(
        "PUT",
        "/notes/1",
        {"If-None-Match": "*"},
        412,
        "exists",
        '"3"',
        "already exists",
        id="rfc9110_13_1_2-if-none-match-star-on-an-existing-resource",
    ),
    pytest.param(
        "PUT",
        "/notes/1",
        {"If-Match": '"3"', "If-None-Match": '"1", "3"'},
        412,
        "matched",
        '"3"',
        "If-None-Match lists",
        id="rfc9110_13_1_2-a-write-listing-the-current-tag",
    ),
    pytest.param(
        "PUT",
        "/diaries/1",
        {"If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"},
        412,
        "modified-since",
        "*",
        "If-Unmodified-Since date",
        id="rfc9110_13_1_4-modified-after-if-unmodified-since",
    ),
    pytest.param(
        "PUT",
        "/pages/1",
        {"If-Match": '"x"'},
        412,
        "cannot-evaluate",
        None,
        "current=",
        id="rfc9110_13_2_1-a-body-hash-write-without-current",
    ),
    pytest.param(
        "GET",
        "/pages/1",
        {"If-Match": '"x"'},
        412,
        "stale",
        "*",
        "has changed",
        id="rfc9110_13_1_1-a-body-hash-read-with-a-stale-if-match",
    ),
    pytest.param(
        "PUT",
        "/notes/1",
        {},
        428,
        "required",
        None,
        "must be conditional",
        id="rfc6585_3-a-write-without-a-precondition",
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "headers", "status", "reason", "tag", "detail"), CASES
)  # fmt: skip
def test_the_problem_names_its_reason(
    method: str,
    url: str,
    headers: dict[str, str],
    status: int,
    reason: str,
    tag: str | None,
    detail: str,
) -> None:
    response = reasons_app().test_client().open(url, method=method, headers=headers)
    assert response.status_code == status
    assert response.mimetype == PROBLEM_JSON
    problem = response.get_json()
    assert problem["reason"] == reason
    assert detail in problem["detail"]
    if tag is None:
        assert "etag" not in problem and "ETag" not in response.headers
    elif tag != "*":
        assert problem["etag"] == response.headers["ETag"] == tag
    else:  # a hash or a timestamp: the field and the member agree
        assert problem["etag"] == response.headers["ETag"]


def test_every_reason_has_its_own_detail() -> None:
    details = set()
    for case in CASES:
        response = (
            reasons_app()
            .test_client()
            .open(case.values[1], method=case.values[0], headers=case.values[2])
        )
        problem = response.get_json()
        details.add((problem["reason"], problem["detail"].partition(" The current ETag")[0]))
    assert len({reason for reason, _ in details}) == len(details) == 8
