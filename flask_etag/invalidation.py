"""Shared caches kept fresh: keys on reads, and an announcement after every committed write.

RFC 9111 §4.4 asks a cache to invalidate what a write changed, but a cache only sees the
writes that pass through it, and never the other URLs a write changes (the lists an item is
on).  So the origin says it itself: a read carries the surrogate keys of what it depends on
(:mod:`flask_etag.surrogate_keys`), and once a write has committed the app sends
:data:`~flask_etag.etag_written` and purges those keys at every ``ETAG_PURGE_URLS`` cache
before the client hears back, so the client's next read through any cache is fresh.

Writes are announced by the decorated routes themselves (a 2xx to an unsafe method; a 202
or 3xx only where it wrote) and, for writes made elsewhere (an undecorated ``POST``, a CLI
command), by :class:`~flask_etag.sqlalchemy.TableVersions` when their transaction commits;
an app writing some other way calls :func:`announce_write`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Request, Response, current_app, g, has_app_context, has_request_context
from flask import request as current_request

from .context import CHECKED_KEY, UNSET
from .generators import _LookupGenerator
from .purge_targets import written_path
from .purging import PurgeFailure, purge, purge_again_later, send_logging_errors
from .settings import SETTINGS_KEY, Settings
from .signals import etag_written
from .spec import RouteSpec
from .surrogate_keys import encoded, field_value, keys_in, route_keys

#: Where a decorated write collects the keys its transactions commit (on ``g``).
_WRITE_SCOPE = "_flask_etag_writes"
#: The caches a request no longer waits for (on ``g``): :func:`_caches_given_up`.
_GIVEN_UP = "_flask_etag_purges_given_up"


def announce_write(
    keys: Iterable[str],
    *,
    etag: str | None = None,
    paths: Iterable[str] = (),
    repeat: bool = True,
) -> list[PurgeFailure]:
    """Tell receivers and the shared caches that a write has committed; call it after commit.

    :param keys: the surrogate keys the write changed, e.g. ``["products/7", "products"]``.
    :param etag: the written resource's new ``ETag`` field value; None after a delete.
    :param paths: URL paths to purge at ``"by": "url"`` caches, besides the request's own.
    :param repeat: whether to purge again ``ETAG_PURGE_REPEAT_AFTER`` seconds later from
        this process; False where the write's repeat is recorded elsewhere (an outbox).
    :returns: the purges that the caches in use had not confirmed when the write stopped
        waiting, ``ETAG_PURGE_TIMEOUT`` after it began (a cache that had not confirmed an
        earlier purge of the same request is not waited for, nor reported here).  Each
        goes on: one that fails is logged and signalled by its sender, one confirmed later
        is counted ``late``.
    """
    if not has_app_context():
        return []
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings: Settings | None = app.extensions.get(SETTINGS_KEY)
    if settings is None:
        return []
    written = tuple(dict.fromkeys(encoded(key) for key in keys))
    endpoint = method = url = None
    own_paths: tuple[str, ...] = ()
    if has_request_context():
        served: Request = current_request._get_current_object()  # type: ignore[attr-defined]
        endpoint, method, url, own_paths = (
            served.endpoint,
            served.method,
            served.url,
            (written_path(served),),
        )
    # The write has committed: a receiver that raises (a CDN's API that is down) is logged,
    # and costs neither the caches their purge nor the client its answer.
    send_logging_errors(
        etag_written, app, endpoint=endpoint, method=method, url=url, etag=etag, keys=written
    )
    if not settings.purge_targets:
        return []
    purged_paths = tuple(dict.fromkeys((*own_paths, *paths)))
    told = (app, settings.purge_targets, written, purged_paths, settings.surrogate_key_header)
    # The repeat is due that long after the commit, however long the first purge takes.
    if repeat and settings.purge_repeat_after:
        purge_again_later(*told, settings.purge_timeout, settings.purge_repeat_after)
    return purge(*told, settings.purge_timeout, _caches_given_up())


def _caches_given_up() -> set[tuple[str, str]]:
    """The caches that did not confirm a purge earlier in this request (or app context: a
    CLI command), which its later commits do not wait for: one wait per cache, however
    many times it commits (the breaker opens only after three failures)."""
    given_up: set[tuple[str, str]] = g.setdefault(_GIVEN_UP, set())
    return given_up


@dataclass
class _WriteScope:
    """What one decorated write has committed so far, and what its route changes."""

    spec: RouteSpec
    view_args: dict[str, Any]
    keys: set[str] = field(default_factory=set)
    #: Whether a :class:`~flask_etag.sqlalchemy.PurgeOutbox` recorded this write: then it
    #: sends the repeat, from whichever host is alive when it is due.
    recorded: bool = False


def committed(keys: Iterable[str], *, recorded: bool = False) -> None:
    """A transaction with these keys committed: announce it, or leave that to the decorated
    write it is part of, which announces once, with its new tag, when it answers.

    :param recorded: whether a purge outbox recorded the keys (no repeat from memory then).
    """
    scope: _WriteScope | None = g.get(_WRITE_SCOPE) if has_app_context() else None
    if scope is None:
        announce_write(keys, repeat=not recorded)
    else:
        scope.keys.update(keys)
        scope.recorded = scope.recorded or recorded


def route_written_keys() -> tuple[str, ...]:
    """Inside a decorated write: what its route changes if it succeeds (else nothing), for
    an outbox recording the write before it commits."""
    scope: _WriteScope | None = g.get(_WRITE_SCOPE) if has_app_context() else None
    return () if scope is None else written_keys(scope.spec, scope.view_args)


@contextmanager
def announcing_writes(
    spec: RouteSpec, view_args: dict[str, Any]
) -> Iterator[Callable[[Response], Response]]:
    """Around an unsafe request on a decorated route: announce what it wrote, once.

    Inside, the transactions that commit collect their keys here instead of announcing
    them; the caller passes its response to the function this yields.  A 2xx announces the
    route's keys and what committed, with the response's new tag; so does a 202 or 3xx
    that wrote (:func:`_state_changed`); a 4xx, 5xx or error after a commit announces what
    committed and the route's keys (:func:`_announce_committed`); any other answer only
    what did commit, if anything did: a purge is never skipped for a committed write, and
    never sent for a write that did not happen.
    """
    scope = _WriteScope(spec, view_args)
    outer = g.get(_WRITE_SCOPE)
    setattr(g, _WRITE_SCOPE, scope)

    def announce(response: Response) -> Response:
        setattr(g, _WRITE_SCOPE, outer)
        status = response.status_code
        # RFC 9110 §15.3: a 2xx says the write was applied, but a 202 that it is only
        # queued (§15.3.3); a 3xx says nothing of it (§15.4); a 4xx or 5xx that it was not.
        applied = status < 300 and status != 202
        if applied or (status < 400 and _state_changed(spec, view_args)):
            keys = (*written_keys(spec, view_args), *scope.keys)
            announce_write(keys, etag=response.headers.get("ETag"), repeat=not scope.recorded)
        else:
            _announce_committed(scope, failed=status >= 400)
        return response

    try:
        yield announce
    except BaseException:
        setattr(g, _WRITE_SCOPE, outer)
        _announce_committed(scope, failed=True)
        raise


def _announce_committed(scope: _WriteScope, *, failed: bool) -> None:
    """Announce what a write not answered as applied committed, if anything did.

    One that failed after a commit (a webhook called after it, a 4xx or 5xx it returned)
    may have changed the route's state with it, so the route's keys go too: a purge too
    many costs a cache one fetch, one too few leaves it stale (RFC 9111 §4.4).  Nothing is
    looked up to tell, on a path where the database may be what failed.
    """
    if scope.keys:
        route = _route_keys_if_named(scope) if failed else ()
        announce_write((*route, *scope.keys), repeat=not scope.recorded)


def _route_keys_if_named(scope: _WriteScope) -> tuple[str, ...]:
    """The failed write's route keys, where its ``surrogate_keys=`` can still name them.

    One that reads a row the write deleted raises; raised here, while the write's own error
    or answer is handled, it would stand in for it, and the app's handler for that error
    would never run.  What committed is purged either way.
    """
    try:
        return tuple(written_keys(scope.spec, scope.view_args))
    except Exception:  # the function's failure, never the write's: that one goes on
        return ()


def _state_changed(spec: RouteSpec, view_args: dict[str, Any]) -> bool:
    """Whether a write answered 202 or 3xx changed the route's state (what committed
    besides is announced either way).

    Neither says it (RFC 9110 §15.3.3, §15.4): a form's ``POST`` answered ``303`` wrote,
    a ``login_required`` under the decorator answering ``302`` did not, and a ``202``
    queued a write that has not happened yet (its job announces it).  A looked-up state
    tells: the one the request was checked against, against a fresh lookup.  A body hash
    cannot be known without rendering the body again, so such a route is purged: a purge
    too many costs a cache one fetch, one too few leaves it stale (RFC 9111 §4.4).
    """
    generator = spec.generator
    before = current_request.environ.get(CHECKED_KEY, UNSET)
    if not isinstance(generator, _LookupGenerator) or before is UNSET:
        return True
    try:
        after = generator.look_up_written(view_args)
    except Exception:  # the store failing after the answer was decided: purged, as unknown
        return True
    tag_of = generator.validators_of_value  # the tag, never the date's second (second_over)
    return tag_of(before, False).etag != tag_of(after, False).etag


def written_keys(spec: RouteSpec, view_args: dict[str, Any]) -> tuple[str, ...]:
    """What a successful write on this route changed, by its generator and its own keys."""
    return (*spec.generator.written_keys(view_args), *route_keys(spec.route_keys, view_args))


def add_surrogate_keys(
    response: Response, spec: RouteSpec, settings: Settings, view_args: dict[str, Any]
) -> None:
    """Name what a read depends on, for caches that purge by key (not on a 5xx)."""
    if response.status_code >= 500:
        return
    keys = (*spec.generator.surrogate_keys(view_args), *route_keys(spec.route_keys, view_args))
    if keys:
        header = settings.surrogate_key_header
        # The view's own keys stay: a purge of one of them must still reach this response.
        own = keys_in(response.headers.getlist(header), header)
        response.headers[header] = field_value((*own, *keys), header)
