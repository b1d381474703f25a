"""The example product API, able to lose its database connection after an answer is made.

Run under gunicorn as ``tests.outage_app:create_app()``, with the example's usual
``FLASK_SQLALCHEMY_*`` variables.  A request carrying ``X-Drop-Connection: after-answer`` has
its PostgreSQL backend ended (``pg_terminate_backend``, from a second connection) once its
response is made, before the teardown rolls its read back.  That is the moment gunicorn
answered with its own HTML 500 when the rollback raised: the response was ready and correct,
and the dead connection replaced it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Flask, request, request_finished

from examples import products

HEADER = "X-Drop-Connection"


def create_app() -> Flask:
    """The example's app, plus the receiver that ends the connection on request."""
    app = products.create_app()
    request_finished.connect(end_connection_after_answer, app)
    return app


def end_connection_after_answer(sender: Flask, **_extra: Any) -> None:
    """End this request's backend, as an administrator would, if the request asks for it."""
    if request.headers.get(HEADER) != "after-answer":
        return
    connection = products.db.session.connection().connection.dbapi_connection
    server = products.db.engine.url.set(drivername="postgresql", query={})
    with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (connection.info.backend_pid,))
