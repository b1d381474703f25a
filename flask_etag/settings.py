"""Per-application settings, read from ``ETAG_*`` config once in ``init_app``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app

from .clocks import SETTINGS_KEY as SETTINGS_KEY
from .clocks import note_skew
from .digests import body_digest_function, body_tag_function
from .exceptions import ETagConfigurationError
from .folding import check_scope
from .purge_targets import PurgeTarget, check_seconds, parse_targets

#: Config keys and their defaults, each documented in docs/configuration.md.
DEFAULTS: dict[str, object] = {
    "ETAG_ALGORITHM": "blake3",
    "ETAG_WEAK": False,
    "ETAG_AUTO": False,
    "ETAG_CACHE_CONTROL": None,
    "ETAG_SCOPE": None,
    "ETAG_RELEASE": None,
    "ETAG_ACCEPT_WEAKENED": False,
    "ETAG_CORS_EXPOSE": True,
    "ETAG_BODY_MEMBER": "etag",
    "ETAG_SURROGATE_KEYS": None,
    "ETAG_SURROGATE_KEY_HEADER": "Surrogate-Key",
    "ETAG_PURGE_URLS": (),
    "ETAG_PURGE_TIMEOUT": 1.0,
    "ETAG_PURGE_REPEAT_AFTER": 2.0,
    "ETAG_CLOCK_SKEW": 0.0,
}

#: ``ETAG_*`` keys that other extensions read: flask-smorest's, in an app whose other
#: blueprints keep its ``@blp.etag``.
OTHER_EXTENSIONS_KEYS = frozenset({"ETAG_DISABLED"})

#: The spellings of a boolean setting that an env file or ``from_prefixed_env`` may give,
#: compared case-insensitively (the same the test suite's ``ETAG_TESTS_STRICT`` accepts).
TRUE_SPELLINGS = ("1", "true", "yes", "on")
FALSE_SPELLINGS = ("0", "false", "no", "off")

#: RFC 9110 §5.5: a field value is visible characters, spaces and tabs; CR, LF, NUL and the
#: other controls would break the header line or inject another one.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")

#: RFC 9110 §5.1: a field name is a token.
FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

#: Fields with a meaning of their own in the responses that carry surrogate keys or in the
#: purge requests that send them: keys written into ``ETag`` would make it no entity tag
#: (RFC 9110 §8.8.3), into ``Content-Length`` would break the message's framing.
_NOT_KEY_FIELDS = frozenset(
    {
        "access-control-expose-headers", "age", "cache-control", "connection",
        "content-encoding", "content-length", "content-location", "content-range",
        "content-type", "date", "etag", "expires", "host", "last-modified", "location",
        "set-cookie", "transfer-encoding", "vary",
    }
)  # fmt: skip


def check_header_value(name: str, value: object) -> str | None:
    """Refuse at set-up a header value that cannot be sent as it is (RFC 9110 §5.5).

    Returns ``value`` (a string or None) once checked.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a header value string such as 'max-age=60', not {value!r}")
    if not value.strip(" \t"):
        raise ValueError(
            f"{name} is empty, which would send an empty field: give a policy such as "
            "'no-cache', or None for none"
        )
    if _FIELD_VALUE.fullmatch(value) is None:
        raise ValueError(
            f"{name} must be a one-line header value without control characters, "
            f"such as 'max-age=60', not {value!r}"
        )
    return value


def check_flag(key: str, value: object) -> bool:
    """A boolean setting: a bool, or one of the spellings above; anything else is refused.

    ``bool("false")`` is True: a string from an env file must not switch a setting on.
    ``from_prefixed_env()`` reads ``FLASK_ETAG_WEAK=1`` as JSON, the int 1: the int 0 or 1
    is the spelling it came from.
    """
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        spelling = value.strip().lower()
        if spelling in TRUE_SPELLINGS:
            return True
        if spelling in FALSE_SPELLINGS:
            return False
    raise ValueError(
        f"{key} must be True or False (or one of the strings {', '.join(TRUE_SPELLINGS)} / "
        f"{', '.join(FALSE_SPELLINGS)}, in any case), not {value!r}"
    )


@dataclass
class Settings:
    """What a request needs from config, resolved once so the hot path reads no config."""

    digest: Callable[[bytes], str]
    algorithm: str
    weak: bool
    auto: bool
    cache_control: str | None
    #: The ``ETag`` field value of a body, by ``ETAG_ALGORITHM`` and ``ETAG_WEAK``.
    tag_body: Callable[[bytes], str] = field(init=False, repr=False)
    #: Whether reads carry surrogate keys, and the field they travel in; the caches purged
    #: after a write.
    surrogate_keys: bool = False
    surrogate_key_header: str = "Surrogate-Key"
    purge_targets: tuple[PurgeTarget, ...] = ()
    purge_timeout: float = 1.0
    purge_repeat_after: float = 2.0
    #: Whom a representation is for, and which release rendered it (:mod:`flask_etag.folding`).
    scope: Callable[[], str | None] | None = None
    release: str | None = None
    #: ``If-Match`` also accepts ``W/"x"`` and ``"x-gzip"`` (conditions.if_match_passes).
    accept_weakened: bool = False
    #: List ``ETag`` in ``Access-Control-Expose-Headers`` of cross-origin answers (cors.py).
    cors_expose: bool = True
    #: The JSON member a write may carry its ``If-Match`` in (body_preconditions.py).
    body_member: str | None = "etag"
    #: ``ETAG_CLOCK_SKEW``: how far apart the clocks that date changes and judge dates may
    #: be (:func:`~flask_etag.clocks.clock_skew`).
    clock_skew: timedelta = timedelta(0)
    #: The :class:`~flask_etag.ETag` that set the app up.
    extension: object = field(default=None, repr=False, compare=False)
    #: The ``ETAG_*`` config these were read from, a copy (:func:`config_snapshot`), for
    #: :func:`check_config_unchanged`.
    config_read: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    #: Whether tags may fold an app-wide scope or release: read on every conditional request.
    folds_anything: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tag_body = body_tag_function(self.algorithm, self.weak)
        self.folds_anything = self.scope is not None or self.release is not None

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Settings:
        """Validate the ``ETAG_*`` keys; raises ValueError/TypeError naming the bad key."""
        check_known_keys(config)
        algorithm = config["ETAG_ALGORITHM"]
        try:
            digest = body_digest_function(algorithm)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise type(error)(f"ETAG_ALGORITHM: {error}") from None
        cache_control = check_header_value("ETAG_CACHE_CONTROL", config["ETAG_CACHE_CONTROL"])
        key_header = _check_key_header(config["ETAG_SURROGATE_KEY_HEADER"])
        purge_targets = parse_targets(config["ETAG_PURGE_URLS"])
        scope = check_scope(config["ETAG_SCOPE"], "ETAG_SCOPE")
        if scope is not None and not config.get("SECRET_KEY"):
            raise ETagConfigurationError(
                "ETAG_SCOPE is folded into every tag with a keyed hash under the app's "
                "SECRET_KEY, so the tag does not reveal it: set SECRET_KEY (the same on every "
                "host of the app) before init_app."
            )
        surrogate_keys = config["ETAG_SURROGATE_KEYS"]
        return cls(
            digest=digest,
            algorithm=algorithm,  # type: ignore[arg-type]  # body_digest_function checked it
            weak=check_flag("ETAG_WEAK", config["ETAG_WEAK"]),
            auto=check_flag("ETAG_AUTO", config["ETAG_AUTO"]),
            cache_control=cache_control,
            scope=scope,
            release=_check_release(config["ETAG_RELEASE"]),
            accept_weakened=check_flag("ETAG_ACCEPT_WEAKENED", config["ETAG_ACCEPT_WEAKENED"]),
            cors_expose=check_flag("ETAG_CORS_EXPOSE", config["ETAG_CORS_EXPOSE"]),
            body_member=_check_body_member(config["ETAG_BODY_MEMBER"]),
            # None: only where this app purges caches itself, else a field no one reads.
            surrogate_keys=bool(purge_targets)
            if surrogate_keys is None
            else check_flag("ETAG_SURROGATE_KEYS", surrogate_keys),
            surrogate_key_header=key_header,
            purge_targets=purge_targets,
            purge_timeout=check_seconds("ETAG_PURGE_TIMEOUT", config["ETAG_PURGE_TIMEOUT"]),
            purge_repeat_after=check_seconds(
                "ETAG_PURGE_REPEAT_AFTER", config["ETAG_PURGE_REPEAT_AFTER"], zero_allowed=True
            ),
            clock_skew=timedelta(
                seconds=check_seconds(
                    "ETAG_CLOCK_SKEW", config["ETAG_CLOCK_SKEW"], zero_allowed=True
                )
            ),
        )


def check_known_keys(config: dict[str, object]) -> None:
    """Refuse an ``ETAG_*`` key that names no setting: a misspelt ``ETAG_CACHE_CONTROLL``
    would otherwise leave every answer without the policy the app meant to send."""
    for key in config:
        if (
            isinstance(key, str)
            and key.startswith("ETAG_")
            and key not in DEFAULTS
            and key not in OTHER_EXTENSIONS_KEYS
        ):
            close = difflib.get_close_matches(key, DEFAULTS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ETagConfigurationError(
                f"{key} is no flask_etag setting.{hint} The settings are listed in "
                "docs/configuration.md; a key of your own needs another prefix than ETAG_."
            )


def etag_config(config: dict[str, object]) -> dict[str, object]:
    """The ``ETAG_*`` keys of ``config`` and their values."""
    return {key: value for key, value in config.items() if str(key).startswith("ETAG_")}


def config_snapshot(config: dict[str, object]) -> dict[str, object]:
    """The ``ETAG_*`` keys of ``config``, each value :func:`normalised`: kept by ``init_app``
    as a copy, so that a list changed in place after it is seen (the config still holds that
    list), and compared by value, so that the list a JSON or TOML file gives is the tuple the
    code gave."""
    return {key: normalised(value) for key, value in etag_config(config).items()}


def normalised(value: object) -> object:
    """``value`` with every list and tuple in it a tuple, every mapping a dict and every set a
    frozenset, each a new one: equal settings compare equal whatever their containers, and
    no container is shared with the config.  Other values (a scope function) are kept."""
    if isinstance(value, (list, tuple)):
        return tuple(normalised(item) for item in value)
    if isinstance(value, Mapping):
        return {key: normalised(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    return value


def check_config_unchanged(app: Flask) -> None:
    """Refuse an ``ETAG_*`` key set, changed or removed after ``init_app``, which read the
    config once: an application factory that loads its config after the extensions would
    otherwise serve every request with settings it never meant (strong tags, no scope).
    Run on the first request only, so it costs later ones nothing."""
    read = app.extensions[SETTINGS_KEY].config_read
    now = config_snapshot(app.config)
    absent = object()
    for key in sorted(read.keys() | now.keys()):
        before, after = read.get(key, absent), now.get(key, absent)
        if key in OTHER_EXTENSIONS_KEYS or before is after or before == after:
            continue
        change = "set" if before is absent else "removed" if after is absent else "changed"
        raise ETagConfigurationError(
            f"{key} was {change} after init_app, which read the ETAG_* config once and "
            "would go on serving without the change. Set every ETAG_* key before init_app: "
            "in an application factory, load the config before ext.init_app(app)."
        )


def _check_key_header(name: object) -> str:
    """``ETAG_SURROGATE_KEY_HEADER``: a field name of its own, not one HTTP already uses."""
    if (
        not isinstance(name, str)
        or FIELD_NAME.fullmatch(name) is None
        or name.lower() in _NOT_KEY_FIELDS
    ):
        raise ValueError(
            "ETAG_SURROGATE_KEY_HEADER must be a field name of its own such as "
            f"'Surrogate-Key', 'xkey' or 'Cache-Tag', not {name!r}"
        )
    return name


def _check_body_member(member: object) -> str | None:
    if member is None or (isinstance(member, str) and member):
        return member
    raise ValueError(
        f"ETAG_BODY_MEMBER must be a JSON member name such as 'etag', or None, not {member!r}"
    )


def _check_release(release: object) -> str | None:
    """``ETAG_RELEASE`` as text.  ``app.config.from_prefixed_env()`` reads
    ``FLASK_ETAG_RELEASE=1234567`` as an int, whose decimal text is the release; it reads
    ``2026.10`` as a float, which has lost text (``2026.1``), so that is refused."""
    if release is None:
        return None
    if isinstance(release, int) and not isinstance(release, bool):
        return str(release)
    if isinstance(release, float):
        raise ValueError(
            f"ETAG_RELEASE must be a string, not the number {release!r}: a float loses text "
            "(2026.10 becomes 2026.1). Quote it: FLASK_ETAG_RELEASE='\"2026.10\"' for "
            'app.config.from_prefixed_env(), or ETAG_RELEASE = "2026.10" in code.'
        )
    if not isinstance(release, str) or not release.strip():
        raise ValueError(
            "ETAG_RELEASE must be a non-empty string that changes with each deploy (a commit, "
            f"the package's version), or None, not {release!r}"
        )
    return release


def current_settings(app: Flask | None = None) -> Settings:
    """The settings of the app handling this request; a clear error if it never called init_app.

    :param app: the current app when the caller holds it already, saving a proxy lookup.
    """
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = app.extensions.get(SETTINGS_KEY)
    if settings is None:
        raise ETagConfigurationError(
            f"flask_etag is not set up on the app {app.name!r}: create "
            "`ETag(app)`, or call `ext.init_app(app)` in your application factory."
        )
    return settings  # type: ignore[no-any-return]


def install(app: Flask, settings: Settings) -> None:
    """Keep ``settings`` where :func:`current_settings` finds them."""
    app.extensions[SETTINGS_KEY] = settings
    note_skew(settings.clock_skew)
