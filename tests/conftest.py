"""Shared fixtures: an app factory with a small in-memory store, run in every view style.

Every behaviour test asks for ``client`` (or ``app``/``store``), which is parametrized over
the three view styles flask_etag must support (issue rule 11): a plain function view, a
``MethodView`` decorated through ``decorators = [...]``, and an ``async def`` view.

Routes of the app built by ``make_app`` (``<id>`` is an item id in the store):

=========================  ==========================================================
``/items/<id>``            version tags (``VersionGenerator``); GET has
                           ``cache_control="no-cache"``; PUT/PATCH/DELETE need
                           ``If-Match`` (``require_if_match``)
``/optional/<id>``         version tags with ``@etag`` on every method: headers optional
``/weak/<id>``             weak version tags (``weak=True``)
``/stamped/<id>``          ``TimestampGenerator``: ``Last-Modified`` plus a tag
``/hashed/<id>``           body hash (bare ``@etag``); GET sets Content-Location, Expires,
                           Cache-Control and Vary itself; PUT answers with the new
                           representation and its Content-Location; writes are judged
                           by ``HashGenerator(current=<the GET's function>)``
``/status/<code>``         body hash; answers 302, 404, 500 (via an error handler), 503
``/status-versioned/<c>``  the same statuses behind a version tag that always exists
``/files/<name>``          ``send_file`` of a file under the test's tmp_path (its own ETag)
``/items/<id>/file``       ``send_file`` without its own ETag, tagged by the item's version
``/stream``                a streamed body behind a bare ``@etag``
``/plain``, ``/plain-stream``, ``/plain-missing``: no decorator (for ``ETAG_AUTO``)
``/plain-files/<name>``    ``/files/<name>`` with no decorator (for ``ETAG_AUTO``)
=========================  ==========================================================

Every response also gets ``Vary: Accept`` from an ``after_request`` hook, and every view call
is counted in ``store.calls`` so tests can prove a 304/412/428 ran no view.
"""

from __future__ import annotations

import copy
import gc
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, abort, redirect, request, send_file
from flask.testing import FlaskClient
from flask.views import MethodView
from support_databases import dispose_registered

from flask_etag import (
    ETag,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    etag,
    require_if_match,
)

VIEW_STYLES = ("function", "methodview", "async")
SAFE_METHODS = ("GET", "HEAD")
UNSAFE_METHODS = ("PUT", "PATCH", "DELETE")

#: Body of the file served by ``/files/data.txt``: long enough for byte ranges.
FILE_BODY = b"0123456789" * 100

#: Modification time of the seeded items: a whole second, so HTTP dates compare exactly.
SEEDED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)

Handler = Callable[..., Any]
Decorator = Callable[[Handler], Handler]


class InternalFailure(Exception):
    """Raised by ``/status/500``; the app's error handler turns it into a 500 page."""


@dataclass
class Item:
    """One stored resource: a name, the version it is at, and when it last changed."""

    name: str
    version: Any = 1
    modified: datetime = SEEDED_AT


@dataclass
class Store:
    """The app's data, plus a count of view calls keyed by ``(route, method)``."""

    items: dict[int, Item] = field(default_factory=lambda: {1: Item("one"), 2: Item("two")})
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def version(self, item_id: int) -> Any:
        """The version lookup of the version generators: None when the item is missing."""
        item = self.items.get(item_id)
        return None if item is None else item.version

    def modified(self, item_id: int) -> datetime | None:
        """The timestamp lookup of the timestamp generator: None when the item is missing."""
        item = self.items.get(item_id)
        return None if item is None else item.modified

    def snapshot(self) -> dict[int, Item]:
        """A deep copy, to assert that a refused write changed nothing."""
        return copy.deepcopy(self.items)

    def view_calls(self) -> int:
        """How many times any view ran."""
        return sum(self.calls.values())


class StoreApp(Flask):
    """A Flask app that carries the test store."""

    store: Store


@dataclass(frozen=True)
class Route:
    """One URL rule: a decorator and a handler per method (HEAD is served by GET)."""

    rule: str
    name: str
    handlers: dict[str, tuple[Decorator, Handler]]


def _counted(store: Store, name: str, handler: Handler) -> Handler:
    """Wrap a handler so every call is recorded in ``store.calls``."""

    def counted(**view_args: Any) -> Any:
        store.calls[(name, request.method)] += 1
        return handler(**view_args)

    return counted


def _as_async(handler: Handler) -> Handler:
    """The same handler as an ``async def`` view (flask runs it through ``ensure_sync``)."""

    async def async_view(**view_args: Any) -> Any:
        return handler(**view_args)

    return async_view


def register(app: Flask, route: Route, style: str) -> None:
    """Register ``route`` as function views, async views or ``MethodView`` classes."""
    if style == "methodview":
        _register_method_views(app, route)
        return
    for method, (decorator, handler) in route.handlers.items():
        view = _as_async(handler) if style == "async" else handler
        view.__name__ = f"{route.name}_{method.lower()}"
        app.add_url_rule(
            route.rule,
            endpoint=f"{route.name}.{method}",
            view_func=decorator(view),
            methods=[method],
        )


def _register_method_views(app: Flask, route: Route) -> None:
    """One MethodView class per decorator, with the decorator in ``decorators = [...]``."""
    groups: dict[int, tuple[Decorator, dict[str, Handler]]] = {}
    for method, (decorator, handler) in route.handlers.items():
        groups.setdefault(id(decorator), (decorator, {}))[1][method] = handler
    for index, (decorator, handlers) in enumerate(groups.values()):
        members: dict[str, Any] = {
            method.lower(): _method_of(handler) for method, handler in handlers.items()
        }
        members["decorators"] = [decorator]
        members["methods"] = list(handlers)
        view_class: type[MethodView] = type(
            f"{route.name.title()}View{index}", (MethodView,), members
        )
        app.add_url_rule(route.rule, view_func=view_class.as_view(f"{route.name}.{index}"))


def _method_of(handler: Handler) -> Callable[..., Any]:
    def method(self: MethodView, **view_args: Any) -> Any:
        return handler(**view_args)

    return method


def item_json(item_id: int, item: Item) -> dict[str, Any]:
    """The JSON representation of an item; its body hash changes with its name only."""
    return {"id": item_id, "name": item.name}


def _build_routes(store: Store, files_dir: Path) -> list[Route]:
    """The routes described in the module docstring."""
    versions = VersionGenerator(store.version)
    weak_versions = VersionGenerator(store.version, weak=True)
    timestamps = TimestampGenerator(store.modified)

    def read(item_id: int) -> Any:
        item = store.items.get(item_id)
        if item is None:
            abort(404)
        return item_json(item_id, item)

    def write(item_id: int) -> Any:
        payload = request.get_json(force=True, silent=True) or {}
        existing = store.items.get(item_id)
        created = existing is None
        item = existing or Item("", version=0)
        item.name = str(payload.get("name", item.name))
        item.version = item.version + 1 if isinstance(item.version, int) else 1
        item.modified = datetime.now(timezone.utc)
        store.items[item_id] = item
        return item_json(item_id, item), 201 if created else 200

    def write_representation(item_id: int) -> Any:
        """A write answered with the new representation, said so by ``Content-Location``."""
        body, status = write(item_id)
        return body, status, {"Content-Location": request.path}

    def delete(item_id: int) -> Any:
        if store.items.pop(item_id, None) is None:
            abort(404)
        return "", 204

    def read_with_headers(item_id: int) -> Any:
        response = read(item_id)
        return response, {
            "Content-Location": f"/hashed/{item_id}",
            # A fixed date: one computed from the clock may differ between the 200 and the
            # 304 a second later, and the test compares them.
            "Expires": "Fri, 01 Jan 2100 00:00:00 GMT",
            "Cache-Control": "max-age=60",
            "Vary": "Accept-Language",
            "Content-Language": "en",
        }

    def answer_status(code: int) -> Any:
        if code == 302:
            return redirect("/items/1", 302)
        if code == 404:
            abort(404)
        if code == 500:
            raise InternalFailure("the view failed")
        return f"status {code}", code

    def serve_file(name: str) -> Any:
        return send_file(files_dir / name, conditional=True)

    def serve_item_file(item_id: int) -> Any:
        return send_file(files_dir / "data.txt", conditional=True, etag=False)

    def stream() -> Any:
        return Response((chunk for chunk in (b"one ", b"two ", b"three")), mimetype="text/plain")

    def unchanged(handler: Handler) -> Handler:
        return handler

    exists_always = VersionGenerator(lambda code: "always")
    # A write to the body-hash route is judged by the hash of what its GET renders now.
    hashed_write = etag(HashGenerator(current=read_with_headers))
    tagged, read_tag = etag(versions, cache_control="no-cache"), require_if_match(versions)
    optional, weak, stamped = etag(versions), etag(weak_versions), etag(timestamps)
    writes = {"PUT": write, "PATCH": write, "DELETE": delete}
    return [
        Route(
            "/items/<int:item_id>",
            "items",
            {"GET": (tagged, read), **{m: (read_tag, h) for m, h in writes.items()}},
        ),
        Route(
            "/optional/<int:item_id>",
            "optional",
            {"GET": (optional, read), **{m: (optional, h) for m, h in writes.items()}},
        ),
        Route("/weak/<int:item_id>", "weak", {"GET": (weak, read), "PUT": (weak, write)}),
        Route(
            "/stamped/<int:item_id>", "stamped", {"GET": (stamped, read), "PUT": (stamped, write)}
        ),
        Route(
            "/hashed/<int:item_id>",
            "hashed",
            {
                "GET": (etag, read_with_headers),
                "PUT": (hashed_write, write_representation),
                "DELETE": (hashed_write, delete),
            },
        ),
        Route("/status/<int:code>", "status", {"GET": (etag, answer_status)}),
        Route(
            "/status-versioned/<int:code>",
            "status_versioned",
            {"GET": (etag(exists_always), answer_status)},
        ),
        Route("/files/<name>", "files", {"GET": (etag, serve_file)}),
        Route("/items/<int:item_id>/file", "item_file", {"GET": (optional, serve_item_file)}),
        Route("/stream", "stream", {"GET": (etag, stream)}),
        Route("/plain", "plain", {"GET": (unchanged, lambda: "plain text")}),
        Route("/plain-stream", "plain_stream", {"GET": (unchanged, stream)}),
        Route("/plain-missing", "plain_missing", {"GET": (unchanged, lambda: abort(404))}),
        Route("/plain-files/<name>", "plain_files", {"GET": (unchanged, serve_file)}),
    ]


MakeApp = Callable[..., StoreApp]


@pytest.fixture(autouse=True)
def _dispose_database_engines() -> Iterator[None]:
    """The engines of the apps a test registered with ``dispose_after_test`` are disposed
    when it ends (see tests/support_databases.py)."""
    yield
    dispose_registered()


@pytest.fixture
def without_collector_pauses() -> Iterator[None]:
    """Keep the suite's own heap out of tests that time purges in this process.

    By the time the whole suite has run, this process holds about two million objects the
    earlier tests left, and one full collection of them stops every thread for up to a
    second: the writer, the purge senders and the loopback caches alike, which no deadline
    can tell from a hung cache.  Frozen objects are not scanned until they are unfrozen, so
    a collection during the test sees only what the test made (collecting first would cost
    the very pause this avoids)."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    """A directory holding ``data.txt`` (``FILE_BODY``, modified at ``SEEDED_AT``).

    An old modification time makes ``Last-Modified`` a strong validator (RFC 9110 §8.8.2.2),
    usable in ``If-Range``.
    """
    path = tmp_path / "data.txt"
    path.write_bytes(FILE_BODY)
    os.utime(path, (SEEDED_AT.timestamp(), SEEDED_AT.timestamp()))
    return tmp_path


@pytest.fixture
def make_app(files_dir: Path) -> MakeApp:
    """Factory: ``make_app(view_style="function", **config)`` -> a fresh app with ETag set up.

    ``config`` is applied before ``ETag().init_app(app)``, so ``ETAG_*`` keys take effect;
    ``vary_hook=False`` leaves out the app's ``after_request`` hook (an app with none).
    """

    def build(view_style: str = "function", *, vary_hook: bool = True, **config: Any) -> StoreApp:
        app = StoreApp(__name__)
        app.config.update(TESTING=True, **config)
        ETag().init_app(app)
        app.store = Store()
        for route in _build_routes(app.store, files_dir):
            for method, (decorator, handler) in route.handlers.items():
                route.handlers[method] = (decorator, _counted(app.store, route.name, handler))
            register(app, route, view_style)

        @app.errorhandler(InternalFailure)
        def internal_failure(error: InternalFailure) -> tuple[str, int]:
            return "internal failure", 500

        if vary_hook:

            @app.after_request
            def vary_on_accept(response: Response) -> Response:
                response.vary.add("Accept")
                return response

        return app

    return build


@pytest.fixture(params=VIEW_STYLES)
def view_style(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs for function, MethodView and async views (rule 11)."""
    return str(request.param)


@pytest.fixture
def vary_hook(request: pytest.FixtureRequest) -> bool:
    """Whether the app has an ``after_request`` hook of its own (by default it has)."""
    return bool(getattr(request, "param", True))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The RFC tables (modules that set ``WITH_AND_WITHOUT_APP_HOOK``) run in an app with an
    ``after_request`` hook of its own and in one without: both must answer alike."""
    chosen = any(
        "vary_hook" in marker.args[0] for marker in metafunc.definition.iter_markers("parametrize")
    )
    if (
        "vary_hook" in metafunc.fixturenames
        and getattr(metafunc.module, "WITH_AND_WITHOUT_APP_HOOK", False)
        and not chosen  # a test about the hook itself runs with it only
    ):
        metafunc.parametrize(
            "vary_hook", [True, False], ids=["app-hook", "no-app-hook"], indirect=True
        )


@pytest.fixture
def app(make_app: MakeApp, view_style: str, vary_hook: bool) -> StoreApp:
    """The default app, in the current view style."""
    return make_app(view_style, vary_hook=vary_hook)


@pytest.fixture
def client(app: StoreApp) -> Iterator[FlaskClient]:
    """A test client of ``app``."""
    yield app.test_client()


@pytest.fixture
def store(app: StoreApp) -> Store:
    """The store behind ``app``."""
    return app.store


@pytest.fixture(params=SAFE_METHODS)
def safe_method(request: pytest.FixtureRequest) -> str:
    """GET and HEAD: conditional reads (304 on a matching If-None-Match)."""
    return str(request.param)


@pytest.fixture(params=UNSAFE_METHODS)
def unsafe_method(request: pytest.FixtureRequest) -> str:
    """PUT, PATCH and DELETE: conditional writes (412 on a failed precondition)."""
    return str(request.param)
