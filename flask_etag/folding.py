"""Tags that know whom and which release they describe: what is folded into a tag.

A strong tag names one representation (RFC 9110 §8.8.3).  Besides the resource's state, the
representation a request gets can depend on

* the request fields the route negotiates by (``vary=``, such as ``Accept``);
* the **scope**: whom it is for (``ETAG_SCOPE`` or the route's ``scope=``, say the user);
* the **release**: which serializers rendered it (``ETAG_RELEASE``; version, timestamp and
  collection tags only, since a body hash already changes with the body).

Each present is folded into the tag as a suffix, ``"<state>~<hash>"``, so different scopes,
releases or negotiated fields never share a tag, while ``If-Match`` is still judged by the
state (:func:`~flask_etag.conditions.names_state`).  Whatever is secret (a scope, a
credential such as ``Authorization``) is folded with a keyed hash under the app's
``SECRET_KEY``: the tag reveals nothing, cannot be checked offline, and is the same on every
host of the app.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from blake3 import blake3
from flask import has_request_context, session

from .arguments import signature_mismatch
from .conditions import Validators
from .exceptions import ETagConfigurationError
from .responses import apply_cache_policy
from .tags import variant_opaque_tag

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.datastructures import Headers

    from .exchange import Exchange
    from .settings import Settings
    from .spec import RouteSpec

#: A route's ``scope=`` when not given: the app's ``ETAG_SCOPE``.
INHERIT: Any = type("Inherit", (), {"__repr__": lambda self: "INHERIT"})()

#: Request fields that carry credentials: folded only with the app's secret (lower case).
SENSITIVE_FIELDS = frozenset({"authorization", "cookie", "proxy-authorization"})
#: Words by which a custom field's name says it carries one (``X-Api-Key``, ``X-Auth-Token``).
CREDENTIAL_WORDS = ("auth", "token", "key", "secret", "session", "password", "credential")

_KEY_CONTEXT = "flask_etag 2026-12-06 folding of scopes and credentials into entity tags"

Scope = Callable[[], "str | None"]


def check_scope(scope: object, name: str = "scope") -> Scope | None:
    """Refuse at set-up a scope that is not a function of no arguments (or None)."""
    if scope is None or scope is INHERIT:
        return scope
    if not callable(scope):
        raise TypeError(
            f"{name} must be a function of no arguments returning the scope (a string such "
            f"as the user's id) or None, not {scope!r}"
        )
    mismatch = signature_mismatch(scope, {})
    if mismatch is not None:  # else every request it folds is a bare TypeError, a 500
        raise TypeError(
            f"{name} must be a function of no arguments returning the scope (a string such "
            f"as the user's id) or None: {getattr(scope, '__qualname__', scope)!r} cannot be "
            f"called without them ({mismatch}). Read the user inside it, from flask.g or "
            "flask_login.current_user."
        )
    return scope


def is_sensitive(field_name: str) -> bool:
    """Whether a ``vary=`` field carries a credential, which an unkeyed hash in a tag would
    let anyone who sees the tag guess offline: a short API key is soon found."""
    name = field_name.lower()
    return name in SENSITIVE_FIELDS or any(word in name for word in CREDENTIAL_WORDS)


@functools.lru_cache(maxsize=8)
def fold_key(secret: str | bytes) -> bytes:
    """The 32-byte key tags are folded with, derived from the app's ``SECRET_KEY``."""
    material = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    return blake3(material, derive_key_context=_KEY_CONTEXT).digest()


def folds(exchange: Exchange, lookup: bool) -> bool:
    """Whether this route's tags fold anything in (the common route: no).

    Every tagged request asks, so the scope is looked up here without another call.
    """
    spec, settings = exchange.spec, exchange.settings
    scope = settings.scope if spec.scope is INHERIT else spec.scope
    return bool(spec.vary or scope is not None or (lookup and settings.release is not None))


def scope_of(exchange: Exchange) -> Scope | None:
    return route_scope(exchange.spec, exchange.settings)


def dates_decide_no_read(exchange: Exchange) -> bool:
    """Whether a read's dates are left out of its judgement: where the tag folds a scope or
    ``ETAG_RELEASE``, which a date does not name (RFC 9110 §13.1.3, §13.1.5).

    Every user's representation of a state has that state's one date, and a deploy changes
    the representation (its serializers, its templates) without changing the date a view
    sets, so a date from another user's page or from before the deploy still matches it.
    """
    return exchange.settings.release is not None or scope_of(exchange) is not None


def route_scope(spec: RouteSpec, settings: Settings) -> Scope | None:
    """The route's own ``scope=``, else the app's ``ETAG_SCOPE``; None when unscoped."""
    return settings.scope if spec.scope is INHERIT else spec.scope


def folded_tag(exchange: Exchange, state: str, lookup: bool) -> str:
    """``state`` with the request's negotiated fields, scope and (for a looked-up state) the
    app's release folded in."""
    spec, environ = exchange.spec, exchange.request.environ
    return fold_state(state, exchange.app, exchange.settings, lookup, spec, environ)


def fold_state(
    state: str,
    app: Flask,
    settings: Settings,
    lookup: bool,
    spec: RouteSpec | None = None,
    environ: Mapping[str, object] | None = None,
) -> str:
    """``state`` folded as ``spec``'s route folds it for a request with this WSGI ``environ``.

    Without a route (``spec`` None) only the app's folds apply: ``ETAG_SCOPE`` and, for a
    looked-up state, ``ETAG_RELEASE``.  Returns ``state`` itself when nothing is folded.
    """
    values: list[str | None] = []
    if spec is not None and environ is not None:
        values.extend(spec.negotiated_values(environ))
    secret = spec is not None and spec.sensitive
    scope = settings.scope if spec is None else route_scope(spec, settings)
    if scope is not None:
        values.append(f"scope:{_scope_value(scope)}")
        secret = True
    if lookup and settings.release is not None:
        values.append(f"release:{settings.release}")
    if not values:
        return state
    return variant_opaque_tag(state, tuple(values), _key(app) if secret else None)


def default_cache_control(exchange: Exchange) -> str | None:
    """The app's ``ETAG_CACHE_CONTROL``, made ``private`` on a scoped route: no shared cache
    may store one user's representation for another (RFC 9111 §5.2.2.7)."""
    spec, settings = exchange.spec, exchange.settings
    scope = settings.scope if spec.scope is INHERIT else spec.scope
    return settings.cache_control if scope is None else cache_default(True, settings.cache_control)


def cache_default(scoped: bool, default: str | None) -> str | None:
    """``default`` (``ETAG_CACHE_CONTROL``), made private where the route is scoped."""
    if not scoped or (default is not None and "private" in default.lower()):
        return default
    return "private" if default is None else f"private, {default}"


#: ``Cache-Control`` directives by which a view says who may store its response: a scoped
#: route keeps such a policy as the view set it.
_STORERS_NAMED = frozenset({"private", "public", "no-store", "s-maxage"})


def keep_private(headers: Headers) -> None:
    """Make the view's own ``Cache-Control`` on a scoped route ``private`` where it names no
    one who may store the response (:func:`private_form`)."""
    policies = headers.getlist("Cache-Control")
    if not policies:
        return
    policy = ", ".join(policies)
    private = private_form(policy)
    if private is not policy:
        headers["Cache-Control"] = private


def private_form(policy: str) -> str:
    """``policy`` as a scoped route sends it: made ``private`` where it names no one who may
    store the response (``max-age=60``), since the body is one user's and no shared cache may
    store it for another (RFC 9111 §5.2.2.7).  A policy that says ``public`` or ``s-maxage``
    asks for shared caches, and ``no-store`` for none: those are returned as they are."""
    named = {member.partition("=")[0].strip().lower() for member in policy.split(",")}
    return f"private, {policy}" if named.isdisjoint(_STORERS_NAMED) else policy


def route_cache_control(spec: RouteSpec, scoped: bool) -> str | None:
    """The route's own ``cache_control=``, in its private form where the route is scoped."""
    return spec.scoped_cache_control if scoped else spec.cache_control


def apply_route_policy(exchange: Exchange, headers: Headers) -> None:
    """The route's ``Cache-Control`` on a 2xx it does not tag, as on one it tags: the 304
    answered before the view carries it (RFC 9110 §15.4.5), and a scoped body is never left
    for a shared cache to keep for another user (RFC 9111 §5.2.2.7)."""
    spec, settings = exchange.spec, exchange.settings
    scope = route_scope(spec, settings)
    default = cache_default(scope is not None, settings.cache_control)
    if spec.cache_control is None and default is None:
        return
    apply_cache_policy(headers, route_cache_control(spec, scope is not None), default)
    if spec.cache_control is None and scope is not None:
        keep_private(headers)


def folded_validators(exchange: Exchange, current: Validators, lookup: bool) -> Validators:
    """``current`` with the route's folds in its tag, judged by its state (§13.1.1)."""
    if current.etag is None or not folds(exchange, lookup):
        return current
    etag = folded_tag(exchange, current.etag, lookup)
    return dataclasses.replace(current, etag=etag, state=current.etag)


def _scope_value(scope: Scope) -> str:
    """The scope's value, read for a response whose representation is the caller's.

    So the session is marked accessed, and the app's session interface says what that
    response varies by (Flask's: ``Vary: Cookie``), on the 200 and on the 304 decided before
    the view alike: the 304 must carry the ``Vary`` its 200 would (RFC 9110 §15.4.5), which
    a view reading the session (or a scope reading it) gives the 200.
    """
    value = scope()
    if value is not None and not isinstance(value, str):
        raise TypeError(f"a scope must return a string or None, not {value!r} (from {scope!r})")
    if has_request_context():  # etag_for() may fold a scope outside a request
        session.accessed = True
    return "\x00" if value is None else value


def _key(app: Flask) -> bytes:
    secret = app.config.get("SECRET_KEY")
    if not secret:
        raise ETagConfigurationError(
            "this route folds a scope or a credential (Authorization, Cookie, X-Api-Key) into "
            "its tags, which needs the app's SECRET_KEY: set one, the same on every host of "
            "the app."
        )
    return fold_key(secret)
