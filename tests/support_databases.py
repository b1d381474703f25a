"""Closing the database connections a test's apps opened.

An engine left to the garbage collector closes its SQLite connections there, and Python 3.13
warns (``ResourceWarning: unclosed database``) in whichever test happens to run then, which
``filterwarnings = error`` fails.  So every app a test creates with Flask-SQLAlchemy is
registered here and its engines are disposed when that test ends (the autouse fixture in
``conftest.py``); the warning then stays an error, and points at a real leak, such as a
connection flask_etag checked out and never returned.
"""

from __future__ import annotations

from flask import Flask

from flask_etag.sqlalchemy import PurgeOutbox

_REGISTERED: list[Flask] = []


def dispose_after_test(app: Flask) -> Flask:
    """Dispose of ``app``'s Flask-SQLAlchemy engines when the current test ends."""
    _REGISTERED.append(app)
    return app


def dispose_registered() -> None:
    """Dispose of the engines of every registered app (the autouse fixture's teardown)."""
    while _REGISTERED:
        app = _REGISTERED.pop()
        PurgeOutbox.stop(app)  # its sweeper would open the engine again
        database = app.extensions.get("sqlalchemy")
        if database is None:
            continue
        with app.app_context():
            for engine in database.engines.values():
                engine.dispose()
