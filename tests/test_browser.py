"""Headless Chromium (Debian's package, driven by Playwright) revalidates a tagged resource.

The page served by ``tests/origin_app.py`` fetches ``/notes/1`` twice with ``fetch()``.  The
note is sent with a strong tag and ``Cache-Control: no-cache``, so the browser stores it and
must revalidate before reusing it (RFC 9111 §5.2.2.4).  gunicorn's access log shows that the
second fetch carried ``If-None-Match`` and was answered 304 with no body (RFC 9110 §13.1.2,
§15.4.5); the DOM shows that the page still got the full note, with status 200.

No browser is downloaded: the test launches ``/usr/bin/chromium`` (``apt-get install
chromium``) with a fresh profile and stops it, and the server, in every case.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from access_logs import access_log_args, wait_for_requests
from support_processes import gunicorn_server, require_module, skip_or_fail

pytestmark = pytest.mark.slow

NOTE_PATH = "/notes/1"
TIMEOUT_MS = 20_000
#: Debian's launcher script; Playwright only speaks the DevTools protocol to it.
CHROMIUM_CANDIDATES = ("chromium", "/usr/bin/chromium")
#: Flags that let Chromium run as root in a container without touching the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str:
    """Debian's chromium, or a skip (a failure under ETAG_TESTS_STRICT=1) naming the fix."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    skip_or_fail("chromium is not installed: apt-get install chromium")


# Tests ask for ``browser_page`` first: a missing browser skips before gunicorn starts.
@pytest.fixture
def origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """tests/origin_app.py under gunicorn (one worker: the note lives in its memory)."""
    log_path = tmp_path / "access.log"
    with gunicorn_server(
        "tests.origin_app:create_app()", ready_path="/", extra_args=access_log_args(log_path)
    ) as base_url:
        yield base_url, log_path


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page in headless Chromium with a fresh profile (so an empty HTTP cache)."""
    require_module("playwright", "the browser test drives Chromium with Playwright")
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=TIMEOUT_MS,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            context.close()


def load_and_read(page: Any, url: str) -> tuple[str, str, str]:
    """Open the page, wait for its script to finish, return the texts it wrote."""
    page.goto(url)
    page.wait_for_function("document.getElementById('state').textContent !== 'loading'")
    return (
        page.text_content("#first"),
        page.text_content("#second"),
        page.text_content("#state"),
    )


def test_browser_fetch_revalidates_and_gets_304(
    browser_page: Any, origin: tuple[str, Path]
) -> None:
    """RFC 9110 §13.1.2: the browser's second fetch sends If-None-Match and gets a 304."""
    base_url, log_path = origin
    first, second, state = load_and_read(browser_page, f"{base_url}/")

    assert state == "done"
    # fetch() hands the page the stored 200 after the 304: full body, same tag.
    assert first == second == '200 first text "1"'
    logged = wait_for_requests(log_path, NOTE_PATH, 2)
    assert [(entry.status, entry.if_none_match) for entry in logged] == [
        (200, None),
        (304, '"1"'),
    ], logged
    assert logged[1].body_bytes == 0  # §15.4.5: the 304 carried no content


def test_browser_sees_a_write_made_elsewhere(browser_page: Any, origin: tuple[str, Path]) -> None:
    """RFC 9110 §13.2.2: after another client's write, revalidation brings the new body."""
    base_url, log_path = origin
    load_and_read(browser_page, f"{base_url}/")
    write = requests.put(
        f"{base_url}{NOTE_PATH}",
        json={"text": "second text"},
        headers={"If-Match": '"1"'},
        timeout=10,
    )
    assert write.status_code == 200, write.text

    first, second, state = load_and_read(browser_page, f"{base_url}/")

    assert state == "done"
    assert first == second == '200 second text "2"'
    reads = [entry for entry in wait_for_requests(log_path, NOTE_PATH, 5) if entry.method == "GET"]
    # The stored "1" is offered, refused with the full new note, and "2" then revalidates.
    assert [(entry.status, entry.if_none_match) for entry in reads[2:]] == [
        (200, '"1"'),
        (304, '"2"'),
    ], reads
