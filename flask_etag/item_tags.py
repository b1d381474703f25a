"""Each item's tag in a body: the very ``ETag`` its own GET sends, so a client that shows a
list can write any listed row without reading it first.

A list body carries no ``ETag`` per item, so a client that lets its user edit rows would
have to GET each one for the tag its ``If-Match`` needs.  :func:`item_etag` gives the
collection view (or an item view) that tag to put in each item's JSON, as a member
(``"etag"`` by convention, as Google's AIP-154 does): exactly the item route's ``ETag``
field value, quotes and ``W/`` included, folded with this request's scope and the app's
release as that route folds them (:mod:`flask_etag.folding`).  It costs no query: the version
or timestamp is the one the list already read.

Finding the route, its settings and this request's folds costs several times what tagging
one item does, so :func:`item_tagger` does it once per request and returns a function that
tags each item; :func:`item_etag` is that function made and called for one item, so the two
cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Request, current_app, has_request_context, request

from .conditions import MISSING, Validators
from .exceptions import ETagConfigurationError
from .exchange import Exchange
from .folding import folded_tag, folds
from .generators import _LookupGenerator
from .settings import current_settings
from .spec import SPEC_ATTRIBUTE, RouteSpec
from .tags import format_entity_tag


def item_etag(item_view: str | Callable[..., Any], value: Any) -> str | None:
    """The ``ETag`` the item route ``item_view`` sends for the state ``value``.

    :param item_view: the item's decorated GET view, or its endpoint name
        (``"products.get_product"``, or ``".get_product"`` in the request's blueprint, as
        ``url_for`` reads it; a ``MethodView``'s endpoint).
    :param value: the item's version or timestamp, as the route's generator reads it
        (``product.version`` for a :class:`~flask_etag.sqlalchemy.ModelVersionGenerator`).
    :returns: the field value, e.g. ``"7f3a"`` with its quotes; None for a ``None`` value
        (no such item).

    Call it inside the request that renders the body: a scoped route (``ETAG_SCOPE``,
    ``scope=``) folds whom the body is for, and a route with ``vary=`` the request's fields.
    For many items, :func:`item_tagger` finds all that once.
    """
    return ItemTags(item_view).etag(value)


def item_tagger(item_view: str | Callable[..., Any]) -> Callable[[Any], str | None]:
    """A function giving, for an item's version or timestamp, what :func:`item_etag` gives.

    The route, its settings and this request's scope, negotiated fields and release are
    found once, here, rather than for every item of a list.  Make it in the view that renders
    the list and use it for that request only: it is refused in another.

    :param item_view: as for :func:`item_etag`.
    """
    return ItemTags(item_view).etag_in_this_request


class ItemTags:
    """An item route's tagging, prepared for the request being answered (RFC 9110 §8.8.3).

    Package-internal: :func:`item_tagger` hands out its :meth:`etag_in_this_request`, and
    :mod:`flask_etag.sqlalchemy.batches` prepares one per batch for its entries' validators.
    """

    __slots__ = ("_folds", "_request", "_validators_for", "_weak")

    def __init__(self, item_view: str | Callable[..., Any]) -> None:
        if not has_request_context():
            raise RuntimeError(
                "item_etag() folds the request's scope into the tag: call it inside the "
                "request that renders the body"
            )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        spec = _item_spec(app.view_functions, item_view)
        generator = spec.generator
        if not isinstance(generator, _LookupGenerator):
            raise ETagConfigurationError(
                f"item_etag() needs an item route tagged by a version or timestamp, not by "
                f"{generator!r}: a body hash is known only once the item's own body is rendered"
            )
        settings = current_settings(app)
        self._request: Request = request._get_current_object()  # type: ignore[attr-defined]
        exchange = Exchange(app, self._request, spec, settings, {}, None, "GET", True)
        self._validators_for = generator.validators_for
        self._weak = generator.weak_or(settings.weak)
        # What a route folds in is one suffix whatever the state, "<state>~<hash>" (as
        # conditions.names_state reads it), so it is folded once, by the item route's rules.
        self._folds = folded_tag(exchange, "", lookup=True) if folds(exchange, True) else ""

    def validators(self, value: Any) -> Validators:
        """The item's validators for ``value``; :data:`MISSING` for None."""
        current = self._current(value)
        if current.etag is None or not self._folds:
            return current
        return dataclasses.replace(current, etag=current.etag + self._folds, state=current.etag)

    def etag(self, value: Any) -> str | None:
        """The item's ``ETag`` field value for ``value``; None for None."""
        current = self._current(value)
        if current.etag is None:
            return None
        return format_entity_tag(current.etag + self._folds, current.weak)

    def etag_in_this_request(self, value: Any) -> str | None:
        """:meth:`etag`, refused in any request but the one whose scope it folds."""
        if request._get_current_object() is not self._request:  # type: ignore[attr-defined]
            raise RuntimeError(
                "an item_tagger() folds the scope of the request it was made in: make one "
                "in each request that renders a body"
            )
        return self.etag(value)

    def _current(self, value: Any) -> Validators:
        return MISSING if value is None else self._validators_for(value, self._weak)


def _item_spec(views: dict[str, Callable[..., Any]], item_view: object) -> RouteSpec:
    """The :class:`RouteSpec` of a decorated view, found by the view or its endpoint."""
    view = views.get(_absolute(item_view)) if isinstance(item_view, str) else item_view
    spec = getattr(view, SPEC_ATTRIBUTE, None)  # a function, or MethodView's decorators=
    if not isinstance(spec, RouteSpec):
        raise ETagConfigurationError(
            f"item_etag() needs the item's GET view decorated with @etag (or its endpoint "
            f"name), not {item_view!r}"
        )
    return spec


def _absolute(endpoint: str) -> str:
    """``".get_note"`` names the endpoint in this request's blueprint, as ``url_for`` reads it."""
    if not endpoint.startswith("."):
        return endpoint
    blueprint = request.blueprint
    return endpoint[1:] if blueprint is None else f"{blueprint}{endpoint}"
