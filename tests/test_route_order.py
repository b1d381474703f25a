"""Issue 20: ``@etag`` or ``@require_if_match`` written above the route decorator.

Flask then registers the plain function: reads go out untagged and a write without
``If-Match`` is served (RFC 6585 §3 asks for 428).  The mistake is an error no later than the
app's first request, and ``flask etag routes`` marks the route.
"""

from __future__ import annotations

import weakref
from typing import Any

import pytest
from flask import Blueprint, Flask

from flask_etag import ETag, ETagConfigurationError, VersionGenerator, etag, require_if_match

versions = VersionGenerator(lambda note_id: 3)
RIGHT_ORDER = r"Put the route decorator on top: @app.get\(...\)"


def misordered_write(app: Flask) -> None:
    @require_if_match(versions)
    @app.put("/notes/<int:note_id>")
    def replace_note(note_id: int) -> Any:
        return {"id": note_id}


def misordered_read(blueprint: Blueprint) -> None:
    @etag
    @blueprint.get("/reports/<int:report_id>")
    def report(report_id: int) -> Any:
        return {"id": report_id}


def test_rfc6585_3_require_if_match_above_the_route_fails_the_first_request() -> None:
    """``ETag(app)`` first, routes after (the usual module layout): the first request fails,
    and keeps failing, instead of a PUT without ``If-Match`` being served with 200."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    misordered_write(app)
    client = app.test_client()
    for _ in range(2):
        with pytest.raises(ETagConfigurationError, match=RIGHT_ORDER) as raised:
            client.put("/notes/1")
        assert "replace_note" in str(raised.value) and "'replace_note'" in str(raised.value)


def test_rfc6585_3_in_production_the_misordered_route_is_a_500_never_a_200() -> None:
    app = Flask(__name__)
    ETag(app)
    misordered_write(app)
    assert app.test_client().put("/notes/1").status_code == 500


def test_rfc9110_8_8_3_etag_above_a_blueprint_route_fails_at_init_app() -> None:
    """In a factory that registers its blueprints before ``init_app``, at ``init_app``."""
    app = Flask(__name__)
    blueprint = Blueprint("reports", __name__)
    misordered_read(blueprint)
    app.register_blueprint(blueprint)
    with pytest.raises(ETagConfigurationError, match=r"endpoint 'reports\.report'"):
        ETag(app)


def test_rfc9110_8_8_3_etag_above_a_blueprint_route_registered_after_init_app() -> None:
    app = Flask(__name__)
    app.testing = True
    ETag().init_app(app)
    blueprint = Blueprint("reports", __name__)
    misordered_read(blueprint)
    app.register_blueprint(blueprint)
    with pytest.raises(ETagConfigurationError, match=RIGHT_ORDER):
        app.test_client().get("/reports/1")


def test_rfc9110_8_8_3_the_right_order_passes_and_the_check_runs_once() -> None:
    """A correct app is checked on its first request only; later ones pay nothing."""
    from flask.signals import request_started

    app = Flask(__name__)
    ETag(app)

    @app.get("/notes/<int:note_id>")
    @etag(versions)
    def note(note_id: int) -> Any:
        return {"id": note_id}

    [receiver] = request_started.receivers_for(app)
    response = app.test_client().get("/notes/1")
    assert response.status_code == 200 and response.headers["ETag"] == '"3"'
    assert not list(request_started.receivers_for(app))
    # Gone for every sender: a receiver left in the signal costs every request of every app.
    live = [
        held() if isinstance(held, weakref.ref) else held
        for held in request_started.receivers.values()
    ]
    assert receiver not in live


def test_an_untagged_twin_of_a_tagged_view_is_no_mistake() -> None:
    """The plain function registered on purpose beside its tagged wrapper."""
    app = Flask(__name__)

    def note(note_id: int) -> Any:
        return {"id": note_id}

    app.add_url_rule("/raw/<int:note_id>", "raw", note)
    app.add_url_rule("/notes/<int:note_id>", "note", etag(versions)(note))
    ETag(app)
    client = app.test_client()
    assert "ETag" not in client.get("/raw/1").headers
    assert client.get("/notes/1").headers["ETag"] == '"3"'


def shared_note(note_id: int) -> Any:
    """A view of a module two apps share: one serves it plain, the other tagged."""
    return {"id": note_id}


def test_rfc9110_8_8_3_a_view_tagged_by_one_app_and_served_plain_by_another_is_no_mistake() -> None:
    """The admin app serves the shared view plain; the public app, made after it in the same
    process, tags it.  The admin app's requests used to fail with 500, "@etag is above the
    route decorator", though neither app misordered anything."""
    admin = Flask(__name__)
    admin.add_url_rule("/notes/<int:note_id>", view_func=shared_note)
    ETag(admin)
    public = Flask(__name__)
    ETag(public)
    public.add_url_rule("/notes/<int:note_id>", view_func=etag(versions)(shared_note))
    response = admin.test_client().get("/notes/1")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert public.test_client().get("/notes/1").headers["ETag"] == '"3"'
    other_admin = Flask(__name__)  # made after the wrapper: checked at init_app
    other_admin.add_url_rule("/notes/<int:note_id>", view_func=shared_note)
    ETag(other_admin)
    assert other_admin.test_client().get("/notes/1").status_code == 200


def test_flask_etag_routes_marks_the_misordered_route() -> None:
    app = Flask(__name__)
    ETag(app)
    misordered_write(app)
    result = app.test_cli_runner().invoke(args=["etag", "routes", "--tagged"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("replace_note"))
    assert "UNTAGGED: @etag is above the route decorator" in line
