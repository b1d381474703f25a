"""Instructions per request, counted by valgrind's callgrind: a measure the machine's load
cannot move (``bench.py --instructions`` runs it).

Wall-clock ratios on a shared two-core machine swing by 10% from one run to the next; the
number of instructions a request executes does not.  Each case is run twice in a fresh
process under callgrind, with ``N`` and ``3N`` requests after the same start-up and warm-up,
and the difference divided by ``2N`` is the cost of one request: start-up, imports and the
first request's set-up cancel out exactly.

Beside flask_etag's cases stand **floor** wrappers: the least a hand-written decorator must do
for the same answer (hash the body, compare one header, set one header), so the table shows
how far the extension is from the floor as well as from bare Flask.  The plain floor appends
to werkzeug's private header list; the **public floor** does the same through werkzeug's
public API only, as flask_etag must.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from blake3 import blake3
from flask import Flask, Response, jsonify, request
from werkzeug.test import EnvironBuilder

from flask_etag import ETag, VersionGenerator, etag

#: The 63-byte product of the example, as a typical small API object.
PRODUCT = {"id": 101, "name": "Wireless Headphones", "price": 120, "stock": 45}
VERSION = "52d0fe81eadf4c128ed54e7087cfcc1c"


def _expensive() -> None:
    """Stands for a query and a render; a revalidation must be answered without it."""
    if "HTTP_IF_NONE_MATCH" in request.environ:
        raise AssertionError("the view ran where a 304 should have been answered without it")


# --- the apps ---------------------------------------------------------------------------------


Decorator = Callable[[Callable[[], Response]], Callable[[], Response]]


def _undecorated(view: Callable[[], Response]) -> Callable[[], Response]:
    return view


def _app(name: str, hashed: Decorator, versioned: Decorator, skipped: Decorator) -> Flask:
    """The same five rules in every app, so URL matching costs every contender the same."""
    app = Flask(name)

    def product() -> Response:
        return jsonify(PRODUCT)

    def expensive_product() -> Response:
        _expensive()
        return jsonify(PRODUCT)

    app.add_url_rule("/product", "product", product)
    app.add_url_rule("/plain", "plain", product)
    app.add_url_rule("/hashed", "hashed", hashed(product))
    app.add_url_rule("/versioned", "versioned", versioned(product))
    app.add_url_rule("/skipped", "skipped", skipped(expensive_product))
    return app


def bare_app() -> Flask:
    return _app("bare", _undecorated, _undecorated, _undecorated)


def ours_app() -> Flask:
    versions = VersionGenerator(lambda: VERSION)
    app = _app("ours", etag, etag(versions), etag(versions))
    ETag(app)
    return app


def _floor_hash(view: Callable[[], Response]) -> Callable[[], Response]:
    """The least a body-hash decorator does: hash, tag, compare If-None-Match exactly.

    It reads the body and appends the field the cheapest way (werkzeug's own list), checks
    nothing, and answers a match with the 200 turned into a 304 in place.
    """

    @functools.wraps(view)
    def wrapper() -> Response:
        response = view()
        tag = f'"{blake3(response.response[0]).digest(16).hex()}"'  # type: ignore[index]
        if request.environ.get("HTTP_IF_NONE_MATCH") == tag:
            response.status_code = 304
            response.headers._list = [("ETag", tag)]  # type: ignore[attr-defined]
            return response
        response.headers._list.append(("ETag", tag))  # type: ignore[attr-defined]
        return response

    return wrapper


def _floor_version(view: Callable[[], Response]) -> Callable[[], Response]:
    """The least a version decorator does: look up, compare, else run the view and tag."""

    @functools.wraps(view)
    def wrapper() -> Response:
        tag = f'"{VERSION}"'
        if request.environ.get("HTTP_IF_NONE_MATCH") == tag:
            response = Response(status=304)
            response.headers._list.append(("ETag", tag))  # type: ignore[attr-defined]
            return response
        response = view()
        response.headers._list.append(("ETag", tag))  # type: ignore[attr-defined]
        return response

    return wrapper


def floor_app() -> Flask:
    return _app("floor", _floor_hash, _floor_version, _floor_version)


def _public_floor_hash(view: Callable[[], Response]) -> Callable[[], Response]:
    """:func:`_floor_hash` on werkzeug's public API: ``headers.add`` checks the value, and
    the 304 keeps the 200's fields for werkzeug to drop as it sends it.  The body is read as
    the private floor reads it: ``response.response`` is public, and ``get_data()`` would
    cost 5,000 instructions more than flask_etag pays for the same bytes."""

    @functools.wraps(view)
    def wrapper() -> Response:
        response = view()
        tag = f'"{blake3(response.response[0]).digest(16).hex()}"'  # type: ignore[index]
        response.headers.add("ETag", tag)
        if request.environ.get("HTTP_IF_NONE_MATCH") == tag:
            response.status_code = 304
        return response

    return wrapper


def _public_floor_version(view: Callable[[], Response]) -> Callable[[], Response]:
    """:func:`_floor_version` on werkzeug's public API."""

    @functools.wraps(view)
    def wrapper() -> Response:
        tag = f'"{VERSION}"'
        if request.environ.get("HTTP_IF_NONE_MATCH") == tag:
            response = Response(status=304)
        else:
            response = view()
        response.headers.add("ETag", tag)
        return response

    return wrapper


def public_floor_app() -> Flask:
    return _app("public floor", _public_floor_hash, _public_floor_version, _public_floor_version)


def _werkzeug_hash(view: Callable[[], Response]) -> Callable[[], Response]:
    @functools.wraps(view)
    def wrapper() -> Response:
        response = view()
        response.add_etag()
        return response.make_conditional(request)

    return wrapper


def werkzeug_app() -> Flask:
    return _app("werkzeug", _werkzeug_hash, _undecorated, _undecorated)


# --- a collection (issue 9's design), on an in-memory SQLite database -----------------------

#: Rows of the collection case: the example's default page size.
COLLECTION_ROWS = 100


def _collection_app(name: str, tagged: bool) -> Flask:
    """``GET /products``: a page of 100 products, bare or tagged by :class:`CollectionGenerator`.

    Imported here, not at the top, so the other cases' processes never load SQLAlchemy.
    """
    import sqlalchemy as sa
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.orm import DeclarativeBase

    from flask_etag.sqlalchemy import CollectionGenerator, TableVersions

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Item(db.Model):  # type: ignore[name-defined,misc]
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String, nullable=False)
        price = sa.Column(sa.Integer, nullable=False)
        stock = sa.Column(sa.Integer, nullable=False)

    app = Flask(name)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    versions = TableVersions(db.session, db.metadata)

    def page() -> sa.Select[Any]:
        return sa.select(Item).order_by(Item.id).limit(COLLECTION_ROWS)

    def products() -> Response:
        items = db.session.scalars(page())
        return jsonify(
            [{"id": i.id, "name": i.name, "price": i.price, "stock": i.stock} for i in items]
        )

    view = etag(CollectionGenerator(page, versions))(products) if tagged else products
    app.add_url_rule("/products", "products", view)
    with app.app_context():
        db.create_all()
        db.session.add_all(
            Item(id=number, name=f"Product {number}", price=number, stock=number % 50)
            for number in range(1, COLLECTION_ROWS + 1)
        )
        db.session.commit()
    if tagged:
        ETag(app)
    return app


def bare_collection_app() -> Flask:
    return _collection_app("bare collection", tagged=False)


def ours_collection_app() -> Flask:
    return _collection_app("ours collection", tagged=True)


APPS: dict[str, Callable[[], Flask]] = {
    "bare": bare_app,
    "ours": ours_app,
    "floor": floor_app,
    "public floor": public_floor_app,
    "werkzeug": werkzeug_app,
    "bare collection": bare_collection_app,
    "ours collection": ours_collection_app,
}

#: case name -> (app, path, revalidate with the tag of a first GET, baseline case).
CASES: dict[str, tuple[str, str, bool, str | None]] = {
    "bare 200": ("bare", "/product", False, None),
    "ours body-hash 200": ("ours", "/hashed", False, "bare 200"),
    "ours body-hash 304": ("ours", "/hashed", True, "bare 200"),
    "ours version 200": ("ours", "/versioned", False, "bare 200"),
    "ours version 304 (view skipped)": ("ours", "/skipped", True, "bare 200"),
    "ours undecorated route": ("ours", "/plain", False, "bare 200"),
    "floor body-hash 200": ("floor", "/hashed", False, "bare 200"),
    "floor body-hash 304": ("floor", "/hashed", True, "bare 200"),
    "floor version 200": ("floor", "/versioned", False, "bare 200"),
    "floor version 304 (view skipped)": ("floor", "/skipped", True, "bare 200"),
    "public floor body-hash 200": ("public floor", "/hashed", False, "bare 200"),
    "public floor body-hash 304": ("public floor", "/hashed", True, "bare 200"),
    "public floor version 200": ("public floor", "/versioned", False, "bare 200"),
    "public floor version 304": ("public floor", "/skipped", True, "bare 200"),
    "werkzeug body-hash 200": ("werkzeug", "/hashed", False, "bare 200"),
    "bare collection 200": ("bare collection", "/products", False, None),
    "ours collection 200": ("ours collection", "/products", False, "bare collection 200"),
    "ours collection 304": ("ours collection", "/products", True, "bare collection 200"),
}

#: Issue 19's budget, as ratios of instructions to the baseline.
TARGETS = {
    "ours version 200": 1.12,
    "ours body-hash 200": 1.07,
    "ours body-hash 304": 1.07,
    "ours version 304 (view skipped)": 0.95,
    "ours undecorated route": 1.005,
}


# --- one case, inside valgrind ------------------------------------------------------------------


def run_case(case: str, requests: int) -> None:
    """Serve ``requests`` requests of ``case`` through the whole WSGI stack, after a warm-up."""
    app_name, path, revalidate, _ = CASES[case]
    app = APPS[app_name]()
    environ = _environ(path, {})
    if revalidate:
        tag = _call(app, environ)[1]
        environ = _environ(path, {"If-None-Match": tag})
    expected = "304" if revalidate else "200"
    for _ in range(20):  # warm-up: first-request set-up, caches, specialisation
        status, _tag = _call(app, environ)
        assert status.startswith(expected), (case, status)
    for _ in range(requests):
        _call(app, environ)


def _environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    builder = EnvironBuilder(path=path, headers=headers, base_url="http://localhost")
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _call(app: Flask, environ: dict[str, Any]) -> tuple[str, str]:
    seen: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen[:] = [status, dict(headers).get("ETag", "")]

    body = app(dict(environ), start_response)
    for _chunk in body:
        pass
    body.close()  # type: ignore[attr-defined]
    return seen[0], seen[1]


# --- counting ---------------------------------------------------------------------------------


#: A fixed hash seed: string hashing (dict and set lookups) otherwise varies by ~1% per process.
_PINNED_ENVIRONMENT = {**os.environ, "PYTHONHASHSEED": "0"}

#: Memory layouts each case is counted in.  Where objects lie moves a request's count by up
#: to 1%: CPython's type-attribute cache is indexed by the addresses of attribute names, so
#: which lookups collide (and walk the MRO instead) depends on the heap; alignment changes
#: the paths of memcpy and the allocator.  Any change to any module, even the length of the
#: checkout's path, moves the layout.  The mean over several different layouts does not.
LAYOUTS = 8

#: Starts the case's process in layout ``N``: ``3N`` objects of every small-object size class
#: are allocated before anything is imported, shifting where every later object lies, and the
#: environment variable's length (``16N`` bytes) shifts the stack.
_LAUNCHER = (
    "import os, runpy, sys; "
    "layout = int(os.environ['FLASK_ETAG_BENCH_LAYOUT']); "
    "ballast = [bytes(size) for _ in range(3 * layout) for size in range(0, 480, 8)]; "
    "sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def count_instructions(case: str, requests: int, layout: int = 0) -> int:
    """Instructions of the whole process serving ``requests`` requests of ``case``.

    :param layout: which memory layout the process starts in (see :data:`_LAUNCHER`).
    """
    environment = {**_PINNED_ENVIRONMENT, "FLASK_ETAG_BENCH_LAYOUT": str(layout).ljust(16 * layout)}
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "callgrind.out"
        completed = subprocess.run(
            [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={output}",
                sys.executable, "-c", _LAUNCHER, __file__,
                "--run", case, "--requests", str(requests),
            ],
            capture_output=True, text=True, timeout=900, env=environment,
        )  # fmt: skip
        if completed.returncode != 0:
            raise SystemExit(f"{case}: callgrind run failed\n{completed.stderr[-2000:]}")
        match = re.search(r"^summary:\s*(\d+)", output.read_text(), re.M)
        if match is None:
            raise SystemExit(f"{case}: no instruction total in callgrind's output")
        return int(match.group(1))


def instructions_per_request(case: str, requests: int, layout: int = 0) -> float:
    """The per-request cost: the difference of a ``3N`` and an ``N`` run, over ``2N``."""
    more = count_instructions(case, 3 * requests, layout)
    return (more - count_instructions(case, requests, layout)) / (2 * requests)


def measure_all(
    requests: int, chosen: list[str] | None = None, layouts: int = LAYOUTS
) -> dict[str, float]:
    """Instructions per request of the ``chosen`` cases (default all) and their baselines."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    cases = [case for case in CASES if not chosen or case in chosen or _is_baseline(case, chosen)]
    runs = [(case, layout) for case in cases for layout in range(layouts)]
    # Counts do not depend on the machine's load, so the runs go side by side, one per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(
            pool.map(lambda run: instructions_per_request(run[0], requests, run[1]), runs)
        )
    return {
        case: statistics.mean(counts[index * layouts : (index + 1) * layouts])
        for index, case in enumerate(cases)
    }


def _is_baseline(case: str, chosen: list[str]) -> bool:
    return any(CASES[other][3] == case for other in chosen)


def print_table(counts: dict[str, float]) -> bool:
    """Ratios to each case's baseline, and whether flask_etag's targets hold."""
    print("Instructions per request (valgrind callgrind), ratio to bare Flask, lower is better")
    print(f"{'case':<34}{'instructions':>14}{'ratio':>9}{'target':>16}")
    all_met = True
    for case, (_, _, _, baseline) in CASES.items():
        if case not in counts:
            continue
        ratio = counts[case] / counts[baseline] if baseline else 1.0
        target = TARGETS.get(case)
        verdict = ""
        if target is not None:
            met = ratio <= target
            all_met = all_met and met
            verdict = f"<= {target:.3f} {'ok' if met else 'MISSED'}"
        print(f"{case:<34}{counts[case]:>14,.0f}{ratio:>9.3f}{verdict:>16}")
    return all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--run", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=100, help="N: requests per count")
    parser.add_argument(
        "--case", action="append", choices=sorted(CASES), help="count only this case (repeatable)"
    )
    parser.add_argument(
        "--layouts", type=int, default=LAYOUTS, help="memory layouts averaged over per case"
    )
    arguments = parser.parse_args(argv)
    if arguments.run:
        run_case(arguments.run, arguments.requests)
        return 0
    met = print_table(measure_all(arguments.requests, arguments.case, arguments.layouts))
    print(f"\nTargets for ours: {'all met' if met else 'NOT all met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
