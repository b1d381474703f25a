"""What a decorated route asks for: its generator, cache policy, write guard and negotiation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .folding import INHERIT, is_sensitive, private_form
from .generators import TagGenerator
from .settings import FIELD_NAME
from .surrogate_keys import RouteKeys

#: Request fields that WSGI keeps without the ``HTTP_`` prefix (PEP 3333).
_UNPREFIXED = {"CONTENT_TYPE", "CONTENT_LENGTH"}


#: Attribute on a decorated view that describes it, for ``flask etag routes`` and OpenAPI.
SPEC_ATTRIBUTE = "_flask_etag"


@dataclass(frozen=True)
class RouteSpec:
    """How a decorated view is tagged: read at request time, by the CLI and by OpenAPI.

    :param cache_control: the decorator's ``Cache-Control``; it replaces the view's own.
    :param vary: request fields the representation is negotiated by (RFC 9110 §12.5.5).
    :param route_keys: the route's own surrogate keys (``surrogate_keys=``).
    """

    generator: TagGenerator
    cache_control: str | None
    requires_if_match: bool
    vary: tuple[str, ...] = ()
    vary_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    route_keys: RouteKeys = field(default=None, compare=False)
    #: Whether reads carry surrogate keys: the generator's or the route's own.
    keyed: bool = field(default=False, repr=False, compare=False)
    #: Whose representation it is (:mod:`flask_etag.folding`): INHERIT takes ``ETAG_SCOPE``.
    scope: Any = INHERIT
    #: Whether ``vary`` names a credential, folded only under the app's secret.
    sensitive: bool = field(default=False, repr=False, compare=False)
    #: Whether the route itself may fold something into its tags: negotiated fields, or a
    #: scope of its own (or none, overriding the app's).
    may_fold: bool = field(default=False, repr=False, compare=False)
    #: ``cache_control`` as the route sends it where it is scoped (made ``private`` where it
    #: names no one who may store the response): worked out once, not per request.
    scoped_cache_control: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        generator: TagGenerator,
        cache_control: str | None,
        requires_if_match: bool,
        vary: tuple[str, ...],
        route_keys: RouteKeys = None,
        scope: Any = INHERIT,
    ) -> RouteSpec:
        keys = tuple(_environ_key(name) for name in vary)
        keyed = generator.names_keys or route_keys is not None
        sensitive = any(is_sensitive(name) for name in vary)
        may_fold = bool(vary) or scope is not INHERIT
        scoped_policy = None if cache_control is None else private_form(cache_control)
        return cls(
            generator, cache_control, requires_if_match, vary, keys, route_keys, keyed, scope,
            sensitive, may_fold, scoped_policy,
        )  # fmt: skip

    def negotiated_values(self, environ: Mapping[str, object]) -> tuple[str | None, ...]:
        """The request's values of the ``vary`` fields, with insignificant whitespace removed."""
        return tuple(_normalised(environ.get(key)) for key in self.vary_keys)


def check_vary(vary: object) -> tuple[str, ...]:
    """Refuse at set-up a ``vary=`` that is not field names; a single name may be a string."""
    if vary is None:
        return ()
    names: Iterable[object] = (vary,) if isinstance(vary, str) else vary  # type: ignore[assignment]
    try:
        checked = tuple(names)
    except TypeError:
        raise TypeError(
            f"vary must be request field names such as ('Accept',), not {vary!r}"
        ) from None
    for name in checked:
        if not isinstance(name, str) or name == "*" or FIELD_NAME.fullmatch(name) is None:
            raise ValueError(
                f"vary takes request field names such as 'Accept' or 'Accept-Language', "
                f"not {name!r}"
            )
    return checked  # type: ignore[return-value]  # every member was checked to be a str


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    return key if key in _UNPREFIXED else f"HTTP_{key}"


def _normalised(value: object) -> str | None:
    """One spelling per meaning: list members stripped, runs of whitespace made one space."""
    if not isinstance(value, str):
        return None
    return ",".join(" ".join(member.split()) for member in value.split(","))
