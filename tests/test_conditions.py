"""RFC 9110 §13 as tables: the pure evaluation in ``flask_etag.conditions`` and ``tags``.

Each row is one case (method, current validators, request header values, expected outcome)
and its pytest id names the RFC clause it checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_etag.conditions import (
    MISSING,
    Outcome,
    Preconditions,
    Validators,
    evaluate_preconditions,
    if_range_allows_partial,
    parse_http_date,
    utc_seconds,
)
from flask_etag.tags import format_entity_tag, opaque_tag_for, parse_entity_tag_list

PROCEED = Outcome.PROCEED
NOT_MODIFIED = Outcome.NOT_MODIFIED
FAILED = Outcome.PRECONDITION_FAILED

#: The current representation's Last-Modified, and HTTP dates around it.
T = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
AT_T = "Mon, 06 May 2024 07:08:09 GMT"
AT_T_RFC850 = "Monday, 06-May-24 07:08:09 GMT"
AT_T_ASCTIME = "Mon May  6 07:08:09 2024"
BEFORE_T = "Mon, 06 May 2024 07:08:08 GMT"
BEFORE_T_RFC850 = "Monday, 06-May-24 07:08:08 GMT"
BEFORE_T_ASCTIME = "Mon May  6 07:08:08 2024"
AFTER_T = "Mon, 06 May 2024 07:08:10 GMT"

STRONG = Validators(etag="v1")
WEAK = Validators(etag="v1", weak=True)
DATED = Validators(etag="v1", last_modified=T)
DATE_ONLY = Validators(last_modified=T)

#: Header values that are not one valid HTTP-date (RFC 9110 §5.6.7), so must be ignored.
INVALID_DATES = [
    pytest.param("yesterday", id="word"),
    pytest.param("", id="empty"),
    pytest.param("2024-05-06T07:08:09Z", id="ISO 8601"),
    pytest.param("Mon, 06 May 2024 07:08:09 UTC", id="UTC instead of GMT"),
    pytest.param("mon, 06 may 2024 07:08:09 gmt", id="lower case"),
    pytest.param("Mon, 06 May 2024 25:08:09 GMT", id="hour 25"),
    pytest.param(f"{BEFORE_T}, {BEFORE_T}", id="two members"),
    pytest.param("1714979289", id="epoch seconds"),
]


def case(
    clause: str,
    method: str,
    current: Validators,
    expected: Outcome,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    ims: str | None = None,
    ius: str | None = None,
) -> object:
    """One table row; ``clause`` becomes the pytest id."""
    headers = Preconditions(if_match, if_none_match, ims, ius)
    return pytest.param(method, current, headers, expected, id=clause)


IF_MATCH = [
    case("§13.1.1 If-Match same strong tag passes", "PUT", STRONG, PROCEED, if_match='"v1"'),
    case("§13.1.1 If-Match other tag fails", "PUT", STRONG, FAILED, if_match='"v2"'),
    case("§13.1.1 If-Match applies to GET (pass)", "GET", STRONG, PROCEED, if_match='"v1"'),
    case("§13.1.1 If-Match applies to GET (fail)", "GET", STRONG, FAILED, if_match='"v2"'),
    case("§13.1.1 If-Match applies to POST", "POST", STRONG, FAILED, if_match='"v2"'),
    case("§13.1.1 If-Match applies to DELETE", "DELETE", STRONG, PROCEED, if_match='"v1"'),
    case(
        "§8.8.3.2 If-Match weak request tag never matches", "PUT", STRONG, FAILED, if_match='W/"v1"'
    ),
    case("§8.8.3.2 If-Match weak current tag never matches", "PUT", WEAK, FAILED, if_match='"v1"'),
    case(
        "§8.8.3.2 If-Match weak on both sides never matches", "PUT", WEAK, FAILED, if_match='W/"v1"'
    ),
    case(
        "§13.1.1 If-Match * passes when the resource exists", "PUT", STRONG, PROCEED, if_match="*"
    ),
    case(
        "§13.1.1 If-Match * passes for a weak-tagged resource", "PUT", WEAK, PROCEED, if_match="*"
    ),
    case(
        "§13.1.1 If-Match * passes for an untagged resource",
        "PUT",
        DATE_ONLY,
        PROCEED,
        if_match="*",
    ),
    case("§13.1.1 If-Match * fails on a missing resource", "PUT", MISSING, FAILED, if_match="*"),
    case(
        "§13.1.1 If-Match * fails on a missing resource for GET",
        "GET",
        MISSING,
        FAILED,
        if_match="*",
    ),
    case(
        "§13.1.1 If-Match tag fails on a missing resource", "PUT", MISSING, FAILED, if_match='"v1"'
    ),
    case(
        "§13.1.1 If-Match tag fails on an untagged resource",
        "PUT",
        DATE_ONLY,
        FAILED,
        if_match='"v1"',
    ),
    case("§13.1.1 If-Match list member matches", "PUT", STRONG, PROCEED, if_match='"a", "v1", "b"'),
    case(
        "§5.6.1 If-Match list with odd whitespace and empty elements",
        "PUT",
        STRONG,
        PROCEED,
        if_match=' ,\t "a" ,, "v1"  , ',
    ),
    case("§13.1.1 If-Match list without the tag fails", "PUT", STRONG, FAILED, if_match='"a", "b"'),
    case(
        "§13.1.1 If-Match list of weak tags fails", "PUT", STRONG, FAILED, if_match='W/"a", W/"v1"'
    ),
    case("§8.8.3 If-Match unquoted tag never matches", "PUT", STRONG, FAILED, if_match="v1"),
    case("§8.8.3 If-Match unterminated quote never matches", "PUT", STRONG, FAILED, if_match='"v1'),
    case(
        "§8.8.3 If-Match valid tag beside garbage never matches",
        "PUT",
        STRONG,
        FAILED,
        if_match='"v1", garbage',
    ),
    case(
        "§8.8.3 If-Match tags without comma never match", "PUT", STRONG, FAILED, if_match='"a" "v1"'
    ),
    case(
        "§8.8.3 If-Match lower-case w/ prefix is not a tag", "PUT", WEAK, FAILED, if_match='w/"v1"'
    ),
    case(
        "§13.1.1 If-Match quoted star is a tag, not a wildcard",
        "PUT",
        STRONG,
        FAILED,
        if_match='"*"',
    ),
    case(
        "§13.1.1 If-Match star inside a list is invalid", "PUT", STRONG, FAILED, if_match='"a", *'
    ),
    case("§13.1.1 If-Match empty field value matches nothing", "PUT", STRONG, FAILED, if_match=""),
]

IF_NONE_MATCH = [
    case(
        "§13.1.2 If-None-Match same tag answers 304 to GET",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_none_match='"v1"',
    ),
    case(
        "§13.1.2 If-None-Match same tag answers 304 to HEAD",
        "HEAD",
        STRONG,
        NOT_MODIFIED,
        if_none_match='"v1"',
    ),
    case("§13.1.2 If-None-Match other tag proceeds", "GET", STRONG, PROCEED, if_none_match='"v2"'),
    case(
        "§8.8.3.2 If-None-Match weak request tag matches strong",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_none_match='W/"v1"',
    ),
    case(
        "§8.8.3.2 If-None-Match strong request tag matches weak",
        "GET",
        WEAK,
        NOT_MODIFIED,
        if_none_match='"v1"',
    ),
    case(
        "§8.8.3.2 If-None-Match weak matches weak",
        "GET",
        WEAK,
        NOT_MODIFIED,
        if_none_match='W/"v1"',
    ),
    case(
        "§13.1.2 If-None-Match list member matches",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_none_match='"a", "v1"',
    ),
    case(
        "§5.6.1 If-None-Match list with odd whitespace and empty elements",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_none_match=' ,  "a" ,,\tW/"v1" ,',
    ),
    case(
        "§13.1.2 If-None-Match list without the tag proceeds",
        "GET",
        STRONG,
        PROCEED,
        if_none_match='"a", W/"b"',
    ),
    case("§13.1.2 If-None-Match garbage proceeds", "GET", STRONG, PROCEED, if_none_match="garbage"),
    case(
        "§13.1.2 If-None-Match * answers 304 when the resource exists",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_none_match="*",
    ),
    case(
        "§13.1.2 If-None-Match * answers 304 for an untagged resource",
        "GET",
        DATE_ONLY,
        NOT_MODIFIED,
        if_none_match="*",
    ),
    case(
        "§13.1.2 If-None-Match * on a missing resource proceeds",
        "GET",
        MISSING,
        PROCEED,
        if_none_match="*",
    ),
    case(
        "§13.1.2 If-None-Match tag on a missing resource proceeds",
        "GET",
        MISSING,
        PROCEED,
        if_none_match='"v1"',
    ),
    case(
        "§13.1.2 If-None-Match match answers 412 to PUT",
        "PUT",
        STRONG,
        FAILED,
        if_none_match='"v1"',
    ),
    case(
        "§13.1.2 If-None-Match match answers 412 to POST",
        "POST",
        STRONG,
        FAILED,
        if_none_match='"v1"',
    ),
    case(
        "§13.1.2 If-None-Match match answers 412 to DELETE",
        "DELETE",
        STRONG,
        FAILED,
        if_none_match='W/"v1"',
    ),
    case(
        "§13.1.2 If-None-Match match answers 412 to PATCH",
        "PATCH",
        STRONG,
        FAILED,
        if_none_match='"v1"',
    ),
    case(
        "§13.1.2 If-None-Match other tag lets PUT proceed",
        "PUT",
        STRONG,
        PROCEED,
        if_none_match='"v2"',
    ),
    case(
        "§13.1.2 If-None-Match * on PUT to a missing resource creates",
        "PUT",
        MISSING,
        PROCEED,
        if_none_match="*",
    ),
    case(
        "§13.1.2 If-None-Match * on PUT to an existing resource fails",
        "PUT",
        STRONG,
        FAILED,
        if_none_match="*",
    ),
]

DATES = [
    case("§13.1.4 If-Unmodified-Since equal date proceeds", "PUT", DATED, PROCEED, ius=AT_T),
    case("§13.1.4 If-Unmodified-Since later date proceeds", "PUT", DATED, PROCEED, ius=AFTER_T),
    case("§13.1.4 If-Unmodified-Since earlier date fails", "PUT", DATED, FAILED, ius=BEFORE_T),
    case("§5.6.7 If-Unmodified-Since rfc850-date", "PUT", DATED, FAILED, ius=BEFORE_T_RFC850),
    case("§5.6.7 If-Unmodified-Since asctime-date", "PUT", DATED, FAILED, ius=BEFORE_T_ASCTIME),
    case("§13.1.4 If-Unmodified-Since applies to GET", "GET", DATED, FAILED, ius=BEFORE_T),
    case(
        "§13.1.4 If-Unmodified-Since without Last-Modified is ignored",
        "PUT",
        STRONG,
        PROCEED,
        ius=BEFORE_T,
    ),
    case(
        "§13.1.4 If-Unmodified-Since ignored when If-Match present",
        "PUT",
        DATED,
        PROCEED,
        if_match='"v1"',
        ius=BEFORE_T,
    ),
    case(
        "§13.2.2 failed If-Match wins over a passing If-Unmodified-Since",
        "PUT",
        DATED,
        FAILED,
        if_match='"v2"',
        ius=AFTER_T,
    ),
    case("§13.1.3 If-Modified-Since equal date answers 304", "GET", DATED, NOT_MODIFIED, ims=AT_T),
    case(
        "§13.1.3 If-Modified-Since later date answers 304", "GET", DATED, NOT_MODIFIED, ims=AFTER_T
    ),
    case("§13.1.3 If-Modified-Since earlier date proceeds", "GET", DATED, PROCEED, ims=BEFORE_T),
    case("§5.6.7 If-Modified-Since rfc850-date", "GET", DATED, NOT_MODIFIED, ims=AT_T_RFC850),
    case("§5.6.7 If-Modified-Since asctime-date", "HEAD", DATED, NOT_MODIFIED, ims=AT_T_ASCTIME),
    case(
        "§5.6.7 If-Modified-Since rfc850-date earlier proceeds",
        "GET",
        DATED,
        PROCEED,
        ims=BEFORE_T_RFC850,
    ),
    case("§13.1.3 If-Modified-Since ignored for PUT", "PUT", DATED, PROCEED, ims=AT_T),
    case("§13.1.3 If-Modified-Since ignored for POST", "POST", DATED, PROCEED, ims=AFTER_T),
    case("§13.1.3 If-Modified-Since ignored for DELETE", "DELETE", DATED, PROCEED, ims=AT_T),
    case(
        "§13.1.3 If-Modified-Since without Last-Modified is ignored",
        "GET",
        STRONG,
        PROCEED,
        ims=AFTER_T,
    ),
    case(
        "§13.1.3 If-Modified-Since on a missing resource proceeds",
        "GET",
        MISSING,
        PROCEED,
        ims=AFTER_T,
    ),
    case(
        "§13.1.3 If-Modified-Since ignored when If-None-Match present",
        "GET",
        DATED,
        PROCEED,
        if_none_match='"v2"',
        ims=AFTER_T,
    ),
    case(
        "§13.1.3 If-None-Match match answers 304 whatever If-Modified-Since says",
        "GET",
        DATED,
        NOT_MODIFIED,
        if_none_match='"v1"',
        ims=BEFORE_T,
    ),
]

PRECEDENCE = [
    case("§13.2.2 no conditional headers proceeds", "PUT", STRONG, PROCEED),
    case(
        "§13.2.2 step 1 If-Match fails before If-None-Match",
        "GET",
        STRONG,
        FAILED,
        if_match='"v2"',
        if_none_match='"v1"',
    ),
    case(
        "§13.2.2 step 1 passes then step 3 If-None-Match answers 304",
        "GET",
        STRONG,
        NOT_MODIFIED,
        if_match='"v1"',
        if_none_match='"v1"',
    ),
    case(
        "§13.2.2 step 1 passes then step 3 If-None-Match answers 412 to PUT",
        "PUT",
        STRONG,
        FAILED,
        if_match='"v1"',
        if_none_match='W/"v1"',
    ),
    case(
        "§13.2.2 step 2 If-Unmodified-Since fails before If-None-Match",
        "GET",
        DATED,
        FAILED,
        ius=BEFORE_T,
        if_none_match='"v1"',
    ),
    case(
        "§13.2.2 step 2 If-Unmodified-Since fails before If-Modified-Since",
        "GET",
        DATED,
        FAILED,
        ius=BEFORE_T,
        ims=AT_T,
    ),
    case(
        "§13.2.2 step 2 passes then step 4 If-Modified-Since answers 304",
        "GET",
        DATED,
        NOT_MODIFIED,
        ius=AT_T,
        ims=AT_T,
    ),
    case(
        "§13.2.2 step 1 passes, all steps pass, proceeds",
        "GET",
        DATED,
        PROCEED,
        if_match='"v1"',
        if_none_match='"v2"',
    ),
    case(
        "§13.2.2 step 1 fails before a matching If-Modified-Since",
        "GET",
        DATED,
        FAILED,
        if_match='"v2"',
        ims=AT_T,
    ),
    case("§13.2.1 OPTIONS ignores a failing If-Match", "OPTIONS", STRONG, PROCEED, if_match='"v2"'),
    case(
        "§13.2.1 OPTIONS ignores a matching If-None-Match",
        "OPTIONS",
        STRONG,
        PROCEED,
        if_none_match="*",
    ),
    case(
        "§13.2.1 TRACE ignores preconditions",
        "TRACE",
        DATED,
        PROCEED,
        if_match='"v2"',
        ius=BEFORE_T,
        if_none_match='"v1"',
    ),
    case("§13.2.1 CONNECT ignores preconditions", "CONNECT", STRONG, PROCEED, if_none_match='"v1"'),
]


@pytest.mark.parametrize(
    ("method", "current", "preconditions", "expected"),
    IF_MATCH + IF_NONE_MATCH + DATES + PRECEDENCE,
)
def test_evaluate_preconditions(
    method: str, current: Validators, preconditions: Preconditions, expected: Outcome
) -> None:
    assert evaluate_preconditions(method, preconditions, current) is expected


@pytest.mark.parametrize("value", INVALID_DATES)
@pytest.mark.parametrize(
    ("method", "field"),
    [
        pytest.param("GET", "ims", id="§13.1.3 If-Modified-Since"),
        pytest.param("PUT", "ius", id="§13.1.4 If-Unmodified-Since"),
    ],
)
def test_invalid_date_is_ignored(method: str, field: str, value: str) -> None:
    """§13.1.3/§13.1.4: a value that is not one valid HTTP-date is ignored, never an error."""
    fields = {"if_modified_since": value} if field == "ims" else {"if_unmodified_since": value}
    assert evaluate_preconditions(method, Preconditions(**fields), DATED) is PROCEED


def test_no_preconditions_object_proceeds() -> None:
    """A request without any conditional header is never refused."""
    assert evaluate_preconditions("DELETE", None, MISSING) is PROCEED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(AT_T, T, id="§5.6.7 IMF-fixdate"),
        pytest.param(AT_T_RFC850, T, id="§5.6.7 obsolete rfc850-date"),
        pytest.param(AT_T_ASCTIME, T, id="§5.6.7 obsolete asctime-date"),
        pytest.param(
            "Mon May 16 07:08:09 2024", T + timedelta(days=10), id="§5.6.7 asctime 2-digit day"
        ),
        pytest.param(f"  {AT_T} ", T, id="§5.5 surrounding whitespace"),
        *[pytest.param(p.values[0], None, id=f"§5.6.7 invalid: {p.id}") for p in INVALID_DATES],
    ],
)
def test_parse_http_date(value: str, expected: datetime | None) -> None:
    assert parse_http_date(value) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(T.replace(microsecond=999_999), T, id="§8.8.2 drops sub-second part"),
        pytest.param(T.replace(tzinfo=None), T, id="naive datetimes are UTC"),
        pytest.param(
            T.astimezone(timezone(timedelta(hours=2))), T, id="other offsets converted to UTC"
        ),
    ],
)
def test_utc_seconds(moment: datetime, expected: datetime) -> None:
    result = utc_seconds(moment)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field_value", "current", "expected"),
    [
        pytest.param('"v1"', STRONG, True, id="§13.1.5 strong tag match allows 206"),
        pytest.param('  "v1" ', STRONG, True, id="§13.1.5 surrounding whitespace"),
        pytest.param('"v2"', STRONG, False, id="§13.1.5 other tag sends 200"),
        pytest.param('W/"v1"', STRONG, False, id="§13.1.5 weak request tag sends 200"),
        pytest.param('"v1"', WEAK, False, id="§13.1.5 weak current tag sends 200"),
        pytest.param('"v1"', DATE_ONLY, False, id="§13.1.5 tag against untagged sends 200"),
        pytest.param('"v1", "v2"', STRONG, False, id="§13.1.5 a list is not one tag"),
        pytest.param(AT_T, DATED, True, id="§13.1.5 exact date match allows 206"),
        pytest.param(AT_T_RFC850, DATED, True, id="§13.1.5 rfc850 exact date allows 206"),
        pytest.param(BEFORE_T, DATED, False, id="§13.1.5 earlier date sends 200"),
        pytest.param(AFTER_T, DATED, False, id="§13.1.5 later date sends 200"),
        pytest.param(AT_T, STRONG, False, id="§13.1.5 date without Last-Modified sends 200"),
        pytest.param("v1", STRONG, False, id="§13.1.5 unquoted value sends 200"),
        pytest.param('"', STRONG, False, id="§13.1.5 lone quote sends 200"),
        pytest.param("", STRONG, False, id="§13.1.5 empty value sends 200"),
        pytest.param("*", STRONG, False, id="§13.1.5 star is not a validator"),
    ],
)
def test_if_range_allows_partial(field_value: str, current: Validators, expected: bool) -> None:
    assert if_range_allows_partial(field_value, current) is expected


@pytest.mark.parametrize(
    ("value", "strong", "weak", "star"),
    [
        pytest.param("*", set(), set(), True, id="§13.1.1 star"),
        pytest.param(" * ", set(), set(), True, id="§5.5 star with whitespace"),
        pytest.param('"a", W/"b"', {"a"}, {"b"}, False, id="§8.8.3 strong and weak"),
        pytest.param(' ,\t"a" ,, "b",', {"a", "b"}, set(), False, id="§5.6.1 empty elements"),
        pytest.param('""', {""}, set(), False, id="§8.8.3 empty opaque-tag is valid"),
        pytest.param("", set(), set(), False, id="§5.6.1 empty list"),
        pytest.param("a", set(), set(), False, id="§8.8.3 unquoted is invalid"),
        pytest.param('"a" "b"', set(), set(), False, id="§5.6.1 missing comma is invalid"),
        pytest.param('"a", b', set(), set(), False, id="§8.8.3 one bad member spoils the list"),
        pytest.param('w/"a"', set(), set(), False, id="§8.8.3 W/ is case-sensitive"),
        pytest.param('"a b"', set(), set(), False, id="§8.8.3 space is not etagc"),
        pytest.param('"a"b"', set(), set(), False, id="§8.8.3 inner quote is invalid"),
        pytest.param('"é"', set(), set(), False, id="§8.8.3 obs-text not accepted"),
        pytest.param('"a", *', set(), set(), False, id="§13.1.1 star only alone"),
    ],
)
def test_parse_entity_tag_list(value: str, strong: set[str], weak: set[str], star: bool) -> None:
    tags = parse_entity_tag_list(value)
    assert tags.star_tag is star
    assert tags.as_set() == strong
    assert tags.as_set(include_weak=True) - tags.as_set() == weak


#: RFC 9110 §8.8.3: entity-tag = [ weakness ] opaque-tag, opaque-tag = DQUOTE *etagc DQUOTE.
VALID_ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')

AWKWARD_VERSIONS = [
    pytest.param('a"b', id="quote"),
    pytest.param("1\r\nSet-Cookie: stolen=1", id="CR LF header injection"),
    pytest.param("1\nX: y", id="bare LF"),
    pytest.param("naïve-é-中文", id="non-ASCII"),
    pytest.param("\udcff", id="lone surrogate"),
    pytest.param("x" * 129, id="129 chars (too long)"),
    pytest.param("x" * 10_000, id="very long"),
    pytest.param("", id="empty"),
    pytest.param(" ", id="space"),
    pytest.param("a,b", id="comma (etagc, but fine)"),
    pytest.param("\x00\x7f", id="control characters"),
    pytest.param(b"bytes", id="bytes object"),
    pytest.param(3.5, id="float"),
]


@pytest.mark.parametrize("version", AWKWARD_VERSIONS)
@pytest.mark.parametrize("weak", [False, True], ids=["strong", "weak"])
def test_opaque_tag_is_always_a_valid_entity_tag(version: object, weak: bool) -> None:
    """§8.8.3: whatever the version, the header value is one valid entity-tag, non-empty."""
    header = format_entity_tag(opaque_tag_for(version), weak)
    assert VALID_ENTITY_TAG.fullmatch(header)
    assert header != '""' and header != 'W/""'
    parsed = parse_entity_tag_list(header)
    assert parsed.contains_weak(opaque_tag_for(version))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param(17, "17", id="int kept readable"),
        pytest.param("rev-9f", "rev-9f", id="safe string kept"),
        pytest.param("x" * 128, "x" * 128, id="128 chars kept"),
        pytest.param("a,b", "a,b", id="comma is etagc"),
    ],
)
def test_safe_versions_are_used_as_they_are(version: object, expected: str) -> None:
    assert opaque_tag_for(version) == expected


def test_awkward_versions_get_distinct_tags() -> None:
    """Hashing keeps different versions apart, so a change still changes the tag."""
    versions = [p.values[0] for p in AWKWARD_VERSIONS]
    tags = [opaque_tag_for(v) for v in versions]
    assert len(set(tags)) == len(tags)


def test_opaque_tags_are_deterministic_across_processes() -> None:
    """§8.8.3: the same version gives the same tag in another process (no hash seeding)."""
    values = ["1\r\nX: y", "naïve-é", "x" * 500, "17"]
    script = (
        "import sys; from flask_etag.tags import opaque_tag_for; "
        f"print('\\n'.join(opaque_tag_for(v) for v in {values!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
        timeout=60,
    )
    assert result.stdout.split() == [opaque_tag_for(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.integers(), st.binary()))
def test_any_version_gives_a_header_safe_tag(version: object) -> None:
    """§8.8.3, issue rule 10: never a header injection, whatever a lookup returns."""
    opaque = opaque_tag_for(version)
    assert VALID_ENTITY_TAG.fullmatch(format_entity_tag(opaque, False))
    assert opaque == opaque_tag_for(version)


HEADER_TEXT = st.text(alphabet=st.characters(codec="latin-1"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]),
    st.builds(Preconditions, HEADER_TEXT, HEADER_TEXT, HEADER_TEXT, HEADER_TEXT),
    st.sampled_from([STRONG, WEAK, DATED, DATE_ONLY, MISSING]),
)
def test_malformed_headers_never_raise(
    method: str, preconditions: Preconditions, current: Validators
) -> None:
    """Issue rule 10: any header text gives an outcome, never an exception (so never a 5xx)."""
    assert isinstance(evaluate_preconditions(method, preconditions, current), Outcome)
    assert isinstance(if_range_allows_partial(preconditions.if_match or "", current), bool)
