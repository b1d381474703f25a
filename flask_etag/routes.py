"""What flask_etag does on each route of an app, read back from the decorated views.

``flask etag routes`` prints it and :class:`flask_etag.openapi.ETagPlugin` documents it, so the
two can never disagree with what the decorators actually do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from .folding import cache_default, route_cache_control, route_scope
from .frameworks import wrapper_chain
from .generators import HashGenerator, function_name
from .settings import SETTINGS_KEY, Settings, current_settings
from .spec import SPEC_ATTRIBUTE, RouteSpec


@dataclass(frozen=True)
class RouteTagging:
    """How one view's responses are tagged and its conditional requests answered."""

    #: ``"version"``, ``"timestamp"``, ``"hash (blake3)"``, ``"auto hash (blake3)"``, ...
    generator: str
    weak: bool
    #: True when unsafe methods without If-Match / If-None-Match: * get 428 (RFC 6585 §3).
    requires_if_match: bool
    cache_control: str | None
    #: True when responses carry ``Last-Modified`` too (timestamp and collection generators).
    last_modified: bool
    #: True for ``ETAG_AUTO`` tagging: GET and HEAD only, after the view.
    auto: bool
    #: Whom the tags are folded for (docs/guides/scopes.md): the scope function's name, or
    #: None for a route whose tags are the same for everyone.
    scope: str | None = None
    #: False for a body hash without ``current=``: its current tag is unknown before a
    #: write, so every write carrying a precondition is refused 412 (cannot-evaluate).
    judges_writes: bool = True
    #: True where a write without preconditions can lose a compare-and-set to another
    #: client's (a ``ModelVersionGenerator`` route that does not require If-Match): 409.
    conflicts: bool = False
    #: False where a read's date decides nothing though ``Last-Modified`` is sent: a scope
    #: or a release is folded into the tag and not into the date (docs/guides/scopes.md).
    judges_modified_since: bool = False


def route_spec_of(view: Callable[..., Any]) -> RouteSpec | None:
    """The :class:`~flask_etag.spec.RouteSpec` a decorator attached to ``view``, if any.

    ``functools.wraps`` copies it onto outer decorators; the ``__wrapped__`` chain is followed
    for those that copy only that.
    """
    for function in wrapper_chain(view):
        spec = getattr(function, SPEC_ATTRIBUTE, None)
        if isinstance(spec, RouteSpec):
            return spec
    return None


def describe_view(
    app: Flask, view: Callable[..., Any], endpoint: str | None = None
) -> RouteTagging | None:
    """How ``app`` tags ``view``'s responses; None when flask_etag leaves them alone.

    :param endpoint: the view's endpoint, which tells Flask's static-file views apart.
    :raises ETagConfigurationError: for a decorated view of an app that never called
        ``init_app``: it cannot serve the view, so its spec must not leave the view out.
    """
    settings: Settings | None = app.extensions.get(SETTINGS_KEY)
    spec = route_spec_of(view)
    if settings is None:
        if spec is not None:
            current_settings(app)  # raises, naming init_app
        return None
    if spec is not None:
        generator = spec.generator
        scope = route_scope(spec, settings)
        default = cache_default(scope is not None, settings.cache_control)
        return RouteTagging(
            generator=_generator_name(app, generator),
            weak=generator.weak_or(settings.weak),
            requires_if_match=spec.requires_if_match,
            cache_control=route_cache_control(spec, scope is not None) or default,
            last_modified=generator.dated,
            auto=False,
            scope=None if scope is None else function_name(scope),
            judges_writes=not isinstance(generator, HashGenerator) or generator.current is not None,
            conflicts=not spec.requires_if_match and _writes_by_compare_and_set(generator),
            judges_modified_since=generator.dated and scope is None and settings.release is None,
        )
    if settings.auto and not _serves_static_files(endpoint):
        # Static files carry werkzeug's own tag, which auto mode keeps and judges by.  The rest
        # are tagged as a bare @etag is: under ETAG_SCOPE, each caller's own and private
        # (RFC 9111 §5.2.2.7).
        scope = settings.scope
        return RouteTagging(
            generator=f"auto {_generator_name(app, HashGenerator())}",
            weak=settings.weak,
            requires_if_match=False,
            cache_control=cache_default(scope is not None, settings.cache_control),
            last_modified=False,
            auto=True,
            scope=None if scope is None else function_name(scope),
        )
    return None


def _writes_by_compare_and_set(generator: Any) -> bool:
    """A generator that runs the view itself (``ModelVersionGenerator.call_view``), which
    turns a write another client's overtook into 412, or 409 where none was asked for."""
    return getattr(generator, "view_caller", None) is not None


def _generator_name(app: Flask, generator: Any) -> str:
    if isinstance(generator, HashGenerator) and generator.algorithm is None:
        return f"hash ({app.config.get('ETAG_ALGORITHM', 'blake3')})"
    return str(generator.describe())


def _serves_static_files(endpoint: str | None) -> bool:
    """Flask's ``static`` endpoint, the app's or a blueprint's (``bp.static``)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))
