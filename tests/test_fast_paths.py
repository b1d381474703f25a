"""Every fast path answers exactly as the general path beside it (issue 11 item 4).

The fast paths (``flask_etag.handling``: a plain read and an exact revalidation of a version
or timestamp route; the body-hash route's direct view call) shortcut the general RFC 9110
§13.2.2 evaluation.  Here every route of the conftest app, and a route whose view reports
its version, is asked every combination of the conditional fields the suite knows, once
with the fast paths and once with them switched off; status, fields and body must agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import MakeApp, StoreApp
from flask import abort

from flask_etag import VersionGenerator, etag, set_response_version
from flask_etag import handling as handling_module

#: Fields made from the clock (the /hashed route's Expires is an hour from now).
CLOCK_FIELDS = {"Date", "Expires"}
LAST_MODIFIED = "Mon, 06 May 2024 07:08:09 GMT"
EARLIER = "Mon, 06 May 2024 07:08:08 GMT"

URLS = [
    "/items/1",
    "/items/99",
    "/optional/1",
    "/weak/1",
    "/stamped/1",
    "/hashed/1",
    "/files/data.txt",
    "/items/1/file",
    "/reported/1",
    "/plain/1",
    "/status/404",
]

#: Values per field; "{tag}" stands for the tag a first GET of the URL received.
FIELD_VALUES: dict[str, list[str | None]] = {
    "If-None-Match": [None, "{tag}", '"stale"', "*", '"stale", {tag}', "{tag}:gzip"],
    "If-Match": [None, "{tag}", '"stale"', "*"],
    "If-Modified-Since": [None, LAST_MODIFIED, EARLIER],
    "If-Unmodified-Since": [None, LAST_MODIFIED, EARLIER],
}
RANGES: list[dict[str, str]] = [
    {},
    {"Range": "bytes=0-4"},
    {"Range": "bytes=0-4", "If-Range": "{tag}"},
    {"Range": "bytes=0-4", "If-Range": '"stale"'},
]


def header_combinations() -> Iterator[dict[str, str]]:
    names = list(FIELD_VALUES)
    for values in itertools.product(*FIELD_VALUES.values()):
        fields = {name: value for name, value in zip(names, values, strict=True) if value}
        for ranges in RANGES:
            yield {**fields, **ranges}


def _with_extra_routes(app: StoreApp) -> StoreApp:
    """A version route whose view reports the version it read (the example's pattern), and a
    body-hash route whose response has only the fields werkzeug gives a body."""
    store = app.store

    @app.get("/plain/<int:item_id>")
    @etag
    def plain(item_id: int) -> Any:
        item = store.items.get(item_id) or abort(404)
        return {"id": item_id, "name": item.name}

    @app.get("/reported/<int:item_id>")
    @etag(VersionGenerator(store.version), cache_control="no-cache")
    def reported(item_id: int) -> Any:
        item = store.items.get(item_id) or abort(404)
        set_response_version(item.version)
        return {"id": item_id, "name": item.name}

    return app


def _answers(app: StoreApp, method: str, url: str) -> list[tuple[Any, ...]]:
    client = app.test_client()
    first = client.get(url)
    tag = first.headers.get("ETag", '"none"').removeprefix("W/")[:-1] + '"'
    first.close()
    answers = []
    for fields in header_combinations():
        headers = {
            name: value.replace("{tag}:gzip", tag[:-1] + ':gzip"') for name, value in fields.items()
        }
        headers = {name: value.replace("{tag}", tag) for name, value in headers.items()}
        with client.open(url, method=method, headers=headers) as response:
            kept = sorted((k, v) for k, v in response.headers.items() if k not in CLOCK_FIELDS)
            answers.append((headers, response.status_code, kept, response.get_data()))
    return answers


@pytest.mark.parametrize(
    "config",
    [{}, {"ETAG_CACHE_CONTROL": "public, max-age=5"}, {"vary_hook": False}],
    ids=["an after_request hook", "a cache policy", "no other hook"],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("url", URLS)
def test_fast_paths_answer_as_the_general_path(
    make_app: MakeApp,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    url: str,
    config: dict[str, Any],
) -> None:
    fast = _answers(_with_extra_routes(make_app(**config)), method, url)
    monkeypatch.setattr(handling_module, "FAST_PATHS", False)
    general = _answers(_with_extra_routes(make_app(**config)), method, url)
    assert len(fast) == len(general) == 4 * 6 * 4 * 3 * 3
    for fast_answer, general_answer in zip(fast, general, strict=True):
        assert fast_answer == general_answer, fast_answer[0]
    missing = url in ("/status/404", "/items/99")
    assert {answer[1] for answer in fast} >= ({404} if missing else {200, 304, 412})
