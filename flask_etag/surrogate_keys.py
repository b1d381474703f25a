"""Surrogate keys: names of the data a response depends on, for caches that purge by name.

A response carries its keys in one field (``ETAG_SURROGATE_KEY_HEADER``: ``Surrogate-Key``
for Fastly and for ``examples/varnish.vcl``, ``xkey`` for Varnish's own convention,
``Cache-Tag`` for Cloudflare).  A write names the keys it changed, and the caches drop every
response carrying one of them (:mod:`flask_etag.purging`).

The models' keys (:class:`~flask_etag.sqlalchemy.ModelVersionGenerator`,
:class:`~flask_etag.sqlalchemy.CollectionGenerator`, :class:`~flask_etag.sqlalchemy.TableVersions`):

``products/7``   one row: on its item's responses; purged when the row is written;
``products``     the table's lists: on collection responses; purged by every write to the table;
``products/*``   every item of the table: on item responses; purged by a bulk write, whose
                 rows are not known one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

#: Characters a key keeps as they are; anything else (a space or comma would split the key,
#: a control character would break the field) is percent-encoded, so a key built from a URL
#: argument is always one valid key.  ``%`` is kept, so encoding twice changes nothing: the
#: keys a write announces are the very tokens its reads carried.
_KEPT = "/*:@._-~!$&'()+;=%"

#: The route's own keys: fixed names, or a function of the view's URL arguments.
RouteKeys = Iterable[str] | Callable[..., Iterable[str]] | None


def encoded(key: object) -> str:
    """``key`` as one token of the field: its text, percent-encoded where it must be."""
    return quote(str(key), safe=_KEPT)


def item_keys(table: str, identity: Any) -> tuple[str, str]:
    """What an item's response carries: its row and its table's items."""
    return encoded(f"{table}/{identity}"), encoded(f"{table}/*")


def written_item_keys(table: str, identity: Any) -> tuple[str, str]:
    """What writing one row changes: the row's item and every list of its table."""
    return encoded(f"{table}/{identity}"), encoded(table)


def bulk_written_keys(table: str) -> tuple[str, str]:
    """What a write to rows not known one by one changes: every item and every list."""
    return encoded(table), encoded(f"{table}/*")


def check_route_keys(keys: object) -> RouteKeys:
    """Refuse at set-up a ``surrogate_keys=`` that is neither names nor a function."""
    if keys is None or callable(keys):
        return keys
    if isinstance(keys, str):
        return (encoded(keys),)
    try:
        names: tuple[object, ...] = tuple(keys)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            "surrogate_keys must be key names such as ('catalogue',) or a function of the "
            f"view's URL arguments returning them, not {keys!r}"
        ) from None
    return tuple(encoded(name) for name in names)


def route_keys(keys: RouteKeys, view_args: dict[str, Any]) -> tuple[str, ...]:
    """The route's own keys for this request."""
    if keys is None:
        return ()
    if callable(keys):
        produced = keys(**view_args)
        return (encoded(produced),) if isinstance(produced, str) else tuple(map(encoded, produced))
    return tuple(keys)


def field_value(keys: Iterable[str], field: str) -> str:
    """The field value listing ``keys`` once each: spaces, or commas for ``Cache-Tag``."""
    return _separator(field).join(dict.fromkeys(keys))


def keys_in(values: Iterable[str], field: str) -> list[str]:
    """The keys listed in the field's values, e.g. the ones a view set itself."""
    separator = _separator(field).strip() or None
    return [key.strip() for value in values for key in value.split(separator) if key.strip()]


def _separator(field: str) -> str:
    return "," if field.lower() == "cache-tag" else " "
