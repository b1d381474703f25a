"""Each item's tag in a body: the very ``ETag`` its own GET sends, so a client that shows a
list can write any listed row without reading it first.

A list body carries no ``ETag`` per item, so a client that lets its user edit rows would
have to GET each one for the tag its ``If-Match`` needs.  :func:`item_etag` gives the
collection view (or an item view) that tag to put in each item's JSON, as a member
(``"etag"`` by convention, as Google's AIP-154 does): exactly the item route's ``ETag``
field value, quotes and ``W/`` included, folded with this request's scope and the app's
release as that route folds them (:mod:`flask_etag.folding`).  It costs no query: the version
or timestamp is the one the list already read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, has_request_context, request

from .conditions import Validators
from .exceptions import ETagConfigurationError
from .exchange import Exchange
from .folding import folded_validators
from .generators import _LookupGenerator
from .settings import current_settings
from .spec import SPEC_ATTRIBUTE, RouteSpec


def item_etag(item_view: str | Callable[..., Any], value: Any) -> str | None:
    """The ``ETag`` the item route ``item_view`` sends for the state ``value``.

    :param item_view: the item's decorated GET view, or its endpoint name
        (``"products.get_product"``; a ``MethodView``'s endpoint, decorated through its
        ``decorators``).
    :param value: the item's version or timestamp, as the route's generator reads it
        (``product.version`` for a :class:`~flask_etag.sqlalchemy.ModelVersionGenerator`).
    :returns: the field value, e.g. ``"7f3a"`` with its quotes; None for a ``None`` value
        (no such item).

    Call it inside the request that renders the body: a scoped route (``ETAG_SCOPE``,
    ``scope=``) folds whom the body is for, and a route with ``vary=`` the request's fields.
    """
    if value is None:
        return None
    return item_validators(item_view, value).etag_header


def item_validators(item_view: str | Callable[..., Any], value: Any) -> Validators:
    """The validators the item route ``item_view`` has for the state ``value``: its tag, and
    on a route that folds, the state it names (what ``If-Match`` is judged by)."""
    if not has_request_context():
        raise RuntimeError(
            "item_etag() folds the request's scope into the tag: call it inside the request "
            "that renders the body"
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
    validators = generator.validators_of_value(value, settings.weak)
    exchange = Exchange(app, request, spec, settings, {}, None, "GET", True)
    return folded_validators(exchange, validators, lookup=True)


def _item_spec(views: dict[str, Callable[..., Any]], item_view: object) -> RouteSpec:
    """The :class:`RouteSpec` of a decorated view, found by the view or its endpoint."""
    view = views.get(item_view) if isinstance(item_view, str) else item_view
    spec = getattr(view, SPEC_ATTRIBUTE, None)  # a function, or MethodView's decorators=
    if spec is None:  # @etag on the MethodView's own get
        spec = getattr(
            getattr(getattr(view, "view_class", None), "get", None), SPEC_ATTRIBUTE, None
        )
    if not isinstance(spec, RouteSpec):
        raise ETagConfigurationError(
            f"item_etag() needs the item's GET view decorated with @etag (or its endpoint "
            f"name), not {item_view!r}"
        )
    return spec
