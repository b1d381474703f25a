"""Issue 21: tags that know whom and which release they describe.

RFC 9110 §8.8.3: a strong tag names one representation.  A representation that depends on
the user, the release or the credentials sent must carry a tag of its own, and a secret
folded into a tag must not be readable or checkable from it.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime, timezone
from typing import Any

import pytest
from flask import Flask, Response, abort, g, request, send_file, session
from werkzeug.http import http_date

from flask_etag import (
    ETag,
    ETagConfigurationError,
    ETagConflict,
    ETagPreconditionFailed,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    checked_version,
    etag,
    require_if_match,
)

VERSION = 7
PAGES = {"home": "<h1>Hi</h1>"}


def scoped_app(secret: str | None = "first secret", **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": secret, "ETAG_SCOPE": lambda: g.get("user"), **config})
    ETag(app)

    @app.before_request
    def identify() -> None:
        g.user = request.headers.get("X-User")

    versions = VersionGenerator(lambda item_id: VERSION)

    @app.route("/items/<int:item_id>", methods=["GET", "PUT"])
    @require_if_match(versions)
    def item(item_id: int) -> Any:
        return {"id": item_id, "user": g.user}

    @app.get("/public/<int:item_id>")
    @etag(versions, scope=None)
    def public(item_id: int) -> Any:
        return {"id": item_id}

    @app.get("/shared/<int:item_id>")
    @etag(versions, cache_control="no-store")
    def shared(item_id: int) -> Any:
        return {"id": item_id}

    @app.route("/pages/<name>", methods=["GET", "PUT"])
    @etag(HashGenerator(current=lambda name: PAGES[name]))
    def page(name: str) -> Any:
        if request.method == "PUT":
            PAGES[name] = request.get_data(as_text=True)
            return PAGES[name], {"Content-Location": request.path}
        return PAGES[name]

    return app


def get(app: Flask, url: str, user: str | None, **headers: str) -> Any:
    if user is not None:
        headers["X-User"] = user
    return app.test_client().get(url, headers=headers)


@pytest.mark.parametrize("url", ["/items/1", "/pages/home"], ids=["version", "body-hash"])
def test_rfc9110_8_8_3_two_users_never_share_a_tag(url: str) -> None:
    app = scoped_app()
    ann, bob = get(app, url, "ann"), get(app, url, "bob")
    assert ann.headers["ETag"] != bob.headers["ETag"]
    assert "ann" not in ann.headers["ETag"]  # the scope is hashed under the secret
    # bob's browser holding ann's tag (a shared browser) gets his own page, never a 304
    assert get(app, url, "bob", **{"If-None-Match": ann.headers["ETag"]}).status_code == 200
    assert get(app, url, "ann", **{"If-None-Match": ann.headers["ETag"]}).status_code == 304


def test_rfc9110_8_8_3_the_same_scope_gets_the_same_tag_on_every_host() -> None:
    first, second = scoped_app(), scoped_app()
    other_secret = scoped_app("second secret")
    tag = get(first, "/items/1", "ann").headers["ETag"]
    assert get(second, "/items/1", "ann").headers["ETag"] == tag
    assert get(other_secret, "/items/1", "ann").headers["ETag"] != tag


def test_rfc9111_5_2_2_7_a_scoped_route_is_private_unless_it_says_otherwise() -> None:
    app = scoped_app(ETAG_CACHE_CONTROL="no-cache")
    ann = get(app, "/items/1", "ann")
    assert ann.headers["Cache-Control"] == "private, no-cache"
    revalidated = get(app, "/items/1", "ann", **{"If-None-Match": ann.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Cache-Control"] == "private, no-cache"  # §15.4.5
    assert get(app, "/shared/1", "ann").headers["Cache-Control"] == "no-store"
    assert get(app, "/public/1", "ann").headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("policy", "sent"),
    [
        pytest.param("max-age=60", "private, max-age=60", id="names no one: made private"),
        pytest.param("no-cache", "private, no-cache", id="no-cache: made private"),
        pytest.param("public, max-age=60", "public, max-age=60", id="public: as it says"),
        pytest.param("s-maxage=60", "s-maxage=60", id="s-maxage: as it says"),
        pytest.param("no-store", "no-store", id="no-store: as it says"),
    ],
)
@pytest.mark.parametrize("generator", ["version", "body-hash"])
@pytest.mark.parametrize("set_by", ["view", "route"])
def test_rfc9111_5_2_2_7_a_scoped_policy_that_names_no_storer_stays_private(
    set_by: str, generator: str, policy: str, sent: str
) -> None:
    """A ``Cache-Control`` that names no one who may store the response, the view's own or
    the decorator's ``cache_control="max-age=60"`` (the caches guide's recipe for nginx),
    would let a shared cache keep ann's page and serve it to bob; a 304 refreshing it would
    say so again (RFC 9110 §15.4.5)."""
    app = scoped_app()
    tagging = VersionGenerator(lambda: VERSION) if generator == "version" else HashGenerator()
    by_view = {"Cache-Control": policy} if set_by == "view" else {}

    @app.get("/account")
    @etag(tagging, cache_control=policy if set_by == "route" else None)
    def account() -> Any:
        return {"user": g.user}, by_view

    ann = get(app, "/account", "ann")
    assert ann.headers["Cache-Control"] == sent
    assert get(app, "/public/1", "ann").headers.get("Cache-Control") is None  # scope=None
    if set_by == "route":  # a 304 before the view knows the route's policy, not the view's
        revalidated = get(app, "/account", "ann", **{"If-None-Match": ann.headers["ETag"]})
        assert revalidated.status_code == 304 and revalidated.headers["Cache-Control"] == sent


@pytest.mark.parametrize("reads_session", [True, False], ids=["view reads session", "scope only"])
def test_rfc9110_15_4_5_a_scoped_304_before_the_view_varies_as_its_200(reads_session: bool) -> None:
    """A 304 carries the ``Vary`` its 200 would (§15.4.5).  A view that reads the session
    has Flask send ``Vary: Cookie``, but a 304 decided before the view never runs it: the
    scope's read says that the page is the caller's, so both say it, whatever the view reads
    and wherever the scope finds the caller (here a header)."""
    app = scoped_app()

    @app.get("/themed/<int:item_id>")
    @etag(VersionGenerator(lambda item_id: VERSION))
    def themed(item_id: int) -> Any:
        theme = session.get("theme", "light") if reads_session else "light"
        return {"id": item_id, "theme": theme}

    page = get(app, "/themed/1", "ann")
    assert page.status_code == 200 and "Cookie" in page.vary
    revalidated = get(app, "/themed/1", "ann", **{"If-None-Match": page.headers["ETag"]})
    assert revalidated.status_code == 304 and revalidated.vary == page.vary
    unscoped = get(app, "/public/1", "ann")  # scope=None: the session is not the scope's
    assert "Cookie" not in unscoped.vary


def test_rfc9110_8_8_3_scope_none_turns_it_off_for_a_route() -> None:
    app = scoped_app()
    assert get(app, "/public/1", "ann").headers["ETag"] == f'"{VERSION}"'
    assert get(app, "/public/1", "bob").headers["ETag"] == f'"{VERSION}"'


def test_rfc9110_13_1_1_a_write_is_judged_by_the_state_whatever_the_scope() -> None:
    app = scoped_app()
    client = app.test_client()
    tag = get(app, "/items/1", "ann").headers["ETag"]
    assert client.put("/items/1", headers={"X-User": "ann", "If-Match": tag}).status_code == 200
    assert client.put("/items/1", headers={"X-User": "ann", "If-Match": '"6"'}).status_code == 412
    page_tag = get(app, "/pages/home", "ann").headers["ETag"]
    written = client.put(
        "/pages/home", data="<h1>New</h1>", headers={"X-User": "ann", "If-Match": page_tag}
    )
    assert written.status_code == 200
    PAGES["home"] = "<h1>Hi</h1>"


def test_rfc9110_15_5_13_a_scoped_412_names_the_views_own_tag_as_the_get_sends_it() -> None:
    """A view's own ETag (send_file's) is sent as it is on a scoped body-hash route: the 412 of
    a stale write names that same tag, so a GET with it revalidates to 304."""
    app = scoped_app()
    avatar = {"bytes": b"first"}

    def current_avatar() -> Any:
        return send_file(io.BytesIO(avatar["bytes"]), mimetype="image/png", etag="avatar-1")

    @app.route("/avatar", methods=["GET", "PUT"])
    @etag(HashGenerator(current=current_avatar))
    def avatar_view() -> Any:
        if request.method == "PUT":
            avatar["bytes"] = request.get_data()
            return "", 204
        return current_avatar()

    client = app.test_client()
    sent = client.get("/avatar", headers={"X-User": "ann"}).headers["ETag"]
    stale = client.put("/avatar", data=b"x", headers={"X-User": "ann", "If-Match": '"old"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == sent == '"avatar-1"'
    revalidated = client.get("/avatar", headers={"X-User": "ann", "If-None-Match": sent})
    assert revalidated.status_code == 304
    written = client.put("/avatar", data=b"x", headers={"X-User": "ann", "If-Match": sent})
    assert written.status_code == 204


@pytest.mark.parametrize("generator", ["timestamp", "body-hash"])
def test_rfc9110_13_1_3_another_users_date_answers_no_304(generator: str) -> None:
    """Every user's page of a state has one date: a client revalidating by the date of
    ann's page alone (no tag) must get bob's page, never a 304 keeping ann's."""
    app = scoped_app()
    changed = datetime(2026, 1, 1, tzinfo=timezone.utc)
    tagging = TimestampGenerator(lambda: changed) if generator == "timestamp" else HashGenerator()

    @app.get("/inbox")
    @etag(tagging)
    def inbox() -> Any:
        return {"owner": g.user}, {"Last-Modified": http_date(changed)}

    ann = get(app, "/inbox", "ann")
    since = ann.headers["Last-Modified"]
    bob = get(app, "/inbox", "bob", **{"If-Modified-Since": since})
    assert bob.status_code == 200 and bob.get_json() == {"owner": "bob"}
    again = get(
        app, "/inbox", "ann", **{"If-Modified-Since": since, "If-None-Match": ann.headers["ETag"]}
    )
    assert again.status_code == 304  # the tag, which folds the user, still decides


def test_rfc9110_13_1_5_another_users_if_range_date_gets_the_whole_on_a_body_hash_route() -> None:
    """Every user's statement of a state has the view's one date, so that date is no strong
    validator (§8.8.2.2): a shared browser resuming ann's download for bob by the date alone
    would splice bob's bytes onto ann's.  The whole is sent; the tag still resumes."""
    app = scoped_app()
    changed = datetime(2026, 1, 1, tzinfo=timezone.utc)

    @app.get("/statement")
    @etag(HashGenerator())
    def statement() -> Any:
        body = f"statement of {g.user}: 1000".encode()
        return send_file(io.BytesIO(body), mimetype="text/plain", etag=False, last_modified=changed)

    ann = get(app, "/statement", "ann")
    resumed = get(
        app, "/statement", "bob", Range="bytes=13-", **{"If-Range": ann.headers["Last-Modified"]}
    )
    assert resumed.status_code == 200 and resumed.data == b"statement of bob: 1000"
    beyond = get(
        app, "/statement", "bob", Range="bytes=99-", **{"If-Range": ann.headers["Last-Modified"]}
    )
    assert beyond.status_code == 200  # If-Range fails, so Range is ignored: no 416 either
    plain = get(app, "/statement", "bob", Range="bytes=13-")
    assert plain.status_code == 206 and plain.data == b"bob: 1000"  # Range alone still works


@pytest.mark.parametrize("auto", [False, True], ids=["decorated", "ETAG_AUTO"])
def test_rfc9110_15_5_2_a_scope_that_aborts_is_answered_as_the_app_answers_it(auto: bool) -> None:
    """A scope that cannot say whom a page is for may refuse it (``abort(401)``): the app's
    401 handler answers a decorated route.  Under auto mode the scope is read in an
    ``after_request`` hook, where its abort was a 500 for every undecorated page: it is
    that 401 (werkzeug's, as no public Flask API reaches the app's handlers from a hook),
    with the fields the app's own hooks set."""

    def signed_in_user() -> str:
        user = request.headers.get("X-User")
        return user if user is not None else abort(401)

    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", ETAG_SCOPE=signed_in_user, ETAG_AUTO=auto)
    ETag(app)

    @app.errorhandler(401)
    def sign_in_first(error: Exception) -> Any:
        return {"sign-in": "/login"}, 401

    def inbox() -> Any:
        return {"messages": 3}

    @app.after_request
    def strict_transport(response: Any) -> Any:
        response.headers["Strict-Transport-Security"] = "max-age=63072000"
        return response

    app.add_url_rule("/inbox", view_func=inbox if auto else etag(inbox))
    client = app.test_client()
    refused = client.get("/inbox")
    assert refused.status_code == 401 and "ETag" not in refused.headers
    assert refused.headers["Strict-Transport-Security"] == "max-age=63072000"
    if not auto:
        assert refused.get_json() == {"sign-in": "/login"}
    else:
        assert b"Unauthorized" in refused.data and "Cache-Control" not in refused.headers
    ann = client.get("/inbox", headers={"X-User": "ann"})
    assert ann.status_code == 200 and ann.headers["Cache-Control"] == "private"


def test_rfc9110_15_5_2_a_scope_aborting_with_a_response_keeps_the_hooks_fields_in_auto() -> None:
    """``abort(response)`` in the scope (a JSON 401 the app built) is that response under
    ``ETAG_AUTO``, its status, body and fields, with the fields the app's hooks had set: a
    new response in their place lost CORS and a request id."""

    def signed_in_user() -> str:
        challenge = Response('{"sign-in": "/login"}', 401, mimetype="application/json")
        challenge.headers.add("Set-Cookie", "a=1")
        challenge.headers.add("Set-Cookie", "b=2")
        return request.headers.get("X-User") or abort(challenge)

    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", ETAG_SCOPE=signed_in_user, ETAG_AUTO=True)
    ETag(app)

    @app.after_request
    def cross_origin(response: Any) -> Any:
        response.headers["Access-Control-Allow-Origin"] = "https://app.example"
        return response

    app.add_url_rule("/inbox", "inbox", lambda: {"messages": 3})
    refused = app.test_client().get("/inbox")
    assert (refused.status_code, refused.get_json()) == (401, {"sign-in": "/login"})
    assert refused.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert refused.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert "ETag" not in refused.headers


@pytest.mark.parametrize("generator", ["version", "body-hash"])
def test_rfc9110_9_3_4_a_write_that_signs_its_caller_out_stays_done(generator: str) -> None:
    """A write whose view signs the caller out (a password change ending the session) leaves
    a scope that aborts for no caller nothing to name once it is done: the write's 2xx
    stands, untagged, as where its lookup aborts after it, never a 401 for a write that was
    applied (which a client would send again)."""

    def signed_in_user() -> str:
        return g.get("user") or abort(401)

    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", ETAG_SCOPE=signed_in_user)
    ETag(app)
    account = {"version": 1, "password": "old"}

    @app.before_request
    def identify() -> None:
        g.user = request.headers.get("X-User")

    def current() -> Any:
        return {"version": account["version"]}

    tagging = (
        VersionGenerator(lambda: account["version"])
        if generator == "version"
        else HashGenerator(current=current)
    )

    @app.route("/password", methods=["GET", "PUT"])
    @etag(tagging)
    def password() -> Any:
        if request.method == "PUT":
            account.update(version=account["version"] + 1, password=request.get_data(as_text=True))
            g.pop("user")  # signed out everywhere, this session too
        return current(), {"Content-Location": "/password"}

    changed = app.test_client().put("/password", data="new", headers={"X-User": "ann"})
    assert account["password"] == "new"
    assert changed.status_code == 200 and "ETag" not in changed.headers
    assert changed.headers["Cache-Control"] == "private"


def test_a_route_scope_overrides_the_apps() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    ETag(app)

    @app.get("/tiers/<int:item_id>")
    @etag(VersionGenerator(lambda item_id: 1), scope=lambda: request.args.get("tier"))
    def tier(item_id: int) -> Any:
        return {"id": item_id}

    client = app.test_client()
    gold, silver = client.get("/tiers/1?tier=gold"), client.get("/tiers/1?tier=silver")
    assert gold.headers["ETag"] != silver.headers["ETag"]
    assert gold.headers["Cache-Control"] == "private"


def test_a_scope_without_a_secret_key_is_refused() -> None:
    with pytest.raises(ETagConfigurationError, match="set SECRET_KEY"):
        scoped_app(secret=None)
    app = Flask(__name__)
    app.testing = True
    ETag(app)

    @app.get("/tiers/<int:item_id>")
    @etag(VersionGenerator(lambda item_id: 1), scope=lambda: "gold")
    def tier(item_id: int) -> Any:
        return {"id": item_id}

    with pytest.raises(ETagConfigurationError, match="needs the app's SECRET_KEY"):
        app.test_client().get("/tiers/1")


@pytest.mark.parametrize(
    ("folds", "named"),
    [({"scope": lambda: "gold"}, "scope="), ({"vary": ("Authorization",)}, "vary=")],
    ids=["scope", "credential"],
)
def test_rfc9110_8_8_3_a_route_folding_without_a_secret_key_fails_the_apps_first_request(
    folds: dict[str, Any], named: str
) -> None:
    """Not as a 500 on each request of that route alone, found whenever it is first asked
    for, while every other route serves: on the app's first request, as other set-up
    mistakes of its routes are."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    app.add_url_rule("/healthz", "health", lambda: "ok")

    @app.get("/tiers/<int:item_id>")
    @etag(VersionGenerator(lambda item_id: 1), **folds)
    def tier(item_id: int) -> Any:
        return {"id": item_id}

    with pytest.raises(ETagConfigurationError, match=f"'tier' folds .*{named}.*SECRET_KEY"):
        app.test_client().get("/healthz")


def test_a_bad_scope_is_refused() -> None:
    with pytest.raises(TypeError, match="scope must be a function of no arguments"):
        etag(VersionGenerator(lambda: 1), scope="user")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ETAG_SCOPE must be a function"):
        scoped_app(ETAG_SCOPE="user")
    app = scoped_app(ETAG_SCOPE=lambda: 42)
    app.testing = True
    with pytest.raises(TypeError, match="a scope must return a string or None, not 42"):
        get(app, "/items/1", "ann")


def _scope_of(user: Any) -> str:
    """A scope written as a function of the user, where flask_etag calls it with nothing."""
    return str(user)


def test_a_scope_that_needs_arguments_is_refused_at_set_up() -> None:
    """``ETAG_SCOPE`` (or ``scope=``) is called with no arguments: a function that needs one
    was accepted, and every decorated request was a bare "missing 1 required positional
    argument" 500."""
    with pytest.raises(TypeError, match=r"scope must be a function of no arguments.*_scope_of"):
        etag(VersionGenerator(lambda: 1), scope=_scope_of)
    with pytest.raises(TypeError, match=r"ETAG_SCOPE must be a function of no arguments.*user"):
        scoped_app(ETAG_SCOPE=_scope_of)


# --- credentials in vary= ------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def vary_app(secret: str | None, field_name: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret
    app.testing = True
    ETag(app)

    @app.get("/reports/<int:report_id>")
    @etag(VersionGenerator(lambda report_id: 2), vary=(field_name,))
    def report(report_id: int) -> Any:
        return {"id": report_id}

    return app


@pytest.mark.parametrize(
    "field_name",
    ["Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key", "X-Auth-Token", "Api-Secret"],
)
def test_rfc9110_8_8_3_a_credential_is_folded_only_under_the_secret(field_name: str) -> None:
    """A custom credential field is known by its name: a short API key folded without the
    secret could be found from the tag by trying keys offline."""
    headers = {field_name: basic("ann", "hunter2")}
    one, other = vary_app("first", field_name), vary_app("second", field_name)
    tag = one.test_client().get("/reports/1", headers=headers).headers["ETag"]
    assert one.test_client().get("/reports/1", headers=headers).headers["ETag"] == tag
    assert other.test_client().get("/reports/1", headers=headers).headers["ETag"] != tag
    with pytest.raises(ETagConfigurationError, match="SECRET_KEY"):
        vary_app(None, field_name).test_client().get("/reports/1", headers=headers)


def test_rfc9110_12_5_5_a_plain_negotiated_field_needs_no_secret() -> None:
    """``Accept`` is no secret: its tag is the same whatever the app's secret, as before."""
    one, other = vary_app("first", "Accept"), vary_app(None, "Accept")
    headers = {"Accept": "text/csv"}
    assert (
        one.test_client().get("/reports/1", headers=headers).headers["ETag"]
        == other.test_client().get("/reports/1", headers=headers).headers["ETag"]
    )


# --- ETAG_RELEASE --------------------------------------------------------------------------


def released(release: str | None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"ETAG_RELEASE": release, **config})
    ETag(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(VersionGenerator(lambda note_id: NOTES[note_id]))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    @app.get("/hashed")
    @etag
    def hashed() -> Any:
        return {"same": "body"}

    return app


NOTES = {1: 4}


def test_rfc9110_8_8_3_a_new_release_revalidates_to_200_once() -> None:
    before, after = released("2026.11").test_client(), released("2026.12").test_client()
    old = before.get("/notes/1").headers["ETag"]
    assert after.get("/notes/1", headers={"If-None-Match": old}).status_code == 200
    new = after.get("/notes/1").headers["ETag"]
    assert new != old
    assert after.get("/notes/1", headers={"If-None-Match": new}).status_code == 304
    # a body hash already changes with the body: the release is not folded into it
    assert before.get("/hashed").headers["ETag"] == after.get("/hashed").headers["ETag"]


def test_rfc9110_13_1_1_a_write_with_a_pre_release_tag_is_judged_by_the_state() -> None:
    old = released("2026.11").test_client().get("/notes/1").headers["ETag"]
    after = released("2026.12").test_client()
    assert after.put("/notes/1", headers={"If-Match": old}).status_code == 200
    NOTES[1] = 5
    try:
        refused = after.put("/notes/1", headers={"If-Match": old})
        assert refused.status_code == 412 and refused.get_json()["reason"] == "stale"
    finally:
        NOTES[1] = 4


def deployed_export(release: str, body: bytes) -> Any:
    """A timestamp-tagged export whose bytes a deploy changes, with ranges (send_file)."""
    app = Flask(__name__)
    app.config["ETAG_RELEASE"] = release
    ETag(app)
    exported = datetime(2026, 1, 1, tzinfo=timezone.utc)

    @app.route("/export", methods=["GET", "PUT"])
    @etag(TimestampGenerator(lambda: exported))
    def export() -> Any:
        if request.method == "PUT":
            return "", 204
        return send_file(io.BytesIO(body), mimetype="text/csv", etag=False, last_modified=None)

    return app.test_client()


def test_rfc9110_13_1_3_a_date_from_before_a_release_answers_no_304() -> None:
    old = deployed_export("2026.11", b"id,name\n1,lamp\n").get("/export")
    after = deployed_export("2026.12", b"id;name;price\n1;lamp;3\n")
    since = {"If-Modified-Since": old.headers["Last-Modified"]}
    assert after.get("/export", headers=since).status_code == 200  # the new body, once
    new = after.get("/export").headers["ETag"]
    assert after.get("/export", headers={**since, "If-None-Match": new}).status_code == 304
    # a write's If-Unmodified-Since asks about the state, which the deploy did not change
    unmodified = {"If-Unmodified-Since": old.headers["Last-Modified"]}
    assert after.put("/export", headers=unmodified).status_code == 204


def test_rfc9110_13_1_5_an_if_range_date_from_before_a_release_gets_the_whole() -> None:
    """A 206 of the new bytes would be spliced onto the old ones the client holds."""
    old = deployed_export("2026.11", b"id,name\n1,lamp\n").get("/export")
    after = deployed_export("2026.12", b"id;name;price\n1;lamp;3\n")
    resumed = after.get(
        "/export", headers={"Range": "bytes=8-", "If-Range": old.headers["Last-Modified"]}
    )
    assert resumed.status_code == 200 and resumed.data == b"id;name;price\n1;lamp;3\n"
    new = after.get("/export").headers["ETag"]
    partial = after.get("/export", headers={"Range": "bytes=8-", "If-Range": new})
    assert partial.status_code == 206 and partial.data == b"price\n1;lamp;3\n"


def deployed_page(release: str, body: bytes) -> Any:
    """A body-hash page whose view dates it by the row it shows, which a deploy does not
    change, while the deploy changes its bytes (a new template); and its download, whose
    ranges ``send_file`` serves."""
    app = Flask(__name__)
    app.config["ETAG_RELEASE"] = release
    ETag(app)
    shown = datetime(2026, 1, 1, tzinfo=timezone.utc)

    @app.get("/page")
    @etag
    def page() -> Any:
        return body, {"Last-Modified": http_date(shown)}

    @app.get("/download")
    @etag
    def download() -> Any:
        return send_file(io.BytesIO(body), mimetype="text/plain", etag=False, last_modified=shown)

    return app.test_client()


def test_rfc9110_13_1_3_a_body_hash_views_date_from_before_a_release_answers_no_304() -> None:
    """The view's ``Last-Modified`` names the row, not the release's template: a client
    revalidating by it alone must get the new body, never a 304 keeping the old one."""
    old = deployed_page("2026.11", b"<p>lamp</p>").get("/page")
    after = deployed_page("2026.12", b"<p>lamp, 3 EUR</p>")
    since = {"If-Modified-Since": old.headers["Last-Modified"]}
    fresh = after.get("/page", headers=since)
    assert fresh.status_code == 200 and fresh.data == b"<p>lamp, 3 EUR</p>"
    new = fresh.headers["ETag"]
    assert after.get("/page", headers={**since, "If-None-Match": new}).status_code == 304


def test_rfc9110_13_1_5_a_body_hash_views_if_range_date_from_before_a_release_gets_the_whole() -> (
    None
):
    """A 206 of the new template's bytes would be spliced onto the old one's."""
    old = deployed_page("2026.11", b"<p>lamp</p>").get("/download")
    after = deployed_page("2026.12", b"<p>lamp, 3 EUR</p>")
    resumed = after.get(
        "/download", headers={"Range": "bytes=3-", "If-Range": old.headers["Last-Modified"]}
    )
    assert resumed.status_code == 200 and resumed.data == b"<p>lamp, 3 EUR</p>"
    partial = after.get("/download", headers={"Range": "bytes=3-"})
    assert partial.status_code == 206 and partial.data == b"lamp, 3 EUR</p>"  # Range alone


FIRST_FOLDS = {
    "release": {"ETAG_RELEASE": "2026.12"},
    "scope": {"SECRET_KEY": "secret", "ETAG_SCOPE": lambda: "ann"},
}


@pytest.mark.parametrize("config", FIRST_FOLDS.values(), ids=FIRST_FOLDS.keys())
def test_rfc9110_13_1_1_a_write_with_a_tag_from_before_the_first_fold_is_judged_by_the_state(
    config: dict[str, Any],
) -> None:
    old = released(None).test_client().get("/notes/1").headers["ETag"]
    assert old == '"4"'
    after = released(None, **config).test_client()
    assert after.get("/notes/1").headers["ETag"] != old
    # §13.1.2: a representation with another tag is sent again, once
    assert after.get("/notes/1", headers={"If-None-Match": old}).status_code == 200
    assert after.put("/notes/1", headers={"If-Match": old}).status_code == 200  # same state
    NOTES[1] = 5
    try:
        assert after.put("/notes/1", headers={"If-Match": old}).status_code == 412
        assert after.put("/notes/1", headers={"If-Match": 'W/"5"'}).status_code == 412
    finally:
        NOTES[1] = 4


@pytest.mark.parametrize("release", ["", "  ", True, b"2026.12"])
def test_a_bad_release_is_refused(release: object) -> None:
    with pytest.raises(ValueError, match="ETAG_RELEASE must be a non-empty string"):
        released(release)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environ_value", "release"),
    [
        pytest.param("a1b2c3d", "a1b2c3d", id="text"),
        pytest.param("1234567", "1234567", id="digits, read as an int"),
        pytest.param('"2026.10"', "2026.10", id="quoted, as a float must be"),
    ],
)
def test_a_release_from_the_environment_is_its_text(
    monkeypatch: pytest.MonkeyPatch, environ_value: str, release: str
) -> None:
    monkeypatch.setenv("FLASK_ETAG_RELEASE", environ_value)
    app = Flask(__name__)
    app.config.from_prefixed_env()  # parses each value as JSON where it can
    ETag(app)
    assert app.extensions["etag"].release == release


FOLDS = {
    "release": {"ETAG_RELEASE": "2026.12"},
    "scope": {"SECRET_KEY": "secret", "ETAG_SCOPE": lambda: request.headers.get("X-User")},
}


def creating(config: dict[str, Any]) -> Flask:
    """An app whose POST answers 201 with the created note's tag, made by ``etag_for``."""
    app = Flask(__name__)
    app.config.update(config)
    ETag(app)
    versions: dict[int, int] = {}
    note_version = VersionGenerator(lambda note_id: versions.get(note_id))

    @app.post("/notes")
    def create() -> Any:
        versions[1] = 1
        headers = {"Location": "/notes/1", "ETag": note_version.etag_for(1)}
        return {"id": 1}, 201, headers

    @app.route("/notes/<int:note_id>", methods=["GET", "PATCH"])
    @require_if_match(note_version)
    def note(note_id: int) -> Any:
        if request.method == "PATCH":
            versions[note_id] += 1
        return {"id": note_id}

    return app


@pytest.mark.parametrize("config", FOLDS.values(), ids=FOLDS.keys())
def test_rfc9110_15_3_2_etag_for_gives_the_tag_the_item_route_sends(
    config: dict[str, Any],
) -> None:
    client = creating(config).test_client()
    ann = {"X-User": "ann"}
    created = client.post("/notes", headers=ann)
    assert created.headers["ETag"] == client.get("/notes/1", headers=ann).headers["ETag"]
    assert created.headers["ETag"] != '"1"'  # the fold is in it
    chained = client.patch("/notes/1", headers={**ann, "If-Match": created.headers["ETag"]})
    assert chained.status_code == 200
    again = client.patch("/notes/1", headers={**ann, "If-Match": created.headers["ETag"]})
    assert again.status_code == 412  # §13.1.1: the note changed since


#: Routes that fold something of their own: (decorator arguments, app config).
ROUTE_FOLDS = {
    "vary=Accept": ({"vary": ("Accept",)}, {}),
    "vary=Accept, ETAG_RELEASE": ({"vary": ("Accept",)}, {"ETAG_RELEASE": "2026.12"}),
    "scope= of its own": ({"scope": lambda: request.headers.get("X-Team")}, {}),
    "scope=None under ETAG_SCOPE": (
        {"scope": None},
        {"ETAG_SCOPE": lambda: request.headers.get("X-User")},
    ),
}


def losing_compare_and_set(route: dict[str, Any], config: dict[str, Any]) -> Flask:
    """A route whose hand-written compare-and-set always loses to a write that got in first
    (writes.md), and refuses with the state that won."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", **config)
    ETag(app)
    versions = {1: 1}
    note_version = VersionGenerator(lambda note_id: versions[note_id])

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(note_version, **route)
    def note(note_id: int) -> Any:
        if request.method == "PUT":
            versions[note_id] = checked_version() + 1  # another client's write, committed
            raise ETagPreconditionFailed(version=versions[note_id])  # ours matched no row
        return {"id": note_id}

    return app


@pytest.mark.parametrize(("route", "config"), ROUTE_FOLDS.values(), ids=ROUTE_FOLDS.keys())
def test_rfc9110_8_8_3_a_views_412_by_version_carries_the_tag_its_route_sends(
    route: dict[str, Any], config: dict[str, Any]
) -> None:
    """§8.8.3: the 412 names the state that won with the tag a GET of the same request
    carries, the route's own ``vary=`` and ``scope=`` folded in as the app's are, so the
    client's next ``If-None-Match`` with it is a 304, not a 200 sending the body again.
    ``etag_for`` knows the app's folds only: on such a route its tag was answered 200."""
    client = losing_compare_and_set(route, config).test_client()
    caller = {"Accept": "application/json", "X-User": "ann", "X-Team": "red"}
    tag = client.get("/notes/1", headers=caller).headers["ETag"]
    refused = client.put("/notes/1", headers={**caller, "If-Match": tag})
    assert refused.status_code == 412
    current = client.get("/notes/1", headers=caller).headers["ETag"]
    assert refused.headers["ETag"] == refused.get_json()["etag"] == current != tag
    revalidated = client.get("/notes/1", headers={**caller, "If-None-Match": current})
    assert revalidated.status_code == 304


class _Row:
    """A model instance: what a view hands over by mistake for its ``version``."""


#: (generator kind, the refused state, the error class): states the route cannot tag.
REFUSED_STATES = {
    "a row, not its version": ("version", _Row(), ETagPreconditionFailed),
    "NaN": ("version", float("nan"), ETagPreconditionFailed),
    "a 409's row": ("version", _Row(), ETagConflict),
    "an int on a timestamp route": ("timestamp", 7, ETagPreconditionFailed),
}


@pytest.mark.parametrize(("kind", "state", "error"), REFUSED_STATES.values(), ids=REFUSED_STATES)
def test_rfc9110_15_5_13_a_views_412_stays_a_412_when_its_version_is_refused(
    kind: str, state: Any, error: type[ETagPreconditionFailed], caplog: pytest.LogCaptureFixture
) -> None:
    """§15.5.13: a view that lost its compare-and-set refuses with 412 (a 409 likewise),
    and the client may retry.  ``version=`` a value the route's generator refuses (a row
    for its version, NaN, an int on a timestamp route) raised the generator's TypeError
    while the error was being tagged: a 500, for a write that was refused cleanly.  The
    error goes out untagged instead, and the log names the mistake."""
    app = Flask(__name__)
    ETag(app)
    generator: Any = (
        VersionGenerator(lambda note_id: 1)
        if kind == "version"
        else TimestampGenerator(lambda note_id: datetime(2024, 5, 6, tzinfo=timezone.utc))
    )

    @app.put("/notes/<int:note_id>")
    @require_if_match(generator)
    def replace(note_id: int) -> Any:
        raise error(version=state)

    with caplog.at_level("ERROR", logger=app.logger.name):
        refused = app.test_client().put("/notes/1", headers={"If-Match": "*"})
    assert refused.status_code == error.code
    assert "ETag" not in refused.headers
    assert [record.exc_info[0] for record in caplog.records if record.exc_info] == [TypeError]


def test_flask_etag_routes_and_openapi_show_a_routes_scope() -> None:
    from apispec import APISpec

    from flask_etag.openapi import ETagPlugin

    app = scoped_app()
    output = app.test_cli_runner().invoke(args=["etag", "routes"]).output
    lines = {line.split()[0]: line for line in output.splitlines()[2:]}
    assert lines["item"].rstrip().endswith("scoped_app.<locals>.<lambda>")
    assert "private" in lines["item"]
    assert lines["public"].rstrip().endswith("-")
    spec = APISpec("Items", "1.0", "3.1.0", plugins=[ETagPlugin(app=app)])
    operations = {"get": {"responses": {"200": {"description": "An item"}}}}
    spec.path("/items/{item_id}", operations=operations, app=app)
    etag_header = spec.to_dict()["paths"]["/items/{item_id}"]["get"]["responses"]["200"]["headers"][
        "ETag"
    ]
    assert "caller's own" in etag_header["description"]


# --- intermediaries that rewrite strong tags (ETAG_ACCEPT_WEAKENED) -------------------------


def proxied_app(accept_weakened: bool) -> Flask:
    app = Flask(__name__)
    app.config["ETAG_ACCEPT_WEAKENED"] = accept_weakened
    ETag(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @require_if_match(VersionGenerator(lambda note_id: 4))
    def note(note_id: int) -> Any:
        return {"id": note_id}

    @app.route("/pages/<name>", methods=["GET", "PUT"])
    @etag(HashGenerator(current=lambda name: "<h1>Hi</h1>"))
    def page(name: str) -> Any:
        return "<h1>Hi</h1>"

    return app


WEAKENED = ['W/"4"', '"4-gzip"', '"4-br"', 'W/"4-gzip"']


@pytest.mark.parametrize("held", WEAKENED)
def test_rfc9110_13_1_1_if_match_compares_strongly_by_default(held: str) -> None:
    """Cloudflare and nginx weaken a strong tag, Apache appends -gzip: strong comparison
    never matches them, so a client behind them cannot write unless the app opts in."""
    refused = proxied_app(False).test_client().put("/notes/1", headers={"If-Match": held})
    assert refused.status_code == 412


@pytest.mark.parametrize("held", WEAKENED)
def test_rfc9110_13_1_1_accept_weakened_lets_a_client_behind_a_proxy_write(held: str) -> None:
    client = proxied_app(True).test_client()
    assert client.put("/notes/1", headers={"If-Match": held}).status_code == 200
    stale = held.replace("4", "3")
    assert client.put("/notes/1", headers={"If-Match": stale}).status_code == 412


def test_rfc9110_13_1_1_accept_weakened_applies_to_body_hash_writes_too() -> None:
    client = proxied_app(True).test_client()
    tag = client.get("/pages/home").headers["ETag"]
    weakened = f"W/{tag}"
    coded = tag[:-1] + '-gzip"'
    for held in (weakened, coded):
        assert client.put("/pages/home", headers={"If-Match": held}).status_code == 200


@pytest.mark.parametrize("accept_weakened", [False, True])
def test_rfc9110_13_1_2_if_none_match_accepts_a_proxys_gzip_form_always(
    accept_weakened: bool,
) -> None:
    client = proxied_app(accept_weakened).test_client()
    assert client.get("/notes/1", headers={"If-None-Match": '"4-gzip"'}).status_code == 304
    assert client.get("/notes/1", headers={"If-None-Match": 'W/"4"'}).status_code == 304
    assert client.get("/notes/1", headers={"If-None-Match": '"3-gzip"'}).status_code == 200
