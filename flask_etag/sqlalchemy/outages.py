"""Database outages answered ``503 Service Unavailable`` with ``Retry-After``, never 500.

A connection the database dropped (a restart, a fail-over, an administrator's
``pg_terminate_backend``), a database that cannot be reached, a pool with no connection free:
each is a passing state of the server, not a fault of the request.  RFC 9110 §15.6.4 names the
answer, 503, and §10.2.3 lets it say when to try again.  A 500 would tell the client the
opposite: that the server has a bug, and that retrying is pointless.

Errors that say the request itself is wrong (a bad statement, a missing table, a constraint)
stay 500, so they are seen and fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import scoped_session
from werkzeug.exceptions import ServiceUnavailable

from ..exceptions import ETagConfigurationError, ETagError

#: Where an app's outage settings live (``app.extensions``).
EXTENSION_KEY = "etag_database_outages"
#: The ``reason`` member of the 503's problem details.
DATABASE_UNAVAILABLE = "database-unavailable"
#: Seconds a client is asked to wait before retrying, unless told otherwise.
DEFAULT_RETRY_AFTER = 5


class DatabaseUnavailable(ETagError, ServiceUnavailable):
    """503: the database cannot be reached for now; retry after ``Retry-After`` seconds.

    RFC 9110 §15.6.4; ``Retry-After`` is §10.2.3.  Rendered as RFC 9457 problem details with
    ``reason: "database-unavailable"``; :meth:`DatabaseOutages.answer` replaces that.

    :param retry_after: seconds the client should wait before sending the request again.
    """

    reason = DATABASE_UNAVAILABLE

    def __init__(self, description: str | None = None, *, retry_after: int) -> None:
        if description is None:
            description = (
                f"The database is unavailable for the moment: retry in {retry_after} seconds. "
                "A write sent again with the same If-Match is applied once, or answered 412 "
                "if the first attempt was."
            )
        super().__init__(description)
        #: Seconds the client should wait before sending the request again.
        self.retry_after = retry_after

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        """The problem's media type and ``Retry-After`` in seconds (RFC 9110 §10.2.3)."""
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


def is_database_outage(error: BaseException) -> bool:
    """True when ``error`` says the database is unreachable, not that the request was wrong.

    An outage is an error SQLAlchemy flagged as a disconnect (``connection_invalidated``: its
    dialect's ``is_disconnect`` judged the driver's error, by the connection's state or the
    driver's codes), an ``OperationalError`` or ``InterfaceError`` raised with no statement
    (opening a connection, or a ``COMMIT`` or ``ROLLBACK``), a pool that had no connection free
    in time (``sqlalchemy.exc.TimeoutError``), or a ``DisconnectionError``.  The class alone
    does not decide: SQLite reports a syntax error as an ``OperationalError`` too.
    """
    if isinstance(error, (sa.exc.TimeoutError, sa.exc.DisconnectionError)):
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return error.statement is None and isinstance(
        error, (sa.exc.OperationalError, sa.exc.InterfaceError)
    )


#: Renders the 503: given the error, returns what a view may return.
Renderer = Callable[[DatabaseUnavailable], ResponseReturnValue]


@dataclass(frozen=True)
class OutageSettings:
    """One app's outage handling: the session to end, the advice to give, and the handling
    object, whose renderer answers."""

    session: scoped_session[Any]
    retry_after: int
    outages: DatabaseOutages


class DatabaseOutages:
    """Answer database outages 503 with ``Retry-After``, as problem details, on every route.

    ``DatabaseOutages(app)`` after ``db.init_app(app)``, or ``outages.init_app(app)`` in a
    factory.  An outage raised anywhere in a request (a view, a flask_etag lookup before it,
    a ``COMMIT``) rolls the session back, which discards the dead connection, and is answered
    :class:`DatabaseUnavailable` (RFC 9110 §15.6.4).  Any other database error is raised on,
    so Flask logs it and answers 500.  When the app context ends, the session is rolled back
    and removed; a connection that died after the last statement is discarded and logged,
    never raised out of Flask, where it would replace the answer with the server's HTML 500.

    :param app: the app to set up now; or call :meth:`init_app` later.
    :param session: the scoped session the app's requests use; Flask-SQLAlchemy's
        ``db.session`` when not given.
    :param retry_after: the ``Retry-After`` seconds of every 503 (RFC 9110 §10.2.3), at least 1.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        session: scoped_session[Any] | None = None,
        retry_after: int = DEFAULT_RETRY_AFTER,
    ) -> None:
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 1:
            raise ValueError(
                f"retry_after is a whole number of seconds, 1 or more: {retry_after!r}"
            )
        self.session = session
        self.retry_after = retry_after
        self.renderer: Renderer = DatabaseUnavailable.get_response
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the error handlers and the teardown on ``app``; once per app.

        Set up after Flask-SQLAlchemy: Flask runs teardown functions last-registered first,
        and this one must end the session before Flask-SQLAlchemy's would, unguarded.
        """
        if EXTENSION_KEY in app.extensions:
            raise ETagConfigurationError(
                f"DatabaseOutages is already set up on the app {app.name!r}: call init_app once."
            )
        database = app.extensions.get("sqlalchemy")
        session = self.session if self.session is not None else getattr(database, "session", None)
        if session is None or (database is None and _is_flask_sqlalchemy(session)):
            raise ETagConfigurationError(
                "DatabaseOutages needs Flask-SQLAlchemy set up first: call db.init_app(app) "
                "before DatabaseOutages(app), so its teardown ends the session before "
                "Flask-SQLAlchemy's (Flask runs the last registered first); or pass session=."
            )
        app.extensions[EXTENSION_KEY] = OutageSettings(session, self.retry_after, self)
        # The classes an outage comes as: registering DBAPIError itself would take its other
        # errors (a constraint, a bad statement) from an app's @errorhandler(Exception).
        for error_class in _OUTAGE_CLASSES:
            app.register_error_handler(error_class, answer_outage)
        app.teardown_appcontext(end_session)

    def answer(self, renderer: Renderer) -> Renderer:
        """Decorator: render the 503 your own way (it is not an ``@app.errorhandler``, as
        Flask has no public way to hand an error on to the app's handlers).

        The function gets the :class:`DatabaseUnavailable` (``error.retry_after`` holds the
        seconds) and returns what a view may return.
        """
        self.renderer = renderer
        return renderer


_OUTAGE_CLASSES = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sa.exc.DisconnectionError,
)


def _is_flask_sqlalchemy(session: scoped_session[Any]) -> bool:
    """Whether ``session`` is a Flask-SQLAlchemy ``db.session`` (which its teardown removes)."""
    try:
        from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
    except ImportError:  # pragma: no cover - Flask-SQLAlchemy comes with the sqlalchemy extra
        return False
    made = getattr(session.session_factory, "class_", None)
    return isinstance(made, type) and issubclass(made, FlaskSQLAlchemySession)


def answer_outage(error: Exception) -> ResponseReturnValue:
    """Error handler: 503 for an outage, after a rollback that discards the dead connection.

    Any other database error is raised again: Flask then logs it and answers 500, as it
    would with no handler, so a bug is never passed off as an outage.
    """
    if not is_database_outage(error):
        raise error
    settings: OutageSettings = current_app.extensions[EXTENSION_KEY]
    current_app.logger.warning("The database is unavailable, answered 503: %s", _cause(error))
    _roll_back(settings.session)
    unavailable = DatabaseUnavailable(retry_after=settings.retry_after)
    return settings.outages.renderer(unavailable)


def end_session(_error: BaseException | None = None) -> None:
    """Teardown: roll back and remove the session, never raising out of Flask.

    The answer is already made; a rollback that fails here (the connection died after the
    last statement) changes nothing in the database, so it is logged, not raised.
    """
    settings: OutageSettings = current_app.extensions[EXTENSION_KEY]
    if settings.session.registry.has():  # no session made in this context: nothing to end
        _roll_back(settings.session)
        settings.session.remove()


def _roll_back(session: scoped_session[Any]) -> None:
    """Roll back; when even that fails, SQLAlchemy has already given the connection up."""
    try:
        session.rollback()
    except sa.exc.SQLAlchemyError as error:
        if is_database_outage(error):
            current_app.logger.warning(
                "A dead database connection was discarded: %s", _cause(error)
            )
        else:
            current_app.logger.error("The session could not be rolled back", exc_info=error)


def _cause(error: BaseException) -> str:
    """The driver's own message (without the statement and its parameters), on one line."""
    original = getattr(error, "orig", None)
    return " ".join(str(original if original is not None else error).split())
