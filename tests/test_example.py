"""HTTP-level tests of the example product API (``examples/products.py``).

Every test talks to the real example through the Flask test client, on a SQLite file under
``tmp_path`` and on PostgreSQL too, at ``FLASK_ETAG_POSTGRES_URL`` (default: 127.0.0.1:5432,
database ``test``); without a server those runs skip, or fail in strict mode (see
``support_processes``).  The PostgreSQL runs use a schema of their own (``example_tests_...``,
dropped at the end) chosen through ``search_path``, so they never touch the ``products`` table
of ``public`` that the load test or a developer's running example may be using, and
concurrent test runs cannot collide.

"Concurrent write" tests are real interleavings, not mocks: a SQLAlchemy event fires inside the
request, after the precondition was checked and before the view's own write, and commits a
different write through another database connection.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support_databases import dispose_after_test
from support_processes import (
    LENIENT_VALUES,
    STRICT_VALUES,
    STRICT_VARIABLE,
    mariadb_database,
    postgres_schema,
    skip_or_fail,
    strict_mode,
)
from werkzeug.test import TestResponse

EXAMPLE_PATH = Path(__file__).resolve().parents[1] / "examples" / "products.py"
PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = "application/merge-patch+json"
ITEM = "/api/products/101"
COLLECTION = "/api/products"
SEEDED = {"id": 101, "name": "Wireless Headphones", "price": 120, "stock": 45}
VALID = {"name": "Studio Monitor", "price": 99.99, "stock": 7}


def load_example() -> ModuleType:
    """Import ``examples/products.py`` as the module ``products`` (as gunicorn names it)."""
    loaded = sys.modules.get("products")
    if loaded is not None and Path(getattr(loaded, "__file__", "")) == EXAMPLE_PATH:
        return loaded
    spec = importlib.util.spec_from_file_location("products", EXAMPLE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["products"] = module  # Flask finds the app's root path through it
    spec.loader.exec_module(module)
    return module


products = load_example()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL into a fresh PostgreSQL schema for this module's tests, dropped after."""
    with postgres_schema("example_tests") as url:
        yield url


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    """A SQLAlchemy URL into a fresh MariaDB database for this module's tests, dropped after."""
    with mariadb_database("example_tests") as url:
        yield url


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.slow),
        pytest.param("mariadb", marks=pytest.mark.slow),
    ],
)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Config selecting an empty database: a SQLite file, or our own PG schema or MariaDB
    database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("example") / "products.sqlite3"
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    fixture = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}[request.param]
    return {"SQLALCHEMY_DATABASE_URI": request.getfixturevalue(fixture)}


@pytest.fixture(scope="module")
def example_app(database: dict[str, Any]) -> Iterator[Flask]:
    """The example app, created once per database (creating it makes the table)."""
    app = products.create_app({"TESTING": True, **database})
    yield app
    with app.app_context():
        products.db.engine.dispose()


@pytest.fixture
def api(example_app: Flask) -> FlaskClient:
    """A test client of the example, whose database holds only the seeded product 101."""
    with example_app.app_context():
        products.db.session.execute(sa.delete(products.Product))
        products.db.session.commit()
        products.seed_product()
        products.db.session.remove()
    return example_app.test_client()


# --------------------------------------------------------------------------- helpers


def current(api: FlaskClient, url: str = ITEM) -> tuple[Any, str]:
    """GET ``url``: its JSON body and its ETag (asserting a 200 that has both)."""
    response = api.get(url)
    assert response.status_code == 200, response.data
    assert response.headers.get("ETag"), "every 200 of the example carries a tag"
    body = response.get_json()
    if isinstance(body, list):  # a list: each item carries the very tag its own GET sends
        for item in body:
            assert item.pop("etag") == api.get(f"{COLLECTION}/{item['id']}").headers["ETag"]
    return body, response.headers["ETag"]


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem details with the given status."""
    assert response.status_code == status, response.data
    assert response.mimetype == PROBLEM_JSON
    problem = json.loads(response.data)
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert problem["title"] and problem["detail"]
    return problem  # type: ignore[no-any-return]


def assert_no_tag(response: TestResponse) -> None:
    """Errors never carry a validator: it would describe no representation."""
    assert "ETag" not in response.headers


def patch(api: FlaskClient, body: Any, tag: str | None, url: str = ITEM) -> TestResponse:
    """A JSON merge patch, conditional on ``tag`` when given."""
    headers = {"Content-Type": MERGE_PATCH}
    if tag is not None:
        headers["If-Match"] = tag
    return api.patch(url, data=json.dumps(body), headers=headers)


@contextmanager
def concurrent_write(event: str, write: Callable[[sa.Connection], Any]) -> Iterator[list[Any]]:
    """Commit ``write`` on another connection when ``event`` first fires on ``Product``.

    ``before_update``/``before_delete``/``before_insert`` fire inside the view's flush, after
    the precondition and the view's read, right before its own SQL: the worst moment for a
    check-then-write implementation.  Yields a list that records each interposed write.
    """
    fired: list[Any] = []

    def interpose(mapper: Any, connection: Any, target: Any) -> None:
        if fired:
            return
        with products.db.engine.begin() as other:
            fired.append(write(other))

    sa.event.listen(products.Product, event, interpose)
    try:
        yield fired
    finally:
        sa.event.remove(products.Product, event, interpose)


def set_row(product_id: int, **values: Any) -> Callable[[sa.Connection], Any]:
    """A write of another client: new values and a new version, committed at once."""
    table = products.Product.__table__

    def write(connection: sa.Connection) -> Any:
        connection.execute(
            sa.update(table).where(table.c.id == product_id).values(version="other", **values)
        )
        return values

    return write


# --------------------------------------------------------------------------- the article's flow


def test_seeded_product_is_the_articles(api: FlaskClient) -> None:
    response = api.get(ITEM)
    assert response.status_code == 200
    assert response.get_json() == SEEDED
    assert response.headers["Cache-Control"] == "no-cache"
    tag = response.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"'), "a strong tag (RFC 9110 §8.8.3)"
    assert "version" not in response.get_json(), "the version travels in the ETag only"


def test_flow_200_304_412_428_then_write_rfc9110_13_2(api: FlaskClient) -> None:
    """The docs' curl session: every step of the article's concurrency story."""
    _, tag = current(api)

    revalidated = api.get(ITEM, headers={"If-None-Match": tag})
    assert revalidated.status_code == 304  # RFC 9110 §13.1.2
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == tag
    assert revalidated.headers["Cache-Control"] == "no-cache"  # §15.4.5

    first = patch(api, {"stock": 44}, tag)
    assert first.status_code == 200
    stale = patch(api, {"stock": 10}, tag)  # the tag the first write made stale
    problem = assert_problem(stale, 412)  # RFC 9110 §13.1.1
    # The 412 names the current tag, so the client can retry without a GET (issue 10).
    assert stale.headers["ETag"] == problem["etag"] == first.headers["ETag"]
    assert first.headers["ETag"] in problem["detail"]
    unconditional = patch(api, {"stock": 10}, None)
    problem = assert_problem(unconditional, 428)  # RFC 6585 §3
    assert "If-Match" in problem["detail"]

    assert current(api) == ({**SEEDED, "stock": 44}, first.headers["ETag"]), "412/428 wrote"
    written = patch(api, {"stock": 43, "price": 119.5}, first.headers["ETag"])
    assert written.status_code == 200
    assert written.get_json() == {**SEEDED, "stock": 43, "price": 119.5}
    assert written.headers["Content-Location"] == ITEM  # RFC 9110 §8.7: body is the resource
    # Issue rule 9: the write's tag is the tag of what it wrote, equal to the next GET's.
    assert current(api) == (written.get_json(), written.headers["ETag"])
    assert len({tag, first.headers["ETag"], written.headers["ETag"]}) == 3


def test_head_revalidates_like_get_rfc9110_9_3_2(api: FlaskClient) -> None:
    _, tag = current(api)
    head = api.head(ITEM)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == tag
    assert api.head(ITEM, headers={"If-None-Match": tag}).status_code == 304


def test_if_none_match_list_and_weak_comparison_rfc9110_13_1_2(api: FlaskClient) -> None:
    _, tag = current(api)
    listed = api.get(ITEM, headers={"If-None-Match": f'"other", W/{tag}'})
    assert listed.status_code == 304 and listed.headers["ETag"] == tag
    assert api.get(ITEM, headers={"If-None-Match": '"other"'}).status_code == 200


def test_weak_tag_never_passes_if_match_rfc9110_13_1_1(api: FlaskClient) -> None:
    _, tag = current(api)
    assert_problem(patch(api, {"stock": 1}, f"W/{tag}"), 412)
    assert_problem(patch(api, {"stock": 1}, tag.strip('"')), 412)  # unquoted: garbage
    assert current(api) == (SEEDED, tag)


def test_if_match_star_writes_an_existing_product_rfc9110_13_1_1(api: FlaskClient) -> None:
    written = patch(api, {"stock": 1}, "*")
    assert written.status_code == 200
    assert current(api) == ({**SEEDED, "stock": 1}, written.headers["ETag"])


def test_patch_accepts_plain_json_as_merge_patch(api: FlaskClient) -> None:
    _, tag = current(api)
    written = api.patch(ITEM, json={"name": "Headphones"}, headers={"If-Match": tag})
    assert written.status_code == 200
    assert written.get_json() == {**SEEDED, "name": "Headphones"}


def test_put_replaces_the_whole_product_rfc9110_9_3_4(api: FlaskClient) -> None:
    _, tag = current(api)
    replaced = api.put(ITEM, json=VALID, headers={"If-Match": tag})
    assert replaced.status_code == 200
    assert replaced.get_json() == {"id": 101, **VALID}
    assert replaced.headers["Content-Location"] == ITEM
    assert replaced.headers["ETag"] != tag
    assert current(api) == ({"id": 101, **VALID}, replaced.headers["ETag"])
    assert_problem(api.put(ITEM, json=SEEDED, headers={"If-Match": tag}), 412)
    assert_problem(api.put(ITEM, json=SEEDED), 428)
    assert current(api)[0] == {"id": 101, **VALID}


def test_put_of_the_same_content_keeps_the_tag(api: FlaskClient) -> None:
    """Nothing changed, so the strong validator stays valid (RFC 9110 §8.8.1)."""
    _, tag = current(api)
    same = api.put(ITEM, json=SEEDED, headers={"If-Match": tag})
    assert same.status_code == 200
    assert same.headers["ETag"] == tag
    assert current(api) == (SEEDED, tag)


def test_delete_then_404_rfc9110_9_3_5(api: FlaskClient) -> None:
    _, tag = current(api)
    deleted = api.delete(ITEM, headers={"If-Match": tag})
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert_no_tag(deleted)
    assert "Content-Type" not in deleted.headers
    assert_problem(api.get(ITEM), 404)
    # flask_etag's design: If-Match on a missing resource fails (412); nothing is written.
    assert_problem(api.delete(ITEM, headers={"If-Match": tag}), 412)
    assert_problem(api.put(ITEM, json=SEEDED, headers={"If-Match": tag}), 412)
    assert_problem(api.get(ITEM), 404)


def test_delete_needs_if_match_rfc6585_3(api: FlaskClient) -> None:
    assert_problem(api.delete(ITEM), 428)
    assert_problem(api.delete(ITEM, headers={"If-Match": '"stale"'}), 412)
    assert current(api)[0] == SEEDED


def test_post_creates_with_location_and_usable_tag_rfc9110_15_3_2(api: FlaskClient) -> None:
    created = api.post(COLLECTION, json=VALID)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location == "/api/products/102"
    assert created.get_json() == {"id": 102, **VALID}
    assert created.headers["Content-Location"] == location
    tag = created.headers["ETag"]
    assert current(api, location) == (created.get_json(), tag)
    written = patch(api, {"stock": 8}, tag, url=location)
    assert written.status_code == 200
    assert written.get_json() == {"id": 102, **VALID, "stock": 8}


def test_post_takes_the_id_after_the_highest(api: FlaskClient) -> None:
    assert (
        api.put("/api/products/500", json=VALID, headers={"If-None-Match": "*"}).status_code == 201
    )
    created = api.post(COLLECTION, json=VALID)
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/products/501"


# --------------------------------------------------------------------------- If-None-Match: *


def test_put_if_none_match_star_creates_at_a_free_id_rfc9110_13_1_2(api: FlaskClient) -> None:
    url = "/api/products/7"
    created = api.put(url, json=VALID, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    assert created.headers["Location"] == url
    assert created.get_json() == {"id": 7, **VALID}
    assert current(api, url) == (created.get_json(), created.headers["ETag"])


def test_put_if_none_match_star_on_existing_is_412_rfc9110_13_1_2(api: FlaskClient) -> None:
    _, tag = current(api)
    refused = api.put(ITEM, json=VALID, headers={"If-None-Match": "*"})
    assert_problem(refused, 412)
    assert current(api) == (SEEDED, tag)


@pytest.mark.parametrize("if_match", ['"anything"', "*"])
def test_put_if_match_on_missing_creates_nothing_rfc9110_13_1_1(
    api: FlaskClient, if_match: str
) -> None:
    assert_problem(api.put("/api/products/7", json=VALID, headers={"If-Match": if_match}), 412)
    assert_problem(api.get("/api/products/7"), 404)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_patch_and_delete_of_missing_with_if_none_match_star_are_404(
    api: FlaskClient, method: str
) -> None:
    response = api.open(
        "/api/products/7",
        method=method,
        json={"stock": 1},
        headers={"If-None-Match": "*"},
    )
    assert_problem(response, 404)
    assert_problem(api.get("/api/products/7"), 404)


def test_invalid_create_only_put_creates_nothing(api: FlaskClient) -> None:
    refused = api.put("/api/products/7", json={"name": "x"}, headers={"If-None-Match": "*"})
    assert_problem(refused, 422)
    assert_problem(api.get("/api/products/7"), 404)


# --------------------------------------------------------------------------- the collection


def test_collection_is_tagged_and_revalidates_rfc9110_13_1_2(api: FlaskClient) -> None:
    listing, tag = current(api, COLLECTION)
    assert listing == [SEEDED]
    revalidated = api.get(COLLECTION, headers={"If-None-Match": tag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == tag
    assert api.head(COLLECTION, headers={"If-None-Match": tag}).status_code == 304

    _, item_tag = current(api)
    assert patch(api, {"stock": 1}, item_tag).status_code == 200
    changed = api.get(COLLECTION, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.get_json() == [{**SEEDED, "stock": 1, "etag": current(api)[1]}]
    assert changed.headers["ETag"] != tag


# --------------------------------------------------------------------------- hostile bodies

BAD_SYNTAX = [
    pytest.param("application/json", b"", 400, id="empty-400"),
    pytest.param("application/json", b"{", 400, id="truncated-400"),
    pytest.param("application/json", b"{'name': 'x'}", 400, id="single-quotes-400"),
    pytest.param("application/json", b"\xff\xfe\x00", 400, id="not-utf8-400"),
    pytest.param("application/json", b"[" * 60_000, 400, id="deeply-nested-400"),
    pytest.param("application/json", b'{"name": "' + b"x" * 70_000 + b'"}', 413, id="huge-413"),
    pytest.param("text/plain", json.dumps(VALID).encode(), 415, id="text-plain-415"),
    pytest.param("", json.dumps(VALID).encode(), 415, id="no-content-type-415"),
    pytest.param("application/xml", b"<product/>", 415, id="xml-415"),
]


@pytest.mark.parametrize(("content_type", "data", "status"), BAD_SYNTAX)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_malformed_content_is_a_problem_not_a_500(
    api: FlaskClient, method: str, content_type: str, data: bytes, status: int
) -> None:
    _, tag = current(api)
    url = COLLECTION if method == "POST" else ITEM
    headers = {"If-Match": tag}
    if content_type:
        headers["Content-Type"] = content_type
    response = api.open(url, method=method, data=data, headers=headers)
    assert_problem(response, status)
    assert_no_tag(response)
    if status == 415 and method == "PATCH":
        assert MERGE_PATCH in response.headers["Accept-Patch"]  # RFC 5789 §2.2
    assert current(api) == (SEEDED, tag)
    assert current(api, COLLECTION)[0] == [SEEDED]


def test_put_refuses_the_merge_patch_media_type(api: FlaskClient) -> None:
    _, tag = current(api)
    response = api.put(
        ITEM, data=json.dumps(SEEDED), headers={"If-Match": tag, "Content-Type": MERGE_PATCH}
    )
    assert_problem(response, 415)


#: Whole documents (POST, PUT) that are well-formed JSON but not valid products.
INVALID_DOCUMENTS = [
    pytest.param("[]", "", id="array"),
    pytest.param('"product"', "", id="string"),
    pytest.param("null", "", id="null"),
    pytest.param('{"price": 1, "stock": 1}', "name", id="name-missing"),
    pytest.param('{"name": "x", "stock": 1}', "price", id="price-missing"),
    pytest.param('{"name": "x", "price": 1}', "stock", id="stock-missing"),
    pytest.param('{"name": "", "price": 1, "stock": 1}', "name", id="name-empty"),
    pytest.param('{"name": "  ", "price": 1, "stock": 1}', "name", id="name-blank"),
    pytest.param('{"name": 5, "price": 1, "stock": 1}', "name", id="name-number"),
    pytest.param('{"name": ["x"], "price": 1, "stock": 1}', "name", id="name-array"),
    pytest.param('{"name": null, "price": 1, "stock": 1}', "name", id="name-null"),
    pytest.param(json.dumps({"name": "x" * 201, "price": 1, "stock": 1}), "name", id="name-long"),
    pytest.param('{"name": "a\\u0000b", "price": 1, "stock": 1}', "name", id="name-nul"),
    pytest.param('{"name": "\\ud800", "price": 1, "stock": 1}', "name", id="name-surrogate"),
    pytest.param('{"name": "x", "price": -1, "stock": 1}', "price", id="price-negative"),
    pytest.param('{"name": "x", "price": "120", "stock": 1}', "price", id="price-string"),
    pytest.param('{"name": "x", "price": true, "stock": 1}', "price", id="price-bool"),
    pytest.param('{"name": "x", "price": NaN, "stock": 1}', "price", id="price-nan"),
    pytest.param('{"name": "x", "price": Infinity, "stock": 1}', "price", id="price-infinity"),
    pytest.param('{"name": "x", "price": 1e400, "stock": 1}', "price", id="price-overflow"),
    pytest.param('{"name": "x", "price": 1e10, "stock": 1}', "price", id="price-too-large"),
    pytest.param('{"name": "x", "price": 1.001, "stock": 1}', "price", id="price-sub-cent"),
    pytest.param('{"name": "x", "price": {"v": 1}, "stock": 1}', "price", id="price-object"),
    pytest.param('{"name": "x", "price": 1, "stock": -1}', "stock", id="stock-negative"),
    pytest.param('{"name": "x", "price": 1, "stock": 1.5}', "stock", id="stock-fraction"),
    pytest.param('{"name": "x", "price": 1, "stock": "45"}', "stock", id="stock-string"),
    pytest.param('{"name": "x", "price": 1, "stock": false}', "stock", id="stock-bool"),
    pytest.param('{"name": "x", "price": 1, "stock": 2147483648}', "stock", id="stock-int32"),
    pytest.param('{"name": "x", "price": 1, "stock": 1' + "0" * 40 + "}", "stock", id="stock-huge"),
    pytest.param('{"name": "x", "price": 1, "stock": 1, "stok": 1}', "stok", id="unknown-member"),
    pytest.param('{"name": "x", "price": 1, "stock": 1, "version": "a"}', "version", id="version"),
]


@pytest.mark.parametrize(("document", "member"), INVALID_DOCUMENTS)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_invalid_documents_are_422(
    api: FlaskClient, method: str, document: str, member: str
) -> None:
    _, tag = current(api)
    url = COLLECTION if method == "POST" else ITEM
    response = api.open(
        url,
        method=method,
        data=document,
        headers={"Content-Type": "application/json", "If-Match": tag},
    )
    problem = assert_problem(response, 422)
    assert member in problem["errors"], problem
    assert current(api) == (SEEDED, tag)
    assert current(api, COLLECTION)[0] == [SEEDED]


@pytest.mark.parametrize(
    ("url", "document", "member"),
    [
        pytest.param(COLLECTION, {**VALID, "id": 5}, "id", id="post-with-id"),
        pytest.param(ITEM, {**VALID, "id": 102}, "id", id="put-other-id"),
        pytest.param(ITEM, {**VALID, "id": "101"}, "id", id="put-id-string"),
        pytest.param(ITEM, {**VALID, "id": True}, "id", id="put-id-bool"),
    ],
)
def test_ids_belong_to_the_url(api: FlaskClient, url: str, document: Any, member: str) -> None:
    _, tag = current(api)
    response = api.open(
        url, method="POST" if url == COLLECTION else "PUT", json=document, headers={"If-Match": tag}
    )
    assert member in assert_problem(response, 422)["errors"]
    assert current(api) == (SEEDED, tag)


INVALID_PATCHES = [
    pytest.param("[]", "", id="array-replaces-document"),
    pytest.param('"x"', "", id="string-replaces-document"),
    pytest.param("5", "", id="number-replaces-document"),
    pytest.param('{"name": null}', "name", id="remove-name"),
    pytest.param('{"stock": null}', "stock", id="remove-stock"),
    pytest.param('{"price": -0.01}', "price", id="price-negative"),
    pytest.param('{"price": false}', "price", id="price-bool"),
    pytest.param('{"stock": 4.5}', "stock", id="stock-fraction"),
    pytest.param('{"stok": 46}', "stok", id="unknown-member"),
    pytest.param('{"id": 5}', "id", id="other-id"),
    pytest.param('{"name": {"first": "x"}}', "name", id="object-member"),
    pytest.param('{"name": ' + '{"a": ' * 500 + "1" + "}" * 501, "name", id="deep-object"),
]


@pytest.mark.parametrize(("document", "member"), INVALID_PATCHES)
def test_invalid_merge_patches_are_422_rfc7396(
    api: FlaskClient, document: str, member: str
) -> None:
    _, tag = current(api)
    response = api.patch(
        ITEM, data=document, headers={"Content-Type": MERGE_PATCH, "If-Match": tag}
    )
    problem = assert_problem(response, 422)
    assert member in problem["errors"], problem
    assert current(api) == (SEEDED, tag)


@pytest.mark.parametrize(
    ("patch_document", "expected"),
    [
        pytest.param({}, SEEDED, id="empty-patch-changes-nothing"),
        pytest.param({"price": 99.99}, {**SEEDED, "price": 99.99}, id="price-cents"),
        pytest.param({"price": 0}, {**SEEDED, "price": 0}, id="price-zero"),
        pytest.param({"price": 120.0}, SEEDED, id="price-whole-float"),
        pytest.param({"stock": 5.0}, {**SEEDED, "stock": 5}, id="stock-integral-float"),
        pytest.param({"id": 101}, SEEDED, id="same-id"),
        pytest.param({"id": None}, SEEDED, id="id-removal-ignored"),
        pytest.param({"name": "Écouteurs 🎧"}, {**SEEDED, "name": "Écouteurs 🎧"}, id="unicode"),
    ],
)
def test_valid_merge_patches_rfc7396(
    api: FlaskClient, patch_document: dict[str, Any], expected: dict[str, Any]
) -> None:
    _, tag = current(api)
    written = patch(api, patch_document, tag)
    assert written.status_code == 200, written.data
    assert written.get_json() == expected
    assert current(api) == (expected, written.headers["ETag"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/products/999",
        "/api/products/0",
        "/api/products/-1",
        "/api/products/abc",
        "/api/products/99999999999999999999999",
        "/api/products/101/",
        "/api/nothing",
    ],
)
def test_unknown_ids_are_404_problems(api: FlaskClient, url: str) -> None:
    response = api.get(url)
    assert_problem(response, 404)
    assert_no_tag(response)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_to_unknown_ids_never_5xx(api: FlaskClient, method: str) -> None:
    url = "/api/products/999"
    assert_problem(api.open(url, method=method, json=VALID), 428)
    assert_problem(api.open(url, method=method, json=VALID, headers={"If-Match": '"x"'}), 412)
    huge = "/api/products/99999999999999999999999"
    assert_problem(api.open(huge, method=method, json=VALID, headers={"If-Match": "*"}), 404)


def test_other_methods_are_405_problems_with_allow(api: FlaskClient) -> None:
    response = api.post(ITEM, json=VALID)
    assert_problem(response, 405)
    assert {"GET", "PUT", "PATCH", "DELETE"} <= set(response.allow)


# --------------------------------------------------------------------------- real races


def test_patch_racing_another_write_is_412_not_a_lost_update(api: FlaskClient) -> None:
    """Issue 3 item 2: the write is ``UPDATE ... WHERE version = checked``, atomically."""
    _, tag = current(api)
    with concurrent_write("before_update", set_row(101, stock=999)) as interposed:
        response = patch(api, {"stock": 44}, tag)
    assert interposed, "the other write must have run inside the request"
    assert_problem(response, 412)
    assert response.headers["ETag"] == '"other"', "the 412 names the winner's tag"
    assert current(api) == ({**SEEDED, "stock": 999}, '"other"')
    retried = patch(api, {"stock": 44}, response.headers["ETag"])
    assert (retried.status_code, retried.get_json()["stock"]) == (200, 44)


def test_put_racing_another_write_is_412(api: FlaskClient) -> None:
    _, tag = current(api)
    with concurrent_write("before_update", set_row(101, name="Theirs")) as interposed:
        response = api.put(ITEM, json=VALID, headers={"If-Match": tag})
    assert interposed
    assert_problem(response, 412)
    assert current(api)[0] == {**SEEDED, "name": "Theirs"}


def test_delete_racing_another_write_is_412(api: FlaskClient) -> None:
    _, tag = current(api)
    with concurrent_write("before_delete", set_row(101, stock=0)) as interposed:
        response = api.delete(ITEM, headers={"If-Match": tag})
    assert interposed
    assert_problem(response, 412)
    assert current(api)[0] == {**SEEDED, "stock": 0}


def insert_row(product_id: int) -> Callable[[sa.Connection], Any]:
    """Another client's creation of ``product_id``, committed at once."""

    def write(connection: sa.Connection) -> Any:
        connection.execute(
            sa.insert(products.Product.__table__).values(
                id=product_id, name="Theirs", price_cents=100, stock=1, version="other"
            )
        )
        return product_id

    return write


def test_create_only_put_racing_a_creation_is_412_rfc9110_13_1_2(api: FlaskClient) -> None:
    url = "/api/products/7"
    with concurrent_write("before_insert", insert_row(7)) as interposed:
        response = api.put(url, json=VALID, headers={"If-None-Match": "*"})
    assert interposed
    assert_problem(response, 412)
    assert response.headers["ETag"] == '"other"', "the 412 names the creation that won"
    assert current(api, url) == ({"id": 7, "name": "Theirs", "price": 1, "stock": 1}, '"other"')


def test_post_racing_a_creation_takes_the_next_id(
    api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A creation that does not queue with POSTs (a create-only PUT, another program) takes
    the id a POST read: the POST retries with the next one.  The POST's own turn is skipped
    here so the other creation can land inside it (on SQLite the turn is the write lock)."""
    monkeypatch.setattr(products, "take_creation_turn", lambda: None)
    with concurrent_write("before_insert", insert_row(102)) as interposed:
        created = api.post(COLLECTION, json=VALID)
    assert interposed
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/products/103"
    assert current(api, "/api/products/103") == (created.get_json(), created.headers["ETag"])
    assert current(api, "/api/products/102")[0]["name"] == "Theirs"


def _statements_of(
    api: FlaskClient, url: str, *, headers: dict[str, str] | None = None, interpose_after: int = 0
) -> Any:
    """GET ``url``, recording every SQL statement; a write commits as the n-th one starts."""
    executions: list[str] = []

    def record(state: Any) -> None:
        executions.append(str(state.statement))
        if len(executions) == interpose_after:
            with products.db.engine.begin() as other:
                set_row(101, stock=1)(other)

    sa.event.listen(products.db.session, "do_orm_execute", record)
    try:
        response = api.get(url, headers=headers)
    finally:
        sa.event.remove(products.db.session, "do_orm_execute", record)
    return response, executions


def test_get_tag_describes_the_body_even_when_a_write_lands_mid_request(api: FlaskClient) -> None:
    """Issue 3 item 3: the lookup loads the row the view then serves (the session's identity
    map), so a write committed after it leaves body and tag both of the state read."""

    def write_after_the_lookup(_context: Any, _instance: Any) -> None:
        with products.db.engine.begin() as other:
            set_row(101, stock=1)(other)

    seeded_tag = api.get(ITEM).headers["ETag"]
    sa.event.listen(products.Product, "load", write_after_the_lookup)
    try:
        response = api.get(ITEM)
    finally:
        sa.event.remove(products.Product, "load", write_after_the_lookup)
    assert response.status_code == 200
    assert (response.get_json(), response.headers["ETag"]) == (SEEDED, seeded_tag)
    assert current(api) == ({**SEEDED, "stock": 1}, '"other"')


def test_a_plain_read_runs_one_query(api: FlaskClient) -> None:
    """Issue 19 item 2: the lookup runs on every read (an access check or a 404 in it always
    wins) and loads the row the view serves: one SQL statement per read, by design."""
    first, executions = _statements_of(api, ITEM)
    assert len(executions) == 1, executions
    for _ in range(3):
        again, executions = _statements_of(api, ITEM)
        assert len(executions) == 1, executions
        assert (again.status_code, again.headers["ETag"]) == (200, first.headers["ETag"])
    changed, executions = _statements_of(api, ITEM, interpose_after=1)
    assert len(executions) == 1, executions
    # A write committed just before the only read: body and tag both describe it.
    assert changed.get_json() == {**SEEDED, "stock": 1}
    assert changed.headers["ETag"] == '"other"'
    assert current(api) == ({**SEEDED, "stock": 1}, '"other"')


def test_a_revalidation_still_runs_only_the_lookup(api: FlaskClient, example_app: Flask) -> None:
    """Issue 11: a conditional read is decided by the lookup alone, before the view."""
    _, tag = current(api)
    response, executions = _statements_of(api, ITEM, headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert len(executions) == 1, executions


def test_write_tag_is_of_the_state_it_wrote_not_a_later_one(api: FlaskClient) -> None:
    """Issue 3 item 3: a write committed right after ours must not leak into our response.

    Re-reading the product after the commit would return their body under our tag (or our
    body under theirs); the response must describe exactly the state this PATCH produced.
    """
    _, tag = current(api)
    fired: list[bool] = []

    def interpose(session: Any) -> None:
        if not fired:
            fired.append(True)
            with products.db.engine.begin() as other:
                set_row(101, stock=999)(other)

    sa.event.listen(products.db.session, "after_commit", interpose)
    try:
        written = patch(api, {"stock": 44}, tag)
    finally:
        sa.event.remove(products.db.session, "after_commit", interpose)
    assert fired
    assert written.status_code == 200
    assert written.get_json() == {**SEEDED, "stock": 44}
    assert written.headers["ETag"] not in (tag, '"other"')
    assert current(api) == ({**SEEDED, "stock": 999}, '"other"')
    assert_problem(patch(api, {"stock": 1}, written.headers["ETag"]), 412)


def test_threads_incrementing_stock_lose_no_update(api: FlaskClient, example_app: Flask) -> None:
    """A small in-process version of the load test: read-modify-write with retries on 412."""
    clients, increments = 4, 8
    outcomes: list[int] = []
    lock = threading.Lock()

    def increment_repeatedly() -> None:
        client = example_app.test_client()
        for _ in range(increments):
            for _attempt in range(200):
                body, tag = current(client)
                response = patch(client, {"stock": body["stock"] + 1}, tag)
                with lock:
                    outcomes.append(response.status_code)
                if response.status_code == 200:
                    break

    threads = [threading.Thread(target=increment_repeatedly) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert set(outcomes) <= {200, 412}, outcomes
    assert outcomes.count(200) == clients * increments
    body, _ = current(example_app.test_client())
    assert body["stock"] == SEEDED["stock"] + clients * increments


# --------------------------------------------------------------------------- set-up


def test_database_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``create_app`` reads ``FLASK_SQLALCHEMY_DATABASE_URI`` (``from_prefixed_env``)."""
    path = tmp_path / "from-env.sqlite3"
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{path}")
    app = dispose_after_test(products.create_app({"TESTING": True}))
    assert current(app.test_client())[0] == SEEDED
    assert path.exists()
    with closing(sqlite3.connect(path)) as connection:
        # WAL: readers never wait for the writer (a database setting, kept in the file).
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT id FROM products").fetchall() == [(101,)]
    with app.app_context():
        # busy_timeout: "database is locked" becomes a short wait, never a 500.
        timeout = products.db.session.execute(sa.text("PRAGMA busy_timeout")).scalar()
    assert timeout == products.SQLITE_BUSY_TIMEOUT_MS


def test_seeding_twice_keeps_existing_data(api: FlaskClient, database: dict[str, Any]) -> None:
    """Several workers start at once: seeding is insert-if-absent, never an overwrite."""
    _, tag = current(api)
    assert patch(api, {"stock": 3}, tag).status_code == 200
    again = dispose_after_test(products.create_app({"TESTING": True, **database}))
    assert current(again.test_client(), COLLECTION)[0] == [{**SEEDED, "stock": 3}]


@pytest.mark.parametrize(
    ("value", "strict"),
    [
        *[pytest.param(value, True, id=f"strict {value!r}") for value in STRICT_VALUES],
        *[pytest.param(value, False, id=f"lenient {value!r}") for value in LENIENT_VALUES],
        pytest.param("TRUE", True, id="strict in capitals"),
        pytest.param(" Yes ", True, id="strict with spaces"),
        pytest.param("Off", False, id="lenient in mixed case"),
        pytest.param(None, False, id="unset"),
    ],
)
def test_strict_mode_reads_the_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, value: str | None, strict: bool
) -> None:
    """ETAG_TESTS_STRICT: CI may write 1, true, yes or on; a skip then becomes a failure."""
    if value is None:
        monkeypatch.delenv(STRICT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(STRICT_VARIABLE, value)
    assert strict_mode() is strict
    outcome = pytest.fail.Exception if strict else pytest.skip.Exception
    with pytest.raises(outcome, match="no server here"):
        skip_or_fail("no server here")


@pytest.mark.parametrize("value", ["2", "strict", "ture", "y", "1 0", "-1", "none"])
def test_strict_mode_refuses_other_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """An unknown spelling is a usage error naming the variable, never a silent skip."""
    monkeypatch.setenv(STRICT_VARIABLE, value)
    with pytest.raises(pytest.UsageError, match=f"{STRICT_VARIABLE}='{value}' is not understood"):
        strict_mode()
    with pytest.raises(pytest.UsageError, match="1, true, yes, on"):
        skip_or_fail("no server here")


def test_concurrent_creations_all_succeed_tagged_with_their_own_write_rfc9110_15_3_2(
    api: FlaskClient, example_app: Flask
) -> None:
    """8 clients x 15 POSTs at once: every one 201, each at its own id, each 201's tag the
    version that very insert set (the next GET of its Location agrees)."""
    answers: list[TestResponse] = []
    lock = threading.Lock()

    def create(client_number: int) -> None:
        client = example_app.test_client()
        for step in range(15):
            document = {"name": f"client {client_number} #{step}", "price": 1, "stock": step}
            response = client.post(COLLECTION, json=document)
            with lock:
                answers.append(response)

    threads = [threading.Thread(target=create, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [201] * 120, [
        answer.text for answer in answers if answer.status_code != 201
    ][:3]
    assert len({answer.headers["Location"] for answer in answers}) == 120
    for answer in answers:
        assert current(api, answer.headers["Location"]) == (
            answer.get_json(),
            answer.headers["ETag"],
        )
