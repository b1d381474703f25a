"""Items: tags from a model's ``version_id_col``, writes as compare-and-set.

Imported only when used (``pip install flask-etag[sqlalchemy]``).  With ``version_id_col``
SQLAlchemy writes ``UPDATE ... WHERE id = ? AND version = ?`` and raises ``StaleDataError``
when no row matched; this module turns that into a 412, so two clients holding the same tag
can never both succeed, even when the view reads the checked row again (:mod:`.loaded_rows`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort, has_app_context, has_request_context, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError

from ..conditions import PRECONDITIONS_KEY
from ..context import checked_version, set_response_version
from ..exceptions import ETagConfigurationError, ETagConflict, ETagPreconditionFailed
from ..exchange import naming_state
from ..generators import VersionGenerator
from ..reasons import EXISTS, MISSING, STALE
from ..surrogate_keys import item_keys, written_item_keys
from . import batch_keys, loaded_rows


class ModelVersionGenerator(VersionGenerator):
    """A :class:`~flask_etag.VersionGenerator` reading ``model``'s ``version_id_col``.

    :param model: a mapped class whose ``__mapper_args__`` set ``version_id_col``.
    :param session: the session to query, e.g. Flask-SQLAlchemy's ``db.session``.
    :param url_arg: the URL argument holding the primary key; needed only when the route has
        more than one.
    :param weak: mark tags weak (default strong: the version changes with every write).
    """

    def __init__(
        self,
        model: type[Any],
        session: Session | Any,
        *,
        url_arg: str | None = None,
        weak: bool | None = False,
    ) -> None:
        mapper = sa.inspect(model, raiseerr=False)
        if not isinstance(model, type) or not isinstance(mapper, Mapper):
            raise TypeError(
                f"ModelVersionGenerator needs a mapped model class such as Product, not {model!r}"
            )
        if mapper.version_id_col is None:
            raise ETagConfigurationError(
                f"{model.__name__} has no version_id_col: add a version column and "
                "__mapper_args__ = {'version_id_col': version} to the model."
            )
        if len(mapper.primary_key) != 1:
            raise ETagConfigurationError(
                f"{model.__name__} needs a single-column primary key for ModelVersionGenerator; "
                "for a composite key use VersionGenerator with your own lookup."
            )
        self.model = model
        self.session = session
        self.url_arg = url_arg
        self._table: str = mapper.local_table.name  # type: ignore[attr-defined]
        self._key_column_type = mapper.primary_key[0].type
        key_type = batch_keys.key_type(model)
        self._integer_key = key_type is int
        self._uuid_key = key_type is uuid.UUID
        self._version_attribute = mapper.get_property_by_column(mapper.version_id_col).key
        loaded_rows.guard_writes(model)  # a view that reads the checked row again: 412
        loaded_rows.guard_transactions()
        super().__init__(self._current_version, weak=weak)

    def __repr__(self) -> str:
        url_arg = "" if self.url_arg is None else f", url_arg={self.url_arg!r}"
        return f"ModelVersionGenerator({self.model.__name__}{url_arg}, weak={self.weak!r})"

    def _identity(self, view_args: dict[str, Any]) -> Any:
        if self.url_arg is not None:
            try:
                return view_args[self.url_arg]
            except KeyError:
                raise self._key_error(view_args) from None
        if len(view_args) != 1:
            raise self._key_error(view_args)
        return next(iter(view_args.values()))

    def explain_lookup_error(self, view_args: dict[str, Any]) -> ETagConfigurationError | None:
        """As a lookup's: the set-up error when these URL arguments name no primary key (the
        lookup itself takes any)."""
        if self.url_arg in view_args or (self.url_arg is None and len(view_args) == 1):
            return None
        return self._key_error(view_args)

    def _key_error(self, view_args: dict[str, Any]) -> ETagConfigurationError:
        if self.url_arg is not None:
            return ETagConfigurationError(
                f"{self!r} reads the primary key from the URL argument url_arg="
                f"{self.url_arg!r}, which this route does not have ({', '.join(view_args)}): "
                "name one of them."
            )
        return ETagConfigurationError(
            f"ModelVersionGenerator({self.model.__name__}) cannot tell the primary key "
            f"among the URL arguments {sorted(view_args)}: pass url_arg='...'."
        )

    names_keys = True

    def surrogate_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """``products/7`` and ``products/*``: the row, and every item of the table.

        The row is named by its own key, as a write of it is: a case-insensitive key column
        (MariaDB's default collation) finds ``alice`` at ``/users/Alice`` too, and that
        response must be purged when ``alice`` is written."""
        identity = self._identity(view_args)
        own = loaded_rows.own_key_at((self._table, identity))
        return item_keys(self._table, identity if own is None else own)

    def written_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """``products/7`` and ``products``: the row, and every list of the table."""
        return written_item_keys(self._table, self._identity(view_args))

    def _current_version(self, **view_args: Any) -> Any:
        """The row's version, read by loading the row itself into the session.

        One query per request by design: the view's own ``session.get(Model, id)`` (or
        :meth:`get_checked`) then finds the very instance in the session's identity map, with
        no second query, so its body and the tag describe the same read of the row.
        """
        url_key = identity = self._identity(view_args)
        if not self._can_name_a_row(identity):
            abort(404)  # the query would fail; the view, querying alike, would answer 500
        if self._uuid_key and isinstance(identity, str):  # a Uuid column binds UUIDs only
            identity = uuid.UUID(identity)
        instance = self.session.get(self.model, identity)
        if instance is None:
            if _asks_for_absence():  # the view must not write a row created since
                own = int(identity) if self._integer_key else identity
                loaded_rows.keep_absent(self._table, own)
            return None
        version = getattr(instance, self._version_attribute)
        if has_app_context():
            loaded_rows.keep(instance, version, (self._table, url_key))
        return version

    def _can_name_a_row(self, identity: Any) -> bool:
        """False for a URL key no row holds and the database refuses in any query: one with
        a NUL character (PostgreSQL), an integer beyond the key column (PostgreSQL's 32-bit
        ``INTEGER``, SQLite's 64 bits).  Such a URL names nothing and nothing can be created
        there, so the answer is 404 whatever the preconditions (RFC 9110 §13.2.1).  A route
        with no converter passes a string: over an integer column it must spell one
        (PostgreSQL refuses ``abc``), over a ``Uuid`` column a UUID."""
        if isinstance(identity, str):
            if "\x00" in identity:
                return False
            if self._uuid_key:
                return batch_keys.is_identity(identity, uuid.UUID)
            if not self._integer_key:
                return True
            if not _spells_an_integer(identity):
                return False
            identity = int(identity)
        if isinstance(identity, int) and not batch_keys.within(identity, 32):
            dialect = self.session.get_bind(self.model).dialect.name
            bits = batch_keys.integer_bits(self._key_column_type, dialect)
            return bits is None or batch_keys.within(identity, bits)
        return True

    def version_of(self, instance: Any) -> Any:
        """The version an instance holds: its tag costs no query (:func:`~flask_etag.item_etag`)."""
        return getattr(instance, self._version_attribute)

    def get_checked(self, identity: Any) -> Any:
        """Load the instance whose version the precondition checked, or raise 412.

        Returns None when it did not exist at the check either; one deleted since the check
        is a 412 like any other change, since the state the client's tag named is gone, and
        one created since a check that found none (``If-None-Match: *``) is a 412 ``exists``
        (RFC 9110 §13.1.2), as :meth:`call_view` answers the natural write's.
        Because the loaded version is the checked one, SQLAlchemy's versioned ``UPDATE`` then
        compares against exactly what the client saw.
        """
        instance = self.session.get(self.model, identity)
        expected = checked_version()
        if instance is None:
            if expected is None:
                return None
            raise ETagPreconditionFailed(reason=MISSING)  # gone: no current tag to offer
        current = getattr(instance, self._version_attribute)
        if current != expected:
            raise self._lost_to(current, STALE if expected is not None else EXISTS)
        return instance

    def commit(self, instance: Any, *, deleted: bool = False) -> None:
        """Flush the versioned write, tag the response with the version it produced, commit.

        Only the row the route's lookup judged tags the response: another row's version
        (an item a POST to a tagged list created) is no state of the route's, and the
        route then tags its response as it would without a report (RFC 9110 §15.3.2).
        """
        self.session.flush()
        if loaded_rows.checked_here(instance):
            set_response_version(None if deleted else getattr(instance, self._version_attribute))
        self.session.commit()

    def call_view(self, view: Callable[..., Any], view_args: dict[str, Any]) -> Any:
        """Run the view; a versioned write that matched no row answers 412, never 500."""
        try:
            return view(**view_args)
        except StaleDataError as error:
            self.session.rollback()
            current = self._current_version(**view_args)
            if not _sent_preconditions():  # §15.5.10: 412 names a condition the request gave
                etag = None if current is None else self.etag_for(current)
                raise naming_state(ETagConflict(etag=etag), current) from error
            if current is None:  # deleted by the write that came first
                raise ETagPreconditionFailed(reason=MISSING) from error
            reason = STALE if checked_version() is not None else EXISTS  # created since
            raise self._lost_to(current, reason) from error
        except IntegrityError as error:
            # If-None-Match: * found no row, and the view's insert met one another client
            # created since: the precondition is false now, so 412 as if judged after it.
            if checked_version() is not None or not _asks_for_absence():
                raise
            self.session.rollback()
            current = self._current_version(**view_args)
            if current is None:  # another constraint failed: the view's own error
                raise
            raise self._lost_to(current, EXISTS) from error

    def _lost_to(self, current: Any, reason: str) -> ETagPreconditionFailed:
        """The 412 of a write that another client's, now ``current``, came before: it names
        that state, as the route tags it for this request (:func:`naming_state`)."""
        error = ETagPreconditionFailed(etag=self.etag_for(current), reason=reason)
        return naming_state(error, current)


def _asks_for_absence() -> bool:
    """Whether this request sent ``If-None-Match: *`` (create only if absent, RFC 9110 §13.1.2)."""
    if not has_request_context():
        return False
    preconditions = request.environ.get(PRECONDITIONS_KEY)
    return preconditions is not None and preconditions.asks_for_absence


def _sent_preconditions() -> bool:
    """Whether this write sent a precondition it is judged by (``If-Match``,
    ``If-None-Match``, ``If-Unmodified-Since``, or a tag in its body, RFC 9110 §13.1)."""
    preconditions = request.environ.get(PRECONDITIONS_KEY) if has_request_context() else None
    return preconditions is not None and (
        preconditions.if_match is not None
        or preconditions.if_none_match is not None
        or preconditions.if_unmodified_since is not None
    )


def _spells_an_integer(text: str) -> bool:
    """``7``, ``-7``: ASCII digits with an optional sign, as every database reads them, and
    few enough for ``int()`` (which refuses over 4,300; no key column holds over 19)."""
    digits = text[1:] if text.startswith(("+", "-")) else text
    return len(digits) <= 40 and digits.isascii() and digits.isdigit()
