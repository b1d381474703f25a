"""The seed article's product API, made real with Flask-SQLAlchemy and flask_etag.

Run it with ``flask --app examples/products.py run`` or, with several processes,
``gunicorn --chdir examples 'products:create_app()'``.  The database is a SQLite file in the
instance folder unless ``FLASK_SQLALCHEMY_DATABASE_URI`` names another one, for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; ``FLASK_SQLALCHEMY_ENGINE_OPTIONS``
takes JSON, added to the example's own (``pool_pre_ping``), e.g.
``{"connect_args": {"options": "-c search_path=demo"}}`` for a schema of its own.

=====================================  ======================================================
``GET /api/products``                  products by id, each with its own ``etag``,
                                       ``?page=`` and ``?per_page=`` (1-1000, default 100),
                                       ``Link`` to the other pages; tagged before the view
                                       by the query and the table's version
``POST /api/products``                 create; 201 with ``Location`` and the new ``ETag``
``PATCH /api/products``                a batch of merge patches, each with ``id`` and
                                       ``etag``: all or nothing, or ``?atomic=false``
``GET /api/products/<id>``             one product; tagged with its version
``PUT /api/products/<id>``             full replace; ``If-Match`` required (or
                                       ``If-None-Match: *`` to create at that id)
``PATCH /api/products/<id>``           JSON merge patch (RFC 7396); ``If-Match`` (or the
                                       body's ``etag`` member) required
``DELETE /api/products/<id>``          204; ``If-Match`` required
``GET /healthz``                       200 while the database answers, else 503: for load
                                       balancers' health probes (``examples/varnish.vcl``)
=====================================  ======================================================

When the database drops (a restart, a fail-over, a connection killed), the answer is 503 with
``Retry-After``, as problem details, never a 500 (``DatabaseOutages``): the request may be sent
again.  A write whose ``COMMIT`` lost its connection may have been applied, and its retry says
so: the same ``If-Match`` gets 412 if it was.  A connection that died while it sat in the pool
is replaced before use (``pool_pre_ping``), so only requests in flight at that moment see a 503.

Why no update is ever lost: the model has a SQLAlchemy ``version_id_col``, so every write is
``UPDATE ... WHERE id = ? AND version = <the version the client's If-Match matched>``.  When
another client wrote in between, no row matches and the client gets 412, never a silent
overwrite.  Versions are random (uuid4), not counters, so a tag for a deleted product can never
match a later product created at the same id.

Errors are RFC 9457 problem details.  Request bodies are validated strictly: unknown members
are refused with 422 (a typo such as ``"stok"`` must not pass as a successful write that changed
nothing), ``price`` is a non-negative number with at most two decimals, ``stock`` a
non-negative integer, ``name`` a non-empty string; ``true``/``false`` are not numbers.

Caching: every tagged read says ``no-cache`` (caches revalidate each use) unless
``ETAG_PURGE_URLS`` names shared caches, e.g. ``FLASK_ETAG_PURGE_URLS='["http://127.0.0.1:6081"]'``
for ``examples/varnish.vcl``.  Then shared caches keep reads for a minute and are purged on
every write, while browsers still revalidate every use.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, jsonify, request, url_for
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug import Response as BaseResponse
from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    HTTPException,
    NotFound,
    UnprocessableEntity,
    UnsupportedMediaType,
)

from flask_etag import (
    ETag,
    ETagError,
    ETagPreconditionFailed,
    checked_version,
    etag,
    item_tagger,
    require_if_match,
    set_response_version,
)
from flask_etag.exceptions import PROBLEM_JSON
from flask_etag.sqlalchemy import (
    BatchEntry,
    CollectionGenerator,
    DatabaseOutages,
    ModelVersionGenerator,
    PurgeOutbox,
    TableVersions,
    is_database_outage,
    read_batch,
    write_batch,
)

#: The article's product, present in every fresh database.
SEED_ID = 101
SEED_PRODUCT = {"id": SEED_ID, "name": "Wireless Headphones", "price": 120, "stock": 45}

NAME_MAX_LENGTH = 200
#: Largest price accepted: in cents it still fits a 64-bit column and a double, exactly.
MAX_PRICE = 1_000_000_000
#: Ids and stock live in 32-bit integer columns (PostgreSQL ``integer``).
MAX_INTEGER = 2**31 - 1
#: The whole request body; a product is a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024
#: How long a SQLite writer waits for another one before giving up (``busy_timeout``).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Products per page of ``GET /api/products`` unless ``?per_page=`` says otherwise, and its limit.
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
#: With no shared cache told of writes, every cache revalidates every use (RFC 9111 §5.2.2.4).
PRIVATE_CACHE_CONTROL = "no-cache"
#: Shared caches that are purged on write keep a read for a minute (RFC 9111 §5.2.2.10);
#: browsers, which nobody purges, revalidate every use.  A failed purge leaves a shared cache
#: stale for at most that minute.
SHARED_CACHE_CONTROL = "max-age=0, s-maxage=60, must-revalidate"
#: Attempts at taking the next free id when concurrent creations race for it.
ID_ATTEMPTS = 8
#: Seconds a client is asked to wait after a 503 (RFC 9110 §10.2.3): a dropped connection is
#: replaced at once, a restarting database takes a few seconds.
RETRY_AFTER_SECONDS = 2
#: Engine options ``FLASK_SQLALCHEMY_ENGINE_OPTIONS`` adds to (or overrides, member by member):
#: ``pool_pre_ping`` tests a pooled connection before each use and replaces a dead one.
ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
#: How long a booting worker waits for a database that is restarting before it fails to boot
#: (gunicorn then stops every worker), and how often it tries again meanwhile.
BOOT_WAIT_SECONDS = 60.0
BOOT_RETRY_SECONDS = 0.5

JSON_TYPES = frozenset({"application/json"})
#: RFC 7396 §4 names the media type; plain JSON is accepted too, read as a merge patch.
MERGE_PATCH_TYPES = frozenset({"application/merge-patch+json", "application/json"})
PRODUCT_FIELDS = ("name", "price", "stock")
ITEM_RULE = "/<int:product_id>"


class Base(DeclarativeBase):
    """Declarative base for the example's models."""


db = SQLAlchemy(model_class=Base)


def new_version(_previous: object) -> str:
    """A fresh random version for every write (SQLAlchemy's ``version_id_generator``)."""
    return uuid.uuid4().hex


class Product(db.Model):  # type: ignore[name-defined,misc]
    """A product; ``version`` changes on every write and never appears in the JSON."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX_LENGTH))
    price_cents: Mapped[int] = mapped_column(sa.BigInteger)
    stock: Mapped[int] = mapped_column(sa.Integer)
    version: Mapped[str] = mapped_column(sa.String(32))

    __mapper_args__: ClassVar[dict[str, Any]] = {
        "version_id_col": version,
        "version_id_generator": new_version,
    }

    def to_json(self) -> dict[str, Any]:
        """The representation clients see: the article's four members, no version."""
        cents = self.price_cents
        price: int | float = cents // 100 if cents % 100 == 0 else cents / 100
        return {"id": self.id, "name": self.name, "price": price, "stock": self.stock}


#: Tags from ``Product.version``, read before the view; writes are compare-and-set.
product_version = ModelVersionGenerator(Product, db.session)

#: A version per table, raised by every write that commits: the collection's tag.
table_versions = TableVersions(db.session, db.metadata)

#: Each write's purge, recorded in its transaction: a host killed before purging loses none.
purge_outbox = PurgeOutbox(table_versions)


def page_arguments() -> tuple[int, int]:
    """``?page=`` (from 1) and ``?per_page=`` (1 to 1000); 400 for anything else."""
    return (
        whole_number_argument("page", 1, MAX_INTEGER),
        whole_number_argument("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def whole_number_argument(name: str, default: int, largest: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= largest):
        raise BadRequest(f"?{name}= takes a whole number from 1 to {largest}, not {text!r}.")
    return int(text)


def product_page() -> sa.Select[tuple[Product]]:
    """The products of the page the request asks for, by id."""
    page, per_page = page_arguments()
    return sa.select(Product).order_by(Product.id).limit(per_page).offset((page - 1) * per_page)


#: Tags from the page's query and the version of ``products``, read before the view.
product_pages = CollectionGenerator(product_page, table_versions)

api = Blueprint("products", __name__, url_prefix="/api/products")


# --------------------------------------------------------------------------- application


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config from defaults, ``FLASK_*`` variables, then ``test_config``."""
    app = Flask(__name__)
    # A relative SQLite path is resolved inside the instance folder by Flask-SQLAlchemy.
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///products.sqlite3",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **ENGINE_OPTIONS,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    purged = bool(app.config.get("ETAG_PURGE_URLS"))
    app.config.setdefault(
        "ETAG_CACHE_CONTROL", SHARED_CACHE_CONTROL if purged else PRIVATE_CACHE_CONTROL
    )
    db.init_app(app)
    DatabaseOutages(app, retry_after=RETRY_AFTER_SECONDS)  # after db.init_app: see its docs
    ETag(app)
    purge_outbox.init_app(app)
    app.register_blueprint(api)
    app.add_url_rule("/healthz", view_func=health)
    app.register_error_handler(HTTPException, problem_response)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", configure_sqlite_connection)
    prepare_database_when_reachable(app)
    return app


def prepare_database_when_reachable(app: Flask) -> None:
    """:func:`prepare_database`, tried again while the database is out.

    A worker that gunicorn starts or restarts while the database restarts would otherwise fail
    to boot, and gunicorn answers a worker that cannot boot by stopping them all: one database
    restart would take the host down for good.  Errors that are no outage fail at once.
    """
    deadline = time.monotonic() + BOOT_WAIT_SECONDS
    while True:
        try:
            with app.app_context():
                prepare_database()
            return
        except SQLAlchemyError as error:
            if not is_database_outage(error) or time.monotonic() > deadline:
                raise
            app.logger.warning("The database is unavailable at start-up, waiting: %s", error)
        time.sleep(BOOT_RETRY_SECONDS)


def prepare_database() -> None:
    """Create the table and seed the article's product.

    Several gunicorn workers run this at the same moment, so each step tolerates another
    process doing it too.  The engine is disposed at the end (and after a failure): no
    connection opened here is inherited by a forked worker or kept after it died.
    """
    try:
        create_tables()
        seed_product()
    finally:
        db.session.remove()
        db.engine.dispose()


def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the single writer; busy_timeout makes writers queue.

    Without them, concurrent writers get "database is locked" at once, which would be a 500.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def create_tables() -> None:
    """``create_all``, retried once: another process may create the table between the check
    and the ``CREATE TABLE`` (SQLite and PostgreSQL both refuse the second one)."""
    try:
        db.create_all()
    except DBAPIError:
        db.create_all()


def seed_product() -> None:
    """Insert the article's product 101 if absent; a concurrent insert of it is fine."""
    if db.session.get(Product, SEED_ID) is not None:
        return
    fields = ProductFields.from_document(SEED_PRODUCT, SEED_ID)
    db.session.add(fields.new_product(SEED_ID))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


# --------------------------------------------------------------------------- problem details


class InvalidProduct(UnprocessableEntity):
    """422: well-formed JSON that is not a valid product; ``errors`` says what, per member."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The request content is not a valid product: see errors.")
        self.errors = errors


def problem_response(error: HTTPException) -> BaseResponse:
    """Render the example's 4xx/5xx as RFC 9457 problem details, keeping headers like Allow.

    flask_etag's own 412/428 already are problem details, so they go out unchanged.
    """
    if isinstance(error, ETagError):
        return error.get_response()
    response = error.get_response()
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": error.name,
        "status": error.code,
        "detail": error.description,
    }
    if isinstance(error, InvalidProduct):
        problem["errors"] = error.errors
    if error.code == 415 and request.method == "PATCH":
        # RFC 5789 §2.2: a 415 to PATCH says which patch formats are accepted.
        response.headers["Accept-Patch"] = ", ".join(sorted(MERGE_PATCH_TYPES))
    response.set_data(json.dumps(problem))
    response.content_type = PROBLEM_JSON
    return response


# --------------------------------------------------------------------------- validation


class FieldError(ValueError):
    """One member of a product document is invalid; the message says how."""


@dataclass(frozen=True)
class ProductFields:
    """A validated product document, ready to be stored."""

    name: str
    price_cents: int
    stock: int

    @classmethod
    def from_document(cls, document: Any, product_id: int | None) -> ProductFields:
        """Validate a whole product document; raise :class:`InvalidProduct` (422) if wrong.

        ``id`` may be present only when it is the id of the URL (so a client can send back
        what it got); on ``POST`` the server assigns it.
        """
        if not isinstance(document, dict):
            raise InvalidProduct({"": "a product is a JSON object"})
        errors = {
            key: "unknown member: a product has id, name, price and stock"
            for key in document
            if key not in ("id", *PRODUCT_FIELDS)
        }
        if "id" in document:
            if product_id is None:
                errors["id"] = "assigned by the server: leave it out"
            elif as_integer(document["id"]) != product_id:
                errors["id"] = f"must be {product_id}, the id in the URL, or left out"
        values: dict[str, Any] = {}
        for key, parse in (("name", parse_name), ("price", parse_price), ("stock", parse_stock)):
            if key not in document:
                errors[key] = "required"
                continue
            try:
                values[key] = parse(document[key])
            except FieldError as error:
                errors[key] = str(error)
        if errors:
            raise InvalidProduct(errors)
        return cls(values["name"], values["price"], values["stock"])

    def new_product(self, product_id: int) -> Product:
        """A new, unsaved product with these fields."""
        return Product(
            id=product_id, name=self.name, price_cents=self.price_cents, stock=self.stock
        )

    def assign_to(self, product: Product) -> None:
        """Replace the product's fields; unchanged values write nothing and keep its version."""
        product.name = self.name
        product.price_cents = self.price_cents
        product.stock = self.stock


def as_integer(value: Any) -> int | None:
    """The integer a JSON number denotes (``5`` or ``5.0``), else None; booleans are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def parse_name(value: Any) -> str:
    """A non-blank string of at most 200 characters, free of control characters."""
    if not isinstance(value, str):
        raise FieldError("must be a string")
    if not value.strip():
        raise FieldError("must not be empty")
    if len(value) > NAME_MAX_LENGTH:
        raise FieldError(f"must be at most {NAME_MAX_LENGTH} characters")
    # Cs: a lone surrogate (valid JSON escape, not storable text); Cc: NUL and friends,
    # which PostgreSQL refuses outright.
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise FieldError("must not contain control characters")
    return value


def parse_price(value: Any) -> int:
    """A non-negative number with at most two decimals; returned in cents, exactly."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError("must be a finite number")
    if not 0 <= value <= MAX_PRICE:
        raise FieldError(f"must be between 0 and {MAX_PRICE}")
    # str() of a float is its shortest round-tripping form, so 99.99 gives '99.99' exactly.
    cents = Decimal(str(value)) * 100
    if cents != cents.to_integral_value():
        raise FieldError("must have at most two decimal places")
    return int(cents)


def parse_stock(value: Any) -> int:
    """A non-negative integer that fits the column."""
    stock = as_integer(value)
    if stock is None:
        raise FieldError("must be an integer")
    if not 0 <= stock <= MAX_INTEGER:
        raise FieldError(f"must be between 0 and {MAX_INTEGER}")
    return stock


def read_json(media_types: frozenset[str]) -> Any:
    """The request content parsed as JSON: 415 for another media type, 400 when malformed."""
    if request.mimetype not in media_types:
        raise UnsupportedMediaType(
            f"Send the content as {' or '.join(sorted(media_types))}, not "
            f"{request.mimetype or 'no Content-Type'}."
        )
    try:
        # get_json: the tag member flask_etag took as If-Match is no longer in it.
        return request.get_json(force=True)
    except (BadRequest, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise BadRequest(f"The request content is not valid JSON: {error}") from None


def merge_patch(target: dict[str, Any], patch: Any) -> Any:
    """Apply an RFC 7396 merge patch to a product document (its members are all scalars).

    A non-object patch replaces the whole document (RFC 7396 §2), and an object member would
    put an object where a scalar belongs: both give an invalid product, refused with 422.
    """
    if not isinstance(patch, dict):
        return patch
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            raise InvalidProduct({key: "must be a scalar, not an object"})
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- writes


def product_url(product_id: int) -> str:
    """The URL of a product, for ``Location`` and ``Content-Location``."""
    return url_for("products.get_product", product_id=product_id)


def product_response(body: dict[str, Any], status: int) -> Response:
    """A product as JSON, marked as the target's current representation.

    RFC 9110 §8.7: ``Content-Location`` equal to the product's URL says the body *is* the
    stored representation, so the response's tag describes the body in hand (§9.3.4).
    """
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Location"] = product_url(body["id"])
    return response


def save_checked(product: Product, status: int = 200) -> Response:
    """Write the product as compare-and-set and answer with the state that write produced.

    The body is taken before the commit (which expires the instance, so reading it after
    would fetch whatever the row holds by then); ``product_version.commit`` tags the
    response with the version this very write set.
    """
    body = product.to_json()
    product_version.commit(product)
    return product_response(body, status)


def checked_product(product_id: int) -> Product:
    """The product at the version the precondition checked: 404 if absent, 412 if changed
    or deleted since the check."""
    product: Product | None = product_version.get_checked(product_id)
    if product is None:
        raise NotFound(f"There is no product {product_id}.")
    return product


def create_at(product_id: int, fields: ProductFields) -> Response:
    """PUT with ``If-None-Match: *`` to a free id creates it (RFC 9110 §9.3.4, §13.1.2).

    A concurrent creation at the same id makes the insert fail: the precondition would
    now be false, so the answer is 412, exactly as if it had been evaluated afterwards.
    """
    product = fields.new_product(product_id)
    db.session.add(product)
    try:
        response = save_checked(product, status=201)
    except IntegrityError:
        db.session.rollback()
        winner = db.session.scalar(sa.select(Product.version).where(Product.id == product_id))
        etag = None if winner is None else product_version.etag_for(winner)
        raise ETagPreconditionFailed(etag=etag) from None
    response.headers["Location"] = product_url(product_id)
    return response


def insert_with_next_id(fields: ProductFields) -> tuple[dict[str, Any], str]:
    """Insert at the next free id: the new product's body and the version this insert set.

    Ids are chosen here rather than by a sequence because clients may also create products
    at ids of their choice (PUT with ``If-None-Match: *``), which a sequence would collide
    with.  Both are read before the commit: after it, the instance is expired and reading it
    would fetch whatever the row holds by then (another client's write, or nothing at all).
    """
    for _attempt in range(ID_ATTEMPTS):
        take_creation_turn()
        highest = db.session.execute(sa.select(sa.func.max(Product.id))).scalar_one()
        next_id = (highest or 0) + 1
        if next_id > MAX_INTEGER:
            break
        product = fields.new_product(next_id)
        db.session.add(product)
        try:
            db.session.flush()
        except IntegrityError:  # a create-only PUT took this id: try the next one
            db.session.rollback()
            continue
        body, version = product.to_json(), product.version
        db.session.commit()
        return body, version
    raise Conflict("Could not allocate a product id: too many concurrent creations, retry.")


#: Key of the PostgreSQL advisory lock that creators take in turn (any constant will do).
def take_creation_turn() -> None:
    """Let one creator at a time read the highest id and insert above it, until it commits.

    Concurrent creators would otherwise all read the same highest id, and all but one fail.
    Raising the table's version first (the insert raises it anyway) takes the lock of its
    counter row, on every database: later creators wait there until this one commits.
    No row is written around the session (the insert names its own), so no cached item
    is purged for it.
    """
    table_versions.raise_versions(db.session, [Product.__tablename__], rows_written=False)


# --------------------------------------------------------------------------- routes


@api.url_value_preprocessor
def refuse_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """404 for ids no product can have, before any query: 0, or beyond the 32-bit column.

    Run before the view's decorators look the version up, so a huge id never reaches the
    database (SQLite cannot even bind integers beyond 64 bits).
    """
    product_id = None if values is None else values.get("product_id")
    if product_id is not None and not 1 <= product_id <= MAX_INTEGER:
        raise NotFound(f"There is no product {product_id}.")


@api.get("")
@etag(product_pages)
def list_products() -> Response:
    """A page of products by id, with ``Link`` fields to the first, previous, next and last.

    A revalidation is answered from the version of ``products`` alone, before this runs.
    """
    page, per_page = page_arguments()
    products = db.session.scalars(product_page())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Product)) or 0
    # Each item's own ETag, so a client can write any listed row without reading it first;
    # the item route and this request's scope are found once, not once per row.
    tag = item_tagger(get_product)
    response = jsonify(
        [{**product.to_json(), "etag": tag(product.version)} for product in products]
    )
    response.headers["Link"] = page_links(page, per_page, total)
    return response


@api.patch("")
def patch_products() -> Response:
    """A batch of merge patches, each ``{"id": ..., "etag": ..., <members>}``.

    All or nothing by default: one stale or missing entry refuses the whole batch with 412,
    naming each; ``?atomic=false`` writes the fresh entries and reports each one.
    """
    atomic = request.args.get("atomic", "true") != "false"
    entries = read_batch(read_json(MERGE_PATCH_TYPES))
    results = write_batch(product_version, get_product, entries, apply_patch, atomic=atomic)
    return jsonify(results)


def apply_patch(product: Product, entry: BatchEntry) -> None:
    """One entry's merge patch, validated as ``PATCH /api/products/<id>`` validates it."""
    merged = merge_patch(product.to_json(), dict(entry.changes))
    ProductFields.from_document(merged, product.id).assign_to(product)


def page_links(page: int, per_page: int, total: int) -> str:
    """RFC 8288 links to the neighbouring pages, for clients that walk the collection."""
    last = max(1, -(-total // per_page))
    pages = {"first": 1, "last": last}
    if page > 1:
        pages["prev"] = min(page - 1, last)
    if page < last:
        pages["next"] = page + 1
    return ", ".join(
        f'<{url_for("products.list_products", page=number, per_page=per_page)}>; rel="{rel}"'
        for rel, number in pages.items()
    )


@api.post("")
def create_product() -> Response:
    """Create a product: 201, ``Location``, and the ``ETag`` of the created state.

    RFC 9110 §15.3.2: validator fields in a 201 describe the new representation, so the
    client can send this tag in ``If-Match`` for its next write without a GET.
    """
    fields = ProductFields.from_document(read_json(JSON_TYPES), None)
    body, version = insert_with_next_id(fields)
    response = product_response(body, 201)
    response.headers["Location"] = product_url(body["id"])
    response.headers["ETag"] = product_version.etag_for(version)
    return response


@api.get(ITEM_RULE)
@etag(product_version)
def get_product(product_id: int) -> dict[str, Any]:
    """One product, tagged with the version of exactly the row this body was read from."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"There is no product {product_id}.")
    # The version was looked up before this read; a write in between must not leave the
    # body newer than its tag, so report the version read together with the body.
    set_response_version(product.version)
    return product.to_json()


@api.put(ITEM_RULE)
@require_if_match(product_version)
def replace_product(product_id: int) -> Response:
    """Replace a product entirely; ``If-None-Match: *`` creates it at a free id instead."""
    fields = ProductFields.from_document(read_json(JSON_TYPES), product_id)
    if checked_version() is None:
        return create_at(product_id, fields)
    product = checked_product(product_id)
    fields.assign_to(product)
    return save_checked(product)


@api.patch(ITEM_RULE)
@require_if_match(product_version)
def patch_product(product_id: int) -> Response:
    """Apply a JSON merge patch (RFC 7396) to the version the client's tag named."""
    patch = read_json(MERGE_PATCH_TYPES)
    product = checked_product(product_id)
    merged = merge_patch(product.to_json(), patch)
    ProductFields.from_document(merged, product_id).assign_to(product)
    return save_checked(product)


@api.delete(ITEM_RULE)
@require_if_match(product_version)
def delete_product(product_id: int) -> Response:
    """Delete a product, only if it is still at the version the client's tag named."""
    product = checked_product(product_id)
    db.session.delete(product)
    product_version.commit(product, deleted=True)
    response = Response(status=204)
    del response.headers["Content-Type"]  # no content, so no media type
    return response


def health() -> Response:
    """200 while this host can reach its database, else 503: what a load balancer probes.

    An unreachable database raises here as on any route, and ``DatabaseOutages`` answers
    503 with ``Retry-After``.  Not tagged and never cached (``no-store``): a probe must see
    this host's state now.
    """
    db.session.execute(sa.text("SELECT 1"))
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


if __name__ == "__main__":
    create_app().run()
