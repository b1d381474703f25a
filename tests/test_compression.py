"""Compression and entity-tags, with the real Flask-Compress (RFC 9110 §8.8.3, §13.1, §15.4.5).

A compressed representation has other bytes than the identity one, so the two never share a
strong tag: flask_etag weakens the compressed one (``"x"`` -> ``W/"x"``).  A compressing
client revalidating with ``W/"x"`` still gets 304 (weak comparison, §13.1.2), while the weak
tag never passes If-Match (strong comparison, §13.1.1).
"""

from __future__ import annotations

import gzip
import http.client
import json
import sys
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import flask_compress
import pytest
from conftest import MakeApp, StoreApp
from flask import Flask
from flask.testing import FlaskClient
from support_processes import gunicorn_server, require_module

from flask_etag import ETag, etag

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstd.decompress,
    "deflate": zlib.decompress,
}
CODINGS = tuple(DECODERS)

#: Routes of the conftest app: version (decided before the view), timestamp, body hash.
TAGGED_URLS = ("/items/1", "/stamped/1", "/hashed/1")


@pytest.fixture
def compressed(make_app: MakeApp, view_style: str) -> StoreApp:
    """The conftest app with Flask-Compress set up after flask_etag, compressing any size."""
    app = make_app(view_style, COMPRESS_MIN_SIZE=0)
    flask_compress.Compress(app)
    return app


@pytest.fixture
def client(compressed: StoreApp) -> FlaskClient:
    return compressed.test_client()


def vary_fields(headers: Any) -> set[str]:
    return {field.strip().lower() for field in headers.get("Vary", "").split(",")}


@pytest.mark.parametrize("url", TAGGED_URLS)
@pytest.mark.parametrize("coding", CODINGS)
def test_compressed_representation_has_the_weak_form_of_the_identity_tag(
    client: FlaskClient, url: str, coding: str
) -> None:
    """§8.8.3: other bytes, so no shared strong tag; the weak form keeps them comparable."""
    identity = client.get(url, headers={"Accept-Encoding": "identity"})
    coded = client.get(url, headers={"Accept-Encoding": coding})
    assert identity.status_code == coded.status_code == 200
    assert "Content-Encoding" not in identity.headers
    assert coded.headers["Content-Encoding"] == coding
    assert DECODERS[coding](coded.get_data()) == identity.get_data()
    strong = identity.headers["ETag"]
    assert not strong.startswith("W/")
    assert coded.headers["ETag"] == f"W/{strong}"


@pytest.mark.parametrize("url", TAGGED_URLS)
@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compressing_client_revalidates_to_304(
    compressed: StoreApp, client: FlaskClient, url: str, coding: str
) -> None:
    """§13.1.2: If-None-Match with the tag the compressing client saw answers 304, and the
    304 repeats that tag (§15.4.5) and ``Vary: Accept-Encoding``."""
    seen = client.get(url, headers={"Accept-Encoding": coding}).headers["ETag"]
    calls = compressed.store.view_calls()
    response = client.get(url, headers={"Accept-Encoding": coding, "If-None-Match": seen})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == seen
    assert "Content-Encoding" not in response.headers
    assert {"accept-encoding", "accept"} <= vary_fields(response.headers)
    if url != "/hashed/1":  # version and timestamp: decided before the view
        assert compressed.store.view_calls() == calls


@pytest.mark.parametrize("url", TAGGED_URLS)
def test_identity_client_keeps_its_strong_tag_on_304(client: FlaskClient, url: str) -> None:
    """§15.4.5, RFC 9111 §4.3.4: the 304 names the response the client holds, strong."""
    strong = client.get(url).headers["ETag"]
    response = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": strong})
    assert response.status_code == 304
    assert response.headers["ETag"] == strong
    assert "accept-encoding" in vary_fields(response.headers)


@pytest.mark.parametrize("accept_encoding", ["gzip", "identity"])
def test_vary_accept_encoding_on_200(client: FlaskClient, accept_encoding: str) -> None:
    """§12.5.5: the choice of coding depends on Accept-Encoding, compressed or not."""
    response = client.get("/items/1", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert {"accept-encoding", "accept"} <= vary_fields(response.headers)


def test_weak_tag_never_passes_if_match(compressed: StoreApp, client: FlaskClient) -> None:
    """§13.1.1: If-Match compares strongly, so the compressed response's tag cannot guard a
    write; the strong tag of the identity representation can, whatever the coding."""
    weak = client.get("/items/1", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    before = compressed.store.snapshot()
    refused = client.patch("/items/1", json={"name": "x"}, headers={"If-Match": weak})
    assert refused.status_code == 412
    assert compressed.store.snapshot() == before
    strong = client.get("/items/1").headers["ETag"]
    accepted = client.patch(
        "/items/1", json={"name": "x"}, headers={"If-Match": strong, "Accept-Encoding": "gzip"}
    )
    assert accepted.status_code == 200
    assert accepted.headers["Content-Encoding"] == "gzip"
    assert accepted.headers["ETag"] == 'W/"2"'


def test_get_with_a_passing_if_match_is_not_turned_into_412(client: FlaskClient) -> None:
    """§13.2.2: flask_etag's evaluation stands; Flask-Compress's re-evaluation by werkzeug
    (against its suffixed tag) would answer 412, so it is turned off."""
    strong = client.get("/items/1").headers["ETag"]
    response = client.get("/items/1", headers={"If-Match": strong, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"


def test_head_has_the_tag_of_get(client: FlaskClient) -> None:
    """§9.3.2: HEAD answers the validators a GET with the same Accept-Encoding would."""
    get = client.get("/hashed/1", headers={"Accept-Encoding": "br"})
    head = client.head("/hashed/1", headers={"Accept-Encoding": "br"})
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["ETag"].startswith("W/")


def test_weak_route_stays_weak_and_unsuffixed(client: FlaskClient) -> None:
    """§8.8.1: a weak tag already allows any coding; it is sent unchanged."""
    identity = client.get("/weak/1").headers["ETag"]
    coded = client.get("/weak/1", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.headers["ETag"] == identity == 'W/"1"'


def _precompressed_app(vary: bool) -> Flask:
    """A view that serves gzip bytes itself (no negotiation unless ``vary``)."""
    app = Flask(__name__)
    ETag(app)
    body = gzip.compress(b"already compressed " * 20, mtime=0)

    @app.get("/archive")
    @etag
    def archive() -> Any:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}
        if vary:
            headers["Vary"] = "Accept-Encoding"
        return body, headers

    return app


@pytest.mark.parametrize(
    ("vary", "weak"),
    [
        pytest.param(False, False, id="§8.8.3 only representation keeps its strong tag"),
        pytest.param(True, True, id="§8.8.3 negotiated coding gets a weak tag"),
    ],
)
def test_coding_set_by_the_view(vary: bool, weak: bool) -> None:
    """The rule is general: a coded response is weakened when its coding was negotiated."""
    response = _precompressed_app(vary).test_client().get("/archive")
    assert response.headers["ETag"].startswith("W/") is weak


def _auto_app(compress_first: bool) -> Flask:
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, COMPRESS_MIN_SIZE=0)
    if compress_first:
        flask_compress.Compress(app)
    ETag(app)
    if not compress_first:
        flask_compress.Compress(app)

    @app.get("/page")
    def page() -> str:
        return "<p>auto-tagged</p>" * 40

    return app


@pytest.mark.parametrize("compress_first", [True, False], ids=["compress-first", "etag-first"])
def test_auto_mode_hashes_the_identity_body_whatever_the_order(compress_first: bool) -> None:
    """ETAG_AUTO hashes before any compressor runs: one stable tag, weak when compressed.

    (A hash of gzip output would change every second: gzip writes the time into its header.)
    """
    client = _auto_app(compress_first).test_client()
    strong = client.get("/page").headers["ETag"]
    coded = client.get("/page", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.headers["ETag"] == f"W/{strong}"
    again = client.get("/page", headers={"Accept-Encoding": "gzip", "If-None-Match": f"W/{strong}"})
    assert again.status_code == 304
    assert again.headers["ETag"] == f"W/{strong}"


def _request(
    base_url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 exchange: the body exactly as sent, still coded."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _get(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return _request(base_url, "GET", path, headers)


@pytest.mark.slow
def test_real_server_compressing_client_gets_304() -> None:
    """Under gunicorn, over a socket: coded 200 with W/ tag, 304 on revalidation, new tag
    after a write (§8.8.3, §13.1.2, §15.4.5)."""
    require_module("gunicorn", "the test runs the app under a real WSGI server")
    with gunicorn_server("tests.compressed_origin:app", ready_path="/digest") as base:
        for path in ("/notes/1", "/digest"):
            status, headers, identity = _get(base, path, {"Accept-Encoding": "identity"})
            assert status == 200
            assert not headers["ETag"].startswith("W/")
            for coding in ("gzip", "br"):
                status, coded, body = _get(base, path, {"Accept-Encoding": coding})
                assert (status, coded["Content-Encoding"]) == (200, coding)
                assert DECODERS[coding](body) == identity
                assert coded["ETag"] == f"W/{headers['ETag']}"
                status, revalidated, empty = _get(
                    base, path, {"Accept-Encoding": coding, "If-None-Match": coded["ETag"]}
                )
                assert (status, empty, revalidated["ETag"]) == (304, b"", coded["ETag"])
                assert "Accept-Encoding" in revalidated["Vary"]
        _, headers, _ = _get(base, "/notes/1", {"Accept-Encoding": "identity"})
        status, _, _ = _request(
            base,
            "PUT",
            "/notes/1",
            {"If-Match": headers["ETag"], "Content-Type": "application/json"},
            json.dumps({"text": "changed " * 80}).encode(),
        )
        assert status == 200
        status, _, body = _get(
            base, "/notes/1", {"Accept-Encoding": "gzip", "If-None-Match": 'W/"1"'}
        )
        assert status == 200
        assert json.loads(gzip.decompress(body))["text"].startswith("changed")
