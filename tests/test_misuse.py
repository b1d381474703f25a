"""Misuse fails loudly, with a message naming the fix (issue 3, item 6).

Most mistakes are caught when the decorator or generator is built, i.e. at import time of
the application.  A few can only show when a request runs (the lookup's return value, an app
that never called ``init_app``); those raise in the test client and answer 500 in production,
with the same message in the logged traceback.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.views import MethodView
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_etag import (
    ETag,
    ETagConfigurationError,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    checked_version,
    etag,
    require_if_match,
)
from flask_etag.sqlalchemy import ModelVersionGenerator


def item_version(item_id: int) -> int:
    """A version lookup for the routes below: every item is at version 1."""
    return 1


def show_item(item_id: int) -> str:
    """A view for the routes below."""
    return f"item {item_id}"


def app_with(view: Any, *, init: bool = True, rule: str = "/items/<int:item_id>") -> Flask:
    """A testing app serving ``view`` for GET and PUT, with or without ``ETag().init_app``."""
    app = Flask(__name__)
    app.testing = True
    if init:
        ETag().init_app(app)
    app.add_url_rule(rule, view_func=view, methods=["GET", "PUT"])
    return app


class Base(DeclarativeBase):
    """Models for the ModelVersionGenerator misuse cases."""


class Unversioned(Base):
    """A model without ``version_id_col``: SQLAlchemy would not write compare-and-set."""

    __tablename__ = "unversioned"
    id: Mapped[int] = mapped_column(primary_key=True)


class Versioned(Base):
    """A correctly versioned model."""

    __tablename__ = "versioned"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)


class TwoColumnKey(Base):
    """A versioned model whose primary key has two columns."""

    __tablename__ = "two_column_key"
    shop: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)


@pytest.fixture
def session() -> Session:
    """A session on an in-memory SQLite database (never queried by the set-up checks)."""
    return Session(sa.create_engine("sqlite://"))


# --- require_if_match -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "generator",
    [HashGenerator(), HashGenerator("sha256"), None],
    ids=["body-hash", "body-hash-sha256", "none"],
)
def test_require_if_match_refuses_generators_unknown_before_the_write(generator: Any) -> None:
    """A body hash is only known after the view, too late to guard the write (RFC 6585 §3)."""
    with pytest.raises(ETagConfigurationError, match="needs a VersionGenerator or Timestamp"):
        require_if_match(generator)


@pytest.mark.parametrize("generator_class", [VersionGenerator, TimestampGenerator])
def test_rfc9110_13_1_1_require_if_match_refuses_a_weak_generator(
    generator_class: type[Any],
) -> None:
    """If-Match compares strongly, so no weak tag ever passes: every write to the route
    would be 428 without If-Match and 412 with the tag its GET sent."""
    with pytest.raises(ETagConfigurationError, match=r"weak=True.*§13\.1\.1.*every write"):
        require_if_match(generator_class(item_version, weak=True))


def test_rfc9110_13_1_1_require_if_match_on_weak_etag_weak_fails_init_app() -> None:
    """``weak=None`` takes ``ETAG_WEAK``: with it on, the route's tags are weak, found at
    ``init_app`` (and on the first request, for routes registered after it)."""
    app = Flask(__name__)
    app.config["ETAG_WEAK"] = True
    app.add_url_rule(
        "/items/<int:item_id>",
        view_func=require_if_match(VersionGenerator(item_version, weak=None))(show_item),
        methods=["GET", "PUT"],
    )
    with pytest.raises(ETagConfigurationError, match=r"'/items/<int:item_id>'.*ETAG_WEAK"):
        ETag(app)
    late = Flask(__name__)
    late.testing = True
    late.config["ETAG_WEAK"] = True
    ETag(late)
    late.add_url_rule(
        "/items/<int:item_id>",
        view_func=require_if_match(VersionGenerator(item_version, weak=None))(show_item),
        methods=["GET", "PUT"],
    )
    with pytest.raises(ETagConfigurationError, match="ETAG_WEAK"):
        late.test_client().get("/items/1")


def test_require_if_match_with_weak_none_on_strong_etag_weak_is_served() -> None:
    app = Flask(__name__)
    ETag(app)
    app.add_url_rule(
        "/items/<int:item_id>",
        view_func=require_if_match(VersionGenerator(item_version, weak=None))(show_item),
        methods=["GET", "PUT"],
    )
    client = app.test_client()
    tag = client.get("/items/1").headers["ETag"]
    assert tag == '"1"'
    assert client.put("/items/1", headers={"If-Match": tag}).status_code == 200


def test_require_if_match_without_a_generator_names_the_fix() -> None:
    """``@require_if_match()`` with nothing in the parentheses."""
    with pytest.raises(ETagConfigurationError, match=r"@require_if_match\(VersionGenerator\("):
        require_if_match()


def test_bare_require_if_match_on_a_view_names_the_fix() -> None:
    """``@require_if_match`` without parentheses would take the view for the generator."""
    with pytest.raises(ETagConfigurationError, match=r"@require_if_match\(VersionGenerator\("):
        require_if_match(show_item)


def test_require_if_match_is_an_error_subclassing_runtime_error() -> None:
    """ETagConfigurationError is a RuntimeError, so generic handlers still see a bug."""
    with pytest.raises(RuntimeError):
        require_if_match(HashGenerator())


# --- generators -----------------------------------------------------------------------------


@pytest.mark.parametrize("generator_class", [VersionGenerator, TimestampGenerator])
@pytest.mark.parametrize("lookup", [42, "updated_at", None], ids=["int", "str", "none"])
def test_lookup_generators_need_a_function(generator_class: type[Any], lookup: Any) -> None:
    """The lookup is called with the URL arguments; anything else fails at set-up."""
    with pytest.raises(TypeError, match="needs a function of the view's URL arguments"):
        generator_class(lookup)


@pytest.mark.parametrize("generator_class", [VersionGenerator, TimestampGenerator])
def test_lookup_generators_check_weak(generator_class: type[Any]) -> None:
    """``weak`` is a bool: a truthy string would silently change the comparison."""
    with pytest.raises(TypeError, match="weak must be True, False or None"):
        generator_class(item_version, weak="yes")


def test_hash_generator_rejects_unknown_algorithm() -> None:
    """An unknown hash name lists the algorithms that work."""
    with pytest.raises(ValueError, match="unknown hash algorithm 'nope': use 'blake3' or one of"):
        HashGenerator("nope")


def test_hash_generator_rejects_non_string_algorithm() -> None:
    """The algorithm is a name, not a hashlib constructor or a number."""
    with pytest.raises(TypeError, match="algorithm must be a string such as 'blake3'"):
        HashGenerator(256)  # type: ignore[arg-type]


# --- etag() ---------------------------------------------------------------------------------


@pytest.mark.parametrize("generator", ["sha256", 42], ids=["str", "int"])
def test_etag_rejects_non_generators(generator: Any) -> None:
    """``@etag("sha256")``: the algorithm belongs in ``HashGenerator("sha256")``."""
    with pytest.raises(TypeError, match="HashGenerator, VersionGenerator or TimestampGenerator"):
        etag(generator)


@pytest.mark.parametrize("generator_class", [HashGenerator, VersionGenerator, TimestampGenerator])
def test_etag_rejects_a_generator_class(generator_class: type[Any]) -> None:
    """``@etag(VersionGenerator)`` forgot to build the generator."""
    name = generator_class.__name__
    with pytest.raises(TypeError, match=rf"not the class {name}: write @etag\({name}\(\.\.\.\)\)"):
        etag(generator_class)


def test_etag_given_a_lookup_function_names_the_fix() -> None:
    """``@etag(lookup)`` takes the lookup for the view; applying it to the view says so."""
    with pytest.raises(TypeError, match=r"@etag\(VersionGenerator\(item_version\)\)"):
        etag(item_version)(show_item)  # type: ignore[arg-type]


def test_etag_rejects_non_bool_weak() -> None:
    """``weak="yes"`` is not a bool."""
    with pytest.raises(TypeError, match="weak must be True or False"):
        etag(weak="yes")  # type: ignore[call-overload]


def _passing_through(view: Any) -> Any:
    """A decorator of the user's own between two flask_etag ones (``functools.wraps``)."""

    @functools.wraps(view)
    def wrapper(**view_args: Any) -> Any:
        return view(**view_args)

    return wrapper


def _version() -> VersionGenerator:
    return VersionGenerator(item_version)


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        pytest.param(etag(_version()), require_if_match(_version()), id="rfc6585_3-etag-above"),
        pytest.param(require_if_match(_version()), etag(_version()), id="require-above"),
        pytest.param(etag, etag, id="etag-twice"),
        pytest.param(etag(_version()), etag, id="version-above-hash"),
        pytest.param(
            require_if_match(_version()), require_if_match(_version()), id="require-twice"
        ),
    ],
)
@pytest.mark.parametrize("between", [False, True], ids=["stacked", "wrapper-between"])
def test_two_flask_etag_decorators_on_one_view_are_refused(
    outer: Any, inner: Any, between: bool
) -> None:
    """Only the outer one would judge the route's requests: an inner ``@require_if_match``
    under ``@etag`` would let a write without If-Match through (RFC 6585 §3), and the inner
    generator would tag nothing.  Refused when the outer one decorates, naming the fix."""
    wrapped = inner(show_item)
    if between:
        wrapped = _passing_through(wrapped)
    with pytest.raises(ETagConfigurationError, match=r"show_item already has .*one flask_etag de"):
        outer(wrapped)


def test_two_flask_etag_decorators_in_a_method_views_decorators_are_refused() -> None:
    """``decorators = [etag(...), require_if_match(...)]`` stacks them the same way."""

    class ItemView(MethodView):
        decorators = [etag(_version()), require_if_match(_version())]  # noqa: RUF012

        def get(self, item_id: int) -> str:
            return show_item(item_id)

    with pytest.raises(ETagConfigurationError, match="one flask_etag decorator per view"):
        ItemView.as_view("item")


@pytest.mark.parametrize("decorator", [etag, require_if_match], ids=["etag", "require_if_match"])
def test_cache_control_must_be_a_string(decorator: Any) -> None:
    """``cache_control=60`` means ``"max-age=60"``; a number is refused with that hint."""
    generator = VersionGenerator(item_version)
    with pytest.raises(TypeError, match="must be a header value string such as 'max-age=60'"):
        decorator(generator, cache_control=60)


@pytest.mark.parametrize("value", ["no-cache\r\nSet-Cookie: a=b", "max-age=60\n", "no-\x00cache"])
@pytest.mark.parametrize("decorator", [etag, require_if_match], ids=["etag", "require_if_match"])
def test_cache_control_cannot_inject_a_header(decorator: Any, value: str) -> None:
    """RFC 9110 §5.5: CR, LF and NUL in a field value would split or corrupt header lines."""
    generator = VersionGenerator(item_version)
    with pytest.raises(ValueError, match="one-line header value without control characters"):
        decorator(generator, cache_control=value)


@pytest.mark.parametrize("base", ["MethodView", "Resource"])
def test_method_view_method_decorated_directly_is_refused_at_decoration(base: str) -> None:
    """Decorating ``MethodView.get`` (or a Flask-RESTX ``Resource``'s) could never serve
    (its class passes ``self`` positionally): refused when the class is defined, with the
    fix named, as errors.md and frameworks.rst say."""
    view_base: Any = (
        MethodView if base == "MethodView" else pytest.importorskip("flask_restx").Resource
    )
    with pytest.raises(TypeError, match="list the decorator in its `decorators` attribute"):

        class ItemView(view_base):
            @etag(VersionGenerator(item_version))
            def get(self, item_id: int) -> str:
                return show_item(item_id)


def test_a_view_built_by_a_function_or_a_static_method_is_not_taken_for_a_method() -> None:
    """Only a class body's function taking ``self`` is refused: a view made in a factory,
    or a static method, is served as usual."""

    def make_view() -> Any:
        def get_item(item_id: int) -> str:
            return show_item(item_id)

        return get_item

    class Views:
        @staticmethod
        def get_item(item_id: int) -> str:
            return show_item(item_id)

    for view in (make_view(), Views.get_item):
        app = app_with(etag(VersionGenerator(item_version))(view))
        assert app.test_client().get("/items/1").headers["ETag"]


# --- configuration keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"ETAG_ALGORITHM": "nope"}, ValueError, "ETAG_ALGORITHM: unknown hash algorithm"),
        ({"ETAG_ALGORITHM": 5}, TypeError, "ETAG_ALGORITHM: algorithm must be a string"),
        ({"ETAG_CACHE_CONTROL": 60}, TypeError, "ETAG_CACHE_CONTROL must be a header value"),
        (
            {"ETAG_CACHE_CONTROL": "no-cache\r\nX-Injected: 1"},
            ValueError,
            "ETAG_CACHE_CONTROL must be a one-line header value",
        ),
        ({"ETAG_CACHE_CONTROL": ""}, ValueError, "ETAG_CACHE_CONTROL is empty"),
        ({"ETAG_CACHE_CONTROL": " \t"}, ValueError, "ETAG_CACHE_CONTROL is empty"),
        ({"ETAG_WEAK": "maybe"}, ValueError, "ETAG_WEAK must be True or False"),
        ({"ETAG_WEAK": None}, ValueError, "ETAG_WEAK must be True or False"),
        ({"ETAG_AUTO": 2}, ValueError, "ETAG_AUTO must be True or False"),
        ({"ETAG_AUTO": "enabled"}, ValueError, "not 'enabled'"),
    ],
    ids=[
        "algorithm-unknown",
        "algorithm-not-str",
        "cache-control-int",
        "cache-control-crlf",
        "cache-control-empty",
        "cache-control-blank",
        "weak-unknown-word",
        "weak-none",
        "auto-int",
        "auto-unknown-word",
    ],
)
def test_bad_config_fails_in_init_app(
    config: dict[str, Any], error: type[Exception], message: str
) -> None:
    """``ETAG_*`` keys are validated once, in ``init_app``, naming the key."""
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(error, match=re.escape(message)):
        ETag(app)


@pytest.mark.parametrize("value", ["false", "FALSE", " no ", "0", "off", False])
def test_rfc9110_8_8_3_a_false_spelling_of_etag_weak_keeps_tags_strong(value: object) -> None:
    """``bool("false")`` is True: an env file's string must not make every tag weak, after
    which every ``If-Match`` (strong comparison, §13.1.1) would fail."""
    app = Flask(__name__)
    app.config.update(ETAG_WEAK=value, ETAG_AUTO=value)
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "body"), endpoint="index")
    app.add_url_rule("/plain", view_func=lambda: "body", endpoint="plain")
    client = app.test_client()
    assert not client.get("/").headers["ETag"].startswith("W/")
    assert "ETag" not in client.get("/plain").headers  # ETAG_AUTO stayed off


@pytest.mark.parametrize("value", ["true", "Yes", "1", " ON", True])
def test_rfc9110_8_8_3_a_true_spelling_of_etag_weak_makes_tags_weak(value: object) -> None:
    app = Flask(__name__)
    app.config.update(ETAG_WEAK=value, ETAG_AUTO=value)
    ETag(app)
    app.add_url_rule("/plain", view_func=lambda: "body", endpoint="plain")
    assert app.test_client().get("/plain").headers["ETag"].startswith("W/")


@pytest.mark.parametrize("name", ["ETag", "content-length", "Vary"])
def test_rfc9110_8_8_3_a_surrogate_key_header_naming_an_http_field_is_refused(name: str) -> None:
    """Keys written into ``ETag`` made it ``"7" note-1``, no entity tag; into
    ``Content-Length``, a broken message."""
    app = Flask(__name__)
    app.config.update(ETAG_SURROGATE_KEYS=True, ETAG_SURROGATE_KEY_HEADER=name)
    with pytest.raises(ValueError, match="ETAG_SURROGATE_KEY_HEADER must be a field name"):
        ETag(app)


@pytest.mark.parametrize(("spelling", "weak"), [("1", True), ("0", False)])
def test_rfc9110_8_8_3_etag_weak_from_prefixed_env_takes_1_and_0(
    monkeypatch: pytest.MonkeyPatch, spelling: str, weak: bool
) -> None:
    """``from_prefixed_env()`` reads ``FLASK_ETAG_WEAK=1`` as JSON, the int 1: the
    documented spelling ``1`` must not fail ``init_app`` for coming from the environment."""
    monkeypatch.setenv("FLASK_ETAG_WEAK", spelling)
    app = Flask(__name__)
    app.config.from_prefixed_env()
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "body"), endpoint="index")
    assert app.test_client().get("/").headers["ETag"].startswith("W/") is weak


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("ETAG_CACHE_CONTROLL", "Did you mean ETAG_CACHE_CONTROL?"),
        ("ETAG_SURROGATE_KEY", "Did you mean ETAG_SURROGATE_KEYS?"),
        ("ETAG_WEEK", "Did you mean ETAG_WEAK?"),
        ("ETAG_BANANAS", "a key of your own needs another prefix"),
    ],
)
def test_an_etag_key_that_names_no_setting_is_refused_at_init_app(key: str, hint: str) -> None:
    """A misspelt key left every answer without the policy the app meant to send."""
    app = Flask(__name__)
    app.config[key] = "no-cache"
    with pytest.raises(ETagConfigurationError, match=f"{key} is no flask_etag setting.*{hint}"):
        ETag(app)


def test_an_unknown_etag_key_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``from_prefixed_env()`` takes ``FLASK_ETAG_*`` too: a misspelt variable is named."""
    monkeypatch.setenv("FLASK_ETAG_RELASE", "abc123")
    app = Flask(__name__)
    app.config.from_prefixed_env()
    with pytest.raises(ETagConfigurationError, match="Did you mean ETAG_RELEASE"):
        ETag(app)


def test_keys_that_only_begin_like_settings_are_left_alone() -> None:
    """Only the ``ETAG_`` prefix is flask_etag's: ``ETAGS_SEEN`` or ``MY_ETAG_X`` are not,
    and flask-smorest's ``ETAG_DISABLED`` belongs to the blueprints that keep ``@blp.etag``."""
    app = Flask(__name__)
    app.config.update(ETAGS_SEEN=1, MY_ETAG_X=2, ETAG_DISABLED=False, ETAG_WEAK=True)
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "body"), endpoint="index")
    assert app.test_client().get("/").headers["ETag"].startswith("W/")


@pytest.mark.parametrize("decorator", [etag, require_if_match], ids=["etag", "require_if_match"])
def test_an_empty_cache_control_is_refused(decorator: Any) -> None:
    with pytest.raises(ValueError, match="cache_control is empty"):
        decorator(VersionGenerator(lambda: 1), cache_control="")


def test_a_second_etag_on_one_app_is_refused() -> None:
    app = Flask(__name__)
    ext = ETag(app)
    for again in (ext, ETag()):
        with pytest.raises(ETagConfigurationError, match="already set up on the app"):
            again.init_app(app)


def test_the_apps_state_lives_under_app_extensions_etag() -> None:
    app = Flask(__name__)
    app.config["ETAG_WEAK"] = "yes"
    ext = ETag(app)
    state = app.extensions["etag"]
    assert state.extension is ext and state.weak is True
    assert [key for key in app.extensions if "etag" in key] == ["etag"]


# --- an app without init_app ----------------------------------------------------------------


@pytest.mark.parametrize(
    "decorator",
    [etag, etag(VersionGenerator(item_version)), require_if_match(VersionGenerator(item_version))],
    ids=["etag-bare", "etag-version", "require_if_match"],
)
def test_decorator_without_init_app_names_init_app(decorator: Any) -> None:
    """No app is known at decoration time, so the first request raises, naming the fix."""
    app = app_with(decorator(show_item), init=False)
    with pytest.raises(ETagConfigurationError, match=r"`ETag\(app\)`, or call `ext.init_app"):
        app.test_client().get("/items/1")


def test_decorator_without_init_app_answers_500_and_logs_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Outside testing mode the same error is a 500 whose logged traceback names init_app."""
    app = app_with(etag(VersionGenerator(item_version))(show_item), init=False)
    app.testing = False
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = app.test_client().get("/items/1")
    assert response.status_code == 500
    assert "ETagConfigurationError" in caplog.text
    assert "init_app(app)" in caplog.text


# --- lookups returning the wrong thing (known only at request time) -------------------------


@pytest.mark.parametrize(
    "value", ["2024-05-06T07:08:09Z", 1715000000, datetime(2024, 5, 6).date()], ids=repr
)
def test_timestamp_lookup_must_return_a_datetime(value: Any) -> None:
    """A string, an epoch number or a date cannot give ``Last-Modified`` safely."""
    view = etag(TimestampGenerator(lambda item_id: value))(show_item)
    with pytest.raises(TypeError, match="TimestampGenerator lookup must return a datetime or None"):
        app_with(view).test_client().get("/items/1")


class Product:
    """Stands for a model instance whose repr does not change when the row does."""

    version = 3

    def __repr__(self) -> str:
        return "<Product>"


@pytest.mark.parametrize("value", [Product(), object(), [1, 2]], ids=["model", "object", "list"])
def test_version_lookup_must_return_the_version_itself(value: Any) -> None:
    """A tag from the repr of a model would never change: stale 304s and lost updates."""
    view = etag(VersionGenerator(lambda item_id: value))(show_item)
    with pytest.raises(TypeError, match=r"must return the version itself .*return item\.version"):
        app_with(view).test_client().get("/items/1")


@pytest.mark.parametrize(
    "value",
    [float("nan"), Decimal("NaN"), Decimal("-sNaN")],
    ids=["float", "decimal", "signaling-decimal"],
)
def test_rfc9110_8_8_3_a_version_that_is_nan_is_refused(value: Any) -> None:
    """NaN is no version (a missing value a data frame or a division gave): every NaN state
    was tagged ``"nan"``, so two different states had one tag, and a stale If-Match passed;
    a signaling NaN was a bare "cannot hash" error."""
    view = etag(VersionGenerator(lambda item_id: value))(show_item)
    with pytest.raises(TypeError, match=r"NaN, which is no version"):
        app_with(view).test_client().get("/items/1")


@pytest.mark.parametrize(
    "value",
    [7, "r12", b"r12", 1.5, datetime(2024, 5, 6, tzinfo=timezone.utc)],
    ids=["int", "str", "bytes", "float", "datetime"],
)
def test_version_lookup_accepts_version_values(value: Any) -> None:
    """The check refuses objects, not the ordinary kinds of version values."""
    view = etag(VersionGenerator(lambda item_id: value))(show_item)
    response = app_with(view).test_client().get("/items/1")
    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"')


def test_rfc9110_8_8_3_one_instant_gets_one_tag_in_any_offset() -> None:
    """An aware ``updated_at`` version: the tag was the text of whichever offset this process
    saw first (``_fields`` caches equal values), so two hosts tagged one state differently
    and a client's ``If-Match`` from one failed on the other."""
    utc = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    paris = utc.astimezone(timezone(timedelta(hours=1)))

    def tags_of(*versions: datetime) -> list[str]:
        current = list(versions)
        app = app_with(etag(VersionGenerator(lambda item_id: current[0]))(show_item))
        tags = []
        while current:
            tags.append(app.test_client().get("/items/1").headers["ETag"])
            current.pop(0)
        return tags

    assert len({*tags_of(utc, paris), *tags_of(paris, utc)}) == 1


def test_rfc9110_8_8_3_a_version_of_more_digits_than_str_writes_is_tagged() -> None:
    """An int version beyond ``sys.get_int_max_str_digits()`` (4,300 digits by default, set
    per host by ``PYTHONINTMAXSTRDIGITS``): ``str()`` refused it, a 500 on every GET.  Its
    tag is a hash, the same on a host that lifts the limit."""
    huge = 10**5000
    current = [huge]
    app = app_with(etag(VersionGenerator(lambda item_id: current[0]))(show_item))
    client = app.test_client()
    first = client.get("/items/1")
    assert first.status_code == 200
    assert re.fullmatch(r'"[0-9a-f]{32}"', first.headers["ETag"])
    assert (
        client.get("/items/1", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    )
    current[0] = huge + 1
    assert (
        client.get("/items/1", headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    )
    if not hasattr(sys, "set_int_max_str_digits"):  # Python 3.10 before 3.10.7: no limit
        return
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        unlimited = app_with(etag(VersionGenerator(lambda item_id: huge))(show_item))
        assert unlimited.test_client().get("/items/1").headers["ETag"] == first.headers["ETag"]
    finally:
        sys.set_int_max_str_digits(limit)


def test_checked_version_outside_a_versioned_view_names_the_decorators() -> None:
    """``checked_version()`` needs a version or timestamp route to have checked something."""

    def view(item_id: int) -> str:
        return str(checked_version())

    with pytest.raises(RuntimeError, match="inside a view decorated with @etag or @require_if"):
        app_with(view).test_client().get("/items/1")


# --- ModelVersionGenerator ------------------------------------------------------------------


def test_model_without_version_id_col_names_the_fix(session: Session) -> None:
    """Without ``version_id_col`` SQLAlchemy writes no compare-and-set, so it is refused."""
    with pytest.raises(ETagConfigurationError, match=r"__mapper_args__ = \{'version_id_col'"):
        ModelVersionGenerator(Unversioned, session)


@pytest.mark.parametrize(
    "model", [Product, Versioned(id=1, version=1), "Versioned"], ids=["class", "instance", "name"]
)
def test_model_version_generator_needs_a_mapped_class(model: Any, session: Session) -> None:
    """A plain class, an instance or a name is not a mapped model class."""
    with pytest.raises(TypeError, match="needs a mapped model class"):
        ModelVersionGenerator(model, session)


def test_model_with_composite_key_names_the_alternative(session: Session) -> None:
    """Which URL argument is which key column cannot be guessed."""
    with pytest.raises(ETagConfigurationError, match="use VersionGenerator with your own lookup"):
        ModelVersionGenerator(TwoColumnKey, session)


@pytest.mark.parametrize(
    ("rule", "url_arg", "said"),
    [
        pytest.param("/items/<int:item_id>", "id", r"url_arg='id'.*\(item_id\)", id="typo"),
        pytest.param(
            "/shops/<shop>/items/<int:item_id>", None, re.escape("pass url_arg='...'"),
            id="ambiguous",
        ),
    ],
)  # fmt: skip
def test_a_model_route_whose_key_cannot_be_found_fails_init_app(
    session: Session, rule: str, url_arg: str | None, said: str
) -> None:
    """``url_arg=`` naming no URL argument was a bare ``KeyError`` 500 on every request, and
    an ambiguous key was found only on the route's first request: both fail ``init_app``
    when the route is registered, as a lookup that cannot take the URL arguments does."""
    app = Flask(__name__)
    app.add_url_rule(
        rule,
        view_func=etag(ModelVersionGenerator(Versioned, session, url_arg=url_arg))(
            lambda **url: "item"
        ),
        endpoint="item",
    )
    with pytest.raises(ETagConfigurationError, match=said):
        ETag(app)


def test_model_route_with_two_url_arguments_needs_url_arg(session: Session) -> None:
    """With two URL arguments the primary key is ambiguous: the message says ``url_arg=``."""
    generator = ModelVersionGenerator(Versioned, session)

    def view(shop: str, item_id: int) -> str:
        return show_item(item_id)

    app = app_with(etag(generator)(view), rule="/shops/<shop>/items/<int:item_id>")
    with pytest.raises(ETagConfigurationError, match=re.escape("pass url_arg='...'")):
        app.test_client().get("/shops/a/items/1")


@pytest.mark.parametrize(
    "skew", [-1, 61, "1", True], ids=["negative", "over-a-minute", "str", "bool"]
)
def test_clock_skew_must_be_seconds_up_to_a_minute(skew: object) -> None:
    """``ETAG_CLOCK_SKEW`` delays every date by itself: a value that is no number of seconds
    (or clocks a minute apart, which no NTP leaves) fails in ``init_app``, naming the key."""
    app = Flask(__name__)
    app.config["ETAG_CLOCK_SKEW"] = skew
    with pytest.raises(ValueError, match="ETAG_CLOCK_SKEW must be seconds from 0 up to 60"):
        ETag(app)
