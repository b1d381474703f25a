"""Hostile input, property-based (issue 3, item 5).

Arbitrary values and combinations of If-Match, If-None-Match, If-Modified-Since,
If-Unmodified-Since, If-Range and Range, on every method, against a small app with version,
timestamp and body-hash routes over a writable store.  Whatever arrives:

* the status is exactly the one RFC 9110 allows, computed for each request by a model of
  §13.2.2, RFC 6585 §3 and the views (:func:`expected_status`), and a write happens exactly
  when an unsafe request gets a 2xx; the generated requests must have met 304, 412, 428 and
  writes, or the test fails;
* never a 5xx (the app runs in testing mode, so an exception fails the test with its trace);
* a 304 carries no body and answers only a GET/HEAD that asked a conditional question
  (RFC 9110 §15.4.5, §13.2.2);
* a 412 or 428 never writes: the store is unchanged (RFC 9110 §13.1.1, RFC 6585 §3), and a
  write whose If-Match, parsed and compared strongly, does not hold the current tag is a 412;
* every ``ETag`` sent matches the entity-tag grammar of RFC 9110 §8.8.3 exactly, whatever the
  version value (quotes, CR/LF, non-ASCII, huge);
* the tag travels with the body it describes: on version routes a 200/206 carries the tag of
  the state it shows, and a write's 2xx carries the tag of the state it produced;
* a 206 is consistent (``Content-Range`` matches the body) and only follows a matching
  If-Range (RFC 9110 §13.1.5, §14.4).

Very long tag lists and adversarial header shapes are answered in bounded time.  Header
values are drawn from Latin-1 (what a WSGI server hands over, PEP 3333) without CR and LF,
which no server passes on as one field value.  Hypothesis runs derandomized with a fixed
example count, so CI is reproducible.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count
from typing import Any, TypeVar

import pytest
from flask import Flask, Response, abort, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Range
from werkzeug.http import parse_date

from flask_etag import (
    ETag,
    ETagPreconditionFailed,
    HashGenerator,
    TimestampGenerator,
    VersionGenerator,
    checked_version,
    etag,
    require_if_match,
    set_response_version,
)
from flask_etag.conditions import MISSING, SAFE_METHODS, Validators, parse_http_date, utc_seconds
from flask_etag.tags import parse_entity_tag_list

Drawn = TypeVar("Drawn")

#: Derandomized, a fixed example count: the same inputs on every run, small enough for CI.
HOSTILE = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROUTES = ("required", "optional", "stamped", "hashed")
#: Routes whose writes need If-Match or If-None-Match: * (RFC 6585 §3).
REQUIRED_ROUTES = frozenset({"required", "stamped"})
KEYS = ("a", "gone")

#: RFC 9110 §8.8.3: entity-tag = [ weak ] opaque-tag; etagc = %x21 / %x23-7E / obs-text.
ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')
#: RFC 9110 §5.6.7 IMF-fixdate, the only form a server may generate.
IMF_FIXDATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")

#: The stored entry's time is derived from its version, so tags are predictable.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BASE_TIME = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)

#: Generous wall-clock bound for one request with a huge header: linear parsing takes
#: milliseconds, quadratic parsing of 100 KB would take minutes.
BOUNDED_SECONDS = 2.0


# --- the app under attack -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One stored resource: its content and the version of that content."""

    body: str
    version: int

    @property
    def modified(self) -> datetime:
        """Modification time, one second and one microsecond per version."""
        return BASE_TIME + timedelta(seconds=self.version, microseconds=self.version)


@dataclass
class Store:
    """The writable store; a write makes a new Entry with a fresh version."""

    entries: dict[str, Entry] = field(default_factory=dict)
    clock: Iterator[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state: one entry ``a`` at version 1; ``gone`` is missing."""
        self.entries = {"a": Entry("alpha", 1)}
        self.clock = count(2)

    def version(self, key: str) -> int | None:
        entry = self.entries.get(key)
        return None if entry is None else entry.version

    def modified(self, key: str) -> datetime | None:
        entry = self.entries.get(key)
        return None if entry is None else entry.modified

    def snapshot(self) -> dict[str, Entry]:
        return dict(self.entries)


def expected_tag(route: str, entry: Entry) -> str | None:
    """The ``ETag`` a version or timestamp route must send for ``entry`` (None: not known)."""
    if route in ("required", "optional"):
        return f'"{entry.version}"'
    if route == "stamped":
        return f'"{(entry.modified - EPOCH) // timedelta(microseconds=1):x}"'
    return None


def representation(key: str, entry: Entry) -> bytes:
    return f"{key}={entry.body}".encode()


def ranged(body: bytes) -> Response:
    """Serve ``body``, honouring ``Range`` the way a view would (RFC 9110 §14.2), and saying
    so on the whole (§14.3), where a range held back from it is cut from the whole."""
    requested = request.range
    if requested is None or requested.units != "bytes" or len(requested.ranges) > 1:
        # Several ranges: the whole (a 416 would say none overlaps it, §15.5.17).
        return Response(body, mimetype="text/plain", headers={"Accept-Ranges": "bytes"})
    bounds = requested.range_for_length(len(body))
    if bounds is None:
        return Response(status=416, headers={"Content-Range": f"bytes */{len(body)}"})
    start, stop = bounds
    return Response(
        body[start:stop],
        status=206,
        mimetype="text/plain",
        headers={"Content-Range": f"bytes {start}-{stop - 1}/{len(body)}"},
    )


def make_resource_view(store: Store, route: str) -> Callable[..., Any]:
    """One view for every method; version routes write compare-and-set, as the docs say."""
    versioned = route != "hashed"

    def state_of(entry: Entry | None) -> Any:
        if entry is None:
            return None
        return entry.modified if route == "stamped" else entry.version

    def report(entry: Entry | None) -> None:
        if versioned:
            set_response_version(state_of(entry))

    def write(key: str, entry: Entry | None) -> None:
        if versioned and checked_version() != state_of(store.entries.get(key)):
            # Compare-and-set: only the state the precondition was checked against is replaced.
            raise ETagPreconditionFailed()
        if entry is None:
            store.entries.pop(key, None)
        else:
            store.entries[key] = entry
        report(entry)

    def resource(key: str) -> Any:
        method = request.method
        if method == "OPTIONS":
            return Response(status=204, headers={"Allow": ", ".join(METHODS)})
        entry = store.entries.get(key)
        text = request.get_data(as_text=True)[:64]
        if method in ("GET", "HEAD"):
            if entry is None:
                abort(404)
            report(entry)
            return ranged(representation(key, entry))
        if method == "DELETE":
            if entry is None:
                abort(404)
            write(key, None)
            return Response(status=204)
        if entry is None and method == "PATCH":
            abort(404)
        base = "" if entry is None or method == "PUT" else entry.body
        updated = Entry(base + text, next(store.clock))
        write(key, updated)
        return Response(representation(key, updated), status=201 if entry is None else 200)

    resource.__name__ = f"resource_{route}"
    return resource


def current_representation(store: Store, key: str) -> Response | None:
    """What a GET of ``/hashed/<key>`` renders now: a write there is judged by its hash."""
    entry = store.entries.get(key)
    return None if entry is None else Response(representation(key, entry), mimetype="text/plain")


def build_app() -> tuple[Flask, Store]:
    """A fresh app and store: routes ``/<route>/<key>`` for every method."""
    store = Store()
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    decorators: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
        "required": require_if_match(VersionGenerator(store.version)),
        "optional": etag(VersionGenerator(store.version)),
        "stamped": require_if_match(TimestampGenerator(store.modified)),
        "hashed": etag(HashGenerator(current=functools.partial(current_representation, store))),
    }
    for route, decorate in decorators.items():
        view = decorate(make_resource_view(store, route))
        app.add_url_rule(f"/{route}/<key>", view_func=view, methods=list(METHODS))
    return app, store


# --- strategies -----------------------------------------------------------------------------

#: Any header value a WSGI server can hand over (Latin-1), short; CR/LF never arrive.
LATIN1 = st.characters(min_codepoint=0, max_codepoint=0xFF, exclude_characters="\r\n")
HEADER_TEXT = st.text(LATIN1, max_size=40)
OPAQUE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"'), max_size=10
)
SEPARATORS = st.sampled_from([",", ", ", " ,", " , ", ",,", "\t,", ", ,", ";", " "])


def evenly(*strategies: st.SearchStrategy[Drawn]) -> st.SearchStrategy[Drawn]:
    """One of ``strategies``, each as often as the others (``one_of`` flattens nested ones)."""
    return st.sampled_from(strategies).flatmap(lambda chosen: chosen)


def entity_tags(current: str | None) -> st.SearchStrategy[str]:
    """Quoted tags, weak or not; the current opaque-tag often, when there is one."""
    opaque = OPAQUE if current is None else st.one_of(st.just(current), OPAQUE)
    return st.builds(lambda weak, tag: f'{"W/" if weak else ""}"{tag}"', st.booleans(), opaque)


def tag_fields(current: str | None) -> st.SearchStrategy[str]:
    """If-Match / If-None-Match values: ``*`` (padded too), tag lists, junk, and mixtures."""
    member = st.one_of(entity_tags(current), st.just("*"), HEADER_TEXT, st.just(""))
    lists = st.builds(
        lambda members, separator: separator.join(members),
        st.lists(member, min_size=1, max_size=5),
        SEPARATORS,
    )
    stars = st.sampled_from(["*", " * ", "\t*"])
    # Sane values half the time, so conditions pass and fail often enough to reach 304s.
    return evenly(st.one_of(stars, entity_tags(current)), st.one_of(lists, HEADER_TEXT))


def imf_fixdate(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def rfc850_date(moment: datetime) -> str:
    return moment.strftime("%A, %d-%b-%y %H:%M:%S GMT")


def asctime_date(moment: datetime) -> str:
    return f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}"


def date_fields(modified: datetime | None) -> st.SearchStrategy[str]:
    """HTTP-dates near the resource's time in all three forms, odd dates and junk."""
    base = modified or BASE_TIME
    near = st.integers(-5, 5).map(lambda seconds: base + timedelta(seconds=seconds))
    anywhere = st.datetimes(timezones=st.just(timezone.utc))
    formatted = st.builds(
        lambda form, moment: form(moment),
        st.sampled_from([imf_fixdate, rfc850_date, asctime_date]),
        st.one_of(near, near, anywhere),
    )
    shaped = st.builds(  # date-shaped but impossible: day 00, hour 99, year 0000
        "{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT".format,
        st.sampled_from(["Mon", "Tue", "Xyz"]),
        st.integers(0, 99),
        st.sampled_from(["Jan", "Feb", "Foo"]),
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
    )
    pair = st.builds(lambda first, second: f"{first}, {second}", formatted, formatted)
    return evenly(formatted, st.one_of(shaped, pair, HEADER_TEXT))


def range_fields() -> st.SearchStrategy[str]:
    """Range values: valid byte ranges, suffixes, lists, huge numbers, other units, junk."""
    position = st.one_of(st.integers(0, 12), st.integers(0, 10**30))
    spec = st.one_of(
        st.builds("{}-{}".format, position, position),
        st.builds("{}-".format, position),
        st.builds("-{}".format, position),
    )
    ranges = st.lists(spec, min_size=1, max_size=3).map(",".join)
    unit = st.sampled_from(["bytes", "bytes ", "items", "BYTES", ""])
    satisfiable = st.one_of(
        st.builds("bytes={}-{}".format, st.integers(0, 5), st.integers(0, 12)),
        st.builds("bytes=-{}".format, st.integers(1, 12)),
    )
    return st.one_of(satisfiable, satisfiable, st.builds("{}={}".format, unit, ranges), HEADER_TEXT)


@functools.cache
def conditional_headers(
    current: str | None, modified: datetime | None
) -> st.SearchStrategy[dict[str, str]]:
    """Any subset of the six conditional and range fields (cached: building is costly)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "If-Match": tag_fields(current),
            "If-None-Match": tag_fields(current),
            "If-Modified-Since": date_fields(modified),
            "If-Unmodified-Since": date_fields(modified),
            "If-Range": st.one_of(entity_tags(current), date_fields(modified)),
            "Range": range_fields(),
        },
    )


# --- the exact expected answer --------------------------------------------------------------
#
# Field syntax belongs to the pure layer, which test_conditions.py checks against an
# independent reference; here If-Match and the dates are read with flask_etag's strict
# parsers, and If-None-Match with werkzeug's (the recovery RFC 9110 §2.2 allows, which
# flask_etag uses).  What this models is what the HTTP layer must do with them: the order of
# §13.2.2, 428, which routes judge before the view and which after it, Range and If-Range.

#: RFC 9110 §5.6.3: optional whitespace, which §5.5 excludes from a field value.
OWS = " \t"


@dataclass(frozen=True)
class Exchange:
    """One hostile request, with the state before and after it."""

    route: str
    key: str
    method: str
    headers: dict[str, str]
    tag_before: str | None
    modified_before: datetime | None
    before: dict[str, Entry]
    after: dict[str, Entry]
    response: Any

    @property
    def status(self) -> int:
        return int(self.response.status_code)

    @property
    def wrote(self) -> bool:
        return self.after != self.before

    @property
    def current(self) -> Validators:
        """The validators a GET showed just before the request; MISSING after a 404."""
        if self.key not in self.before or self.tag_before is None:
            return MISSING
        return Validators(
            etag=self.tag_before.removeprefix("W/")[1:-1],
            weak=self.tag_before.startswith("W/"),
            last_modified=self.modified_before,
        )


def send(
    client: FlaskClient,
    store: Store,
    route: str,
    key: str,
    method: str,
    headers: dict[str, str],
    body: str = "",
    *,
    bounded: bool = False,
) -> Exchange:
    """From the seeded state, GET the resource's validators, then send the hostile request."""
    store.reset()
    url = f"/{route}/{key}"
    first = client.get(url)
    before = store.snapshot()
    request_ = functools.partial(timed, client) if bounded else client.open
    response = request_(url, method=method, headers=headers, data=body.encode("latin-1"))
    return Exchange(
        route,
        key,
        method,
        headers,
        first.headers.get("ETag"),
        parse_date(first.headers.get("Last-Modified")),
        before,
        store.snapshot(),
        response,
    )


def parse_range_header(value: str | None) -> Range | None:
    """werkzeug's parse of ``Range``: ``Range.from_header`` where it exists."""
    if hasattr(Range, "from_header"):
        return Range.from_header(value)
    import werkzeug.http

    return werkzeug.http.parse_range_header(value)


def if_match_passes(field_value: str, current: Validators) -> bool:
    """RFC 9110 §13.1.1: ``*`` when the resource exists, else its strong tag is listed.

    A value that is not the syntax lists nothing (flask_etag's fail-safe reading).
    """
    listed = parse_entity_tag_list(field_value)
    if listed.star_tag:
        return current.exists
    if not current.exists or current.etag is None or current.weak:
        return False
    return listed.is_strong(current.etag)


def if_none_match_matches(field_value: str, current: Validators) -> bool:
    """RFC 9110 §13.1.2: ``*``, or a listed tag by weak comparison, when the resource exists.

    A value that is not the syntax lists nothing (flask_etag's reading, as for If-Match).
    """
    if not current.exists:
        return False
    listed = parse_entity_tag_list(field_value)
    if listed.star_tag:
        return True
    return current.etag is not None and listed.contains_weak(current.etag)


def asks_for_write_guard(headers: Mapping[str, str]) -> bool:
    """RFC 6585 §3 as flask_etag applies it: If-Match, or If-None-Match: ``*``."""
    return "If-Match" in headers or headers.get("If-None-Match", "").strip(OWS) == "*"


def precondition_decision(
    method: str, headers: Mapping[str, str], current: Validators
) -> tuple[int, str] | None:
    """RFC 9110 §13.2.2 steps 1 to 4: 412 or 304 and the field that decided; None: proceed."""
    safe = method in SAFE_METHODS
    modified = current.last_modified
    if "If-Match" in headers:
        if not if_match_passes(headers["If-Match"], current):
            return 412, "If-Match"
    elif "If-Unmodified-Since" in headers:
        since = parse_http_date(headers["If-Unmodified-Since"])
        if since is not None and modified is not None and modified > since:
            return 412, "If-Unmodified-Since"
    if "If-None-Match" in headers:
        if if_none_match_matches(headers["If-None-Match"], current):
            return (304 if safe else 412), "If-None-Match"
    elif safe and "If-Modified-Since" in headers:
        since = parse_http_date(headers["If-Modified-Since"])
        if since is not None and modified is not None and modified <= since:
            return 304, "If-Modified-Since"
    return None


def if_range_matches(if_range: str, current: Validators) -> bool:
    """RFC 9110 §13.1.5: exactly the Last-Modified date, or the current strong tag."""
    date = parse_http_date(if_range)
    if date is not None:
        return current.last_modified == date
    strong = current.etag is not None and not current.weak
    return strong and if_range.strip(OWS) == f'"{current.etag}"'


def view_status(exchange: Exchange) -> int:
    """What the test app's view answers once the request proceeds (RFC 9110 §9.3, §14)."""
    method, headers = exchange.method, exchange.headers
    entry = exchange.before.get(exchange.key)
    if entry is None:
        return 201 if method in ("PUT", "POST") else 404
    if method in UNSAFE:
        return 204 if method == "DELETE" else 200
    requested = parse_range_header(headers.get("Range"))
    if requested is None or requested.units != "bytes" or len(requested.ranges) > 1:
        return 200
    satisfiable = requested.range_for_length(len(representation(exchange.key, entry)))
    if_range = headers.get("If-Range")
    if if_range is not None and not if_range_matches(if_range, exchange.current):
        return 200  # §13.1.5: the Range is ignored
    return 416 if satisfiable is None else 206


def expected_status(exchange: Exchange) -> tuple[int, str]:
    """The one status RFC 9110 allows for the exchange's request, and the rule that gave it."""
    method = exchange.method
    if method == "OPTIONS":
        return 204, "§13.2.1 OPTIONS ignores preconditions"
    if exchange.route in REQUIRED_ROUTES and method in UNSAFE:
        if not asks_for_write_guard(exchange.headers):
            return 428, "RFC 6585 §3"
    if method in UNSAFE or exchange.key in exchange.before:
        # §13.2.1: a GET of a missing resource would be a 404, so it is not judged.
        decision = precondition_decision(method, exchange.headers, exchange.current)
        if decision is not None:
            status, field_name = decision
            return status, f"§13.2.2 {field_name}"
    return view_status(exchange), "the view"


# --- the properties -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_app() -> tuple[Flask, Store]:
    """One app for all examples of a route; each example resets its store."""
    return build_app()


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_conditional_requests_never_break_the_rules(
    hostile_app: tuple[Flask, Store], route: str
) -> None:
    """Every method x any combination of the six fields: the exact status, and the invariants.

    The generated requests must meet 304 and 412 (and 428 where writes need a guard), and
    writes that happen, or the run proved little.
    """
    app, store = hostile_app
    client = app.test_client()
    store.reset()
    seeded = client.get(f"/{route}/a")
    opaque = seeded.headers["ETag"].removeprefix("W/")[1:-1]
    modified = parse_date(seeded.headers.get("Last-Modified"))
    reached: Counter[str] = Counter()

    @settings(HOSTILE, max_examples=1000)  # enough for every outcome below, with margin
    @given(
        # The existing resource and GET/HEAD more often: a 304 needs both.
        key=evenly(st.just("a"), st.sampled_from(KEYS)),
        method=evenly(st.sampled_from(["GET", "HEAD"]), st.sampled_from(METHODS)),
        headers=conditional_headers(opaque, modified),
        body=st.text(LATIN1, max_size=8),
    )
    # Found by this property: an empty If-Unmodified-Since deferred the 304 to the view,
    # whose Range then answered 416 (§13.1.4: an invalid date is ignored).
    @example(
        key="a",
        method="GET",
        headers={"If-Unmodified-Since": "", "If-None-Match": "*", "Range": "BYTES=7-"},
        body="",
    )
    # Found by this property: a valid If-Unmodified-Since deferred the 304 to the view (its
    # date may fail step 2), and the view's Range answered 416 first (§13.2.2 step 5).
    @example(
        key="a",
        method="GET",
        headers={
            "If-Unmodified-Since": "Mon, 06 May 2024 07:08:09 GMT",
            "If-None-Match": "*",
            "Range": "bytes=-8",
        },
        body="",
    )
    def keeps_the_rules(key: str, method: str, headers: dict[str, str], body: str) -> None:
        exchange = send(client, store, route, key, method, headers, body)
        assert exchange.status < 500
        expected, rule = expected_status(exchange)
        for label in (f"{expected} by {rule}", "a write" if exchange.wrote else "no write"):
            event(label)
            reached[label] += 1
        assert exchange.status == expected, rule
        assert exchange.wrote == (method in UNSAFE and 200 <= expected < 300)
        assert_headers_well_formed(exchange)
        assert_not_modified_is_bodiless(exchange)
        assert_refusals_change_nothing(exchange)
        assert_stale_if_match_never_writes(exchange)
        assert_unguarded_writes_are_refused(exchange)
        assert_partial_content_is_consistent(exchange)
        assert_tag_describes_the_body(exchange)

    keeps_the_rules()
    wanted = {
        "304 by §13.2.2 If-None-Match",
        "412 by §13.2.2 If-Match",
        "412 by §13.2.2 If-None-Match",
        "206 by the view",
        "a write",
    }
    if route in REQUIRED_ROUTES:
        wanted.add("428 by RFC 6585 §3")
    if route == "stamped":
        wanted |= {"304 by §13.2.2 If-Modified-Since", "412 by §13.2.2 If-Unmodified-Since"}
    missing = wanted - reached.keys()
    assert not missing, f"never reached: {sorted(missing)}; reached: {dict(reached)}"


def assert_headers_well_formed(exchange: Exchange) -> None:
    """RFC 9110 §8.8.3 and §8.8.2: one valid ETag at most, Last-Modified an IMF-fixdate."""
    headers = exchange.response.headers
    tags = headers.getlist("ETag")
    assert len(tags) <= 1
    for tag in tags:
        assert ENTITY_TAG.fullmatch(tag), tag
    for modified in headers.getlist("Last-Modified"):
        assert IMF_FIXDATE.fullmatch(modified), modified
    if exchange.method == "HEAD" or exchange.status in (204, 304):
        assert exchange.response.get_data() == b""


def assert_not_modified_is_bodiless(exchange: Exchange) -> None:
    """RFC 9110 §15.4.5: a 304 has no content; §13.2.2: only a conditional GET/HEAD gets it."""
    if exchange.status != 304:
        return
    assert exchange.response.get_data() == b""
    assert "Content-Type" not in exchange.response.headers
    assert exchange.method in ("GET", "HEAD")
    assert {"If-None-Match", "If-Modified-Since"} & exchange.headers.keys()
    assert not exchange.wrote


def assert_refusals_change_nothing(exchange: Exchange) -> None:
    """A failed (412) or missing required (428) precondition never writes."""
    if exchange.status == 412:
        assert {"If-Match", "If-None-Match", "If-Unmodified-Since"} & exchange.headers.keys()
    if exchange.status == 428:
        assert exchange.route in REQUIRED_ROUTES
        assert exchange.method in UNSAFE
    if exchange.status in (412, 428):
        assert not exchange.wrote, f"{exchange.status} but the store changed"


def assert_stale_if_match_never_writes(exchange: Exchange) -> None:
    """RFC 9110 §13.1.1: a write whose If-Match fails is refused with 412 and writes nothing.

    If-Match passes only for ``*`` on an existing resource, or when the parsed list holds the
    current tag, compared strongly: a weak tag on either side, a tag merely inside a longer
    value, or a missing resource never passes.
    """
    if_match = exchange.headers.get("If-Match")
    if if_match is None or exchange.method not in UNSAFE:
        return
    if not if_match_passes(if_match, exchange.current):
        assert exchange.status == 412, f"If-Match {if_match!r} against {exchange.tag_before}"
        assert not exchange.wrote, f"If-Match {if_match!r} wrote over {exchange.tag_before}"


def assert_unguarded_writes_are_refused(exchange: Exchange) -> None:
    """RFC 6585 §3: on a route requiring it, a write without If-Match or If-None-Match: *."""
    if exchange.route not in REQUIRED_ROUTES or exchange.method not in UNSAFE:
        return
    if not asks_for_write_guard(exchange.headers):
        assert exchange.status == 428
        assert not exchange.wrote


def assert_partial_content_is_consistent(exchange: Exchange) -> None:
    """RFC 9110 §14.4: Content-Range matches the body; §13.1.5: If-Range must have matched."""
    if exchange.status != 206:
        return
    assert exchange.method in ("GET", "HEAD")
    assert "Range" in exchange.headers
    content_range = exchange.response.headers["Content-Range"]
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
    assert match, content_range
    first, last, length = map(int, match.groups())
    assert first <= last < length
    if exchange.method == "GET":
        assert len(exchange.response.get_data()) == last - first + 1
    # RFC 9110 §15.3.7: a 206 carries the validators a 200 would have carried.
    assert exchange.response.headers.get("ETag") == exchange.tag_before
    if_range = exchange.headers.get("If-Range")
    if if_range is not None:
        assert if_range_matches(if_range, exchange.current)


def assert_tag_describes_the_body(exchange: Exchange) -> None:
    """The tag travels with the body it describes (issue 3, item 3).

    A read's 200/206 carries the tag of the state shown; a write's 2xx the tag of the
    state that write produced; a deletion carries none.
    """
    status, route, key = exchange.status, exchange.route, exchange.key
    if exchange.method == "OPTIONS" or not 200 <= status < 300 or route == "hashed":
        return
    tag = exchange.response.headers.get("ETag")
    shown = exchange.after.get(key)
    if shown is None:
        assert tag is None
        return
    assert tag == expected_tag(route, shown)
    if status == 200 and exchange.method != "HEAD":
        assert exchange.response.get_data() == representation(key, shown)


@pytest.mark.parametrize("route", ROUTES)
def test_partial_content_carries_the_whole_representations_tag(route: str) -> None:
    """RFC 9110 §15.3.7, §13.1.5: found by the property above on the body-hash route.

    A view building its own 206 once got a tag hashed from the part, so If-Range with the
    real tag never matched and If-None-Match with it gave a 206 instead of a 304.
    """
    app, _store = build_app()
    client = app.test_client()
    url = f"/{route}/a"
    whole = client.get(url)
    tag = whole.headers["ETag"]
    part = client.get(url, headers={"Range": "bytes=0-1"})
    assert (part.status_code, part.headers["ETag"], part.data) == (206, tag, whole.data[:2])
    matching = client.get(url, headers={"Range": "bytes=0-1", "If-Range": tag})
    assert (matching.status_code, matching.headers["ETag"]) == (206, tag)
    stale = client.get(url, headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert (stale.status_code, stale.headers["ETag"], stale.data) == (200, tag, whole.data)
    cached = client.get(url, headers={"Range": "bytes=0-1", "If-None-Match": tag})
    assert (cached.status_code, cached.headers["ETag"], cached.data) == (304, tag, b"")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"If-Match": 'W/"1"'}, 412, id="§13.1.1 weak tag of the current version"),
        pytest.param({"If-Match": '"1", W/"1"'}, 200, id="§13.1.1 strong tag beside a weak one"),
        pytest.param({"If-Match": '"11"'}, 412, id="§13.1.1 a tag containing the current one"),
        pytest.param({"If-Match": '"1" "2"'}, 412, id="§13.1.1 no comma: not a list"),
        pytest.param({"If-Match": '"2", *'}, 412, id="§13.1.1 star in a list is not star"),
        pytest.param({"If-Match": " * "}, 200, id="§13.1.1 star with OWS"),
        pytest.param({"If-None-Match": "*"}, 412, id="§13.1.2 star on an existing resource"),
        pytest.param(
            {"If-Match": '"1"', "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
            200,
            id="§13.1.4 If-Unmodified-Since ignored beside If-Match",
        ),
        pytest.param(
            {"If-None-Match": "*", "If-Modified-Since": "garbage"},
            412,
            id="§13.1.3 malformed If-Modified-Since changes nothing",
        ),
    ],
)
def test_if_match_is_parsed_not_searched_rfc9110_13_1_1(
    headers: dict[str, str], expected: int
) -> None:
    """The shapes a substring test judged wrong, on the version route: exact answers."""
    app, store = build_app()
    exchange = send(app.test_client(), store, "required", "a", "PUT", headers, "new")
    assert exchange.tag_before == '"1"'
    assert expected_status(exchange)[0] == expected
    assert exchange.status == expected
    assert exchange.wrote == (expected == 200)


# --- shapes a mutation review found (once divergences, now fixed) ---------------------------


@pytest.mark.parametrize("padded", ["* ", " *", "\t*\t"])
@pytest.mark.parametrize("route", ROUTES)
def test_padded_star_is_star_rfc9110_5_5(route: str, padded: str) -> None:
    """RFC 9110 §5.5, §13.1.2: ``If-None-Match: * `` is ``*``: create-only PUT must fail.

    The padded value was once taken as the write guard, then read as a tag matching nothing,
    so the PUT overwrote the existing resource.
    """
    app, store = build_app()
    exchange = send(app.test_client(), store, route, "a", "PUT", {"If-None-Match": padded}, "x")
    assert (exchange.status, exchange.wrote) == (412, False)


def test_stale_if_range_ignores_range_rfc9110_13_1_5() -> None:
    """RFC 9110 §13.1.5: when If-Range does not match, Range MUST be ignored: 200, not 416.

    Version routes drop Range before the view; a body-hash route re-renders the whole.
    """
    app, store = build_app()
    headers = {"Range": "bytes=50-60", "If-Range": '"stale"'}
    exchange = send(app.test_client(), store, "hashed", "a", "GET", headers)
    assert exchange.status == 200


# --- long lists and adversarial shapes ------------------------------------------------------


def timed(client: FlaskClient, url: str, **request: Any) -> Any:
    """Send one request and check it was answered within the generous bound."""
    started = time.perf_counter()
    response = client.open(url, **request)
    method = request.get("method", "GET")
    elapsed = time.perf_counter() - started
    assert elapsed < BOUNDED_SECONDS, f"{elapsed:.2f} s for {method} {url}"
    return response


def long_tag_list(current: str | None, where: str, count_: int = 5000) -> str:
    """Thousands of tags (tens of KB), the current one absent, first or last."""
    tags = [f'"tag-{index:05d}"' for index in range(count_)]
    if current is not None and where == "first":
        tags.insert(0, current)
    elif current is not None and where == "last":
        tags.append(current)
    return ", ".join(tags)


@pytest.mark.parametrize("where", ["absent", "first", "last"])
@pytest.mark.parametrize("route", ROUTES)
def test_long_if_none_match_list_is_answered_correctly_and_quickly(route: str, where: str) -> None:
    """RFC 9110 §13.1.2: a 5000-tag If-None-Match gives 304 exactly when the tag is listed."""
    app, _store = build_app()
    client = app.test_client()
    url = f"/{route}/a"
    current = client.get(url).headers["ETag"]
    field_value = long_tag_list(current, where)
    assert len(field_value) > 50_000
    response = timed(client, url, headers={"If-None-Match": field_value})
    assert response.status_code == (200 if where == "absent" else 304)


@pytest.mark.parametrize("where", ["absent", "first", "last"])
@pytest.mark.parametrize("route", ROUTES)
def test_long_if_match_list_guards_the_write(route: str, where: str) -> None:
    """RFC 9110 §13.1.1: a 5000-tag If-Match lets the write through only if it lists the tag."""
    app, store = build_app()
    client = app.test_client()
    url = f"/{route}/a"
    current = client.get(url).headers["ETag"]
    before = store.snapshot()
    response = timed(client, url, method="PUT", headers={"If-Match": long_tag_list(current, where)})
    if where == "absent":
        assert response.status_code == 412
        assert store.snapshot() == before
    else:
        assert response.status_code == 200
        assert store.snapshot() != before


@pytest.mark.parametrize(("field_name", "method"), [("If-None-Match", "GET"), ("If-Match", "PUT")])
@pytest.mark.parametrize("route", ROUTES)
def test_rfc9110_13_1_many_short_tags_are_read_in_linear_time(
    route: str, field_name: str, method: str
) -> None:
    """RFC 9110 §13.1.1, §13.1.2: 20,000 short tags (140 KB, one request through a server
    that takes large fields) are read once each; comparing each with every other took
    seconds per read, and a request reads its list more than once."""
    app, _store = build_app()
    client = app.test_client()
    url = f"/{route}/a"
    current = client.get(url).headers["ETag"]
    field_value = ", ".join([*(f'"{index}"' for index in range(20_000)), current])
    response = timed(client, url, method=method, headers={field_name: field_value})
    assert response.status_code == (304 if method == "GET" else 200)


#: Shapes that make naive parsers backtrack or loop: unterminated quotes, runs of separators.
ADVERSARIAL_SHAPES = {
    "quotes": '"' * 100_000,
    "unterminated": '"' + "a" * 100_000,
    "weak-prefixes": "W/" * 50_000,
    "weak-quotes": 'W/"' * 33_000,
    "commas": "," * 100_000,
    "spaces": " " * 100_000,
    "quote-comma": '",' * 50_000,
    "open-tags": '"a,' * 33_000,
    "tabs-and-commas": "\t,\t" * 33_000,
    # 30 KB, not 100: a quadratic parse of it takes seconds, of 100 KB minutes.
    "separators-then-junk": ", \t" * 10_000 + "x",
    "tag-separators-junk": '"a"' + ", \t" * 10_000 + "x",
    "stars": "*, " * 33_000,
    "unquoted": "abc " * 25_000,
    "latin1": "\xff" * 100_000,
    "dates": "Mon, 06 May 2024 07:08:09 GMT, " * 3_000,
    "ranges": "bytes=" + "0-0," * 25_000,
}


@pytest.mark.parametrize(
    "field_name",
    ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range"],
)
@pytest.mark.parametrize("shape", sorted(ADVERSARIAL_SHAPES))
def test_adversarial_field_values_are_answered_in_bounded_time(field_name: str, shape: str) -> None:
    """100 KB of pathological text in any field: linear parsing, and the one right answer.

    None of these values is valid syntax: an If-Match then matches nothing (412), dates and
    a Range are ignored (RFC 9110 §13.1.3, §13.1.4, §14.2), an If-None-Match names no tag.
    """
    app, store = build_app()
    client = app.test_client()
    headers = {field_name: ADVERSARIAL_SHAPES[shape]}
    for route in ROUTES:
        for method in ("GET", "PUT"):
            exchange = send(client, store, route, "a", method, headers, bounded=True)
            expected, rule = expected_status(exchange)
            assert exchange.status == expected, rule
            assert exchange.wrote == (method == "PUT" and expected < 300)


# --- response tags from arbitrary version values --------------------------------------------

VERSION_VALUES = st.one_of(
    st.text(),
    st.text(LATIN1),
    st.sampled_from(['"', '""', 'W/"x"', "a\r\nSet-Cookie: x=1", "\r\n\r\n<html>", "é", "\u2028"]),
    st.builds(
        lambda chunk, times: chunk * times,
        st.text(min_size=1, max_size=8),
        st.integers(1_000, 20_000),
    ),
    st.binary(max_size=64),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.uuids(),
)


def tag_probe_app(generator: VersionGenerator | TimestampGenerator) -> Flask:
    """GET and PUT of ``/v`` tagged by ``generator``; PUT requires If-Match, except with a
    weak generator, which ``require_if_match`` refuses: its writes are judged under @etag."""
    app = Flask(__name__)
    app.testing = True
    ETag(app)
    guard = etag if generator.weak else require_if_match

    @app.get("/v")
    @etag(generator)
    def read() -> str:
        return "body"

    @app.put("/v")
    @guard(generator)
    def write() -> str:
        return "written"

    return app


def assert_one_valid_tag(response: Any) -> str:
    """Exactly one ETag, matching RFC 9110 §8.8.3, and no header broken by CR/LF."""
    tags = response.headers.getlist("ETag")
    assert len(tags) == 1
    assert ENTITY_TAG.fullmatch(tags[0]), tags[0]
    for name, value in response.headers:
        assert "\r" not in value and "\n" not in value, (name, value)
    assert "Set-Cookie" not in response.headers
    return str(tags[0])


@HOSTILE
@given(version=VERSION_VALUES, weak=st.booleans())
def test_any_version_value_gives_one_valid_entity_tag(version: Any, weak: bool) -> None:
    """Quotes, CR/LF, non-ASCII, huge values: never an invalid or injected header.

    The tag also works: sent back in If-None-Match it gives 304, in If-Match (strong) the
    write passes (RFC 9110 §13.1.1, §13.1.2).
    """
    client = tag_probe_app(VersionGenerator(lambda: version, weak=weak)).test_client()
    tag = assert_one_valid_tag(client.get("/v"))
    assert len(tag) <= 200
    assert tag.startswith('W/"') == weak
    revalidated = client.get("/v", headers={"If-None-Match": tag})
    assert revalidated.status_code == 304
    assert assert_one_valid_tag(revalidated) == tag
    assert client.put("/v", headers={"If-Match": tag}).status_code == (412 if weak else 200)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (Decimal("1.0"), Decimal("1.00")),
        (Decimal("1.00"), Decimal("1.0")),
        (Decimal("1E+2"), Decimal("100")),
        (-0.0, 0.0),
    ],
)
def test_equal_versions_give_one_tag_whatever_the_process_saw_first_rfc9110_8_8_3(
    first: Any, then: Any
) -> None:
    """Every host must give a state one tag: the tags kept by value once gave
    ``Decimal("1.00")`` the tag of ``Decimal("1.0")`` in a process that had seen that first,
    and ``"1.00"`` in one that had not."""
    fresh = tag_probe_app(VersionGenerator(lambda: then)).test_client().get("/v").headers["ETag"]
    versions = iter([first, then])
    client = tag_probe_app(VersionGenerator(lambda: next(versions))).test_client()
    assert client.get("/v").headers["ETag"] == fresh
    assert client.get("/v").headers["ETag"] == fresh


OFFSETS = st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@HOSTILE
@given(moment=st.one_of(st.datetimes(), st.datetimes(timezones=OFFSETS)))
def test_any_timestamp_gives_a_valid_tag_and_date(moment: datetime) -> None:
    """Any datetime (naive, any offset, year 1 to 9999): valid ETag and IMF-fixdate.

    Last-Modified is the moment's own second, sent once that second is over: never later
    than now (RFC 9110 §8.8.2.1), never a second another change may still fall in (§8.8.2.2).
    """
    client = tag_probe_app(TimestampGenerator(lambda: moment)).test_client()
    before = datetime.now(timezone.utc)
    response = client.get("/v")
    after = datetime.now(timezone.utc)
    tag = assert_one_valid_tag(response)
    second = utc_seconds(moment)
    modified = response.headers.get("Last-Modified")
    # "now" is the server's, some moment during the request: a second may tick meanwhile.
    if modified is None:
        assert second >= utc_seconds(before)
    else:
        assert IMF_FIXDATE.fullmatch(modified), modified
        # strptime, not email.utils: IMF-fixdate's year is four digits, "0068" is year 68.
        parsed = datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S GMT")
        assert parsed.replace(tzinfo=timezone.utc) == second < utc_seconds(after)
    assert client.get("/v", headers={"If-None-Match": tag}).status_code == 304


#: Instants before 0001-01-01T00:00Z, which Python can hold only in an offset east of UTC.
BEFORE_YEAR_ONE = [
    pytest.param(datetime.min.replace(tzinfo=timezone(timedelta(hours=14))), id="+14:00"),
    pytest.param(datetime.min.replace(tzinfo=timezone(timedelta(minutes=1))), id="+00:01"),
]


@pytest.mark.parametrize("moment", BEFORE_YEAR_ONE)
def test_a_timestamp_before_year_one_in_utc_is_no_500_rfc9110_8_8_2(moment: datetime) -> None:
    """A date the lookup gives in an offset east of UTC (a ``datetime.min`` sentinel of a
    time zone) that falls before the first instant an HTTP-date names: it was a 500 on
    every request.  It is sent as that first instant, which no HTTP-date precedes, so every
    date condition gets the answer the true instant would get (§13.1.3, §13.1.4)."""
    client = tag_probe_app(TimestampGenerator(lambda: moment)).test_client()
    response = client.get("/v")
    assert response.status_code == 200
    tag = assert_one_valid_tag(response)
    first_instant = "Mon, 01 Jan 0001 00:00:00 GMT"
    assert response.headers["Last-Modified"] == first_instant
    assert client.get("/v", headers={"If-Modified-Since": first_instant}).status_code == 304
    written = client.put("/v", headers={"If-Match": tag, "If-Unmodified-Since": first_instant})
    assert written.status_code == 200


@pytest.mark.parametrize("moment", BEFORE_YEAR_ONE)
def test_a_version_before_year_one_in_utc_gets_its_own_tag_rfc9110_8_8_3(
    moment: datetime,
) -> None:
    """A datetime version before 0001-01-01T00:00Z was a 500: it cannot be put in UTC to be
    tagged.  It gets a tag of its own instant, the same in any offset, and another
    instant's tag differs (§8.8.3)."""
    tag = assert_one_valid_tag(
        tag_probe_app(VersionGenerator(lambda: moment)).test_client().get("/v")
    )
    east = timedelta(hours=15)  # the same instant further east: astimezone() would overflow
    wall = moment.replace(tzinfo=None) + east - (moment.utcoffset() or timedelta())
    same_instant = wall.replace(tzinfo=timezone(east))
    assert same_instant == moment
    other_instant = moment + timedelta(seconds=1)
    for value, equal in ((same_instant, True), (other_instant, False)):
        client = tag_probe_app(VersionGenerator(lambda value=value: value)).test_client()
        assert (client.get("/v").headers["ETag"] == tag) is equal
