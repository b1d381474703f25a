"""Caching HTTP clients against the example product API under gunicorn, on loopback.

requests + CacheControl and httpx + hishel are private caches (RFC 9111): the example sends
``Cache-Control: no-cache`` with its version tag, so each client stores the product but must
revalidate every reuse (RFC 9111 §5.2.2.4).  Each test proves, from gunicorn's access log,
that the second GET carried ``If-None-Match`` and was answered 304 with no body (RFC 9110
§13.1.2, §15.4.5), that the client still handed over the full stored body, and that after a
PATCH (``If-Match``, RFC 9110 §13.1.1) the client sees the new body, never the stored one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from access_logs import Logged, access_log_args, wait_for_requests
from support_processes import gunicorn_server, require_module

pytestmark = pytest.mark.slow

PRODUCT_PATH = "/api/products/101"
SEEDED = {"id": 101, "name": "Wireless Headphones", "price": 120, "stock": 45}
PATCHED = {**SEEDED, "stock": 44}
TIMEOUT = 10.0
#: hishel 2's ``response.extensions["caching"]``: stored on a miss; revalidated, then served.
STORED = {"from_cache": False, "revalidated": False, "stored": True}
REVALIDATED = {"from_cache": True, "revalidated": True, "stored": False}


@dataclass(frozen=True)
class Origin:
    """The example app under gunicorn, with its access log."""

    base_url: str
    log_path: Path

    @property
    def product_url(self) -> str:
        return f"{self.base_url}{PRODUCT_PATH}"

    def product_requests(self, count: int) -> list[Logged]:
        return wait_for_requests(self.log_path, PRODUCT_PATH, count)


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    """examples/products.py under gunicorn with a fresh SQLite database in ``tmp_path``."""
    log_path = tmp_path / "access.log"
    database = f"sqlite:///{tmp_path / 'products.sqlite3'}"
    with gunicorn_server(
        "examples.products:create_app()",
        env={"FLASK_SQLALCHEMY_DATABASE_URI": database},
        ready_path="/api/products",  # not the product: its log must hold only the test's GETs
        extra_args=access_log_args(log_path),
    ) as base_url:
        yield Origin(base_url, log_path)


def from_cache(response: Any) -> bool:
    """CacheControl's flag on a requests response: True when its body came from the cache."""
    return bool(getattr(response, "from_cache", False))


def assert_revalidation_story(logged: list[Logged], first_tag: str, patched_tag: str) -> None:
    """The origin's view: 200, then 304 without a body, the PATCH, then the new state."""
    assert [(entry.method, entry.status) for entry in logged] == [
        ("GET", 200),
        ("GET", 304),
        ("PATCH", 200),
        ("GET", 200),
        ("GET", 304),
    ], logged
    first, revalidation, patch, after_patch, second_revalidation = logged
    assert first.if_none_match is None
    assert revalidation.if_none_match == first_tag  # §13.1.2: the client sent the stored tag
    assert revalidation.body_bytes == 0  # §15.4.5: a 304 has no content
    assert patch.if_match == first_tag
    # Whether or not the client dropped its entry after the PATCH (RFC 9111 §4.4), the
    # origin must send the new body: the old tag no longer matches.
    assert after_patch.if_none_match in (None, first_tag)
    assert after_patch.body_bytes > 0
    assert second_revalidation.if_none_match == patched_tag
    assert second_revalidation.body_bytes == 0


def test_requests_cachecontrol_revalidates_with_304_and_sees_patch(origin: Origin) -> None:
    """RFC 9110 §13.1.2 / RFC 9111 §4.3: CacheControl revalidates, gets 304, serves its copy."""
    require_module("cachecontrol", "the test drives requests through CacheControl")
    import requests
    from cachecontrol import CacheControl
    from cachecontrol.cache import DictCache

    with CacheControl(requests.Session(), cache=DictCache()) as session:
        first = session.get(origin.product_url, timeout=TIMEOUT)
        second = session.get(origin.product_url, timeout=TIMEOUT)
        patch = session.patch(
            origin.product_url,
            json={"stock": 44},
            headers={"If-Match": first.headers["ETag"]},
            timeout=TIMEOUT,
        )
        after_patch = session.get(origin.product_url, timeout=TIMEOUT)
        again = session.get(origin.product_url, timeout=TIMEOUT)

    assert (first.status_code, from_cache(first), first.json()) == (200, False, SEEDED)
    # The 304 is turned back into the stored 200: same body, same tag.
    assert (second.status_code, from_cache(second), second.json()) == (200, True, SEEDED)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert patch.status_code == 200, patch.text
    assert patch.headers["ETag"] != first.headers["ETag"]
    assert (after_patch.status_code, after_patch.json()) == (200, PATCHED)
    assert after_patch.headers["ETag"] == patch.headers["ETag"]
    assert (again.status_code, from_cache(again), again.json()) == (200, True, PATCHED)
    assert_revalidation_story(
        origin.product_requests(5), first.headers["ETag"], patch.headers["ETag"]
    )


def test_httpx_hishel_revalidates_with_304_and_sees_patch(origin: Origin, tmp_path: Path) -> None:
    """RFC 9110 §13.1.2 / RFC 9111 §4.3: hishel 2's RFC mode revalidates and says so."""
    require_module("hishel", "the test drives httpx through hishel")
    require_module("httpx", "the test drives httpx through hishel")
    from hishel import CacheOptions, SqliteStorage
    from hishel.httpx import CacheClient

    storage = SqliteStorage(database_path=tmp_path / "hishel.sqlite3")
    # rfc=...: hishel 2 otherwise caches by URL and ignores the HTTP caching headers.
    with CacheClient(storage=storage, rfc=CacheOptions(shared=False), timeout=TIMEOUT) as client:
        first = client.get(origin.product_url)
        second = client.get(origin.product_url)
        patch = client.patch(
            origin.product_url, json={"stock": 44}, headers={"If-Match": first.headers["ETag"]}
        )
        after_patch = client.get(origin.product_url)
        again = client.get(origin.product_url)

    assert (first.status_code, first.json()) == (200, SEEDED)
    assert first.extensions["caching"] == STORED
    assert (second.status_code, second.json()) == (200, SEEDED)
    assert second.extensions["caching"] == REVALIDATED
    assert second.headers["ETag"] == first.headers["ETag"]
    assert patch.status_code == 200, patch.text
    assert patch.headers["ETag"] != first.headers["ETag"]
    assert (after_patch.status_code, after_patch.json()) == (200, PATCHED)
    assert after_patch.extensions["caching"]["from_cache"] is False
    assert after_patch.headers["ETag"] == patch.headers["ETag"]
    assert (again.status_code, again.json()) == (200, PATCHED)
    assert again.extensions["caching"] == REVALIDATED
    assert_revalidation_story(
        origin.product_requests(5), first.headers["ETag"], patch.headers["ETag"]
    )
