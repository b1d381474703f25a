"""Signals: exactly one send per 304, 412 or 428, none for other answers.

Each row names where the answer is decided: before the view (version, timestamp), after it
(body hash), by the internal GET of a write to a body-hash route, by the 428 check, by a view
that raises the 412 itself, and by SQLAlchemy's StaleDataError.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import StoreApp
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from support_databases import dispose_after_test

from flask_etag import (
    ETag,
    ETagPreconditionFailed,
    VersionGenerator,
    etag_not_modified,
    etag_precondition_failed,
    etag_precondition_required,
    require_if_match,
)
from flask_etag.sqlalchemy import ModelVersionGenerator

SIGNALS = {
    "304": etag_not_modified,
    "412": etag_precondition_failed,
    "428": etag_precondition_required,
}

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "metrics.py"


@dataclass
class Sent:
    """Every signal sent while connected: (status it announces, sender, keyword arguments)."""

    events: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)

    def receiver(self, status: str) -> Any:
        def receive(sender: Any, **kwargs: Any) -> None:
            self.events.append((status, sender, kwargs))

        return receive


@pytest.fixture
def sent() -> Iterator[Sent]:
    """Connects a recording receiver to the three signals for the duration of a test."""
    record = Sent()
    with ExitStack() as stack:
        for status, signal in SIGNALS.items():
            stack.enter_context(signal.connected_to(record.receiver(status)))
        yield record


def endpoint_of(app: Flask, method: str, path: str) -> str:
    return str(app.url_map.bind("localhost").match(path, method)[0])


CASES = [
    pytest.param(
        "GET", "/items/1", {"If-None-Match": '"1"'}, "304", '"1"', id="§13.1.2 304 before the view"
    ),
    pytest.param(
        "HEAD", "/items/1", {"If-None-Match": '"1"'}, "304", '"1"', id="§13.1.2 304 on HEAD"
    ),
    pytest.param(
        "GET",
        "/stamped/1",
        {"If-Modified-Since": "Mon, 06 May 2024 07:08:09 GMT"},
        "304",
        "{stamped}",
        id="§13.1.3 304 by date",
    ),
    pytest.param(
        "GET",
        "/hashed/1",
        {"If-None-Match": "{hash}"},
        "304",
        "{hash}",
        id="§13.1.2 304 after the view",
    ),
    pytest.param(
        "PATCH", "/items/1", {"If-Match": '"9"'}, "412", '"1"', id="§13.1.1 412 before the view"
    ),
    pytest.param(
        "PUT",
        "/items/1",
        {"If-None-Match": "*"},
        "412",
        '"1"',
        id="§13.1.2 412 If-None-Match star on a write",
    ),
    pytest.param(
        "PUT",
        "/hashed/1",
        {"If-Match": '"9"'},
        "412",
        "{hash}",
        id="§13.1.1 412 by the internal GET",
    ),
    pytest.param(
        "GET", "/hashed/1", {"If-Match": '"9"'}, "412", "{hash}", id="§13.1.1 412 after the view"
    ),
    pytest.param("PATCH", "/items/1", {}, "428", None, id="RFC 6585 §3 428"),
]


@pytest.mark.parametrize(("method", "path", "headers", "status", "etag_value"), CASES)
def test_one_signal_per_answer(
    app: StoreApp,
    client: FlaskClient,
    sent: Sent,
    method: str,
    path: str,
    headers: dict[str, str],
    status: str,
    etag_value: str | None,
) -> None:
    """The signal for the status is sent once, by the app, with the request's details."""
    tags = {
        "hash": client.get("/hashed/1").headers["ETag"],
        "stamped": client.get("/stamped/1").headers["ETag"],
    }
    sent.events.clear()
    headers = {name: value.format(**tags) for name, value in headers.items()}
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == int(status)
    assert len(sent.events) == 1, sent.events
    announced, sender, details = sent.events[0]
    assert (announced, sender) == (status, app)
    assert details == {
        "endpoint": endpoint_of(app, method, path),
        "method": method,
        "etag": None if etag_value is None else etag_value.format(**tags),
        "if_match": headers.get("If-Match"),
        "if_none_match": headers.get("If-None-Match"),
    }


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        pytest.param("GET", "/items/1", {}, id="200 unconditional"),
        pytest.param("GET", "/items/1", {"If-None-Match": '"9"'}, id="200 §13.1.2 no match"),
        pytest.param("GET", "/hashed/1", {"If-None-Match": '"9"'}, id="200 body hash no match"),
        pytest.param("PATCH", "/items/1", {"If-Match": '"1"'}, id="200 §13.1.1 write passes"),
        pytest.param("PUT", "/hashed/1", {"If-Match": "*"}, id="200 internal GET, write passes"),
        pytest.param("GET", "/items/404", {"If-None-Match": "*"}, id="404 §13.2.1 not judged"),
    ],
)
def test_no_signal_for_other_answers(
    client: FlaskClient, sent: Sent, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.open(path, method=method, headers=headers, json={"name": "n"})
    assert response.status_code in (200, 404)
    assert sent.events == []


def test_custom_412_handler_still_signals_once(make_app: Any, sent: Sent) -> None:
    """The signal belongs to the decision, whoever renders the 412 (RFC 9110 §15.5.13)."""
    app = make_app()
    app.register_error_handler(412, lambda error: ("conflict, reload", 412))
    response = app.test_client().patch("/items/1", headers={"If-Match": '"9"'})
    assert (response.status_code, response.get_data()) == (412, b"conflict, reload")
    assert [event[0] for event in sent.events] == ["412"]


def test_auto_mode_signals_304_and_412(make_app: Any, sent: Sent) -> None:
    """ETAG_AUTO answers through the same code: the same signals."""
    app = make_app(ETAG_AUTO=True)
    client = app.test_client()
    tag = client.get("/plain").headers["ETag"]
    assert client.get("/plain", headers={"If-None-Match": tag}).status_code == 304
    assert client.get("/plain", headers={"If-Match": '"9"'}).status_code == 412
    assert [(event[0], event[2]["etag"]) for event in sent.events] == [("304", tag), ("412", tag)]


def test_receivers_of_one_app_hear_only_that_app(make_app: Any) -> None:
    """``connect_via(app)``: the app is the sender, so per-app metrics work."""
    first, second = make_app(), make_app()
    heard: list[Any] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        heard.append(sender)

    with etag_not_modified.connected_to(receive, sender=first):
        second.test_client().get("/items/1", headers={"If-None-Match": '"1"'})
        first.test_client().get("/items/1", headers={"If-None-Match": '"1"'})
    assert heard == [first]


def test_view_raising_412_signals_once(sent: Sent) -> None:
    """A view's own compare-and-set failure (``raise ETagPreconditionFailed()``) counts too."""
    app = Flask(__name__)
    ETag(app)

    @app.put("/things/<int:thing_id>")
    @require_if_match(VersionGenerator(lambda thing_id: 1))
    def replace(thing_id: int) -> str:
        raise ETagPreconditionFailed()

    response = app.test_client().put("/things/1", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert [(event[0], event[2]["etag"], event[2]["endpoint"]) for event in sent.events] == [
        ("412", None, "replace")
    ]
    # The client's fields, though the view ran with them hidden from its own conditionals.
    assert sent.events[0][2]["if_match"] == '"1"'
    assert sent.events[0][2]["if_none_match"] is None


class _Base(DeclarativeBase):
    pass


class Note(_Base):
    """A versioned row: SQLAlchemy writes ``UPDATE ... WHERE version = ?``."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


def test_stale_data_error_signals_412_once(sent: Sent) -> None:
    """Another writer lands between the check and the write: StaleDataError becomes one 412."""
    app = dispose_after_test(Flask(__name__))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(model_class=_Base)
    db.init_app(app)
    ETag(app)
    with app.app_context():
        db.create_all()
        db.session.add(Note(id=1, text="first"))
        db.session.commit()
    versions = ModelVersionGenerator(Note, db.session)

    @app.patch("/notes/<int:note_id>")
    @require_if_match(versions)
    def edit(note_id: int) -> dict[str, Any]:
        note = versions.get_checked(note_id)
        # Another client's write, committed after our precondition check:
        db.session.execute(
            sa.update(Note).where(Note.id == note_id).values(version=99),
            execution_options={"synchronize_session": False},
        )
        note.text = "second"
        versions.commit(note)
        return {"text": note.text}

    response = app.test_client().patch("/notes/1", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert [(event[0], event[2]["endpoint"]) for event in sent.events] == [("412", "edit")]


def test_metrics_example_counts_per_endpoint() -> None:
    """examples/metrics.py runs: its counters follow the answers."""
    spec = importlib.util.spec_from_file_location("metrics_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.create_app()
    client = app.test_client()
    tag = client.get("/articles/1").headers["ETag"]
    for _ in range(3):
        assert client.get("/articles/1", headers={"If-None-Match": tag}).status_code == 304
    assert client.put("/articles/1", json={"title": "t"}).status_code == 428
    assert (
        client.put("/articles/1", json={"title": "t"}, headers={"If-Match": '"0"'}).status_code
        == 412
    )
    assert (
        client.put("/articles/1", json={"title": "t"}, headers={"If-Match": tag}).status_code == 200
    )
    metrics = client.get("/metrics")
    assert metrics.mimetype == "text/plain"
    assert set(metrics.get_data(as_text=True).splitlines()) == {
        'flask_etag_responses_total{endpoint="article",status="304"} 3',
        'flask_etag_responses_total{endpoint="article",status="412"} 1',
        'flask_etag_responses_total{endpoint="article",status="428"} 1',
    }
