"""Database faults answer 503 with Retry-After as problem details, never 500 (issue 23, item 6).

The example product API runs on a PostgreSQL schema of its own.  Its connections carry an
``application_name`` of the test's, so the test finds exactly its backends in
``pg_stat_activity`` and ends them with ``pg_terminate_backend``, as an administrator, a
fail-over or a restart would: between requests, while a request holds a transaction, at its
``COMMIT``, and after its answer is made (the teardown's rollback).  Nothing is mocked: the
drops are real, and so are the errors the driver raises.

RFC 9110 §15.6.4: 503 says the server cannot handle the request *for now*; §10.2.3:
``Retry-After`` says when to try again.  A 500 would say the opposite, that the server has a
bug, so a bug (a bad statement) must stay a 500 and never pass for an outage.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask, request_finished
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from support_databases import dispose_after_test
from support_processes import (
    POSTGRES_URL,
    free_port,
    gunicorn_server,
    postgres_schema,
    require_module,
)
from test_example import load_example
from werkzeug.test import TestResponse

from flask_etag import ETagConfigurationError
from flask_etag.sqlalchemy import DatabaseOutages, DatabaseUnavailable

PROBLEM_JSON = "application/problem+json"
ITEM = "/api/products/101"
COLLECTION = "/api/products"
SEEDED = {"id": 101, "name": "Wireless Headphones", "price": 120, "stock": 45}
MERGE_PATCH = "application/merge-patch+json"


products = load_example()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def schema_url() -> Iterator[str]:
    """A SQLAlchemy URL into a fresh PostgreSQL schema for this module, dropped after."""
    with postgres_schema("outage_tests") as url:
        yield url


@pytest.fixture(scope="module")
def admin(schema_url: str) -> Iterator[Any]:
    """A connection of the test's own, outside every app's pool: it ends the apps' backends."""
    import psycopg

    libpq_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        yield connection


def terminate(admin: Any, application_name: str) -> int:
    """End every backend of ``application_name`` and wait until each is gone; how many."""
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
        " WHERE application_name = %s AND pid <> pg_backend_pid()",
        (application_name,),
    ).fetchall()
    return sum(1 for (ended,) in rows if ended)


@dataclass
class ExampleApp:
    """The example on the module's schema, under an ``application_name`` of its own."""

    app: Flask
    name: str
    admin: Any

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def drop_connections(self) -> int:
        return terminate(self.admin, self.name)


def example_app(schema_url: str, admin: Any, **engine_options: Any) -> ExampleApp:
    """The example with its default engine options plus ``engine_options``, product 101 as
    seeded."""
    name = f"flask-etag-outages-{secrets.token_hex(4)}"
    options = {"connect_args": {"application_name": name}, **engine_options}
    app = products.create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": schema_url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
        }
    )
    dispose_after_test(app)
    with app.app_context():
        products.db.session.execute(sa.delete(products.Product))
        products.db.session.commit()
        products.seed_product()
        products.db.session.remove()
    return ExampleApp(app, name, admin)


@pytest.fixture
def example(schema_url: str, admin: Any) -> ExampleApp:
    """The example as it ships (``pool_pre_ping`` on), on PostgreSQL."""
    return example_app(schema_url, admin)


def assert_unavailable(response: TestResponse | requests.Response, retry_after: int = 2) -> None:
    """RFC 9110 §15.6.4 503 with §10.2.3 ``Retry-After``, as RFC 9457 problem details."""
    body = response.text
    assert response.status_code == 503, body
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.headers["Retry-After"] == str(retry_after)
    problem = json.loads(body)
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Service Unavailable"
    assert problem["status"] == 503
    assert problem["reason"] == "database-unavailable"
    assert f"retry in {retry_after} seconds" in problem["detail"]


def current(client: FlaskClient) -> tuple[dict[str, Any], str]:
    """GET product 101: its body and its ``ETag`` (asserting a 200)."""
    response = client.get(ITEM)
    assert response.status_code == 200, response.text
    return response.get_json(), response.headers["ETag"]


# --------------------------------------------------------------------------- drops, in process


@pytest.mark.parametrize(
    ("engine_options", "statuses"),
    [
        pytest.param({}, [200], id="pre-ping replaces the dead connection"),
        pytest.param({"pool_pre_ping": False}, [503, 200], id="without pre-ping 503 once"),
    ],
)
def test_a_connection_dropped_between_requests_rfc9110_15_6_4(
    schema_url: str, admin: Any, engine_options: dict[str, Any], statuses: list[int]
) -> None:
    """A pooled connection ended while idle: the example's ``pool_pre_ping`` replaces it
    before use; without it the lookup's query meets it, once: 503, then the pool recovers."""
    example = example_app(schema_url, admin, **engine_options)
    client = example.client()
    current(client)
    assert example.drop_connections() == 1
    answers = [client.get(ITEM) for _ in statuses]
    assert [answer.status_code for answer in answers] == statuses
    for answer in answers[:-1]:
        assert_unavailable(answer)
    assert answers[-1].get_json() == SEEDED


@contextmanager
def dropped_when(example: ExampleApp, event: str) -> Iterator[list[int]]:
    """End the app's connections once, from inside the request, when ``event`` fires.

    ``checkout`` fires after ``pool_pre_ping`` passed, before the request's first query:
    the connection dies between the check and its use.  ``before_flush`` fires after the
    request's reads, inside its transaction; ``before_commit`` just before the ``COMMIT``.
    """
    ended: list[int] = []

    def drop(*_args: Any) -> None:
        if not ended:
            ended.append(example.drop_connections())

    with example.app.app_context():
        target = products.db.engine if event == "checkout" else products.db.session
    sa.event.listen(target, event, drop)
    try:
        yield ended
    finally:
        sa.event.remove(target, event, drop)


def patch(client: FlaskClient, body: Any, tag: str) -> TestResponse:
    headers = {"If-Match": tag, "Content-Type": MERGE_PATCH}
    return client.patch(ITEM, data=json.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("url", "event"),
    [
        pytest.param(ITEM, "checkout", id="in the item lookup, before the view"),
        pytest.param(COLLECTION, "checkout", id="in the collection lookup, before the view"),
        pytest.param("/healthz", "checkout", id="in the health view"),
    ],
)
def test_a_read_whose_connection_drops_is_503_then_200_rfc9110_15_6_4(
    example: ExampleApp, url: str, event: str
) -> None:
    client = example.client()
    with dropped_when(example, event) as ended:
        dropped = client.get(url)
    assert ended == [1]
    assert_unavailable(dropped)
    assert "ETag" not in dropped.headers
    again = client.get(url)
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "event",
    [
        pytest.param("before_flush", id="while the write holds its transaction"),
        pytest.param("before_commit", id="at the COMMIT"),
    ],
)
def test_a_write_whose_connection_drops_is_503_and_its_retry_applies_once_rfc9110_15_6_4(
    example: ExampleApp, event: str
) -> None:
    """The dropped write did not commit: the product is as it was, and the same request sent
    again (same ``If-Match``) applies, once."""
    client = example.client()
    _, tag = current(client)
    with dropped_when(example, event) as ended:
        dropped = patch(client, {"stock": 46}, tag)
    assert ended == [1]
    assert_unavailable(dropped)
    assert current(client) == (SEEDED, tag)
    retried = patch(client, {"stock": 46}, tag)
    assert retried.status_code == 200, retried.text
    assert current(client)[0] == {**SEEDED, "stock": 46}
    assert patch(client, {"stock": 46}, tag).status_code == 412  # sent a third time: stale


def test_a_delete_whose_connection_drops_is_503_and_its_retry_deletes_rfc9110_15_6_4(
    example: ExampleApp,
) -> None:
    client = example.client()
    _, tag = current(client)
    with dropped_when(example, "before_flush"):
        assert_unavailable(client.delete(ITEM, headers={"If-Match": tag}))
    assert current(client) == (SEEDED, tag)
    assert client.delete(ITEM, headers={"If-Match": tag}).status_code == 204
    assert client.get(ITEM).status_code == 404


def test_a_connection_dropped_after_the_answer_is_made_keeps_the_answer_rfc9110_15_6_4(
    example: ExampleApp, caplog: pytest.LogCaptureFixture
) -> None:
    """The teardown's rollback meets the dead connection: it is discarded and logged, and
    the 200 already made goes out; nothing escapes Flask (under gunicorn: its HTML 500)."""
    client = example.client()
    ended: list[int] = []

    def drop(_sender: Flask, **_extra: Any) -> None:
        ended.append(example.drop_connections())

    with (
        caplog.at_level(logging.WARNING, logger=example.app.logger.name),
        request_finished.connected_to(drop, example.app),
    ):
        answer = client.get(ITEM)
    assert ended == [1]
    assert answer.status_code == 200, answer.text
    assert answer.get_json() == SEEDED
    assert "A dead database connection was discarded" in caplog.text
    assert current(client)[0] == SEEDED


# --------------------------------------------------------------------------- not outages


def bad_statement_app(url: str, *, testing: bool) -> Flask:
    """The example with one more route, whose statement names a column that does not exist."""
    app = dispose_after_test(
        products.create_app({"TESTING": testing, "SQLALCHEMY_DATABASE_URI": url})
    )

    def bad_statement() -> dict[str, Any]:
        return {"rows": products.db.session.execute(sa.text("SELEC no_such FROM products")).all()}

    app.add_url_rule("/bad-statement", view_func=bad_statement)
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite reports a syntax error as an ``OperationalError``, PostgreSQL as a
    ``ProgrammingError``: neither is an outage."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'products.sqlite3'}"
    return str(request.getfixturevalue("schema_url"))


def test_a_bad_statement_is_still_a_500_rfc9110_15_6_1(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug is answered 500 and logged with its traceback, never 503: it must be seen."""
    app = bad_statement_app(database_url, testing=False)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        answer = app.test_client().get("/bad-statement")
    assert answer.status_code == 500, answer.text
    assert "Retry-After" not in answer.headers
    assert answer.get_json()["status"] == 500  # the example's own problem details
    assert "Exception on /bad-statement [GET]" in caplog.text
    assert "no_such" in caplog.text
    assert app.test_client().get(ITEM).status_code == 200


def test_a_bad_statement_propagates_in_testing_rfc9110_15_6_1(database_url: str) -> None:
    """Under ``TESTING`` Flask raises an unhandled error into the test: so does this one."""
    app = bad_statement_app(database_url, testing=True)
    with pytest.raises(sa.exc.DBAPIError, match="no_such") as raised:
        app.test_client().get("/bad-statement")
    assert not raised.value.connection_invalidated


# --------------------------------------------------------------------------- other outages


def small_app(url: str, **engine_options: Any) -> tuple[Flask, SQLAlchemy]:
    """A Flask-SQLAlchemy app of one route, ``GET /now``, answering outages with
    ``DatabaseOutages(app, retry_after=7)``."""
    db = SQLAlchemy()
    app = Flask(__name__)
    app.config.update(
        TESTING=True, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options
    )
    db.init_app(app)
    DatabaseOutages(app, retry_after=7)

    @app.get("/now")
    def now() -> dict[str, Any]:
        return {"now": str(db.session.scalar(sa.text("SELECT CURRENT_TIMESTAMP")))}

    return dispose_after_test(app), db


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://postgres@127.0.0.1:{port}/test", id="refused"),
        pytest.param("sqlite:///{tmp_path}/no-such-folder/data.sqlite3", id="cannot open"),
    ],
)
def test_a_database_that_cannot_be_reached_is_503_rfc9110_15_6_4(url: str, tmp_path: Path) -> None:
    """Connecting fails: no server listens on the port, or SQLite cannot open the file."""
    if url.startswith("postgresql"):
        require_module("psycopg", "the refused connection is PostgreSQL's driver's")
    app, _db = small_app(url.format(port=free_port(), tmp_path=tmp_path))
    assert_unavailable(app.test_client().get("/now"), retry_after=7)


def test_a_pool_with_no_connection_free_is_503_then_200_rfc9110_15_6_4(tmp_path: Path) -> None:
    """Every pooled connection is taken for longer than ``pool_timeout``: 503, not 500."""
    url = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    app, db = small_app(url, poolclass=sa.QueuePool, pool_size=1, max_overflow=0, pool_timeout=0.1)
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    with engine.connect():  # the only connection, held elsewhere
        assert_unavailable(client.get("/now"), retry_after=7)
    assert client.get("/now").status_code == 200


def test_an_app_renders_the_503_its_own_way(tmp_path: Path) -> None:
    """``@outages.answer`` replaces the problem document; after-request hooks still run."""
    db = SQLAlchemy()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/no-such-folder/data.sqlite3"
    db.init_app(app)
    outages = DatabaseOutages(app, retry_after=7)
    dispose_after_test(app)

    @outages.answer
    def unavailable(error: DatabaseUnavailable) -> tuple[str, int, dict[str, str]]:
        return "down, back soon", 503, {"Retry-After": str(error.retry_after)}

    @app.get("/now")
    def now() -> str:
        return str(db.session.scalar(sa.text("SELECT CURRENT_TIMESTAMP")))

    @app.after_request
    def mark(response: Any) -> Any:
        response.headers["X-Request-Id"] = "r1"
        return response

    answer = app.test_client().get("/now")
    assert (answer.status_code, answer.text) == (503, "down, back soon")
    assert answer.headers["Retry-After"] == "7"
    assert answer.headers["X-Request-Id"] == "r1"


def test_a_database_error_that_is_no_outage_reaches_the_apps_catch_all(tmp_path: Path) -> None:
    """Only the classes an outage comes as are taken: a constraint violation still reaches
    ``@app.errorhandler(Exception)``."""
    app, db = small_app(f"sqlite:///{tmp_path / 'data.sqlite3'}")

    @app.get("/twice")
    def twice() -> str:
        db.session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        db.session.execute(sa.text("INSERT INTO t VALUES (1)"))
        db.session.execute(sa.text("INSERT INTO t VALUES (1)"))
        return "never"

    @app.errorhandler(Exception)
    def everything(error: Exception) -> tuple[str, int]:
        return type(error).__name__, 500

    answer = app.test_client().get("/twice")
    assert (answer.status_code, answer.text) == (500, "IntegrityError")


# --------------------------------------------------------------------------- set-up


def test_set_up_twice_is_refused(tmp_path: Path) -> None:
    app, _db = small_app(f"sqlite:///{tmp_path / 'data.sqlite3'}")
    with pytest.raises(ETagConfigurationError, match="already set up"):
        DatabaseOutages(app)


def test_set_up_before_flask_sqlalchemy_is_refused() -> None:
    """Its teardown must run before Flask-SQLAlchemy's, so it must be registered after it."""
    db = SQLAlchemy()
    app = Flask(__name__)
    with pytest.raises(ETagConfigurationError, match=r"call db.init_app\(app\) before"):
        DatabaseOutages(app)
    with pytest.raises(ETagConfigurationError, match=r"call db.init_app\(app\) before"):
        DatabaseOutages(app, session=db.session)


@pytest.mark.parametrize("retry_after", [0, -1, 1.5, True, "5"])
def test_retry_after_is_whole_seconds_rfc9110_10_2_3(retry_after: Any) -> None:
    with pytest.raises(ValueError, match="retry_after is a whole number of seconds"):
        DatabaseOutages(retry_after=retry_after)


# --------------------------------------------------------------------------- under gunicorn

#: The chaos: how long backends keep being ended, and how often.
CHAOS_SECONDS = 6.0
CHAOS_INTERVAL_SECONDS = 0.25
HOSTS = 3
CLIENTS = 6
REQUEST_TIMEOUT_SECONDS = 30.0
#: A client's pause after a 503, shorter than ``Retry-After`` to keep the test short.
PAUSE_AFTER_503_SECONDS = 0.05
#: 503s in a row after which a client gives up: the database never came back.
MAX_RETRIES = 200


def host_environment(schema_url: str, name: str) -> dict[str, str]:
    """The example's variables: the schema, and the ``application_name`` its backends carry
    (added to the example's own engine options, so ``pool_pre_ping`` stays on)."""
    return {
        "FLASK_SQLALCHEMY_DATABASE_URI": schema_url,
        "FLASK_SQLALCHEMY_ENGINE_OPTIONS": json.dumps({"connect_args": {"application_name": name}}),
    }


@pytest.mark.slow
def test_a_connection_dropped_after_the_answer_is_no_html_500_under_gunicorn_rfc9110_15_6_4(
    schema_url: str, admin: Any
) -> None:
    """The issue's HTML 500: the teardown's rollback raised on the dead connection."""
    name = f"flask-etag-outages-{secrets.token_hex(4)}"
    with gunicorn_server(
        "tests.outage_app:create_app()",
        env=host_environment(schema_url, name),
        ready_path=ITEM,
    ) as base:
        answers = [
            requests.get(f"{base}{ITEM}", headers={"X-Drop-Connection": "after-answer"}, timeout=10)
            for _ in range(3)
        ]
        after = requests.get(f"{base}{ITEM}", timeout=10)
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["id"] == 101
    assert after.status_code == 200, after.text


#: How long the server refuses a booting host's connections, as one starting up does.
REFUSED_AT_BOOT_SECONDS = 4.0


@contextmanager
def role_refused_until_allowed(schema_url: str, admin: Any) -> Iterator[tuple[str, Any]]:
    """A URL for a role of its own that may not log in yet, and the function that lets it."""
    role = f"flask_etag_boot_{secrets.token_hex(4)}"
    schema = sa.make_url(schema_url).query["options"].removeprefix("-csearch_path=")
    admin.execute(f'CREATE ROLE "{role}" NOLOGIN')
    admin.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
    try:
        url = sa.make_url(schema_url).set(username=role)
        yield (
            url.render_as_string(hide_password=False),
            lambda: admin.execute(f'ALTER ROLE "{role}" LOGIN'),
        )
    finally:
        admin.execute(f'DROP OWNED BY "{role}"')
        admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.slow
def test_a_host_started_while_the_database_refuses_it_comes_up_when_it_returns_rfc9110_15_6_4(
    admin: Any,
) -> None:
    """gunicorn stops every worker when one fails to boot, so a host (re)started during a
    database restart must wait for the database, not fail: the CI run that found it lost a
    host whose worker booted while backends were being ended."""
    with (
        postgres_schema("outage_boot") as schema_url,
        role_refused_until_allowed(schema_url, admin) as (url, allow),
    ):
        started = time.monotonic()
        timer = threading.Timer(REFUSED_AT_BOOT_SECONDS, allow)
        timer.start()
        try:
            with gunicorn_server(
                "examples.products:create_app()",
                env={"FLASK_SQLALCHEMY_DATABASE_URI": url},
                ready_path=ITEM,
            ) as base:
                ready_after = time.monotonic() - started
                answer = requests.get(f"{base}{ITEM}", timeout=10)
        finally:
            timer.cancel()
            timer.join()
    assert ready_after >= REFUSED_AT_BOOT_SECONDS
    assert answer.status_code == 200, answer.text
    assert answer.json() == SEEDED


@dataclass
class Tally:
    """What every client saw, counted under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    #: Writes answered 200: the client knows they are applied.
    acknowledged: Counter[int] = field(default_factory=Counter)
    #: Writes answered 503 whose retry, with the same If-Match, got 412: applied after all.
    applied_unacknowledged: Counter[int] = field(default_factory=Counter)
    #: Anything that breaks the rule: a 500, an HTML body, a 503 that is not problem details.
    violations: list[str] = field(default_factory=list)

    def check(self, response: requests.Response) -> requests.Response:
        """Count the answer; note it when it is not what the rule allows."""
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code not in (200, 201, 304, 412, 503):
                self.violations.append(f"{response.status_code}: {response.text[:200]}")
            elif "html" in response.headers.get("Content-Type", ""):
                self.violations.append(f"an HTML body: {response.text[:200]}")
            elif response.status_code == 503:
                try:
                    assert_unavailable(response)
                except (AssertionError, ValueError, KeyError) as error:
                    self.violations.append(f"a 503 that breaks the rule ({error!r})")
        return response


class Client:
    """One client with a product of its own, behind a load balancer that takes turns."""

    def __init__(self, bases: list[str], product_id: int, tally: Tally) -> None:
        self.bases = bases
        self.product_id = product_id
        self.tally = tally
        self.session = requests.Session()
        self.turn = product_id

    def send(self, method: str, path: str, **options: Any) -> requests.Response:
        self.turn += 1
        url = self.bases[self.turn % len(self.bases)] + path
        return self.tally.check(
            self.session.request(method, url, timeout=REQUEST_TIMEOUT_SECONDS, **options)
        )

    def until_answered(self, method: str, path: str, **options: Any) -> requests.Response:
        """Send the same request again after each 503, as its ``Retry-After`` invites."""
        for _attempt in range(MAX_RETRIES):
            response = self.send(method, path, **options)
            if response.status_code != 503:
                return response
            time.sleep(PAUSE_AFTER_503_SECONDS)
        raise AssertionError(f"{method} {path}: still 503 after {MAX_RETRIES} attempts")

    def read(self) -> tuple[int, str]:
        response = self.until_answered("GET", f"{COLLECTION}/{self.product_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["stock"]), response.headers["ETag"]

    def increment_until(self, stop: threading.Event) -> None:
        """Read-modify-write with ``If-Match``; a 503 is retried with the same tag, and a
        412 after it means the first attempt had applied (nobody else writes this product)."""
        stock, tag = self.read()
        listing: str | None = None
        while not stop.is_set():
            headers = {"If-Match": tag, "Content-Type": MERGE_PATCH}
            path = f"{COLLECTION}/{self.product_id}"
            first = self.send("PATCH", path, data=json.dumps({"stock": stock + 1}), headers=headers)
            answer = first
            if first.status_code == 503:
                answer = self.until_answered(
                    "PATCH", path, data=json.dumps({"stock": stock + 1}), headers=headers
                )
            if answer.status_code == 200:
                self.count(self.tally.acknowledged)
                stock, tag = stock + 1, answer.headers["ETag"]
            elif answer.status_code == 412 and first.status_code == 503:
                intended = stock + 1
                stock, tag = self.read()
                self.count(self.tally.applied_unacknowledged)
                if stock != intended:
                    self.violate(f"412 after 503, yet stock {stock} is not {intended}")
            else:
                self.violate(f"PATCH answered {answer.status_code}: {answer.text[:200]}")
                stock, tag = self.read()
            seen = self.send("GET", COLLECTION, headers={"If-None-Match": listing or '"none"'})
            if seen.status_code == 200:  # untagged when a write committed during the read
                listing = seen.headers.get("ETag")

    def count(self, counter: Counter[int]) -> None:
        with self.tally.lock:
            counter[self.product_id] += 1

    def violate(self, what: str) -> None:
        with self.tally.lock:
            self.tally.violations.append(f"client of {self.product_id}: {what}")

    def run(self, stop: threading.Event) -> None:
        """:meth:`increment_until`, its failure recorded rather than lost in its thread."""
        try:
            self.increment_until(stop)
        except Exception:
            self.violate(traceback.format_exc())


def end_backends_repeatedly(admin: Any, name: str, stop: threading.Event) -> list[int]:
    """Every quarter second, end every backend of the hosts, as a database restart would."""
    ended: list[int] = []
    deadline = time.monotonic() + CHAOS_SECONDS
    while time.monotonic() < deadline:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        ).fetchall()
        ended.append(len(rows))
        time.sleep(CHAOS_INTERVAL_SECONDS)
    stop.set()
    return ended


@pytest.mark.slow
def test_backends_ended_repeatedly_under_load_answer_503_never_500_rfc9110_15_6_4(
    schema_url: str, admin: Any
) -> None:
    """Three gunicorn hosts on one PostgreSQL, six clients reading and writing while every
    backend is ended four times a second: no 500, no HTML; each failure a 503 problem with
    ``Retry-After``; no acknowledged write lost, and each unacknowledged one accounted for."""
    name = f"flask-etag-outages-{secrets.token_hex(4)}"
    with ExitStack() as hosts:
        bases = [
            hosts.enter_context(
                gunicorn_server(
                    "examples.products:create_app()",
                    workers=2,
                    threads=4,
                    env=host_environment(schema_url, name),
                    ready_path=ITEM,
                )
            )
            for _ in range(HOSTS)
        ]
        tally = Tally()
        clients = [Client(bases, 1000 + number, tally) for number in range(CLIENTS)]
        for client in clients:
            created = client.send(
                "PUT",
                f"{COLLECTION}/{client.product_id}",
                json={"name": f"client {client.product_id}", "price": 1, "stock": 0},
                headers={"If-None-Match": "*"},
            )
            assert created.status_code == 201, created.text
        stop = threading.Event()
        threads = [threading.Thread(target=client.run, args=(stop,)) for client in clients]
        for thread in threads:
            thread.start()
        ended = end_backends_repeatedly(admin, name, stop)
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        healthy = [requests.get(f"{base}/healthz", timeout=10).status_code for base in bases]
        final = {client.product_id: client.read()[0] for client in clients}

    print(
        f"\noutages: backends ended={sum(ended)} in {len(ended)} rounds, "
        f"answers={dict(sorted(tally.statuses.items()))}, "
        f"writes acknowledged={sum(tally.acknowledged.values())}, "
        f"applied but answered 503={sum(tally.applied_unacknowledged.values())}, "
        f"violations={len(tally.violations)}"
    )
    assert tally.violations == [], tally.violations[:5]
    assert sum(ended) > 0, "no backend was ended: the test proved nothing"
    assert tally.statuses[503] > 0, "no request met a dropped connection: the test proved nothing"
    assert healthy == [200] * HOSTS
    for client in clients:
        product = client.product_id
        expected = tally.acknowledged[product] + tally.applied_unacknowledged[product]
        assert final[product] == expected, f"product {product}: {final[product]} != {expected}"
