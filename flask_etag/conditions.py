"""Pure RFC 9110 §13 evaluation: request preconditions against the current validators.

Inputs are the raw conditional header values and the selected representation's validators;
the output is whether to proceed, answer 304 or answer 412.  No Flask import, so every rule
can be tested as a table.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from werkzeug.http import http_date

from .tags import (
    FOLD_LENGTH,
    VARIANT_SEPARATOR,
    format_entity_tag,
    parse_entity_tag_list,
    strip_coding,
    strip_proxy_coding,
)

SAFE_METHODS = frozenset({"GET", "HEAD"})

#: RFC 9110 §13.2.1: methods that neither select nor modify a representation ignore preconditions.
IGNORED_METHODS = frozenset({"OPTIONS", "CONNECT", "TRACE"})

_DAY = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_LONG_DAY = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "|".join(_MONTHS)
_TIME = r"(\d{2}):(\d{2}):(\d{2})"

#: The three HTTP-date forms of RFC 9110 §5.6.7, exactly: IMF-fixdate, rfc850-date, and
#: asctime-date; groups are day, month, year, hour, minute, second.
_IMF_FIXDATE = re.compile(rf"(?:{_DAY}), (\d{{2}}) ({_MONTH}) (\d{{4}}) {_TIME} GMT")
_RFC850_DATE = re.compile(rf"(?:{_LONG_DAY}), (\d{{2}})-({_MONTH})-(\d{{2}}) {_TIME} GMT")
_ASCTIME_DATE = re.compile(rf"(?:{_DAY}) ({_MONTH}) ([ \d]\d) {_TIME} (\d{{4}})")


class Outcome(enum.Enum):
    """What RFC 9110 §13.2.2 decides for a request."""

    PROCEED = "proceed"
    NOT_MODIFIED = "304"
    PRECONDITION_FAILED = "412"


@dataclass(frozen=True)
class Validators:
    """The selected representation's validators (RFC 9110 §8.8).

    ``etag`` is the opaque-tag without quotes; ``last_modified`` is aware UTC.  ``exists`` is
    false when the target resource has no current representation.
    """

    etag: str | None = None
    weak: bool = False
    last_modified: datetime | None = None
    exists: bool = True
    #: On a route with ``vary=``, the opaque-tag of the resource state the representation was
    #: negotiated from; ``etag`` then also names the request's negotiated fields.
    state: str | None = None
    #: Whether the second of ``last_modified`` was over when it was read.  A second still
    #: running may hold another change, which a date cannot tell apart (§8.8.2.2): such a
    #: date is not sent, and decides no 304 and no partial response by itself.
    second_over: bool = True

    @property
    def etag_header(self) -> str | None:
        """The value for the ``ETag`` response header, or None when there is no tag."""
        return None if self.etag is None else format_entity_tag(self.etag, self.weak)

    @property
    def date_field(self) -> str | None:
        """The ``Last-Modified`` a response of this state sends: None where the state has no
        date (a view's own then stands, as it is judged by it); ``""`` where its date is
        withheld while its second runs (§8.8.2.2), so no view's date is sent either: every
        date is judged by the state's (§13.1.3, §13.1.4)."""
        modified = self.last_modified
        if modified is None:
            return None
        return http_date(modified) if self.second_over else ""


MISSING = Validators(exists=False)


#: Where stage 1 leaves a request's preconditions in its WSGI environ once it has taken the
#: fields out: a namespaced key, as PEP 3333 asks of extensions.
PRECONDITIONS_KEY = "flask_etag.preconditions"


class Preconditions(NamedTuple):
    """The raw conditional header field values of a request; None where absent.

    A named tuple rather than a frozen dataclass: one is built for every conditional request,
    and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) costs several
    times as much as reading the four fields.
    """

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None

    @classmethod
    def take_from(cls, environ: dict[str, object]) -> Preconditions | None:
        """Take the four fields out of a WSGI environ; None when the request has none of them.

        Taken, not read: once the extension has them, no one else judges them again (see
        :func:`flask_etag.exchange.read_preconditions`).
        """
        if_match = environ.pop("HTTP_IF_MATCH", None)
        if_none_match = environ.pop("HTTP_IF_NONE_MATCH", None)
        if_modified_since = environ.pop("HTTP_IF_MODIFIED_SINCE", None)
        if_unmodified_since = environ.pop("HTTP_IF_UNMODIFIED_SINCE", None)
        if if_match is if_none_match is if_modified_since is if_unmodified_since is None:
            return None
        return cls(if_match, if_none_match, if_modified_since, if_unmodified_since)  # type: ignore[arg-type]

    @property
    def asks_for_write_guard(self) -> bool:
        """True when the request carries ``If-Match`` or ``If-None-Match: *`` (RFC 6585 §3)."""
        return self.if_match is not None or self.asks_for_absence

    @property
    def asks_for_absence(self) -> bool:
        """``If-None-Match: *``: create only if no representation exists (RFC 9110 §13.1.2)."""
        return self.if_none_match is not None and self.if_none_match.strip(" \t") == "*"


def parse_http_date(value: str | None) -> datetime | None:
    """Parse one HTTP-date (RFC 9110 §5.6.7); None for anything else, lists included.

    Only the three forms of the grammar, with real day and month names; a year is read as
    written (``0068`` is year 68), and a two-digit rfc850 year more than 50 years ahead is
    the last such year in the past.  A field that is not one HTTP-date must be ignored
    (§13.1.3, §13.1.4), so anything else is None, never an error.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if match := _IMF_FIXDATE.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
    elif match := _RFC850_DATE.fullmatch(text):
        day, month, short_year, hour, minute, second = match.groups()
        year = str(_full_year(int(short_year)))
    elif match := _ASCTIME_DATE.fullmatch(text):
        month, day, hour, minute, second, year = match.groups()
    else:
        return None
    try:
        moment = datetime(
            int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second)
        )
    except ValueError:  # no such day or time (31 Feb, 25:00), or year 0
        return None
    return moment.replace(tzinfo=timezone.utc)


def _full_year(short_year: int) -> int:
    """§5.6.7: a two-digit year more than 50 years ahead is the last such year in the past."""
    this_year = datetime.now(timezone.utc).year
    year = this_year - this_year % 100 + short_year
    return year - 100 if year > this_year + 50 else year


def if_match_passes(field_value: str, current: Validators, accept_weakened: bool = False) -> bool:
    """RFC 9110 §13.1.1: strong comparison; ``*`` is true only when a representation exists.

    If-Match asks whether the resource changed, so a listed tag of the same state passes
    whatever content coding or negotiated fields it was sent for (:func:`names_state`).

    :param accept_weakened: ``ETAG_ACCEPT_WEAKENED``: also accept the forms intermediaries
        make of this server's own strong tag, ``W/"x"`` and ``"x-gzip"``.  §13.1.1 asks for
        strong comparison; a client behind such a proxy could otherwise never write.  The
        trade-off: a weak tag names a state, not the bytes, so only routes whose tags are
        versions (or whose bodies are the state) should opt in.
    """
    tags = parse_entity_tag_list(field_value)
    if tags.star_tag:
        return current.exists
    if not current.exists or current.etag is None or current.weak:
        return False
    if tags.is_strong(current.etag):
        return True
    if any(names_state(tag, current) for tag in tags.as_set()):
        return True
    return accept_weakened and any(
        names_state(strip_proxy_coding(tag), current) for tag in tags.as_set(include_weak=True)
    )


def if_none_match_matches(field_value: str, current: Validators) -> bool:
    """RFC 9110 §13.1.2: weak comparison; ``*`` matches any current representation.

    A listed tag that is the current one plus a content-coding suffix (``"x:gzip"``) names
    the coded form of the same representation, so it matches too.
    """
    if not current.exists:
        return False
    if current.etag is not None and field_value == format_entity_tag(current.etag, current.weak):
        return True  # the common single-tag revalidation, without parsing a list
    tags = parse_entity_tag_list(field_value)
    if tags.star_tag:
        return True
    if current.etag is None:
        return False
    return tags.contains_weak(current.etag) or any(
        current.etag in (strip_coding(tag), strip_proxy_coding(tag))
        for tag in tags.as_set(include_weak=True)
    )


def names_state(opaque: str, current: Validators) -> bool:
    """True when ``opaque`` is a tag this server made for the current resource state.

    That is the current tag itself, its content-coded form (``"x:gzip"``), the tag of the
    same state folded (:mod:`flask_etag.folding`) for other request fields, scopes or
    releases, by this route or by the resource's GET view beside it, or the bare state
    itself: the tag the route sent before the deploy that first set ``ETAG_RELEASE`` or
    ``ETAG_SCOPE``.  Only ``If-Match`` asks this (whether the state changed, RFC 9110
    §13.1.1); ``If-None-Match`` compares representations.
    """
    base = strip_coding(opaque)
    if base == current.etag:
        return True
    if current.etag is None:
        return False
    # A route that folds nothing (state None) still accepts its state folded: the GET of
    # the same resource may be another view, with a vary= or scope= this write lacks.
    state = current.etag if current.state is None else current.state
    return base == state or (
        len(base) == len(state) + FOLD_LENGTH and base.startswith(state + VARIANT_SEPARATOR)
    )


def unmodified_since(field_value: str, current: Validators) -> bool | None:
    """RFC 9110 §13.1.4; None when the field must be ignored (bad date, no Last-Modified).

    A date in a second still running may be followed by another change in it: that second
    counts as modified, so a write is never let through on a date that cannot tell.
    """
    since = parse_http_date(field_value)
    if since is None or current.last_modified is None:
        return None
    if current.second_over:
        return current.last_modified <= since
    return current.last_modified < since


def _modified_since(field_value: str, current: Validators) -> bool | None:
    """RFC 9110 §13.1.3; None when the field must be ignored (bad date, no Last-Modified).

    §8.8.2.2: a date names a whole second, so one in a second still running counts as
    modified: another change may yet come in it, and a 304 would keep it from the client.
    """
    since = parse_http_date(field_value)
    if since is None or current.last_modified is None:
        return None
    if current.second_over:
        return current.last_modified > since
    return current.last_modified >= since


def is_exact_revalidation(preconditions: Preconditions, etag_header: str) -> bool:
    """True for the usual revalidation: only ``If-None-Match``, holding exactly the current tag.

    §13.2.2 then has nothing to check at steps 1 and 2 (no If-Match, no If-Unmodified-Since)
    and step 3 matches (§13.1.2, weak comparison), so a GET or HEAD is answered 304, and
    If-Modified-Since is ignored.  One string comparison decides what
    :func:`evaluate_preconditions` would, without building the Validators it needs.
    """
    return (
        preconditions.if_none_match == etag_header
        and preconditions.if_match is None
        and preconditions.if_unmodified_since is None
    )


def evaluate_preconditions(
    method: str,
    preconditions: Preconditions | None,
    current: Validators,
    accept_weakened: bool = False,
) -> Outcome:
    """Decide a request by the precedence of RFC 9110 §13.2.2, steps 1 to 4.

    The caller applies this only where the response would otherwise be 2xx (§13.2.1).
    ``accept_weakened`` is ``ETAG_ACCEPT_WEAKENED`` (:func:`if_match_passes`).
    """
    if preconditions is None or method in IGNORED_METHODS:
        return Outcome.PROCEED
    if preconditions.if_match is not None:
        if not if_match_passes(preconditions.if_match, current, accept_weakened):
            return Outcome.PRECONDITION_FAILED
    elif preconditions.if_unmodified_since is not None:
        if unmodified_since(preconditions.if_unmodified_since, current) is False:
            return Outcome.PRECONDITION_FAILED
    safe = method in SAFE_METHODS
    if preconditions.if_none_match is not None:
        if if_none_match_matches(preconditions.if_none_match, current):
            return Outcome.NOT_MODIFIED if safe else Outcome.PRECONDITION_FAILED
    elif safe and preconditions.if_modified_since is not None:
        if _modified_since(preconditions.if_modified_since, current) is False:
            return Outcome.NOT_MODIFIED
    return Outcome.PROCEED


def if_range_allows_partial(field_value: str, current: Validators) -> bool:
    """RFC 9110 §13.1.5: a partial response needs a strong tag match or an exact date match.

    A weak tag on either side, or a value that is neither an entity-tag nor an HTTP-date,
    never matches, so the whole representation is sent.
    """
    date = parse_http_date(field_value)
    if date is not None:  # a strong date only: its second over (§13.1.5, §8.8.2.2)
        return current.second_over and current.last_modified == date
    value = field_value.strip()
    if len(value) < 2 or value[0] != '"' or value[-1] != '"' or current.weak:
        return False
    return current.etag is not None and value[1:-1] == current.etag


def last_modified_at(moment: datetime, now: datetime) -> tuple[datetime, bool]:
    """A modification time as a ``Last-Modified`` carries it: whole seconds in UTC, never
    later than ``now`` (RFC 9110 §8.8.2.1); and whether its second is over at ``now``, so
    that no other change can fall in it (:attr:`Validators.second_over`, §8.8.2.2)."""
    second, current_second = utc_seconds(min(moment, now)), utc_seconds(now)
    return second, second < current_second


def utc_seconds(moment: datetime) -> datetime:
    """Aware UTC at one-second resolution, as HTTP dates carry it (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    else:
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:  # before 0001-01-01T00:00Z, which no HTTP-date precedes
            return _FIRST_INSTANT
    return moment.replace(microsecond=0)


#: The first instant an HTTP-date names (§5.6.7), which an instant before it is sent as:
#: every date a client can send compares with it as with that instant.
_FIRST_INSTANT = datetime.min.replace(tzinfo=timezone.utc)
