"""nginx as a shared cache in front of gunicorn: revalidation with the origin, on loopback.

``tests/origin_app.py`` serves ``/shared/notes/1`` with a strong tag and
``Cache-Control: max-age=1``.  nginx (Debian's package, started here with its own config in
``tmp_path``) stores it for that second and, with ``proxy_cache_revalidate on``, revalidates
an expired entry with ``If-None-Match`` (RFC 9111 §4.3.1).  The origin answers 304 without a
body (RFC 9110 §15.4.5) and nginx hands clients the full stored 200 (RFC 9111 §4.3.4).

Writes: nginx does not invalidate a stored response when a PUT to the same URL succeeds
(RFC 9111 §4.4 asks caches to; open-source nginx has no such step).  So a read right after
a write may be served from the cache for up to the freshness lifetime: ``max-age=1`` bounds
that staleness, and the first read after expiry is fresh (the revalidation with the old tag
gets a 200).  A client that must read its own write asks for it with
``Cache-Control: no-cache`` (RFC 9111 §5.2.1.4), which this config maps to
``proxy_cache_bypass``: nginx fetches from the origin and stores the fresh answer for everyone.

Every assertion reads nginx's access log (``$upstream_cache_status``, ``$upstream_status``,
``$upstream_response_length``) and gunicorn's, so the origin's 304s are seen, not inferred.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from access_logs import Logged, access_log_args, read_access_log, wait_for_requests
from support_caches import nginx_server, nginx_temp_paths, nginx_user
from support_processes import LOOPBACK, gunicorn_server

pytestmark = pytest.mark.slow

NOTE_PATH = "/shared/notes/1"
FIRST = {"id": 1, "text": "first text", "version": 1}
SECOND = {"id": 1, "text": "second text", "version": 2}
TIMEOUT = 10.0
#: The request header whose value nginx logs as the request's id.
REQUEST_ID = "X-Test-Request"

#: nginx keeps freshness in whole seconds, so ``max-age=1`` lasts up to two; poll this long.
EXPIRY_WAIT_SECONDS = 6.0

#: One JSON object per request; ``escape=json`` keeps quoted entity-tags parseable.  ``request``
#: is the test's own id for the request: nginx may log a request after its client has moved
#: on to the next, so counting lines cannot say which line is whose.
NGINX_LOG_FORMAT = (
    '{"request":"$http_x_test_request",'
    '"method":"$request_method","uri":"$request_uri","status":"$status",'
    '"cache":"$upstream_cache_status","upstream_status":"$upstream_status",'
    '"upstream_bytes":"$upstream_response_length","etag":"$sent_http_etag"}'
)

NGINX_CONF = """\
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    {temp_paths}
    log_format upstream escape=json '{log_format}';
    access_log {prefix}/access.log upstream;

    proxy_cache_path {prefix}/cache keys_zone=origin:1m;

    # A request that says Cache-Control: no-cache is answered by the origin, and the answer
    # replaces the stored one (RFC 9111 §5.2.1.4, read-your-writes).
    map $http_cache_control $refresh_from_origin {{
        default 0;
        ~*no-cache 1;
    }}

    server {{
        listen {listen};
        location / {{
            proxy_pass {origin};
            proxy_http_version 1.1;
            proxy_cache origin;
            # Freshness comes from the origin's Cache-Control: max-age=1.
            proxy_cache_revalidate on;
            proxy_cache_bypass $refresh_from_origin;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class ProxyLogged:
    """One request as nginx saw it: its status and what the cache and the origin did."""

    request: str
    method: str
    uri: str
    status: int
    cache: str
    upstream_status: str
    upstream_bytes: str
    etag: str


@dataclass(frozen=True)
class Stack:
    """nginx in front of gunicorn, with both access logs."""

    proxy_url: str
    proxy_log: Path
    origin_url: str
    origin_log: Path

    @property
    def note_url(self) -> str:
        return f"{self.proxy_url}{NOTE_PATH}"

    def proxy_requests(self) -> list[ProxyLogged]:
        """The note's requests logged by nginx so far."""
        if not self.proxy_log.exists():
            return []
        lines = self.proxy_log.read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines]
        return [
            ProxyLogged(**{**entry, "status": int(entry["status"])})
            for entry in entries
            if entry["uri"] == NOTE_PATH
        ]

    def origin_requests(self) -> list[Logged]:
        """The note's requests logged by gunicorn so far."""
        return [entry for entry in read_access_log(self.origin_log) if entry.path == NOTE_PATH]


def nginx_config(prefix: Path, port: int, origin_url: str) -> str:
    """The config: everything under ``prefix``, listening on loopback only."""
    return NGINX_CONF.format(
        user=nginx_user(),
        temp_paths=nginx_temp_paths(prefix),
        prefix=prefix,
        log_format=NGINX_LOG_FORMAT,
        listen=f"{LOOPBACK}:{port}",
        origin=origin_url,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """gunicorn serving tests/origin_app.py, and nginx caching in front of it."""
    origin_log = tmp_path / "origin-access.log"
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    origin = gunicorn_server(
        "tests.origin_app:create_app()", ready_path="/", extra_args=access_log_args(origin_log)
    )
    with (
        origin as origin_url,
        nginx_server(prefix, lambda port: nginx_config(prefix, port, origin_url)) as proxy_url,
    ):
        yield Stack(proxy_url, prefix / "access.log", origin_url, origin_log)


def get_note(stack: Stack, **headers: str) -> requests.Response:
    """A plain client GET through nginx (no client-side cache), carrying an id of its own."""
    request_id = uuid.uuid4().hex
    return requests.get(
        stack.note_url, headers={**headers, REQUEST_ID: request_id}, timeout=TIMEOUT
    )


def logged(stack: Stack, response: requests.Response) -> ProxyLogged:
    """nginx's log line of the request ``response`` answers, once nginx has written it."""
    request_id = response.request.headers[REQUEST_ID]
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        for entry in stack.proxy_requests():
            if entry.request == request_id:
                return entry
        time.sleep(0.05)
    pytest.fail(f"nginx logged no request {request_id} within 5 s")


def logged_count(stack: Stack, count: int) -> list[ProxyLogged]:
    """nginx's log of the note once it holds ``count`` requests (nginx logs after sending)."""
    deadline = time.monotonic() + 5.0
    entries = stack.proxy_requests()
    while len(entries) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        entries = stack.proxy_requests()
    return entries


def read_until_not_hit(stack: Stack, expected_body: dict[str, Any]) -> ProxyLogged:
    """GET until nginx stops answering from a fresh entry; every hit must be ``expected_body``.

    Returns nginx's log of the first read that went to the origin.
    """
    deadline = time.monotonic() + EXPIRY_WAIT_SECONDS
    while time.monotonic() < deadline:
        response = get_note(stack)
        entry = logged(stack, response)
        if entry.cache != "HIT":
            return entry
        assert (response.status_code, response.json()) == (200, expected_body)
        time.sleep(0.2)
    pytest.fail(f"nginx still answered from its cache after {EXPIRY_WAIT_SECONDS} s")


def write_note(stack: Stack, text: str, if_match: str) -> requests.Response:
    """A PUT through nginx, guarded by If-Match (RFC 9110 §13.1.1)."""
    return requests.put(
        stack.note_url, json={"text": text}, headers={"If-Match": if_match}, timeout=TIMEOUT
    )


def test_expired_entry_is_revalidated_with_origin_304(stack: Stack) -> None:
    """RFC 9111 §4.3.1/§4.3.4: nginx revalidates with If-None-Match; the origin sends no body."""
    first = get_note(stack)
    revalidated = read_until_not_hit(stack, FIRST)
    after = get_note(stack)

    assert (first.status_code, first.json(), first.headers["ETag"]) == (200, FIRST, '"1"')
    assert (revalidated.cache, revalidated.upstream_status) == ("REVALIDATED", "304")
    assert revalidated.upstream_bytes == "0"
    # The client of the revalidating request still got the whole stored representation.
    assert (revalidated.status, revalidated.etag) == (200, '"1"')
    assert (after.status_code, after.json(), after.headers["ETag"]) == (200, FIRST, '"1"')
    origin = wait_for_requests(stack.origin_log, NOTE_PATH, 2)
    assert [(entry.status, entry.if_none_match, entry.body_bytes) for entry in origin[:2]] == [
        (200, None, len(first.content)),
        (304, '"1"', 0),  # §15.4.5: the conditional GET was answered without content
    ], origin


def test_client_revalidation_is_answered_304_by_nginx(stack: Stack) -> None:
    """RFC 9110 §13.1.2: a client's If-None-Match is evaluated by the cache on its stored tag."""
    get_note(stack)
    conditional = get_note(stack, **{"If-None-Match": '"1"'})

    assert (conditional.status_code, conditional.content) == (304, b"")
    assert conditional.headers["ETag"] == '"1"'
    entries = logged_count(stack, 2)
    assert [(entry.status, entry.cache) for entry in entries[:2]] == [(200, "MISS"), (304, "HIT")]
    # The origin logs after it answers: wait for the first request's line, then count.
    assert len(wait_for_requests(stack.origin_log, NOTE_PATH, 1)) == 1  # not asked again


def test_write_through_nginx_is_seen_once_the_entry_expires(stack: Stack) -> None:
    """RFC 9111 §4.3.1: after max-age, revalidating with the old tag brings the new body.

    nginx does not drop its entry on the PUT (RFC 9111 §4.4): until it expires, reads may still
    be the stored representation, which ``read_until_not_hit`` checks is the old one.
    """
    get_note(stack)
    write = write_note(stack, "second text", '"1"')
    assert (write.status_code, write.headers["ETag"]) == (200, '"2"'), write.text

    refreshed = read_until_not_hit(stack, FIRST)
    fresh = get_note(stack)

    assert (refreshed.cache, refreshed.upstream_status) == ("EXPIRED", "200")
    assert (fresh.status_code, fresh.json(), fresh.headers["ETag"]) == (200, SECOND, '"2"')
    origin_reads = [entry for entry in stack.origin_requests() if entry.method == "GET"]
    assert (origin_reads[-1].if_none_match, origin_reads[-1].status) == ('"1"', 200)
    assert origin_reads[-1].body_bytes > 0


def test_write_then_no_cache_read_is_fresh_at_once(stack: Stack) -> None:
    """RFC 9111 §5.2.1.4: ``Cache-Control: no-cache`` gets the origin's answer, then stored."""
    get_note(stack)
    write = write_note(stack, "second text", '"1"')
    assert write.status_code == 200, write.text

    own_read = get_note(stack, **{"Cache-Control": "no-cache"})
    next_read = get_note(stack)

    assert (own_read.status_code, own_read.json(), own_read.headers["ETag"]) == (
        200,
        SECOND,
        '"2"',
    )
    assert (next_read.status_code, next_read.json(), next_read.headers["ETag"]) == (
        200,
        SECOND,
        '"2"',
    )
    entries = logged_count(stack, 4)
    assert [(entry.method, entry.cache) for entry in entries[:3]] == [
        ("GET", "MISS"),
        ("PUT", ""),
        ("GET", "BYPASS"),
    ], entries
