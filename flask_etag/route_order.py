"""``@etag`` written above the route decorator, the most common mistake with any decorator.

``@app.get(...)`` registers the function it is given and returns it unchanged, so a decorator
written above it wraps a function Flask never calls: the route goes out untagged, and a write
without ``If-Match`` is served instead of refused with 428.  The wrapper is never called, so
the mistake cannot be seen from inside it.  Instead each decorator remembers the function it
wrapped, and the app's registered views are checked against that list at ``init_app`` and
again on the app's first request (Flask's ``request_started`` signal, disconnected once the
check passes, so later requests pay nothing).  The same two checks find a version or
timestamp lookup that cannot take its route's URL arguments.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from flask.signals import request_started

from .arguments import url_arguments_error
from .conditions import IGNORED_METHODS, SAFE_METHODS
from .exceptions import ETagConfigurationError
from .folding import INHERIT
from .frameworks import wrapper_chain
from .generators import HashGenerator, _LookupGenerator, function_name
from .routes import route_spec_of
from .settings import SETTINGS_KEY, check_config_unchanged

#: Each function an ``@etag`` or ``@require_if_match`` wrapped -> the wrapper it made.
_WRAPPED: weakref.WeakKeyDictionary[Callable[..., Any], Callable[..., Any]]
_WRAPPED = weakref.WeakKeyDictionary()


def remember_wrapped(view: Callable[..., Any], wrapper: Callable[..., Any]) -> None:
    """Record that ``wrapper`` stands for ``view``; objects that cannot be weakly referenced
    (a callable instance with ``__slots__``) are left out."""
    with contextlib.suppress(TypeError):
        _WRAPPED[view] = wrapper


def misplaced_endpoints(app: Flask) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The endpoints whose registered view is a function ``@etag`` wrapped after Flask had
    registered it: the wrapper is served by no endpoint of ``app``.

    Registering the plain function on purpose beside its wrapper (an untagged twin route) is
    no mistake, and is not reported.
    """
    suspects = [
        (endpoint, view)
        for endpoint, view in app.view_functions.items()
        if _was_wrapped(view) and not _kept_plain(view)
    ]
    if not suspects:
        return
    served = _served_functions(app)
    for endpoint, view in suspects:
        if id(_WRAPPED[view]) not in served:
            yield endpoint, view


def _was_wrapped(view: Callable[..., Any]) -> bool:
    try:
        return view in _WRAPPED
    except TypeError:  # not weakly referenceable: never recorded
        return False


def _kept_plain(view: Callable[..., Any]) -> bool:
    """A module's function whose name still binds it, not a wrapper: it was wrapped by a
    call (``etag(...)(show)``), perhaps for another app of the process, and is served plain
    here on purpose.  A decorator written above the route decorator rebinds the name."""
    names = getattr(view, "__globals__", None)
    name = getattr(view, "__name__", None)
    return isinstance(names, dict) and isinstance(name, str) and names.get(name) is view


def _served_functions(app: Flask) -> set[int]:
    """The ids of every function some endpoint calls, its decorators' wrapped ones included."""
    return {
        id(function) for view in app.view_functions.values() for function in wrapper_chain(view)
    }


def check_route_order(app: Flask) -> None:
    """Refuse a route whose ``@etag`` or ``@require_if_match`` is above its route decorator."""
    for endpoint, view in misplaced_endpoints(app):
        name = getattr(view, "__qualname__", repr(view))
        raise ETagConfigurationError(
            f"@etag or @require_if_match is above the route decorator of the view {name} "
            f"(endpoint {endpoint!r}): Flask registered the view without it, so its "
            "responses go out untagged and writes without If-Match are not refused. Put the "
            "route decorator on top: @app.get(...) (or @bp.put(...), @app.route(...)), then "
            f"@etag(...) or @require_if_match(...), then def {name.rpartition('.')[2]}."
        )


def check_lookup_arguments(app: Flask) -> None:
    """Refuse a version or timestamp lookup, a write route's ``HashGenerator(current=...)``,
    or a ``surrogate_keys=`` function, that cannot take its route's URL arguments.

    Found here rather than on the route's own first request, which may come days later as
    a 500.  An app with ``url_value_preprocessors`` is left to the request: they may take
    URL arguments out before the view (and its lookup) is called.
    """
    if any(app.url_value_preprocessors.values()):
        return
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = None if view is None else route_spec_of(view)
        generator = None if spec is None else spec.generator
        view_args = dict.fromkeys(sorted(rule.arguments | set(rule.defaults or ())))
        if isinstance(generator, _LookupGenerator):
            error = generator.explain_lookup_error(view_args)
        elif isinstance(generator, HashGenerator) and _has_writes(rule.methods):
            error = generator.explain_current_error(view_args)
        else:
            error = None
        if error is None and spec is not None and callable(spec.route_keys):
            error = _route_keys_error(spec.route_keys, view_args)
        if error is not None:
            raise ETagConfigurationError(f"route {rule.rule!r}: {error}")


def _route_keys_error(
    keys: Callable[..., Any], view_args: dict[str, Any]
) -> ETagConfigurationError | None:
    """The set-up error when a ``surrogate_keys=`` function cannot take these URL arguments."""
    subject = f"surrogate_keys={function_name(keys)}"
    return url_arguments_error(keys, subject, "surrogate_keys=(", view_args)


def check_folding_secret(app: Flask) -> None:
    """Refuse a route that folds a scope (``scope=``) or a credential (``vary=`` naming
    ``Authorization``, ``Cookie``) into its tags in an app without ``SECRET_KEY``, the key of
    that hash: else each of its requests is a 500 while every other route serves.  Checked
    on the first request, when the config is final (``ETAG_SCOPE`` is at ``init_app``)."""
    if app.config.get("SECRET_KEY"):
        return
    for endpoint, view in app.view_functions.items():
        spec = route_spec_of(view)
        if spec is None or not (spec.sensitive or spec.scope not in (INHERIT, None)):
            continue
        folded = "a credential in vary=" if spec.sensitive else "scope="
        raise ETagConfigurationError(
            f"the endpoint {endpoint!r} folds {folded} into its tags, which needs the app's "
            "SECRET_KEY (the tag must not reveal it): set SECRET_KEY, the same on every host "
            "of the app."
        )


def check_write_guards_strong(app: Flask) -> None:
    """Refuse a ``@require_if_match`` route whose generator takes ``ETAG_WEAK``
    (``weak=None``) in an app where it is on: If-Match compares strongly (RFC 9110
    §13.1.1), so no weak tag the route sends would pass, and every write would be refused."""
    if not app.extensions[SETTINGS_KEY].weak:
        return
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = None if view is None else route_spec_of(view)
        if spec is not None and spec.requires_if_match and spec.generator.weak is None:
            raise ETagConfigurationError(
                f"route {rule.rule!r}: the @require_if_match generator {spec.generator!r} "
                "takes ETAG_WEAK, which is on, so its tags are weak; If-Match compares them "
                "strongly (RFC 9110 §13.1.1), so every write would be refused. Give it "
                "weak=False, its default."
            )


def _has_writes(methods: set[str] | None) -> bool:
    """Whether a rule answers an unsafe method: ``HashGenerator(current=...)`` is called
    for those only (RFC 9110 §9.2.1)."""
    return bool((methods or set()) - SAFE_METHODS - IGNORED_METHODS)


def watch_first_request(app: Flask) -> None:
    """Check ``app`` now and on its first request, when every blueprint is registered and
    the config is final (no ``ETAG_*`` key set after ``init_app``).

    The receiver is the app's own, and is disconnected from every sender once the check
    passes: blinker keeps a receiver disconnected from one sender only, and would then look
    receivers up on every request of every app.
    """
    check_route_order(app)
    check_lookup_arguments(app)
    check_write_guards_strong(app)

    def check_on_first_request(sender: Flask, **_extra: Any) -> None:
        check_config_unchanged(sender)  # raises on every request until fixed
        check_route_order(sender)
        check_lookup_arguments(sender)
        check_folding_secret(sender)
        check_write_guards_strong(sender)
        request_started.disconnect(check_on_first_request)

    request_started.connect(check_on_first_request, sender=app, weak=False)
