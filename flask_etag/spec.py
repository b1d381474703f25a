"""What a decorated route asks for: its generator, cache policy, write guard and negotiation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .generators import HashGenerator, TagGenerator
from .settings import FIELD_NAME
from .surrogate_keys import RouteKeys

#: Request fields that WSGI keeps without the ``HTTP_`` prefix (PEP 3333).
_UNPREFIXED = {"CONTENT_TYPE", "CONTENT_LENGTH"}


class RouteLearning:
    """What a route's own requests taught: whether its view reports the version it read.

    Such a view makes the lookup before it redundant on a plain read (the tag is taken from
    its report), so that read runs one query instead of two.
    """

    __slots__ = ("view_reports_version",)

    def __init__(self) -> None:
        self.view_reports_version = False


@dataclass(frozen=True)
class RouteSpec:
    """How a decorated view is tagged: read at request time, by the CLI and by OpenAPI.

    :param cache_control: the decorator's ``Cache-Control``; it replaces the view's own.
    :param vary: request fields the representation is negotiated by (RFC 9110 §12.5.5).
    :param plain: neither a ``Cache-Control`` nor ``vary``: a response is tagged as it is.
    :param app_default_hash: a body hash by the app's ``ETAG_ALGORITHM`` and ``ETAG_WEAK``.
    :param route_keys: the route's own surrogate keys (``surrogate_keys=``).
    """

    generator: TagGenerator
    cache_control: str | None
    requires_if_match: bool
    vary: tuple[str, ...] = ()
    vary_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    plain: bool = field(default=True, repr=False, compare=False)
    app_default_hash: bool = field(default=False, repr=False, compare=False)
    learned: RouteLearning = field(default_factory=RouteLearning, repr=False, compare=False)
    route_keys: RouteKeys = field(default=None, compare=False)

    @property
    def keyed(self) -> bool:
        """Whether reads carry surrogate keys: the generator's or the route's own."""
        return self.generator.names_keys or self.route_keys is not None

    @classmethod
    def build(
        cls,
        generator: TagGenerator,
        cache_control: str | None,
        requires_if_match: bool,
        vary: tuple[str, ...],
        route_keys: RouteKeys = None,
    ) -> RouteSpec:
        keys = tuple(_environ_key(name) for name in vary)
        plain = cache_control is None and not vary
        app_default_hash = isinstance(generator, HashGenerator) and generator.uses_app_defaults
        return cls(
            generator,
            cache_control,
            requires_if_match,
            vary,
            keys,
            plain,
            app_default_hash,
            route_keys=route_keys,
        )

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
