"""Compression and entity-tags, with the real Flask-Compress (RFC 9110 §8.8.3, §13.1, §15.4.5).

A compressed representation has other bytes than the identity one, so the two never share a
strong tag: the compressed one is ``"x:gzip"`` for the identity ``"x"`` (Flask-Compress's own
form).  Both are strong: a compressing client revalidates with ``"x:gzip"`` and gets 304, and
chains its writes on it (If-Match asks whether the resource state changed, §13.1.1).
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import sys
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import flask_compress
import pytest
from conftest import MakeApp, StoreApp
from flask import Flask, Response
from flask.testing import FlaskClient
from support_processes import gunicorn_server, require_module

from flask_etag import ETag, VersionGenerator, etag
from flask_etag.compression import MAX_DECODED_BYTES
from flask_etag.generators import body_digest_function

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
def test_compressed_representation_has_its_own_strong_tag(
    client: FlaskClient, url: str, coding: str
) -> None:
    """§8.8.3: other bytes, so another strong tag: the identity tag plus the coding."""
    identity = client.get(url, headers={"Accept-Encoding": "identity"})
    coded = client.get(url, headers={"Accept-Encoding": coding})
    assert identity.status_code == coded.status_code == 200
    assert "Content-Encoding" not in identity.headers
    assert coded.headers["Content-Encoding"] == coding
    assert DECODERS[coding](coded.get_data()) == identity.get_data()
    strong = identity.headers["ETag"]
    assert not strong.startswith("W/")
    assert coded.headers["ETag"] == f'{strong[:-1]}:{coding}"'


@pytest.mark.parametrize("url", TAGGED_URLS)
@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compressing_client_revalidates_to_304(
    compressed: StoreApp, client: FlaskClient, url: str, coding: str
) -> None:
    """§13.1.2: If-None-Match with the tag the compressing client saw answers 304; the 304
    carries the ETag the 200 to that request carries (§15.4.5) and ``Vary: Accept-Encoding``."""
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
def test_identity_client_keeps_its_tag_on_304(client: FlaskClient, url: str) -> None:
    """RFC 9111 §4.3.4: the 304 names the stored response the client holds, so it can be
    updated; the identity bytes it holds are a current representation."""
    strong = client.get(url).headers["ETag"]
    response = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": strong})
    assert response.status_code == 304
    assert response.headers["ETag"] == strong
    assert "accept-encoding" in vary_fields(response.headers)


@pytest.mark.parametrize(
    ("accept_encoding", "echoed"),
    [
        pytest.param("gzip", '"1"', id="§15.4.5 held coding refused now: identity form"),
        pytest.param("br, gzip", '"1:br"', id="§15.4.5 held coding accepted: its form"),
    ],
)
def test_304_names_a_coded_form_only_while_its_coding_is_accepted(
    client: FlaskClient, accept_encoding: str, echoed: str
) -> None:
    """The state is unchanged, so 304; its ETag is a form this request could be sent."""
    held = client.get("/items/1", headers={"Accept-Encoding": "br"}).headers["ETag"]
    assert held == '"1:br"'
    response = client.get(
        "/items/1", headers={"Accept-Encoding": accept_encoding, "If-None-Match": held}
    )
    assert (response.status_code, response.headers["ETag"]) == (304, echoed)


@pytest.mark.parametrize("url", TAGGED_URLS)
@pytest.mark.parametrize("accept_encoding", ["*", "*;q=0.8"])
def test_a_wildcard_client_gets_the_coded_form_it_holds_rfc9110_15_4_5(
    client: FlaskClient, url: str, accept_encoding: str
) -> None:
    """§12.5.3: ``*`` accepts every coding not listed, so Flask-Compress codes the 200; the
    304 to the same request names that coded form, the response the cache holds (RFC 9111
    §4.3.4), not the identity form it never received."""
    seen = client.get(url, headers={"Accept-Encoding": accept_encoding})
    coding = seen.headers["Content-Encoding"]
    assert seen.headers["ETag"].endswith(f':{coding}"')
    response = client.get(
        url, headers={"Accept-Encoding": accept_encoding, "If-None-Match": seen.headers["ETag"]}
    )
    assert (response.status_code, response.headers["ETag"]) == (304, seen.headers["ETag"])


@pytest.mark.parametrize(
    ("accept_encoding", "echoed"),
    [
        pytest.param("br;q=0, *", '"1"', id="§12.5.3 a coding refused by name: identity"),
        pytest.param("*;q=0, br", '"1:br"', id="§12.5.3 a coding named beside *;q=0"),
        pytest.param("gzip, *;q=0", '"1"', id="§12.5.3 *;q=0 accepts nothing unnamed"),
        pytest.param("br;q=0., *", '"1"', id="§12.4.2 q=0. is a weight of zero"),
        pytest.param("br;Q=0.000, *", '"1"', id="§12.4.2 Q=0.000 is a weight of zero"),
        pytest.param("br ; q=0, *", '"1"', id="§12.4.2 whitespace around the semicolon"),
        pytest.param("br;q=0.001, *;q=0", '"1:br"', id="§12.4.2 q=0.001 accepts"),
    ],
)
def test_a_wildcard_accepts_only_codings_not_refused_by_name_rfc9110_12_5_3(
    client: FlaskClient, accept_encoding: str, echoed: str
) -> None:
    response = client.get(
        "/items/1", headers={"Accept-Encoding": accept_encoding, "If-None-Match": '"1:br"'}
    )
    assert (response.status_code, response.headers["ETag"]) == (304, echoed)


@pytest.mark.parametrize(
    "listed", ['"1", "1:gzip", "1:br"', '"1:gzip", "1:br", "1"', '"1:br", "1", "1:gzip"']
)
def test_304_of_several_held_forms_names_one_by_name_rfc9110_15_4_5(
    client: FlaskClient, listed: str
) -> None:
    """A client listing several forms of the current tag gets one back chosen by the
    coding's name, whatever order it listed them in: the same answer on every host."""
    response = client.get(
        "/items/1", headers={"Accept-Encoding": "gzip, br", "If-None-Match": listed}
    )
    assert (response.status_code, response.headers["ETag"]) == (304, '"1:br"')


@pytest.mark.parametrize("accept_encoding", ["gzip", "identity"])
def test_vary_accept_encoding_on_200(client: FlaskClient, accept_encoding: str) -> None:
    """§12.5.5: the choice of coding depends on Accept-Encoding, compressed or not."""
    response = client.get("/items/1", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert {"accept-encoding", "accept"} <= vary_fields(response.headers)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_compressing_client_chains_writes_on_the_tags_it_receives(
    compressed: StoreApp, client: FlaskClient, method: str
) -> None:
    """Issue 8 item 11, §13.1.1: ``requests`` and browsers always send Accept-Encoding: gzip;
    the coded tag names the same resource state, so GET -> write -> write chains, while a
    stale coded tag and a weak tag are still refused."""
    gzip_client = {"Accept-Encoding": "gzip"}
    seen = client.get("/items/1", headers=gzip_client).headers["ETag"]
    assert seen == '"1:gzip"'
    first = client.open(
        "/items/1",
        method=method,
        json={"name": "a" * 600},
        headers={**gzip_client, "If-Match": seen},
    )
    assert (first.status_code, first.headers["Content-Encoding"]) == (200, "gzip")
    assert first.headers["ETag"] == '"2:gzip"'
    second = client.open(
        "/items/1",
        method=method,
        json={"name": "b" * 600},
        headers={**gzip_client, "If-Match": first.headers["ETag"]},
    )
    assert (second.status_code, second.headers["ETag"]) == (200, '"3:gzip"')
    before = compressed.store.snapshot()
    for refused_tag in (seen, 'W/"3"', 'W/"3:gzip"'):
        refused = client.open(
            "/items/1",
            method=method,
            json={"name": "lost"},
            headers={**gzip_client, "If-Match": refused_tag},
        )
        assert refused.status_code == 412, refused_tag
    assert compressed.store.snapshot() == before


def test_body_hash_write_accepts_the_coded_tag(compressed: StoreApp, client: FlaskClient) -> None:
    """Issue 8 item 11: the hashed route's coded tag guards a write like its identity tag."""
    seen = client.get("/hashed/1", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    assert seen.endswith(':gzip"')
    written = client.put(
        "/hashed/1", json={"name": "renamed"}, headers={"Accept-Encoding": "gzip", "If-Match": seen}
    )
    assert written.status_code == 200
    assert compressed.store.items[1].name == "renamed"
    stale = client.put("/hashed/1", json={"name": "lost"}, headers={"If-Match": seen})
    assert stale.status_code == 412
    assert compressed.store.items[1].name == "renamed"


def test_get_with_a_passing_if_match_is_not_turned_into_412(client: FlaskClient) -> None:
    """§13.2.2: flask_etag's evaluation stands; Flask-Compress's re-evaluation by werkzeug
    (against its suffixed tag) would answer 412, so it is turned off."""
    strong = client.get("/items/1").headers["ETag"]
    response = client.get("/items/1", headers={"If-Match": strong, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"


def test_if_range_with_a_coded_tag_never_gives_a_part(client: FlaskClient) -> None:
    """§13.1.5: If-Range compares exactly; a coded tag names other bytes than identity ones."""
    response = client.get("/items/1/file", headers={"Range": "bytes=0-9", "If-Range": '"1:gzip"'})
    body = response.get_data()
    response.close()
    assert (response.status_code, len(body)) == (200, 1000)
    exact = client.get("/items/1/file", headers={"Range": "bytes=0-9", "If-Range": '"1"'})
    assert (exact.status_code, len(exact.get_data())) == (206, 10)
    exact.close()


def test_head_has_the_tag_of_get(client: FlaskClient) -> None:
    """§9.3.2: HEAD answers the validators a GET with the same Accept-Encoding would."""
    get = client.get("/hashed/1", headers={"Accept-Encoding": "br"})
    head = client.head("/hashed/1", headers={"Accept-Encoding": "br"})
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["ETag"].endswith(':br"')


def test_weak_route_stays_weak_and_unsuffixed(client: FlaskClient) -> None:
    """§8.8.1: a weak tag already allows any coding; it is sent unchanged."""
    identity = client.get("/weak/1").headers["ETag"]
    coded = client.get("/weak/1", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.headers["ETag"] == identity == 'W/"1"'


def _self_compressing_app(
    vary: tuple[str, ...], version_route: bool, coding: str = "gzip"
) -> Flask:
    """A view that serves coded bytes itself, with one ``Vary`` field line per member of
    ``vary`` (negotiated only where one names ``Accept-Encoding``), and no other
    ``after_request`` hook in the app."""
    app = Flask(__name__)
    ETag(app)
    body = gzip.compress(b"already compressed " * 20, mtime=0)
    tagging = etag(VersionGenerator(lambda: 7)) if version_route else etag

    @app.get("/archive")
    @tagging
    def archive() -> Any:
        headers = [("Content-Encoding", coding), ("Content-Type", "application/octet-stream")]
        return body, headers + [("Vary", line) for line in vary]

    return app


@pytest.mark.parametrize("version_route", [False, True], ids=["body hash", "version"])
@pytest.mark.parametrize(
    ("vary", "coded_form"),
    [
        pytest.param((), False, id="§8.8.3 only representation keeps its tag"),
        pytest.param(("Accept-Encoding",), True, id="§8.8.3 negotiated coding gets its coded tag"),
        pytest.param(
            ("Origin", "Accept-Encoding"), True, id="§12.5.5 Vary on two field lines is one list"
        ),
    ],
)
def test_coding_set_by_the_view_is_decided_alike_on_every_request(
    vary: tuple[str, ...], coded_form: bool, version_route: bool
) -> None:
    """Issue 8 item 7: the same tag on the first request and every later one.  ``Vary`` may
    come as several field lines (RFC 9110 §5.3: one list): ``Accept-Encoding`` on the second
    still says the coding was negotiated."""
    client = _self_compressing_app(vary, version_route).test_client()
    tags = {client.get("/archive").headers["ETag"] for _ in range(3)}
    assert len(tags) == 1
    (tag,) = tags
    assert not tag.startswith("W/")
    assert tag.endswith(':gzip"') is coded_form
    assert client.get("/archive", headers={"If-None-Match": tag}).status_code == 304


@pytest.mark.parametrize("version_route", [False, True], ids=["body hash", "version"])
def test_codings_applied_in_turn_give_one_valid_entity_tag_rfc9110_8_8_3(
    version_route: bool,
) -> None:
    """``Content-Encoding: gzip, br`` (two codings, in turn): the coded tag holds no space,
    which an entity tag cannot (§8.8.3), and is read in a list and by ``If-Match`` as the
    coded form of the current state."""
    client = _self_compressing_app(
        ("Accept-Encoding",), version_route, coding="gzip, br"
    ).test_client()
    tag = client.get("/archive").headers["ETag"]
    assert re.fullmatch(r'"[\x21\x23-\x7e]+:gzip\+br"', tag), tag
    held = {"If-None-Match": f'"other", {tag}', "Accept-Encoding": "gzip, br"}
    listed = client.get("/archive", headers=held)
    assert (listed.status_code, listed.headers["ETag"]) == (304, tag)
    refusing_br = client.get("/archive", headers={**held, "Accept-Encoding": "gzip"})
    identity = tag.replace(":gzip+br", "")
    assert (refusing_br.status_code, refusing_br.headers["ETag"]) == (304, identity)
    assert client.get("/archive", headers={"If-Match": tag}).status_code == 200


@pytest.mark.parametrize("app_kind", ["auto-etag-first", "view-codes-its-body"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_rfc9110_15_4_5_304_to_if_none_match_star_names_the_coded_form_the_200_carries(
    app_kind: str, method: str
) -> None:
    """``If-None-Match: *`` matches any current representation (§13.1.2), and its 304
    carries the ``ETag`` the 200 to the same request would (§15.4.5).  Where the body is
    coded when it is judged (Flask-Compress before the auto-mode hook, a view coding its own
    body) that is the coded form: the identity form it carried named a representation the
    request did not get, so a cache holding the coded one could not update it (RFC 9111
    §4.3.4)."""
    if app_kind == "auto-etag-first":
        app, url = _auto_app(compress_first=False), "/page"
    else:
        app, url = _self_compressing_app(("Accept-Encoding",), version_route=False), "/archive"
    client = app.test_client()
    coded = client.open(url, method=method, headers={"Accept-Encoding": "gzip"})
    assert coded.headers["ETag"].endswith(':gzip"')
    star = client.open(
        url, method=method, headers={"Accept-Encoding": "gzip", "If-None-Match": "*"}
    )
    assert (star.status_code, star.headers["ETag"]) == (304, coded.headers["ETag"])


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
    """ETAG_AUTO hashes before any compressor runs: one stable tag, its coded form when
    compressed.  (A hash of gzip output would change every second: gzip writes the time.)"""
    client = _auto_app(compress_first).test_client()
    strong = client.get("/page").headers["ETag"]
    coded = client.get("/page", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.headers["ETag"] == f'{strong[:-1]}:gzip"'
    again = client.get(
        "/page", headers={"Accept-Encoding": "gzip", "If-None-Match": coded.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == coded.headers["ETag"]


@pytest.mark.parametrize(
    ("coding", "coded"),
    [
        pytest.param(
            "gzip",
            lambda text: gzip.compress(b"rotated ", mtime=0) + gzip.compress(text, mtime=0),
            id="§8.8.3 a second gzip member (RFC 1952 §2.2)",
        ),
        pytest.param(
            "deflate",
            lambda text: zlib.compress(b"rotated ") + text,
            id="§8.8.3 bytes after the deflate stream",
        ),
    ],
)
def test_auto_mode_tags_no_coded_body_by_a_part_of_it_rfc9110_8_8_3(
    coding: str, coded: Callable[[bytes], bytes]
) -> None:
    """Bodies that differ after their first gzip member (a log appended to with
    ``gzip -c >>``) or after the deflate stream are never tagged by what comes before it
    alone: they would share one strong tag, and a client holding the old body get 304.
    Such a body is left untagged, so every request for it is answered 200."""
    app = Flask(__name__)
    app.config["ETAG_AUTO"] = True
    ETag(app)
    texts = [b"first"]
    headers = {"Content-Encoding": coding, "Content-Type": "text/plain"}
    app.add_url_rule("/log", "log", lambda: (coded(texts[-1]), headers))
    client = app.test_client()
    first = client.get("/log")
    texts.append(b"second")
    second = client.get("/log", headers={"If-None-Match": first.headers.get("ETag", '"x"')})
    assert (second.status_code, second.get_data()) == (200, coded(b"second"))
    assert "ETag" not in first.headers and "ETag" not in second.headers


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda body: gzip.compress(body, compresslevel=1, mtime=0),
    "deflate": lambda body: zlib.compress(body, 1),
    "br": lambda body: brotli.compress(body, quality=1),
    "zstd": zstd.compress,
}


@pytest.mark.parametrize("coding", list(ENCODERS))
def test_auto_mode_decodes_no_coded_body_past_its_limit(coding: str) -> None:
    """A coded body the view serves as stored (a user's upload) is decoded to be tagged, but
    never into more than ``MAX_DECODED_BYTES``: a compression bomb (half a megabyte of gzip
    holds 500 MB of zeros) goes untagged, as a stream does, and is sent as it came.  A body
    within the limit is still tagged by its identity bytes."""
    app = Flask(__name__)
    app.config["ETAG_AUTO"] = True
    ETag(app)
    small, bomb = (ENCODERS[coding](bytes(size)) for size in (100, MAX_DECODED_BYTES + 1))
    headers = {"Content-Encoding": coding, "Content-Type": "application/octet-stream"}
    app.add_url_rule("/small", "small", lambda: (small, headers))
    app.add_url_rule("/bomb", "bomb", lambda: (bomb, headers))
    client = app.test_client()
    assert client.get("/small").headers["ETag"] == f'"{body_digest_function("blake3")(bytes(100))}"'
    served = client.get("/bomb")
    assert (served.status_code, served.get_data()) == (200, bomb)
    assert "ETag" not in served.headers


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
    """Under gunicorn, over a socket: coded 200 with its coded tag, 304 on revalidation, a
    write chained on the coded tag, new tag after it (§8.8.3, §13.1.2, §15.4.5)."""
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
                assert coded["ETag"] == f'{headers["ETag"][:-1]}:{coding}"'
                status, revalidated, empty = _get(
                    base, path, {"Accept-Encoding": coding, "If-None-Match": coded["ETag"]}
                )
                assert (status, empty, revalidated["ETag"]) == (304, b"", coded["ETag"])
                assert "Accept-Encoding" in revalidated["Vary"]
        _, headers, _ = _get(base, "/notes/1", {"Accept-Encoding": "gzip"})
        status, written, _ = _request(
            base,
            "PUT",
            "/notes/1",
            {
                "If-Match": headers["ETag"],
                "Content-Type": "application/json",
                "Accept-Encoding": "gzip",
            },
            json.dumps({"text": "changed " * 80}).encode(),
        )
        assert (status, headers["ETag"], written["ETag"]) == (200, '"1:gzip"', '"2:gzip"')
        status, _, body = _get(
            base, "/notes/1", {"Accept-Encoding": "gzip", "If-None-Match": '"1:gzip"'}
        )
        assert status == 200
        assert json.loads(gzip.decompress(body))["text"].startswith("changed")


@pytest.mark.parametrize("order", ["etag-first", "compress-first"])
@pytest.mark.parametrize("if_match", ["*", "identity"])
def test_auto_mode_passing_if_match_is_200_in_either_order_rfc9110_13_1_1(
    order: str, if_match: str
) -> None:
    """Auto mode decides a read in its hook; Flask-Compress, whichever hook runs later,
    must not judge the request's If-Match again (werkzeug would answer 412)."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, COMPRESS_MIN_SIZE=0)
    if order == "etag-first":
        ETag(app)
        flask_compress.Compress(app)
    else:
        flask_compress.Compress(app)
        ETag(app)
    app.add_url_rule("/page", "page", lambda: {"text": "a page " * 20})
    client = app.test_client()
    identity = client.get("/page").headers["ETag"]
    value = "*" if if_match == "*" else identity
    response = client.get("/page", headers={"If-Match": value, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"


_PAGE_DATE = "Mon, 06 May 2024 07:08:09 GMT"
_BEFORE_PAGE_DATE = "Mon, 06 May 2024 07:08:08 GMT"


@pytest.mark.parametrize("order", ["etag-first", "compress-first"])
@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param(
            {"If-None-Match": '"stale"', "If-Modified-Since": _PAGE_DATE},
            200,
            id="§13.2.2 step 3: If-None-Match present, If-Modified-Since ignored",
        ),
        pytest.param(
            {"If-Unmodified-Since": _BEFORE_PAGE_DATE, "If-Modified-Since": _PAGE_DATE},
            412,
            id="§13.2.2 step 2 comes before step 4",
        ),
        pytest.param(
            {"If-Match": '"stale"', "If-Modified-Since": _PAGE_DATE},
            412,
            id="§13.2.2 step 1 comes before step 4",
        ),
    ],
)
def test_auto_mode_dates_are_judged_once_in_either_order_rfc9110_13_2_2(
    order: str, conditions: dict[str, str], expected: int
) -> None:
    """With ``ETag(app)`` set up first, as the docs ask, Flask-Compress's hook runs before
    the auto-mode hook: its ``make_conditional`` must find no ``If-*`` field left to judge
    by werkzeug's rules (which let If-Modified-Since decide beside If-None-Match)."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, COMPRESS_MIN_SIZE=0)
    if order == "etag-first":
        ETag(app)
        flask_compress.Compress(app)
    else:
        flask_compress.Compress(app)
        ETag(app)
    app.add_url_rule(
        "/page", "page", lambda: ("<p>a page</p>" * 20, 200, {"Last-Modified": _PAGE_DATE})
    )
    client = app.test_client()
    identity = client.get("/page").headers["ETag"]
    response = client.get("/page", headers={"Accept-Encoding": "gzip", **conditions})
    assert response.status_code == expected
    assert response.headers["ETag"] in (identity, f'{identity[:-1]}:gzip"')
    if expected == 412:
        assert response.headers["Content-Type"] == "application/problem+json"


def test_auto_mode_leaves_a_views_own_tag_to_be_judged_as_before_rfc9110_13_1_2() -> None:
    """Auto mode takes the ``If-*`` fields only of a response it tags itself: a view's own
    tag is judged as without auto mode, here by Flask-Compress's ``make_conditional``
    against the coded form the client holds."""
    app = Flask(__name__)
    app.config.update(ETAG_AUTO=True, COMPRESS_MIN_SIZE=0)
    ETag(app)
    flask_compress.Compress(app)

    @app.get("/own")
    def own() -> Response:
        response = Response("<p>its own tag</p>" * 20, mimetype="text/html")
        response.set_etag("own")
        return response

    client = app.test_client()
    held = {"Accept-Encoding": "gzip", "If-None-Match": '"own:gzip"'}
    assert client.get("/own", headers=held).status_code == 304
