"""The route decorators: ``@etag`` and ``@require_if_match``."""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from flask import Response, current_app, has_request_context, request
from flask.views import View

from .exceptions import ETagConfigurationError
from .folding import INHERIT, Scope, check_scope
from .frameworks import DECORATOR_ATTRIBUTE, check_wrapped_view, check_wrappers_above
from .generators import HashGenerator, TagGenerator, _LookupGenerator
from .pipeline import serve
from .route_order import remember_wrapped
from .routes import route_spec_of
from .settings import check_header_value
from .spec import SPEC_ATTRIBUTE, RouteSpec, check_vary
from .surrogate_keys import RouteKeys, check_route_keys

F = TypeVar("F", bound=Callable[..., Any])


@overload
def etag(view: F, /) -> F: ...


@overload
def etag(
    generator: TagGenerator | None = None,
    /,
    *,
    weak: bool | None = None,
    cache_control: str | None = None,
    vary: str | Iterable[str] | None = None,
    surrogate_keys: RouteKeys = None,
    scope: Scope | None = INHERIT,
) -> Callable[[F], F]: ...


def etag(
    generator: Any = None,
    /,
    *,
    weak: bool | None = None,
    cache_control: str | None = None,
    vary: str | Iterable[str] | None = None,
    surrogate_keys: RouteKeys = None,
    scope: Scope | None = INHERIT,
) -> Any:
    """Tag a view's responses and answer conditional requests for it (RFC 9110 §13).

    ``@etag`` alone tags with a hash of the body.  With a version or timestamp generator the
    preconditions are decided before the view runs, so a 304 or 412 costs no view at all.
    On unsafe methods the conditional headers are optional; see :func:`require_if_match`.

    :param generator: a :class:`HashGenerator` (default), :class:`VersionGenerator` or
        :class:`TimestampGenerator`.
    :param weak: send ``W/"..."`` tags; overrides the generator's own setting.
    :param cache_control: a ``Cache-Control`` value for the 2xx and 304 responses; it
        replaces the view's own, where ``ETAG_CACHE_CONTROL`` only fills in a missing one.
        On a scoped route one that names no one who may store the response (``max-age=60``)
        is sent ``private`` (docs/guides/scopes.md).
    :param vary: request fields the view chooses its representation by, e.g. ``("Accept",)``:
        their values go into the tag and the fields into ``Vary`` (RFC 9110 §8.8.3, §12.5.5).
    :param surrogate_keys: names of what the responses depend on, beside the generator's
        own, for shared caches that purge by key: names, or a function of the URL arguments
        returning them.  A successful write on the route purges them.
    :param scope: whom the representation is for, folded into the tag: a function of no
        arguments returning a string (the user's id) or None; by default ``ETAG_SCOPE``, and
        ``scope=None`` turns it off for this route (docs/guides/scopes.md).
    """
    if isinstance(generator, type) and issubclass(generator, TagGenerator):
        raise TypeError(
            f"etag() takes a generator instance, not the class {generator.__name__}: write "
            f"@etag({generator.__name__}(...))"
        )
    if callable(generator) and not isinstance(generator, TagGenerator):
        return _conditional(generator, RouteSpec.build(HashGenerator(), None, False, ()))
    chosen = _with_weakness(generator or HashGenerator(), weak)
    _check_cache_control(cache_control)
    keys = check_route_keys(surrogate_keys)
    spec = RouteSpec.build(chosen, cache_control, False, check_vary(vary), keys, check_scope(scope))

    def decorate(view: F) -> F:
        return _conditional(view, spec)

    setattr(decorate, DECORATOR_ATTRIBUTE, True)  # frameworks.lists_flask_etag
    return decorate


def require_if_match(
    generator: Any = None,
    /,
    *,
    cache_control: str | None = None,
    vary: str | Iterable[str] | None = None,
    surrogate_keys: RouteKeys = None,
    scope: Scope | None = INHERIT,
) -> Callable[[F], F]:
    """Make writes conditional: without ``If-Match`` an unsafe request gets 428 (RFC 6585 §3).

    ``If-None-Match: *`` is accepted too (create only if absent).  GET and HEAD behave as
    with :func:`etag`.  The generator must be known before the view (version or timestamp):
    a body hash cannot be checked before the write it guards.
    """
    if not isinstance(generator, _LookupGenerator):
        raise ETagConfigurationError(
            "require_if_match needs a VersionGenerator or TimestampGenerator, e.g. "
            "@require_if_match(VersionGenerator(lambda item_id: ...)); a body hash "
            f"cannot be checked before the write it guards (got {generator!r})."
        )
    if generator.weak:
        raise ETagConfigurationError(
            f"require_if_match was given {generator!r}, whose tags are weak (weak=True), but "
            "If-Match compares entity tags strongly (RFC 9110 §13.1.1): no tag it sends "
            "would ever pass, so every write would be refused. Leave weak at its default, "
            "False."
        )
    _check_cache_control(cache_control)
    keys = check_route_keys(surrogate_keys)
    spec = RouteSpec.build(
        generator, cache_control, True, check_vary(vary), keys, check_scope(scope)
    )

    def decorate(view: F) -> F:
        return _conditional(view, spec)

    setattr(decorate, DECORATOR_ATTRIBUTE, True)  # frameworks.lists_flask_etag
    return decorate


setattr(etag, DECORATOR_ATTRIBUTE, True)  # bare, it decorates too


def _with_weakness(generator: Any, weak: bool | None) -> TagGenerator:
    if not isinstance(generator, TagGenerator):
        raise TypeError(
            "etag() takes a HashGenerator, VersionGenerator or TimestampGenerator, "
            f"not {generator!r}"
        )
    if weak is None or weak == generator.weak:
        return generator
    if not isinstance(weak, bool):
        raise TypeError(f"weak must be True or False, not {weak!r}")
    adjusted = copy.copy(generator)
    adjusted.weak = weak
    return adjusted


def _check_cache_control(cache_control: object) -> None:
    check_header_value("cache_control", cache_control)


def _judged_before_view(generator: TagGenerator) -> bool:
    """Whether a request's preconditions can be decided before the view runs: a version or
    timestamp route, or a body-hash route whose writes are judged by ``current=``."""
    if isinstance(generator, HashGenerator):
        return generator.current is not None
    return isinstance(generator, _LookupGenerator)


def _conditional(view: F, spec: RouteSpec) -> F:
    """Wrap ``view`` so its requests go through RFC 9110 §13.2.2 evaluation."""
    if not callable(view) or isinstance(view, type):
        raise _not_a_view_error(view)
    if _is_a_method_in_a_class_body(view):
        raise TypeError(
            f"@etag decorates the method {view.__qualname__}, which its class calls with "
            "`self` where flask_etag expects URL arguments by keyword. On a MethodView, list "
            "the decorator in its `decorators` attribute instead of decorating a method."
        )
    if route_spec_of(view) is not None:
        raise _decorated_twice_error(view)
    is_async = inspect.iscoroutinefunction(view)
    decided_before_view = _judged_before_view(spec.generator)
    looked_up = isinstance(spec.generator, _LookupGenerator)
    check_wrapped_view(view, decided_before_view, looked_up)
    # A bound method (Flask-RESTX method_decorators) is wrapped per request, never registered.
    order_unchecked = not inspect.ismethod(view)

    @functools.wraps(view)
    def conditional_view(*positional: Any, **view_args: Any) -> Response | Any:
        nonlocal order_unchecked
        if positional:
            raise _positional_call_error(view, positional, conditional_view)
        if order_unchecked:  # decorators applied above this one are only seen now
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            served = request._get_current_object()  # type: ignore[attr-defined]
            order_unchecked = not check_wrappers_above(
                conditional_view, app, served, decided_before_view, looked_up
            )
        return serve(spec, current_app.ensure_sync(view) if is_async else view, view_args)

    setattr(conditional_view, SPEC_ATTRIBUTE, spec)
    remember_wrapped(view, conditional_view)
    return conditional_view  # type: ignore[return-value]


def _is_a_method_in_a_class_body(view: Callable[..., Any]) -> bool:
    """A function defined in a class body whose first parameter is ``self``: every framework
    (MethodView, flask-smorest, Flask-RESTX) calls it bound, so it can never be served."""
    if not inspect.isfunction(view):
        return False
    owner = view.__qualname__.rpartition(".")[0]
    if not owner or owner.endswith("<locals>"):
        return False
    return next(iter(inspect.signature(view).parameters), None) == "self"


def _decorated_twice_error(view: Callable[..., Any]) -> ETagConfigurationError:
    """A second flask_etag decorator around a view that has one: only the outer one would
    judge its requests, so the inner one's generator would tag nothing and, under ``@etag``,
    an inner ``@require_if_match`` would let writes without ``If-Match`` through."""
    name = getattr(view, "__qualname__", repr(view))
    return ETagConfigurationError(
        f"the view {name} already has @etag or @require_if_match, and only the outer one "
        "would judge its requests: the inner one's generator would tag nothing, and under "
        "@etag an inner @require_if_match would no longer answer 428 to a write without "
        "If-Match. Use one flask_etag decorator per view (on a Flask-RESTX Resource, in "
        "`decorators` or in `method_decorators`, not both): @require_if_match(generator) "
        "tags GET and HEAD as @etag(generator) does."
    )


def _not_a_view_error(view: object) -> TypeError:
    """A class is not a view: ``@etag`` above ``@blp.route``/``@ns.route`` gets the class back
    after the route was registered untagged, so refuse it rather than tag nothing."""
    if not isinstance(view, type):
        return TypeError(f"etag decorators wrap a view function, not {view!r}")
    return TypeError(
        f"etag decorators wrap a view function, not the class {view.__name__}: on a MethodView "
        "(a flask-smorest or APIFlask MethodView, a Flask-RESTX Resource) list the decorator "
        "in the class's `decorators` attribute, and keep the route decorator on top."
    )


def _positional_call_error(
    view: Callable[..., Any], positional: tuple[Any, ...], conditional_view: Callable[..., Any]
) -> Exception:
    """Explain a positional call: Flask passes URL arguments by keyword, so it is a misuse.

    Causes: ``@etag(some_function)``, where the function was taken for the view and the real
    view is now passed to it; a decorated MethodView method, called with ``self``; or a
    request parser above ``@etag`` (flask-smorest's ``@blp.arguments``), which
    :func:`~flask_etag.frameworks.check_wrappers_above` names.
    """
    name = getattr(view, "__qualname__", repr(view))
    if len(positional) == 1 and callable(positional[0]):
        return TypeError(
            f"etag() was given the function {name} where a generator was expected: wrap it, "
            f"e.g. @etag(VersionGenerator({name})) or @etag(TimestampGenerator({name}))"
        )
    if not isinstance(positional[0], View) and has_request_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        check_wrappers_above(conditional_view, app, request._get_current_object())  # type: ignore[attr-defined]
    return TypeError(
        f"the flask_etag view {name} was called with positional arguments; Flask passes URL "
        "arguments by keyword. On a MethodView, list the decorator in its `decorators` "
        "attribute instead of decorating a method."
    )
