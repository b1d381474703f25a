"""Issue 20: set-up mistakes end in a message that names the fix, never a bare error or a
silently wrong tag; every public object has a short, non-recursive ``repr``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask, abort
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from support_databases import dispose_after_test

from flask_etag import (
    ETag,
    ETagConfigurationError,
    ETagPreconditionFailed,
    ETagPreconditionRequired,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    checked_version,
    etag,
    require_if_match,
    set_response_version,
)
from flask_etag.sqlalchemy import CollectionGenerator, ModelVersionGenerator, TableVersions


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "setup_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(default="")
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own API)


def test_table_versions_declared_after_create_all_names_the_fix() -> None:
    """The list and every write would answer 500 ``no such table`` without a hint."""
    db = SQLAlchemy(model_class=Base)
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", TESTING=True)
    db.init_app(app)
    ETag(app)
    dispose_after_test(app)
    with app.app_context():
        db.create_all()
    versions = TableVersions(db.session, db.metadata)  # too late: create_all has run

    @app.route("/notes", methods=["GET", "POST"])
    @etag(CollectionGenerator(lambda: sa.select(Note), versions))
    def notes() -> Any:
        return {"count": len(db.session.scalars(sa.select(Note)).all())}

    @app.post("/notes/new")
    def create() -> Any:
        db.session.add(Note(id=1, version=1))
        db.session.commit()
        return {}, 201

    client = app.test_client()
    fix = r"build TableVersions before db\.create_all\(\)"
    with pytest.raises(ETagConfigurationError, match=fix):
        client.get("/notes")
    with pytest.raises(ETagConfigurationError, match=fix):
        client.post("/notes/new")


def test_a_collection_select_that_cannot_take_the_url_arguments_fails_at_init_app() -> None:
    """``CollectionGenerator``'s function is called with the URL arguments as a lookup is:
    one that cannot take them was a bare TypeError on every request to the list."""
    versions = TableVersions(sessionmaker(), sa.MetaData())
    app = Flask(__name__)

    @app.get("/shops/<int:shop_id>/notes")
    @etag(CollectionGenerator(lambda: sa.select(Note), versions))  # the mistake under test
    def notes(shop_id: int) -> Any:
        return []

    with pytest.raises(
        ETagConfigurationError, match=r"'/shops/<int:shop_id>/notes'.*\(shop_id\).*lambda shop_id"
    ):
        ETag(app)


def lookup_app(lookup: Any) -> Flask:
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    @app.get("/notes/<int:note_id>")
    @etag(VersionGenerator(lookup))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    return app


def test_a_lookup_that_cannot_take_the_url_arguments_names_them() -> None:
    app = lookup_app(lambda id: 1)  # the mistake under test
    with pytest.raises(ETagConfigurationError, match=r"URL arguments \(note_id\)") as raised:
        app.test_client().get("/notes/1")
    assert "lambda note_id: ..." in str(raised.value)


def test_a_lookup_that_cannot_take_the_url_arguments_fails_at_init_app() -> None:
    """Not as a 500 on the route's own first request, which may come long after the app's:
    a request to another route went through, and the wrong lookup waited."""
    app = Flask(__name__)

    @app.get("/notes/<int:note_id>")
    @etag(VersionGenerator(lambda id: 1))  # the mistake under test
    def note(note_id: int) -> Any:
        return {"id": note_id}

    with pytest.raises(ETagConfigurationError, match=r"'/notes/<int:note_id>'.*\(note_id\)"):
        ETag(app)


@pytest.mark.parametrize(
    ("generator", "methods", "fix"),
    [
        pytest.param(TimestampGenerator(lambda: None), ["GET"], "lambda note_id: ...", id="lookup"),
        pytest.param(
            HashGenerator(current=lambda: "note"),
            ["GET", "PUT"],
            "current=lambda note_id: ...",
            id="current",
        ),
    ],
)
def test_a_function_of_a_blueprint_route_is_checked_on_the_first_request(
    generator: Any, methods: list[str], fix: str
) -> None:
    """A blueprint's routes exist only once it is registered, after ``init_app``: the first
    request, to any route, names the function that cannot take the URL arguments."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    app.add_url_rule("/", view_func=lambda: "home", endpoint="home")
    blueprint = Blueprint("notes", __name__, url_prefix="/notes")
    blueprint.add_url_rule(
        "/<int:note_id>",
        view_func=etag(generator)(lambda note_id: "note"),
        endpoint="note",
        methods=methods,
    )
    app.register_blueprint(blueprint)
    with pytest.raises(ETagConfigurationError, match=re.escape(fix)):
        app.test_client().get("/")


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        pytest.param("ETAG_WEAK", True, "ETAG_WEAK was changed after init_app", id="changed"),
        pytest.param(
            "ETAG_SCOPE", lambda: "user-1", "ETAG_SCOPE was changed after init_app", id="scope"
        ),
        pytest.param(
            "ETAG_CACHE_CONTROLL", "no-cache", "ETAG_CACHE_CONTROLL was set after init_app",
            id="misspelt",
        ),
    ],
)  # fmt: skip
def test_etag_config_set_after_init_app_fails_the_first_request(
    key: str, value: object, said: str
) -> None:
    """``init_app`` reads the ``ETAG_*`` config once: a key set after it (an application
    factory that loads its config after the extensions) was silently ignored, so every tag
    stayed strong, or unscoped and without ``Cache-Control: private``.  The first request
    names the key, as a misplaced decorator is named."""
    app = Flask(__name__)
    app.testing = True
    app.config["SECRET_KEY"] = "key"
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "home"), endpoint="home")
    app.config[key] = value
    with pytest.raises(ETagConfigurationError, match=f"{said}.*before init_app"):
        app.test_client().get("/")


def test_etag_config_set_again_to_the_value_init_app_read_is_no_change() -> None:
    """Setting a key to the value it had (a second ``from_mapping`` of the same config) is
    served as usual."""
    app = Flask(__name__)
    app.testing = True
    app.config["ETAG_WEAK"] = "yes"
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "home"), endpoint="home")
    app.config.update(ETAG_WEAK="yes", ETAG_AUTO=False)
    assert app.test_client().get("/").headers["ETag"].startswith('W/"')


def page_app(current: Any, methods: tuple[str, ...] = ("GET", "PUT")) -> Flask:
    """A body-hash page route whose conditional writes are judged by ``current``."""
    app = Flask(__name__)
    app.testing = True

    @app.route("/pages/<int:page_id>", methods=list(methods))
    @etag(HashGenerator(current=current))
    def page(page_id: int) -> Any:
        return f"page {page_id}"

    return app


@pytest.mark.parametrize("methods", [["GET"], ["PUT"]], ids=["read", "write"])
def test_a_surrogate_keys_function_that_cannot_take_the_url_arguments_fails_at_init_app(
    methods: list[str],
) -> None:
    """``surrogate_keys=`` is called with the URL arguments as a lookup is: one that cannot
    take them was a bare TypeError on every read carrying keys, and on a write after its
    view had written."""
    app = Flask(__name__)
    app.config["ETAG_SURROGATE_KEYS"] = True

    @app.route("/notes/<int:note_id>", methods=methods)
    @etag(VersionGenerator(lambda note_id: 1), surrogate_keys=lambda id: [f"note/{id}"])
    def note(note_id: int) -> Any:
        return {"id": note_id}

    with pytest.raises(
        ETagConfigurationError, match=r"'/notes/<int:note_id>': surrogate_keys=.*\(note_id\)"
    ):
        ETag(app)


def test_a_current_function_that_cannot_take_the_url_arguments_fails_at_init_app() -> None:
    """As a lookup's: not a 500 on the route's first conditional write, which may come long
    after every read of it went through."""
    app = page_app(lambda id: f"page {id}")  # the mistake under test
    with pytest.raises(
        ETagConfigurationError,
        match=r"'/pages/<int:page_id>': HashGenerator\(current=.*<lambda>\) cannot take .*"
        r"\(page_id\).*current=lambda page_id: \.\.\.",
    ):
        ETag(app)


def test_a_current_function_of_a_read_only_route_is_never_called_so_never_refused() -> None:
    app = page_app(lambda id: f"page {id}", methods=("GET",))
    ETag(app)
    assert app.test_client().get("/pages/1").status_code == 200


def test_a_current_function_beside_a_url_value_preprocessor_is_named_by_its_request() -> None:
    """The set-up check leaves such an app to the request, where the write names the fix
    instead of failing with the lambda's bare TypeError."""
    app = page_app(lambda id: f"page {id}")
    app.url_value_preprocessor(lambda endpoint, values: None)
    ETag(app)
    client = app.test_client()
    tag = client.get("/pages/1").headers["ETag"]
    with pytest.raises(ETagConfigurationError, match=r"URL arguments \(page_id\)"):
        client.put("/pages/1", data="new", headers={"If-Match": tag})


def test_a_lookup_beside_a_url_value_preprocessor_is_judged_by_its_request() -> None:
    """The preprocessor takes ``lang`` out of the URL arguments before the view runs."""
    app = Flask(__name__)

    @app.url_value_preprocessor
    def take_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is not None:
            values.pop("lang", None)

    @app.get("/<lang>/notes/<int:note_id>")
    @etag(VersionGenerator(lambda note_id: 4))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    ETag(app)
    assert app.test_client().get("/en/notes/1").headers["ETag"] == '"4"'


def test_a_type_error_inside_a_lookup_stays_the_lookups_own() -> None:
    def lookup(note_id: int) -> Any:
        return "v" + note_id  # type: ignore[operator]  # the app's own bug

    with pytest.raises(TypeError, match="can only concatenate str"):
        lookup_app(lookup).test_client().get("/notes/1")


@pytest.mark.parametrize("value", [True, False])
def test_rfc9110_8_8_3_a_lookup_returning_a_bool_is_refused(value: bool) -> None:
    """Not ``ETag: "True"``: a comparison returned by mistake is no version."""
    with pytest.raises(TypeError, match="which is no version"):
        lookup_app(lambda note_id: value).test_client().get("/notes/1")


def test_a_release_read_as_a_float_names_the_quoting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``from_prefixed_env`` reads ``2026.10`` as ``2026.1``: the release the deploy meant is
    gone, and a silently shortened one could equal the last deploy's."""
    monkeypatch.setenv("FLASK_ETAG_RELEASE", "2026.10")
    app = Flask(__name__)
    app.config.from_prefixed_env()
    quote = re.escape("""(2026.10 becomes 2026.1). Quote it: FLASK_ETAG_RELEASE='"2026.10"'""")
    with pytest.raises(ValueError, match=quote):
        ETag(app)


def _note_at_version_3(after_request: Callable[[Any], Any]) -> Flask:
    """``GET``/``PUT /notes/<id>`` at version 3, with ``after_request`` as the app's hook."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @etag(VersionGenerator(lambda note_id: 3))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    app.after_request(after_request)
    return app


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param("GET", {}, 200, id="200"),
        pytest.param("GET", {"If-None-Match": '"3"'}, 304, id="rfc9110_15_4_5-304"),
        pytest.param("PUT", {"If-Match": '"2"'}, 412, id="rfc9110_13_1_1-412"),
    ],
)
def test_checked_version_answers_in_after_request_on_every_answer_rfc9110_13_2_2(
    method: str, headers: dict[str, str], status: int
) -> None:
    """An ``after_request`` hook read it after a 200, and raised (a 500) after the 304 or
    412 of the same route, decided before the view."""

    def log_checked(response: Any) -> Any:
        response.headers["X-Checked"] = str(checked_version())
        return response

    app = _note_at_version_3(log_checked)
    response = app.test_client().open("/notes/1", method=method, headers=headers)
    assert response.status_code == status and response.headers["X-Checked"] == "3"


@pytest.mark.parametrize(
    ("method", "note_id", "status"),
    [
        pytest.param("PUT", 1, 428, id="rfc6585_3-428"),
        pytest.param("GET", 2, 404, id="rfc9110_15_5_5-lookup-404"),
        pytest.param("PUT", 3, 403, id="rfc9110_15_5_4-lookup-403"),
    ],
)
def test_checked_version_is_none_in_after_request_where_nothing_was_checked(
    method: str, note_id: int, status: int
) -> None:
    """A hook reading it after a 428, or after the lookup answered (``abort(404)``, an
    access check), raised: the 428, 404 or 403 became a 500."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    def version(note_id: int) -> int:
        if note_id == 2:
            abort(404)
        if note_id == 3:
            abort(403)
        return 3

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(VersionGenerator(version))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    @app.after_request
    def log_checked(response: Any) -> Any:
        response.headers["X-Checked"] = repr(checked_version())
        return response

    headers = {} if status == 428 else {"If-Match": '"3"'}
    response = app.test_client().open(f"/notes/{note_id}", method=method, headers=headers)
    assert (response.status_code, response.headers["X-Checked"]) == (status, "None")


def test_checked_version_outside_a_request_says_where_it_works() -> None:
    with pytest.raises(RuntimeError, match=r"only available inside a view decorated .*request"):
        checked_version()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_rfc9110_8_8_3_set_response_version_after_the_view_is_refused(method: str) -> None:
    """An ``after_request`` hook runs once the response is tagged: its report was ignored,
    and the response went out with the looked-up tag, ``"3"``, instead of an error."""

    def report_too_late(response: Any) -> Any:
        set_response_version(9)
        return response

    app = _note_at_version_3(report_too_late)
    with pytest.raises(RuntimeError, match=r"set_response_version\(\) is only available inside"):
        app.test_client().open("/notes/1", method=method)


@pytest.mark.parametrize(
    ("generator", "reported", "what"),
    [
        pytest.param(VersionGenerator(lambda note_id: 1), Note(id=1, version=2), "version itself",
                     id="version"),
        pytest.param(TimestampGenerator(lambda note_id: None), 5, "datetime", id="timestamp"),
    ],
)  # fmt: skip
def test_a_view_reporting_no_version_is_told_set_response_version_was_given_it(
    generator: Any, reported: Any, what: str
) -> None:
    """``set_response_version(note)`` (the row, not its version) was told its *lookup* must
    return the version, and the lookup was right: the message names both."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    @app.put("/notes/<int:note_id>")
    @etag(generator)
    def put_note(note_id: int) -> Any:
        set_response_version(reported)
        return {"id": note_id}

    with pytest.raises(TypeError, match=f"{what}.*set_response_version"):
        app.test_client().put("/notes/1")


def test_set_response_version_on_a_body_hash_route_is_refused() -> None:
    """It used to be ignored: the tag stayed the body's hash while the view meant a version."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    @app.get("/reports/<int:report_id>")
    @etag
    def report(report_id: int) -> Any:
        set_response_version(7)
        return {"id": report_id}

    with pytest.raises(RuntimeError, match=r"A body-hash route .* is tagged by the hash"):
        app.test_client().get("/reports/1")
    with pytest.raises(RuntimeError, match="set_response_version"):
        set_response_version(7)


def test_every_public_object_has_a_short_repr() -> None:
    db = SQLAlchemy(model_class=Base)
    versions = TableVersions(db.session, db.metadata)

    def note_version(note_id: int) -> int:
        return 1

    objects = [
        ETag(),
        HashGenerator(),
        HashGenerator("sha256", weak=True),
        VersionGenerator(note_version),
        TimestampGenerator(lambda note_id: None),
        ModelVersionGenerator(Note, db.session),
        CollectionGenerator(lambda: sa.select(Note), versions),
        versions,
        ETagPreconditionFailed(etag='"1"'),
        ETagPreconditionRequired(),
    ]
    for thing in objects:
        text = repr(thing)  # a RecursionError here was ModelVersionGenerator's
        assert 0 < len(text) <= 120, text
        assert type(thing).__name__ in text
    assert repr(ModelVersionGenerator(Note, db.session)) == (
        "ModelVersionGenerator(Note, weak=False)"
    )
    assert "note_version" in repr(VersionGenerator(note_version))


@pytest.mark.parametrize(
    ("in_code", "from_file"),
    [((), "[]"), (("http://127.0.0.1:9",), '["http://127.0.0.1:9"]')],
    ids=["empty", "one-cache"],
)
def test_etag_config_loaded_again_as_json_lists_is_no_change(in_code: Any, from_file: str) -> None:
    """A config file read again after ``init_app`` (JSON and TOML give lists) sets
    ``ETAG_PURGE_URLS`` to the list of what the code gave as a tuple: the same setting, so
    the first request is answered, not refused as a change."""
    app = Flask(__name__)
    app.testing = True
    app.config["ETAG_PURGE_URLS"] = in_code
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "home"), endpoint="home")
    app.config.from_mapping(json.loads(f'{{"ETAG_PURGE_URLS": {from_file}}}'))
    answer = app.test_client().get("/")
    assert (answer.status_code, answer.text) == (200, "home")


def _add_a_cache(targets: list[Any]) -> None:
    targets.append("http://127.0.0.1:10")


def _purge_by_url(targets: list[Any]) -> None:
    targets[0]["by"] = "url"


@pytest.mark.parametrize("change", [_add_a_cache, _purge_by_url], ids=["append", "nested"])
def test_etag_config_changed_in_place_after_init_app_fails_the_first_request(
    change: Callable[[list[Any]], None],
) -> None:
    """``app.config["ETAG_PURGE_URLS"].append(...)`` after ``init_app``, or a change to an
    entry in it, changes what it read, which the config still holds: a cache it never
    purges, or purges the wrong way, would serve stale pages, so the first request names
    the key, as for one set anew."""
    app = Flask(__name__)
    app.testing = True
    app.config["ETAG_PURGE_URLS"] = [{"url": "http://127.0.0.1:9", "by": "key"}]
    ETag(app)
    app.add_url_rule("/", view_func=etag(lambda: "home"), endpoint="home")
    change(app.config["ETAG_PURGE_URLS"])
    said = "ETAG_PURGE_URLS was changed after init_app"
    with pytest.raises(ETagConfigurationError, match=f"{said}.*before init_app"):
        app.test_client().get("/")
