"""Pluggable tag generators: a body hash after the view, or a version or timestamp before it.

A version or timestamp generator is cheap and known before the view runs, so a matching
request is answered 304 or 412 without running the view (RFC 9110 §13.2.1 allows evaluating
preconditions before the method).  A hash generator needs the body, so it runs after the view.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from flask import current_app, has_request_context, request
from werkzeug.exceptions import HTTPException

from .arguments import url_arguments_error
from .clocks import judged_at
from .conditions import MISSING, Validators, last_modified_at
from .digests import body_digest_function
from .exceptions import ETagConfigurationError
from .folding import fold_state
from .settings import current_settings
from .tags import format_entity_tag, opaque_tag_for
from .versions import EPOCH, one_version

Lookup = Callable[..., Any]
ViewCaller = Callable[[Callable[..., Any], dict[str, Any]], Any]

_MICROSECOND = timedelta(microseconds=1)
#: Where a timestamp route keeps, in the request's WSGI environ, when its state was read.
_READ_AT_KEY = "flask_etag.read_at"


class TagGenerator:
    """Base class of the generators; ``weak=None`` means the app's ``ETAG_WEAK``."""

    #: True when the validators are known before the view runs (version, timestamp).
    evaluated_before_view: ClassVar[bool] = False
    kind: ClassVar[str] = "custom"
    #: True when responses carry ``Last-Modified`` and dates are judged (RFC 9110 §13.1.3).
    dated: ClassVar[bool] = False
    #: True when :meth:`surrogate_keys` names what a response depends on (a model's row).
    names_keys: ClassVar[bool] = False

    def __init__(self, *, weak: bool | None = None) -> None:
        if weak is not None and not isinstance(weak, bool):
            raise TypeError(f"weak must be True, False or None, not {weak!r}")
        self.weak = weak

    def describe(self) -> str:
        """A short human description, for ``flask etag routes`` and docs."""
        return self.kind

    def weak_or(self, default_weak: bool) -> bool:
        """This generator's weakness, or the app's ``ETAG_WEAK`` when it has none of its own."""
        return default_weak if self.weak is None else self.weak

    def surrogate_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """The surrogate keys of what a read of this resource depends on."""
        return ()

    def written_keys(self, view_args: dict[str, Any]) -> tuple[str, ...]:
        """The surrogate keys a successful write to this resource changes."""
        return ()


class HashGenerator(TagGenerator):
    """Strong (or weak) tag from a hash of the response body: exact, but needs the body.

    A write cannot be judged by the body it has not produced yet, so a conditional write is
    judged by the hash of the representation ``current`` renders now (RFC 9110 §13.2.1): the
    view of another method is never run for it.

    :param algorithm: ``"blake3"`` or any :mod:`hashlib` name; None means ``ETAG_ALGORITHM``.
    :param weak: mark the tag weak (``W/"..."``); None means ``ETAG_WEAK``.
    :param current: called with a write's URL arguments, returns the target's current
        representation as its GET view would (anything a view may return; None, or a 404 or
        410, when there is none; any other error it answers or aborts with, such as an access
        check's 403, is the write's answer).  Without it a precondition on a write cannot be
        evaluated, and the write is refused with 412.
    :raises ValueError: for an algorithm this Python cannot hash with.
    """

    kind = "hash"

    def __init__(
        self,
        algorithm: str | None = None,
        *,
        weak: bool | None = None,
        current: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(weak=weak)
        if current is not None and not callable(current):
            raise TypeError(
                "HashGenerator(current=...) takes a function of the URL arguments returning "
                f"the current representation, not {current!r}"
            )
        self.algorithm = algorithm
        self.current = None if current is None else run_in_app(current)
        self._digest = None if algorithm is None else body_digest_function(algorithm)

    @property
    def uses_app_defaults(self) -> bool:
        """True when the app's ``ETAG_ALGORITHM`` and ``ETAG_WEAK`` decide the tag."""
        return self.algorithm is None and self.weak is None

    def opaque_tag(self, body: bytes, default_algorithm: Callable[[bytes], str]) -> str:
        """Hash ``body`` with this generator's algorithm, or the app's default one."""
        digest = self._digest or default_algorithm
        return digest(body)

    def describe(self) -> str:
        return f"hash ({self.algorithm})" if self.algorithm else "hash"

    def explain_current_error(self, view_args: dict[str, Any]) -> ETagConfigurationError | None:
        """The set-up error when ``current`` cannot take these URL arguments (it is called
        with them as keyword arguments, as a lookup is); None when it can."""
        current = self.current
        if current is None:
            return None
        subject = f"HashGenerator(current={function_name(current)})"
        return url_arguments_error(current, subject, "HashGenerator(current=", view_args)

    def __repr__(self) -> str:
        current = "" if self.current is None else f", current={self.current!r}"
        return f"HashGenerator({self.algorithm!r}, weak={self.weak!r}{current})"


class _LookupGenerator(TagGenerator):
    """A generator that asks the application for the current state before the view."""

    evaluated_before_view = True
    #: True when a read must confirm after the view that the state is still the one looked
    #: up (:meth:`still_current`), so the body is never tagged with another state.
    rechecks_after_view: ClassVar[bool] = False

    def __init__(self, lookup: Lookup, *, weak: bool | None = False) -> None:
        if not callable(lookup):
            raise TypeError(
                f"{type(self).__name__} needs a function of the view's URL arguments, "
                f"got {lookup!r}"
            )
        super().__init__(weak=weak)
        self.lookup = run_in_app(lookup)
        #: :meth:`call_view` where a subclass overrides it, else None: the view is called
        #: directly, a call fewer on every request.
        self.view_caller: ViewCaller | None = (
            None if type(self).call_view is _LookupGenerator.call_view else self.call_view
        )

    def look_up(self, view_args: dict[str, Any]) -> Any:
        """The current state: the lookup called with the route's URL arguments.

        A lookup that cannot take them (``lambda id: ...`` on ``<int:note_id>``) is a set-up
        mistake, named as one rather than left a bare ``TypeError``.
        """
        try:
            return self.lookup(**view_args)
        except TypeError as error:
            explained = self.explain_lookup_error(view_args)
            if explained is None:
                raise
            raise explained from error

    def look_up_written(self, view_args: dict[str, Any]) -> Any:
        """The state a write left, looked up after its view; None when the lookup aborts.

        A lookup that aborts where the caller may not see the state (a ``get_or_404`` after
        the view deleted the row, an access check after it gave the row away) would turn a
        write that happened into a 4xx, and skip its purge: the view's 2xx stands, untagged,
        since no tag this caller may see describes the new state (RFC 9110 §9.3.4).
        """
        try:
            return self.look_up(view_args)
        except HTTPException:
            return None

    def explain_lookup_error(self, view_args: dict[str, Any]) -> ETagConfigurationError | None:
        """After the lookup raised ``TypeError``: the set-up error, when the lookup cannot
        take these URL arguments; None when the error came from inside it."""
        subject = f"the lookup of {self!r}"
        return url_arguments_error(self.lookup, subject, f"{type(self).__name__}(", view_args)

    def validators_of_value(self, value: Any, default_weak: bool) -> Validators:
        """The validators a looked-up value implies; MISSING for None."""
        if value is None:
            return MISSING
        return self.validators_for(value, self.weak_or(default_weak))

    def validators_for(self, value: Any, weak: bool) -> Validators:
        raise NotImplementedError

    def response_fields(self, value: Any, weak: bool) -> tuple[str, str | None]:
        """The ``ETag`` and ``Last-Modified`` field values for a version or timestamp
        (:attr:`~flask_etag.conditions.Validators.date_field`)."""
        validators = self.validators_for(value, weak)
        return validators.etag_header or "", validators.date_field

    def still_current(self, checked: Any, view_args: dict[str, Any]) -> bool:
        """After a read's view: whether ``checked`` still describes what the view read."""
        return True

    def call_view(self, view: Callable[..., Any], view_args: dict[str, Any]) -> Any:
        """Run the view; a subclass turns its storage's write-conflict error into a 412."""
        return view(**view_args)

    def etag_for(self, value: Any) -> str:
        """The ``ETag`` header value for a version or timestamp the view already has.

        A view that has just written uses this to tag its response with the state it produced
        (a 201's item, RFC 9110 §15.3.2), or a 412 with the state that won, so the client can
        chain its next ``If-Match`` without a read.  The app's folds are in the tag, as the
        routes of this generator fold them: ``ETAG_SCOPE`` (for this request's caller) and
        ``ETAG_RELEASE`` (:mod:`flask_etag.folding`).

        A route's own ``vary=`` or ``scope=`` belongs to the route, not the generator, and is
        not folded: where this generator serves such a route, the tag given here is not the
        one the route sends (an ``If-None-Match`` with it is answered 200 once, not 304), but
        names the same state, so ``If-Match`` with it passes (§13.1.1).  Not so on a route
        whose ``scope=None`` leaves it nothing to fold in an app that folds ``ETAG_SCOPE``
        alone: its tag is the bare state, which no folded tag names.  A 412 raised in a view
        of the route itself names the state with ``ETagPreconditionFailed(version=value)``,
        and the route tags it as its GET does.
        """
        settings = current_settings()
        validators = self.validators_for(value, self.weak_or(settings.weak))
        assert validators.etag is not None
        folded = fold_state(validators.etag, current_app, settings, lookup=True)
        return format_entity_tag(folded, validators.weak)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({function_name(self.lookup)}, weak={self.weak!r})"


def run_in_app(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` itself, or for an ``async def`` one a function that runs it through the
    app's ``ensure_sync``, as Flask runs an async view: a coroutine is no version, and would
    fail every request.  Only an async function pays for the wrapper."""
    if not inspect.iscoroutinefunction(function):
        return function

    @functools.wraps(function)
    def synchronous(*positional: Any, **arguments: Any) -> Any:
        return current_app.ensure_sync(function)(*positional, **arguments)

    return synchronous


def function_name(function: Callable[..., Any]) -> str:
    """A short name for a lookup: its qualified name, never the repr of the object it is
    bound to (a bound method's repr holds its object's, which may hold the method again)."""
    name = getattr(function, "__qualname__", None)
    return name if isinstance(name, str) else type(function).__name__


class VersionGenerator(_LookupGenerator):
    """Tag from a version the application already keeps (a counter, a revision id).

    :param lookup: called with the view's URL arguments as keyword arguments; returns the
        current version (str or int) or None when the resource does not exist.
    :param weak: mark the tag weak; None means ``ETAG_WEAK``.  The default, False, keeps
        it strong whatever ``ETAG_WEAK`` says: only a strong tag passes ``If-Match``.
    """

    kind = "version"

    #: Versions whose header was made already: the same item is read again and again, and
    #: its tag (a type check, a syntax check, perhaps a hash) does not change.
    _FIELDS_CACHE_SIZE = 1024

    def __init__(self, lookup: Lookup, *, weak: bool | None = False) -> None:
        super().__init__(lookup, weak=weak)
        self._fields: dict[tuple[type, Any, bool], tuple[str, str | None]] = {}

    def response_fields(self, value: Any, weak: bool) -> tuple[str, str | None]:
        # The type is part of the key: 1, 1.0 and True are equal but give other tags.
        key = (type(value), value, weak)
        try:
            return self._fields[key]
        except (KeyError, TypeError):  # TypeError: unhashable, refused just below
            fields = super().response_fields(value, weak)
        if len(self._fields) >= self._FIELDS_CACHE_SIZE:
            self._fields.clear()
        self._fields[key] = fields
        return fields

    def validators_for(self, value: Any, weak: bool) -> Validators:
        return Validators(etag=opaque_tag_for(one_version(value)), weak=weak)


class TimestampGenerator(_LookupGenerator):
    """``Last-Modified`` plus a tag from a modification time (naive datetimes are UTC).

    The tag keeps the timestamp's full precision, so it changes even when two writes fall in
    the same second; ``Last-Modified`` has one-second resolution (RFC 9110 §8.8.2), so it is
    sent once its second was over when the state was read, never for a later one (§8.8.2.1,
    §8.8.2.2).

    :param lookup: called with the view's URL arguments; returns a ``datetime`` or None.
    :param weak: mark the tag weak; None means ``ETAG_WEAK``.  The default, False, keeps
        it strong whatever ``ETAG_WEAK`` says: only a strong tag passes ``If-Match``.
    """

    kind = "timestamp"
    dated = True

    def __init__(self, lookup: Lookup, *, weak: bool | None = False) -> None:
        super().__init__(lookup, weak=weak)
        read = self.lookup

        @functools.wraps(read)
        def timed_lookup(*positional: Any, **view_args: Any) -> Any:
            # §8.8.2.2: whether a second is over is judged when the state was read, not once
            # a slow view has let it end (a change later in it, while the view ran, is not
            # in the body).  The first read of a request counts: an enclosed view's is later.
            if has_request_context():
                environ = request.environ
                if _READ_AT_KEY not in environ:
                    environ[_READ_AT_KEY] = judged_at(datetime.now(timezone.utc))
            return read(*positional, **view_args)

        self.lookup = timed_lookup

    def validators_for(self, value: Any, weak: bool) -> Validators:
        if not isinstance(value, datetime):
            raise TypeError(
                f"a TimestampGenerator lookup must return a datetime or None, not {value!r} "
                "(the same for a value given to set_response_version())"
            )
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        microseconds = (moment - EPOCH) // _MICROSECOND
        now = datetime.now(timezone.utc)
        if has_request_context():
            now = request.environ.get(_READ_AT_KEY, now)
        modified, second_over = last_modified_at(moment, now)
        return Validators(
            etag=f"{microseconds:x}", weak=weak, last_modified=modified, second_over=second_over
        )
