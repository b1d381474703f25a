"""Mutation check: every mutant below is a realistic bug, and the test suite must catch each one.

Run it from the repository root, with the project's virtualenv::

    .venv/bin/python tests/mutants/run.py            # hinted test first, whole suite if it passes
    .venv/bin/python tests/mutants/run.py --full     # the whole suite for every mutant (slower)
    .venv/bin/python tests/mutants/run.py --only 304-without-etag
    .venv/bin/python tests/mutants/run.py --suite-passed  # the suite just passed (.ci/run)
    .venv/bin/python tests/mutants/run.py -- --deselect tests/test_x.py::test_y  # pytest args

For each mutant it copies ``flask_etag/`` to a temporary directory, replaces one snippet in
one module, and runs pytest (``-x -m "not slow" --hypothesis-seed=0``) with the copy first on
``PYTHONPATH``; the ``mutant_plugin`` beside this file stops the run unless the copy is what
was imported (the package is installed editable).  A mutant is killed when a test fails.
A test that starts its own interpreter from the repository root (``python -c``) imports the
repository's package, not the copy, so it can never kill a mutant: a killer runs in-process.
The test named in the mutant's ``killer`` runs first, because it is quick; only if it passes
does the whole suite run (and the table says the hint needs updating).  Before any mutant,
the unmutated copy must pass the whole suite and every killer (in two runs, see
:func:`killer_runs`), or a "kill" would mean nothing; ``--suite-passed`` skips the whole
suite there, for ``.ci/run``, which has just run it on the same code.  The whole check
(192 mutants) takes ten to twenty minutes on a two-core machine, so ``.ci/run`` runs it
after the test suite.

A new mutant is a realistic bug the suite must catch: if it survives, write the sharp test
that kills it first (``tests/test_precedence.py`` holds several), then add it here.

Exit status: 0 when every mutant is killed, 1 when one survives, 2 when the check itself
cannot be trusted (a snippet not found exactly once, so the list needs updating after a
change of the code; the unmutated suite failing; the wrong module imported).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE = ROOT / "flask_etag"
PYTEST_OPTIONS = (
    "-x",
    "-q",
    "-p",
    "no:cacheprovider",
    "-m",
    "not slow",
    "-p",
    "mutant_plugin",
    # One sequence of examples for every run, so that a kill can be reproduced.
    "--hypothesis-seed=0",
)

PRECEDENCE_READS = "tests/test_precedence.py::test_reads_follow_the_order_of_evaluation"
PRECEDENCE_WEAK = (
    "tests/test_precedence.py::test_reads_of_a_weak_tag_follow_the_order_of_evaluation"
)
PRECEDENCE_WRITES = "tests/test_precedence.py::test_writes_follow_the_order_of_evaluation"


@dataclass(frozen=True)
class Mutant:
    """One bug: ``original`` (found exactly once in ``module``) becomes ``replacement``.

    ``killer`` is the test expected to catch it, narrowed by the ``-k`` expression ``keyword``.
    """

    name: str
    module: str
    original: str
    replacement: str
    bug: str
    killer: str
    keyword: str = ""

    @property
    def selection(self) -> list[str]:
        return [self.killer, *(["-k", self.keyword] if self.keyword else [])]


MUTANTS = [
    # ------------------------------------------------------------------ conditions.py
    Mutant(
        "exact-revalidation-ignores-if-match",
        "conditions",
        "        preconditions.if_none_match == etag_header\n"
        "        and preconditions.if_match is None\n",
        "        preconditions.if_none_match == etag_header\n",
        "is_exact_revalidation forgets If-Match: current INM + stale If-Match answers 304",
        PRECEDENCE_READS,
        "function-GET-app-hook-body and stale and before",
    ),
    Mutant(
        "exact-revalidation-ignores-if-unmodified-since",
        "conditions",
        "        and preconditions.if_match is None\n"
        "        and preconditions.if_unmodified_since is None\n",
        "        and preconditions.if_match is None\n",
        "is_exact_revalidation forgets If-Unmodified-Since: a file route answers 304, not 412",
        PRECEDENCE_READS,
        "function-GET-app-hook-file and earlier and before",
    ),
    Mutant(
        "if-match-weak-comparison",
        "conditions",
        "    if tags.is_strong(current.etag):\n",
        "    if tags.contains_weak(current.etag):\n",
        "If-Match compares weakly: W/ form of the current strong tag passes",
        PRECEDENCE_WRITES,
        "function and W/ and write",
    ),
    Mutant(
        "if-match-weak-current",
        "conditions",
        "    if not current.exists or current.etag is None or current.weak:\n",
        "    if not current.exists or current.etag is None:\n",
        "If-Match passes a weak current tag sent back in strong form",
        PRECEDENCE_WEAK,
        "function-GET and strong and form",
    ),
    Mutant(
        "if-match-star-ignores-existence",
        "conditions",
        "    if tags.star_tag:\n        return current.exists\n",
        "    if tags.star_tag:\n        return True\n",
        "If-Match: * passes on a missing resource, so a write creates it",
        PRECEDENCE_WRITES,
        "function and missing and If-Match",
    ),
    Mutant(
        "if-none-match-star-on-missing",
        "conditions",
        "    if not current.exists:\n        return False\n    if current.etag is not None",
        "    if current.etag is not None",
        "If-None-Match: * matches a missing resource, so create-only PUT is refused",
        PRECEDENCE_WRITES,
        "function and creates and missing",
    ),
    Mutant(
        "if-modified-since-on-writes",
        "conditions",
        "    elif safe and preconditions.if_modified_since is not None:\n",
        "    elif preconditions.if_modified_since is not None:\n",
        "If-Modified-Since applied to PUT (§13.2.2 step 4 is GET/HEAD only)",
        PRECEDENCE_WRITES,
        "function and step and 4",
    ),
    Mutant(
        "if-none-match-before-if-match",
        "conditions",
        "    if preconditions.if_match is not None:\n"
        "        if not if_match_passes(preconditions.if_match, current, accept_weakened):\n"
        "            return Outcome.PRECONDITION_FAILED\n"
        "    elif preconditions.if_unmodified_since is not None:\n"
        "        if unmodified_since(preconditions.if_unmodified_since, current) is False:\n"
        "            return Outcome.PRECONDITION_FAILED\n"
        "    safe = method in SAFE_METHODS\n"
        "    if preconditions.if_none_match is not None:\n"
        "        if if_none_match_matches(preconditions.if_none_match, current):\n"
        "            return Outcome.NOT_MODIFIED if safe else Outcome.PRECONDITION_FAILED\n"
        "    elif safe and preconditions.if_modified_since is not None:\n"
        "        if _modified_since(preconditions.if_modified_since, current) is False:\n"
        "            return Outcome.NOT_MODIFIED\n",
        "    safe = method in SAFE_METHODS\n"
        "    if preconditions.if_none_match is not None:\n"
        "        if if_none_match_matches(preconditions.if_none_match, current):\n"
        "            return Outcome.NOT_MODIFIED if safe else Outcome.PRECONDITION_FAILED\n"
        "    elif safe and preconditions.if_modified_since is not None:\n"
        "        if _modified_since(preconditions.if_modified_since, current) is False:\n"
        "            return Outcome.NOT_MODIFIED\n"
        "    if preconditions.if_match is not None:\n"
        "        if not if_match_passes(preconditions.if_match, current, accept_weakened):\n"
        "            return Outcome.PRECONDITION_FAILED\n"
        "    elif preconditions.if_unmodified_since is not None:\n"
        "        if unmodified_since(preconditions.if_unmodified_since, current) is False:\n"
        "            return Outcome.PRECONDITION_FAILED\n",
        "If-None-Match evaluated before If-Match: stale If-Match + matching INM answers 304",
        PRECEDENCE_READS,
        "function-GET-app-hook-version and stale and before",
    ),
    Mutant(
        "if-unmodified-since-strict",
        "conditions",
        "    return current.last_modified <= since\n",
        "    return current.last_modified < since\n",
        "If-Unmodified-Since equal to Last-Modified fails (<= became <)",
        PRECEDENCE_READS,
        "function-GET-app-hook-timestamp and equal and Unmodified",
    ),
    Mutant(
        "if-modified-since-inclusive",
        "conditions",
        "    return current.last_modified > since\n",
        "    return current.last_modified >= since\n",
        "If-Modified-Since equal to Last-Modified counts as modified (> became >=)",
        PRECEDENCE_READS,
        "function-GET-app-hook-timestamp and equal and 13.1.3",
    ),
    Mutant(
        "if-range-weak",
        "conditions",
        "    if len(value) < 2 or value[0] != '\"' or value[-1] != '\"' or current.weak:\n",
        "    if len(value) < 2 or value[0] != '\"' or value[-1] != '\"':\n",
        "If-Range accepts a weak current tag (§13.1.5 needs a strong match)",
        "tests/test_conditions.py",
        "if_range",
    ),
    Mutant(
        "http-date-list",
        "conditions",
        "    if match := _IMF_FIXDATE.fullmatch(text):\n",
        "    if match := _IMF_FIXDATE.match(text):\n",
        "parse_http_date accepts a list of dates (or trailing garbage) by its first date",
        "tests/test_conditions.py::test_parse_http_date",
    ),
    Mutant(
        "write-guard-ignores-inm-star",
        "conditions",
        "        return self.if_none_match is not None and ",
        "        return False and ",
        "If-None-Match: * is not taken as a write guard, so require_if_match answers 428",
        PRECEDENCE_WRITES,
        "function and 6585 and creates",
    ),
    # ------------------------------------------------------------------ pipeline.py
    Mutant(
        "ignored-methods-judged",
        "pipeline",
        "    if method in IGNORED_METHODS:  # §13.2.1: OPTIONS, CONNECT and TRACE ignore them\n"
        "        return view(**view_args)\n",
        "",
        "OPTIONS/TRACE go through the preconditions (require_if_match answers 428)",
        "tests/test_precedence.py::test_methods_that_ignore_preconditions",
        "function",
    ),
    Mutant(
        "428-on-reads",
        "pipeline",
        "    if exchange.safe:\n        response = _respond(exchange, view)\n",
        "    require_write_guard(exchange)\n"
        "    if exchange.safe:\n        response = _respond(exchange, view)\n",
        "require_if_match answers 428 to a plain GET",
        "tests/test_precedence.py::test_require_if_match_guards_writes_only",
        "function",
    ),
    Mutant(
        "428-any-conditional-header",
        "pipeline",
        "    if preconditions is None or not preconditions.asks_for_write_guard:\n",
        "    if preconditions is None:\n",
        "require_if_match accepts any conditional field (If-None-Match with a tag) as a guard",
        PRECEDENCE_WRITES,
        "function and 6585 and non-matching",
    ),
    Mutant(
        "428-if-match-only",
        "pipeline",
        "    if preconditions is None or not preconditions.asks_for_write_guard:\n",
        "    if preconditions is None or preconditions.if_match is None:\n",
        "require_if_match refuses If-None-Match: * (create only if absent) with 428",
        PRECEDENCE_WRITES,
        "function and 6585 and creates",
    ),
    Mutant(
        "lookup-skipped-on-a-plain-read",
        "pipeline",
        "        checked = generator.lookup(**exchange.view_args)\n",
        "        checked = None\n"
        "        if exchange.preconditions is not None:\n"
        "            checked = generator.lookup(**exchange.view_args)\n",
        "a read without preconditions skips the lookup, and the access check in it",
        "tests/test_pipeline.py::test_rfc9110_13_2_1_an_access_check_in_the_lookup_runs_on_every_request",
    ),
    Mutant(
        "exact-revalidation-before-view-ignores-if-match",
        "pipeline",
        "        if is_exact_revalidation(preconditions, etag_header):\n",
        "        if preconditions.if_none_match == etag_header:\n",
        "judge_before_view's 304 shortcut forgets If-Match: stale If-Match + current INM is 304",
        PRECEDENCE_READS,
        "function-GET-app-hook-version and stale and before",
    ),
    Mutant(
        "missing-get-judged",
        "pipeline",
        "    if preconditions is not None and (current.exists or not exchange.safe):\n",
        "    if preconditions is not None:\n",
        "a GET of a missing resource is judged before the view: 412 instead of its 404",
        "tests/test_rfc9110_get.py::test_missing_resource_answers_404_to_reads",
    ),
    Mutant(
        "view-date-may-fail-ignored",
        "pipeline",
        "            if _view_date_may_fail(preconditions, current):\n",
        "            if False:\n",
        "a 304 before the view skips the If-Unmodified-Since that send_file's date fails (step 2)",
        PRECEDENCE_READS,
        "function-GET-app-hook-file and version and earlier and before",
    ),
    Mutant(
        "304-without-etag",
        "pipeline",
        '        headers.add("ETag", held)\n',
        "        pass\n",
        "a 304 decided before the view carries no ETag (§15.4.5)",
        PRECEDENCE_READS,
        "function-GET-app-hook-version and 304 and step and 1",
    ),
    Mutant(
        "write-tagged-with-the-checked-state",
        "state_tags",
        "            value = generator.look_up_written(exchange.view_args)\n",
        "            value = checked\n",
        "a write's response carries the tag of the state before the write",
        "tests/test_rfc9110_writes.py::test_write_returns_the_tag_of_what_it_wrote",
        "function",
    ),
    Mutant(
        "201-tagged-as-its-target",
        "state_tags",
        "            if describes_another_resource(exchange.request, response):\n",
        "            if False:\n",
        "a 201 whose Location names the created item gets the collection's tag (§15.3.2)",
        "tests/test_rfc9110_writes.py::test_a_201_elsewhere_keeps_the_created_items_tag_rfc9110_15_3_2",
    ),
    Mutant(
        "report-outlives-its-view",
        "context",
        "    reported = environ.pop(REPORTED_KEY, UNSET)\n",
        "    reported = environ.get(REPORTED_KEY, UNSET)\n",
        "set_response_version() in an after_request hook is ignored instead of refused",
        "tests/test_setup_messages.py",
        "set_response_version_after_the_view",
    ),
    Mutant(
        "enclosing-view-state-lost",
        "context",
        "    if checked is not UNSET:\n        environ[CHECKED_KEY] = checked\n",
        "    if False:\n        environ[CHECKED_KEY] = checked\n",
        "after calling a decorated view, a view's checked_version() is the inner view's",
        "tests/test_pipeline.py",
        "calling_a_decorated_view",
    ),
    Mutant(
        "view-last-modified-ignored",
        "pipeline",
        "    if value is not None and exchange.safe and exchange.preconditions is not None:\n",
        "    if False:\n",
        "a version route ignores the Last-Modified its view (send_file) sets for IMS",
        PRECEDENCE_READS,
        "function-GET-app-hook-file and 13.1.3 and equal",
    ),
    # ------------------------------------------------------------------ exchange.py
    Mutant(
        "refuse-not-announced",
        "exchange",
        "    announce_error(error.code or 0, error.etag)\n    raise error\n",
        "    raise error\n",
        "a 412 or 428 the extension answers sends no etag_precondition_failed signal",
        "tests/test_signals.py::test_one_signal_per_answer",
    ),
    Mutant(
        "race-lost-tag-not-folded",
        "exchange",
        "            _tag_as_the_route(exchange, error)\n",
        "            pass\n",
        "a write that lost its compare-and-set names the bare state, not the tag a GET sends",
        "tests/test_write_outcomes.py",
        "lost_the_race",
    ),
    Mutant(
        "preconditions-not-kept-for-the-signals",
        "exchange",
        "    environ[PRECONDITIONS_KEY] = preconditions\n",
        "",
        "the signals report no client fields once stage 1 has taken them",
        "tests/test_signals.py::test_view_raising_412_signals_once",
    ),
    Mutant(
        "view-412-version-ignored",
        "exceptions",
        "            setattr(self, NAMED_STATE, version)\n",
        "            pass\n",
        "a view's ETagPreconditionFailed(version=...) carries no tag: the client must GET"
        " before it can retry the write it lost",
        "tests/test_scopes.py::"
        "test_rfc9110_8_8_3_a_views_412_by_version_carries_the_tag_its_route_sends",
    ),
    Mutant(
        "view-412-refused-version-a-500",
        "exchange",
        "        except (TypeError, ValueError):\n",
        "        except ValueError:\n",
        "a view's ETagPreconditionFailed(version=row) on a version route is answered 500: the"
        " generator's TypeError escapes while the refused write's 412 is tagged",
        "tests/test_scopes.py::"
        "test_rfc9110_15_5_13_a_views_412_stays_a_412_when_its_version_is_refused",
    ),
    # ------------------------------------------------------------------ conditions.py
    Mutant(
        "if-match-read-not-taken",
        "conditions",
        '        if_match = environ.pop("HTTP_IF_MATCH", None)\n',
        '        if_match = environ.get("HTTP_IF_MATCH")\n',
        "a read's decided If-Match stays: Flask-Compress judges it again, 412",
        "tests/test_compression.py::test_get_with_a_passing_if_match_is_not_turned_into_412",
    ),
    Mutant(
        "if-none-match-read-not-taken",
        "conditions",
        '        if_none_match = environ.pop("HTTP_IF_NONE_MATCH", None)\n',
        '        if_none_match = environ.get("HTTP_IF_NONE_MATCH")\n',
        "the view sees If-None-Match: send_file judges it again by werkzeug's rules",
        PRECEDENCE_READS,
        "function-GET-app-hook-file",
    ),
    # ------------------------------------------------------------------ compression.py
    Mutant(
        "304-forgets-the-coded-tag-held",
        "compression",
        "    if_none_match = preconditions.if_none_match\n",
        "    if_none_match = None\n",
        "a 304 forgets the coded tag the client holds",
        "tests/test_compression.py::test_compressing_client_revalidates_to_304",
        "function and hashed",
    ),
    # ------------------------------------------------------------------ body_tags.py
    Mutant(
        "missing-body-hash-get-judged",
        "body_tags",
        "    if preconditions is None or not is_success(response):\n",
        "    if preconditions is None:\n",
        "a body-hash response that is no 2xx is judged: a 302 or 404 made 304 or 412",
        "tests/test_rfc9110_get.py::test_non_2xx_is_never_made_304_or_412",
        "function",
    ),
    # ------------------------------------------------------------------ body_hash.py
    Mutant(
        "body-hash-write-guard-if-match-only",
        "body_hash",
        "    if preconditions is not None and _judged_on_writes(preconditions):\n",
        "    if preconditions is not None and preconditions.if_match is not None:\n",
        "a body-hash write is judged only when it carries If-Match: If-None-Match is skipped",
        PRECEDENCE_WRITES,
        "function and body-hash and 13.1.2",
    ),
    Mutant(
        "body-hash-write-without-current-proceeds",
        "body_hash",
        "        if current is None:\n"
        "            refuse(ETagPreconditionFailed(reason=CANNOT_EVALUATE))\n",
        "        if current is None:\n            pass\n",
        "a conditional write to a body-hash route without current= is performed unjudged",
        "tests/test_pipeline.py::test_rfc9110_13_1_1_a_body_hash_write_without_current_refuses_preconditions",
    ),
    Mutant(
        "current-abort-404-exists",
        "body_hash",
        "        if _status_of(error) in _ABSENT:\n            return MISSING\n",
        "        if _status_of(error) in _ABSENT:\n            return Validators(exists=True)\n",
        "current= aborting 404 counts as a representation: If-None-Match: * refuses a create",
        PRECEDENCE_WRITES,
        "function and body-hash and missing",
    ),
    Mutant(
        "current-response-abort-not-absent",
        "body_hash",
        "    return error.code if error.response is None else error.response.status_code\n",
        "    return error.code\n",
        "current= aborting with a JSON 404 response counts as an error: a create-only PUT fails",
        "tests/test_pipeline.py",
        "says_absent",
    ),
    Mutant(
        "current-error-absent",
        "body_hash",
        "            return MISSING\n        raise\n",
        "            return MISSING\n        return MISSING\n",
        "current= aborting 403 or 503 counts as no representation: If-None-Match: * overwrites",
        "tests/test_pipeline.py::test_a_current_that_fails_answers_its_failure_not_absent",
    ),
    Mutant(
        "streamed-representation-missing",
        "body_hash",
        "    if current is None:\n        return Validators(exists=True)\n",
        "    if current is None:\n        return MISSING\n",
        "a streamed current representation is taken as missing when judging a body-hash write",
        "tests/test_real_apps.py::test_streamed_representation_counts_as_existing_for_writes",
    ),
    Mutant(
        "status-document-tagged",
        "body_hash",
        "    return location is not None and names_the_target(exchange.request, location)\n",
        "    return location is None or names_the_target(exchange.request, location)\n",
        "a write without Content-Location is tagged as if it were the new representation",
        "tests/test_real_apps.py::test_write_answering_a_status_document_is_untagged",
    ),
    # ------------------------------------------------------------------ auto.py
    Mutant(
        "auto-412-keeps-freshness",
        "auto",
        '    "Cache-Control",\n    "Expires",\n)\n',
        ")\n",
        "an auto-mode 412 keeps the 200's Cache-Control: a shared cache may store and serve it",
        "tests/test_extension.py::"
        "test_auto_412_drops_the_representations_freshness_and_location_rfc9111_3",
    ),
    # ------------------------------------------------------------------ responses.py
    Mutant(
        "202-tagged",
        "responses",
        "    return 200 <= status < 300 and status not in (202, 204, 205)\n",
        "    return 200 <= status < 300 and status != 204\n",
        "a 202 (not applied yet) or a 205 (no content) is tagged as if it described the state",
        "tests/test_pipeline.py::test_rfc9110_9_3_4_a_202_or_205_carries_no_tag",
    ),
    # ------------------------------------------------------------------ compression.py
    Mutant(
        "304-tag-by-list-order",
        "compression",
        "    for held in tags_in_order(if_none_match):\n",
        "    for held in [tag.strip(' \\t').removeprefix('W/').strip('\"')"
        " for tag in if_none_match.split(',')]:\n",
        "the 304's coded tag is the first the client listed, not one chosen by name",
        "tests/test_compression.py::test_304_of_several_held_forms_names_one_by_name_rfc9110_15_4_5",
        "function",
    ),
    # ------------------------------------------------------------------ tags.py
    Mutant(
        "strip-any-coding",
        "tags",
        "    return base if colon and _names_codings(coding.lower()) else opaque\n",
        "    return base if colon else opaque\n",
        'strip_coding takes any ":suffix" for a content coding: "x:foo" matches "x"',
        PRECEDENCE_READS,
        "function-GET-app-hook-body and coding",
    ),
    Mutant(
        "entity-tag-syntax-unchecked",
        "tags",
        "    if _ENTITY_TAG_LIST.fullmatch(value) is None:\n        return ETags()\n",
        "",
        "parse_entity_tag_list takes werkzeug's lenient parse: an unquoted If-Match tag passes",
        PRECEDENCE_WRITES,
        "function and unquoted",
    ),
    Mutant(
        "entity-tag-list-quadratic",
        "tags",
        '{_MEMBER}(?:[ \\t]*,[ \\t,]*{_MEMBER})*[ \\t,]*)?")\n',
        '{_MEMBER}(?:[ \\t]*,[ \\t,]*{_MEMBER})*)?[ \\t,]*")\n',
        "two runs of separators share the text of a list without members: quadratic backtracking",
        "tests/test_hostile_input.py::test_adversarial_field_values_are_answered_in_bounded_time",
        "separators-then-junk and If-Match",
    ),
    Mutant(
        "unsafe-version-not-hashed",
        "tags",
        "    if _SAFE_OPAQUE.fullmatch(text):\n",
        "    if text:\n",
        "a version with quotes or CR/LF is used in the tag as it is (header injection)",
        "tests/test_rfc9110_get.py::test_awkward_versions_give_safe_usable_tags",
    ),
    # ------------------------------------------------------------------ invalidation.py
    Mutant(
        "purge-skipped",
        "invalidation",
        "    if not settings.purge_targets:\n",
        "    if True:\n",
        "a committed write is never purged: shared caches serve the old body until max-age",
        "tests/test_shared_caches.py",
        "purges_its_keys",
    ),
    Mutant(
        "write-announced-at-each-commit",
        "invalidation",
        "    if scope is None:\n",
        "    if True:\n",
        "a decorated write is announced twice, once without its new tag",
        "tests/test_shared_caches.py",
        "announced_once",
    ),
    Mutant(
        "keys-only-on-200",
        "invalidation",
        "    if response.status_code >= 500:\n        return\n",
        "    if response.status_code != 200:\n        return\n",
        "a 304 drops the keys, and a cache refreshing its copy with it forgets what to purge",
        "tests/test_shared_caches.py",
        "item_read_names",
    ),
    # ------------------------------------------------------------------ sqlalchemy/
    Mutant(
        "loaded-row-not-kept",
        "sqlalchemy/loaded_rows",
        "    g.setdefault(_LOADED_ROWS, {})[id(instance)] = _Loaded(instance, version, url_key)\n",
        "    pass\n",
        "ModelVersionGenerator drops the row it loaded: the view's session.get queries again",
        "tests/test_example.py::test_a_plain_read_runs_one_query",
    ),
    Mutant(
        "collection-delete-not-counted",
        "sqlalchemy/table_versions",
        "        written = [*session.new, *session.deleted]\n",
        "        written = [*session.new]\n",
        "a delete does not raise the table's version: the old list is revalidated 304",
        "tests/test_collections.py",
        "sqlite and deleting and last and row",
    ),
    Mutant(
        "collection-version-counts-from-a-restore",
        "sqlalchemy/table_versions",
        "sa.case((version >= moment, version + 1), else_=sa.literal(moment, sa.BigInteger))",
        "version + 1",
        "a table's version counts on by one from a restored backup's: a lost write's tag is 304",
        "tests/test_collections.py",
        "sqlite and restored and backup",
    ),
    Mutant(
        "collection-keys-rebuilt",
        "sqlalchemy/collections",
        "        if looked_up is not None and looked_up[0] is self:\n",
        "        if looked_up is not None and looked_up[0] is None:\n",
        "a read's surrogate keys build and walk the page's select again, a tenth of a 304",
        "tests/test_collections.py",
        "surrogate_keys_reuse",
    ),
    Mutant(
        "collection-not-rechecked",
        "sqlalchemy/collections",
        "        return now == (checked.versions, checked.changed_at)\n",
        "        return True\n",
        "a list read while a write committed is tagged with the state before it",
        "tests/test_collections.py",
        "sqlite and concurrent",
    ),
    # ------------------------------------------------------------------ sqlalchemy/items.py
    Mutant(
        "checked-row-not-kept-for-the-view",
        "sqlalchemy/items",
        "            loaded_rows.keep(instance, version, (self._table, url_key))\n",
        "            self.session.expunge(instance)\n",
        "the view loads the row afresh: a write racing the check is silently overwritten",
        "tests/test_natural_writes.py::test_rfc9110_13_1_1_a_write_racing_another_is_412_not_an_overwrite",
        "sqlite and session_get",
    ),
    Mutant(
        "url-key-beyond-the-column-queried",
        "sqlalchemy/items",
        "        if not self._can_name_a_row(identity):\n",
        "        if False:\n",
        "a URL key holding NUL, or an integer beyond the key column, is a 500 on PostgreSQL",
        "tests/test_natural_writes.py",
        "beyond and sqlite",
    ),
    # ------------------------------------------------------------------ auto.py, ranges.py
    Mutant(
        "auto-fields-left-to-flask-compress",
        "auto",
        "        served.environ[_TAKEN_KEY] = read_preconditions(served)\n",
        "        pass\n",
        "auto mode lets Flask-Compress judge If-Modified-Since beside If-None-Match: a 304",
        "tests/test_compression.py",
        "dates_are_judged_once and etag-first",
    ),
    Mutant(
        "auto-range-met-before-preconditions",
        "auto",
        "            _hold_range(served)\n",
        "            pass\n",
        "under ETAG_AUTO send_file answers a Range past the end 416 before If-Match or"
        " If-None-Match is judged: 416 for the client's 304 or 412",
        "tests/test_extension.py::"
        "test_rfc9110_13_2_2_auto_judges_preconditions_before_an_unsatisfiable_range",
    ),
    Mutant(
        "auto-several-ranges-refused",
        "ranges",
        "len(asked.ranges) > 1 or not length",
        "len(asked.ranges) > 2 or not length",
        "under ETAG_AUTO a Range of two satisfiable parts beside a precondition is answered"
        " 416, as if none could be served, where the whole is due",
        "tests/test_extension.py::"
        "test_rfc9110_15_5_17_auto_answers_no_416_to_satisfiable_ranges_beside_preconditions",
    ),
    Mutant(
        "auto-part-by-a-weak-tag",
        "ranges",
        "    if if_range is not None and not if_range_allows_partial(if_range, validators_of(wh",
        "    if False and not if_range_allows_partial(if_range, validators_of(wh",
        "under ETAG_AUTO a part cut beside a precondition is judged by werkzeug's If-Range,"
        ' which lets a strong "v1" pass the whole\'s weak W/"v1": a 206 by a weak tag',
        "tests/test_extension.py::"
        "test_rfc9110_13_1_5_auto_serves_no_part_by_if_range_against_a_weak_tag",
    ),
    Mutant(
        "custom-credential-folded-unkeyed",
        "folding",
        "    return name in SENSITIVE_FIELDS or any(word in name for word in CREDENTIAL_WORDS)\n",
        "    return name in SENSITIVE_FIELDS\n",
        "vary=('X-Api-Key',) folds the key unkeyed: a short key is found from the tag offline",
        "tests/test_scopes.py",
        "credential_is_folded_only_under_the_secret",
    ),
    Mutant(
        "coded-body-decoded-without-limit",
        "compression",
        "(wbits)\n    identity = decoder.decompress(body, MAX_DECODED_BYTES)\n",
        "(wbits)\n    identity = decoder.decompress(body)\n",
        "auto mode decodes a gzip bomb whole to tag it: 500 MB of a worker's memory per request",
        "tests/test_compression.py",
        "past_its_limit",
    ),
    Mutant(
        "scoped-view-policy-left-shared",
        "folding",
        '    return f"private, {policy}" if named.isdisjoint(_STORERS_NAMED) else policy\n',
        "    return policy\n",
        "a scoped view's own max-age=60 goes out without private: a shared cache keeps ann's page",
        "tests/test_scopes.py",
        "names_no_storer_stays_private",
    ),
    Mutant(
        "scoped-route-policy-left-shared",
        "folding",
        "    return spec.scoped_cache_control if scoped else spec.cache_control\n",
        "    return spec.cache_control\n",
        "a scoped route's cache_control='max-age=60' goes out without private: a shared cache"
        " keeps ann's page",
        "tests/test_scopes.py",
        "names_no_storer_stays_private",
    ),
    Mutant(
        "auto-scope-abort-raised-from-hook",
        "auto",
        "            return _refused_in_place(response, refused)\n",
        "            raise\n",
        "under ETAG_AUTO a scope's abort(401) is raised from an after_request hook: a 500",
        "tests/test_scopes.py",
        "scope_that_aborts",
    ),
    Mutant(
        "scope-abort-after-write-refuses-it",
        "state_tags",
        "            apply_route_policy(exchange, response.headers)\n            return None\n",
        "            raise\n",
        "a write whose view signed its caller out is answered 401 though it was applied",
        "tests/test_scopes.py",
        "signs_its_caller_out",
    ),
    Mutant(
        "dates-judge-reads-across-releases",
        "view_dates",
        "    if not exchange.safe or (exchange.settings.release is None and scope_of(",
        "    if True or (exchange.settings.release is None and scope_of(",
        "If-Modified-Since from before a deploy is answered 304: the client keeps the old body",
        "tests/test_scopes.py",
        "date_from_before_a_release",
    ),
    Mutant(
        "cross-origin-201-tag-hidden",
        "cors",
        '    if "HTTP_ORIGIN" in environ and field(headers, "etag") is not None:\n',
        "    if False:\n",
        "a script on another origin cannot read the ETag of the 201 it must send as If-Match",
        "tests/test_cors.py",
        "cross_origin_201_exposes",
    ),
    Mutant(
        "scoped-412-names-a-folded-send-file-tag",
        "body_hash",
        "    if own_tag or scope_of(exchange) is None:\n",
        "    if scope_of(exchange) is None:\n",
        "a stale write's 412 names a scope-folded tag no GET ever sends",
        "tests/test_scopes.py",
        "412_names_the_views_own_tag",
    ),
    Mutant(
        "response-cache-under-a-version-allowed",
        "frameworks",
        "    caches = _found(wrapped, CACHES) if looked_up else []\n",
        "    caches = []\n",
        "@cache.cached under @etag(VersionGenerator) tags the body kept from before a write anew",
        "tests/test_pipeline.py",
        "response_cache_under_a_looked_up_tag",
    ),
    Mutant(
        "second-gzip-member-ignored",
        "compression",
        "    if not decoder.eof or decoder.unused_data:  # more than one stream, or past",
        "    if not decoder.eof:  # more than one stream, or past",
        "auto mode tags a body by its first gzip member: a changed log is answered 304",
        "tests/test_compression.py",
        "part_of_it",
    ),
    Mutant(
        "auto-own-tag-left-to-werkzeug",
        "auto",
        "        if _TAKEN_KEY in served.environ and is_success(response):",
        "        if False:",
        "auto mode leaves a send_file's own tag to werkzeug: If-Match: * is answered 412",
        "tests/test_extension.py",
        "own_validators_before_its_range",
    ),
    Mutant(
        "auto-if-range-left-to-werkzeug",
        "auto",
        "        if if_range is not None and not _is_strong_tag(if_range):\n",
        "        if False:\n",
        "auto mode lets send_file answer If-Range with a later date 206: bytes of two versions",
        "tests/test_extension.py",
        "if_range_strictly",
    ),
    Mutant(
        "auto-takes-a-decorated-routes-fields",
        "auto",
        "    return route_spec_of(view) is not None or bool(",
        "    return False or bool(",
        "auto mode takes a version route's fields first: its view runs for every 304",
        "tests/test_extension.py",
        "decorated_route_to_decide_before_its_view",
    ),
    Mutant(
        "file-416-before-its-dates",
        "pipeline",
        " in environ and _dates_wait_on_view(exchange, generator, checked):\n",
        " in environ and False:\n",
        "a version route's send_file answers 416 where If-Modified-Since asks for a 304",
        "tests/test_rfc9110_ranges.py",
        "come_before_an_unsatisfiable_range",
    ),
    Mutant(
        "unknown-range-unit-answered-416",
        "ranges",
        '    return answered.lower() == "bytes" and asked.strip(" \\t").lower() != "bytes"\n',
        "    return False\n",
        "Range: items=0-9 to a send_file route is answered 416, not the whole (§14.2)",
        "tests/test_rfc9110_ranges.py",
        "does_not_understand",
    ),
    Mutant(
        "wildcard-coding-not-held",
        "compression",
        '    return weights.get("*", False) if named is None else named\n',
        "    return bool(named)\n",
        "a client sending Accept-Encoding: * gets a 304 naming a form it never received",
        "tests/test_compression.py",
        "wildcard_client",
    ),
    Mutant(
        "part-tag-not-scoped",
        "ranges",
        '    if validators is not None and "ETag" not in whole.headers and scope_of(exchange)'
        " is not None:\n",
        "    if False:\n",
        "a view's own 206 on a scoped route carries another tag than its 200: If-Range fails",
        "tests/test_rfc9110_ranges.py",
        "scoped_tag_of_the_whole",
    ),
    Mutant(
        "untagged-file-part-rendered-again",
        "ranges",
        '    if "ETag" in partial.headers or body_bytes(partial) is None:\n',
        '    if "ETag" in partial.headers:\n',
        "a part of a file passed through untagged runs the view twice and is sent whole",
        "tests/test_rfc9110_ranges.py::"
        "test_a_part_of_an_untagged_file_runs_the_view_once_rfc9110_15_3_7",
    ),
    Mutant(
        "held-range-if-range-unjudged",
        "ranges",
        "    return not if_range_allows_partial(if_range, validators_of(whole))\n",
        "    return False\n",
        "a Range held beside If-Range is served for a date that is not exactly the file's:"
        " bytes of two versions spliced together",
        "tests/test_rfc9110_ranges.py::"
        "test_a_part_of_an_untagged_file_still_honours_if_range_rfc9110_13_1_5",
    ),
    Mutant(
        "body-hash-range-met-before-preconditions",
        "body_hash",
        '    if "HTTP_RANGE" in environ and (\n',
        "    if False and (\n",
        "a body-hash route's send_file answers a Range past the end 416 before If-None-Match is"
        " judged, or its view runs twice to judge it",
        "tests/test_rfc9110_ranges.py",
        "runs_the_view_once",
    ),
    Mutant(
        "body-hash-if-range-alone-met-by-view",
        "body_hash",
        '        exchange.preconditions is not None or "HTTP_IF_RANGE" in environ\n',
        "        exchange.preconditions is not None\n",
        "a Range with If-Range alone reaches send_file, which serves the part for any later"
        " If-Range date (§13.1.5 asks for exactly the file's)",
        "tests/test_rfc9110_ranges.py",
        "runs_the_view_once and later",
    ),
    Mutant(
        "scoped-if-range-date-matches",
        "ranges",
        "    return dates_decide_no_read(exchange) and parse_http_date(if_range) is not None\n",
        "    return False\n",
        "another user's If-Range date resumes a scoped body-hash download with this user's bytes",
        "tests/test_scopes.py::"
        "test_rfc9110_13_1_5_another_users_if_range_date_gets_the_whole_on_a_body_hash_route",
    ),
    # ------------------------------------------------------------------ sqlalchemy/loaded_rows.py
    Mutant(
        "checked-row-read-again-written",
        "sqlalchemy/loaded_rows",
        "    if held is not _UNKNOWN and held != loaded.expected:\n",
        "    if False:\n",
        "a view that reads the checked row again overwrites the write that raced the check",
        "tests/test_natural_writes.py::test_rfc9110_13_1_1_a_write_racing_another_is_412_not_an_overwrite",
        "sqlite and populate_existing",
    ),
    Mutant(
        "own-write-not-expected",
        "sqlalchemy/loaded_rows",
        "        loaded.expected = sa.inspect(target).dict.get(_version_key(mapper), _UNKNOWN)\n",
        "        pass\n",
        "a view's second commit is refused 412 after its first one was written: half a write",
        "tests/test_natural_writes.py",
        "twice and sqlite",
    ),
    # ------------------------------------------------------------------ folding.py
    Mutant(
        "scope-not-folded",
        "folding",
        '        values.append(f"scope:{_scope_value(scope)}")\n',
        "        pass\n",
        "two users share a tag: a shared browser shows one user's page to the other via 304",
        "tests/test_scopes.py::test_rfc9110_8_8_3_two_users_never_share_a_tag",
        "version",
    ),
    Mutant(
        "secret-not-used-to-fold",
        "folding",
        "    return variant_opaque_tag(state, tuple(values), _key(app) if secret else None)\n",
        "    return variant_opaque_tag(state, tuple(values), None)\n",
        "a credential's tag is an unsalted hash: passwords can be tested offline",
        "tests/test_scopes.py::test_rfc9110_8_8_3_a_credential_is_folded_only_under_the_secret",
        "Authorization and not Proxy",
    ),
    Mutant(
        "release-not-folded",
        "folding",
        '        values.append(f"release:{settings.release}")\n',
        "        pass\n",
        "a new release keeps the old tags: clients get 304 for bodies that no longer exist",
        "tests/test_scopes.py::test_rfc9110_8_8_3_a_new_release_revalidates_to_200_once",
    ),
    Mutant(
        "scoped-route-not-private",
        "folding",
        '    return "private" if default is None else f"private, {default}"\n',
        "    return default\n",
        "a scoped response may be stored by a shared cache and served to another user",
        "tests/test_scopes.py::test_rfc9111_5_2_2_7_a_scoped_route_is_private_unless_it_says_otherwise",
    ),
    # ------------------------------------------------------------------ conditions.py (proxies)
    Mutant(
        "accept-weakened-ignored",
        "conditions",
        "    return accept_weakened and any(\n",
        "    return False and any(\n",
        "ETAG_ACCEPT_WEAKENED on, and a client behind Cloudflare still cannot write",
        "tests/test_scopes.py::test_rfc9110_13_1_1_accept_weakened_lets_a_client_behind_a_proxy_write",
    ),
    Mutant(
        "accept-weakened-always",
        "conditions",
        "    return accept_weakened and any(\n",
        "    return True and any(\n",
        "If-Match compares weakly without the app opting in (RFC 9110 §13.1.1)",
        "tests/test_scopes.py::test_rfc9110_13_1_1_if_match_compares_strongly_by_default",
    ),
    # ------------------------------------------------------------------ purging
    Mutant(
        "purge-deadline-per-read",
        "purge_sending",
        "        connection.settimeout(_time_left(deadline))\n",
        "        connection.settimeout(1.0)\n",
        "each read gets its own timeout: a cache trickling a byte at a time holds its sender",
        "tests/test_purge_delivery.py::"
        "test_a_trickling_cache_is_given_up_at_the_purge_deadline_rfc9111_4_4",
    ),
    Mutant(
        "purge-grace-per-purge",
        "purging",
        "        job.done.wait(max(0.0, reported_by - time.monotonic()))\n",
        "        job.done.wait(max(0.0, deadline - time.monotonic()) + _REPORT_GRACE)\n",
        "each purge waited for adds its own grace: a write purging many paths waits far past "
        "its deadline",
        "tests/test_purge_delivery.py",
        "busy_cache",
    ),
    Mutant(
        "purge-backlog-kept-forever",
        "purging",
        "        if waited > QUEUE_WAIT_DEADLINES * job.timeout:\n",
        "        if False:\n",
        "a cache slower than the writes builds a backlog of old purges, and fresh ones wait "
        "behind it or are dropped",
        "tests/test_purge_delivery.py",
        "slower_than_the_writes",
    ),
    Mutant(
        "purge-wait-counted-in-its-deadline",
        "purging",
        "        if waited > QUEUE_WAIT_DEADLINES * job.timeout:\n",
        "        if waited > job.timeout:\n",
        "a purge that waited its turn (or a pause of the process) is given up untried",
        "tests/test_purge_delivery.py",
        "busy_cache or slower_than_the_writes",
    ),
    Mutant(
        "late-purges-not-counted",
        "purging",
        "        if error is None and job.awaited_until is not None:\n",
        "        if False:\n",
        "a purge confirmed after its write was answered looks on time: nothing shows the lag",
        "tests/test_purge_delivery.py",
        "busy_cache",
    ),
    Mutant(
        "raising-receiver-ends-a-sender",
        "purging",
        '        logger.exception("a receiver of %s raised", signal.name)\n',
        "        raise\n",
        "an etag_purge_failed receiver that raises ends the sender thread; four leave the cache "
        "with none",
        "tests/test_purge_delivery.py",
        "receiver_that_raises",
    ),
    Mutant(
        "one-queue-for-every-cache",
        "purging",
        "        key = (target.url, target.by)\n",
        '        key = ("every cache", target.by)\n',
        "caches share senders and backoff: a hung cache delays and silences the healthy one",
        "tests/test_purge_delivery.py",
        "never_delay",
    ),
    Mutant(
        "failing-cache-never-backed-off",
        "purge_breaker",
        "            elif self._backoff == 0.0 and self._failures >= FAILURES_TO_OPEN:\n",
        "            elif False:\n",
        "a dead cache costs every write its whole purge deadline",
        "tests/test_purge_delivery.py",
        "never_delay",
    ),
    Mutant(
        "outbox-records-nothing",
        "sqlalchemy/outbox",
        "        if settings is None or not settings.purge_targets:\n",
        "        if True:\n",
        "a host killed between commit and purge leaves the write stale until s-maxage",
        "tests/test_purge_outbox.py",
        "records_its_purge",
    ),
    Mutant(
        "outboxed-write-repeated-twice",
        "sqlalchemy/written",
        "        committed(sorted(keys), recorded=bool(recorded) and keys <= recorded)\n",
        "        committed(sorted(keys))\n",
        "every write is repeated from memory and from the outbox: twice the purge traffic",
        "tests/test_purge_outbox.py",
        "repeat_once",
    ),
    Mutant(
        "every-database-error-an-outage",
        "sqlalchemy/outages",
        "    if not is_database_outage(error):\n        raise error\n",
        "    pass\n",
        "a bad statement is answered 503 'retry later': a bug passes for an outage, unseen",
        "tests/test_database_outages.py",
        "bad_statement_is_still",
    ),
    Mutant(
        "teardown-rollback-unguarded",
        "sqlalchemy/outages",
        "    try:\n        session.rollback()\n    except sa.exc.SQLAlchemyError as error:\n",
        "    try:\n        session.rollback()\n    except ZeroDivisionError as error:\n",
        "a connection that died after the answer turns it into the server's HTML 500",
        "tests/test_database_outages.py",
        "after_the_answer_is_made",
    ),
    # ------------------------------------------------------------------ tags in bodies
    Mutant(
        "listed-tag-not-folded",
        "item_tags",
        '        self._folds = folded_tag(exchange, "", lookup=True)'
        ' if folds(exchange, True) else ""\n',
        '        self._folds = ""\n',
        "a list gives another tag than the item's own GET: every If-Match from it is a 412",
        "tests/test_item_tags.py",
        "items_own_etag and scoped",
    ),
    Mutant(
        "listed-tag-weak-as-the-app-says",
        "item_tags",
        "        self._weak = generator.weak_or(settings.weak)\n",
        "        self._weak = settings.weak\n",
        "a generator's own weak= is ignored: the list says W/ where the item's GET is strong",
        "tests/test_item_tags.py",
        "what_item_etag and weak",
    ),
    Mutant(
        "item-tagger-outlives-its-request",
        "item_tags",
        "        if request._get_current_object() is not self._request:",
        "        if False:",
        "a tagger kept past its request folds one user's scope into the next user's list",
        "tests/test_item_tags.py",
        "refused_in_another_request",
    ),
    Mutant(
        "relative-item-endpoint-unresolved",
        "item_tags",
        '    if not endpoint.startswith("."):\n',
        "    if True:\n",
        "'.get_note' in a blueprint, as url_for takes it, is refused as an unknown endpoint",
        "tests/test_item_tags_with_extensions.py",
        "relative",
    ),
    Mutant(
        "body-tag-ignored",
        "body_preconditions",
        "    judged = preconditions._replace(if_match=tag)\n",
        "    judged = preconditions\n",
        "a client that can only send its tag in the body can never write (428)",
        "tests/test_item_tags.py",
        "stands_for_if_match",
    ),
    Mutant(
        "body-tag-disagreement-ignored",
        "body_preconditions",
        "        if not _lists(preconditions.if_match, tag):\n",
        "        if False:\n",
        "a body tag contradicting If-Match is silently dropped: which one was meant?",
        "tests/test_item_tags.py",
        "disagrees",
    ),
    Mutant(
        "batch-entry-not-judged",
        "sqlalchemy/batches",
        "    if not if_match_passes(entry.etag, current, accept_weakened):\n",
        "    if False:\n",
        "a batch entry read before another client's write overwrites it: a lost update",
        "tests/test_batches.py",
        "stale_or_missing",
    ),
    Mutant(
        "batch-written-in-part",
        "sqlalchemy/batches",
        "    _refuse_unless_current(generator, tags, entries, rows)\n    try:\n",
        "    try:\n",
        "an all-or-nothing batch writes its fresh entries and loses the stale ones' changes",
        "tests/test_batches.py",
        "stale_or_missing",
    ),
    Mutant(
        "union-column-properties-unread",
        "sqlalchemy/tables_read",
        "        return set().union(*map(_tables_of_column_properties, statement.selects))\n",
        "        return set()\n",
        "a union of whole items answers 304 after a write to the table a column property reads",
        "tests/test_collections.py",
        "union",
    ),
    Mutant(
        "batch-string-key-compared-by-spelling",
        "sqlalchemy/batches",
        "    if key_type is str and len(found) < len(identities):",
        "    if False:",
        "a batch entry naming lamp as LAMP where the key folds case is taken for a missing item",
        "tests/test_batches.py",
        "url_names and sqlite",
    ),
    Mutant(
        "batch-row-named-twice-by-spelling",
        "sqlalchemy/batches",
        "    if len(set(map(id, rows.values()))) < len(rows):",
        "    if False:",
        "lamp and LAMP in one batch write one row twice, the second silently overriding the first",
        "tests/test_batches.py",
        "two_spellings and sqlite",
    ),
    Mutant(
        "numeric-batch-key-compared-by-spelling",
        "sqlalchemy/batch_keys",
        "    if isinstance(identity, decimal.Decimal):\n"
        "        return repr(identity.normalize(_EXACT) if identity else decimal.Decimal(0))\n",
        "",
        "an entry naming a Numeric(10, 2) row as 1.5 is taken for a missing item (its 1.50)",
        "tests/test_batches.py",
        "date_or_numeric_keyed and sqlite",
    ),
    Mutant(
        "batch-apply-autoflush-unguarded",
        "sqlalchemy/batches",
        "        _apply_all_or_none(session, entries, rows, apply)\n        session.flush()",
        "        session.flush()\n    except ValueError:\n        raise\n"
        "    _apply_all_or_none(session, entries, rows, apply)\n    try:\n        session.flush()",
        "an apply whose query autoflushes into another client's write is a 500, not a 412",
        "tests/test_batches.py",
        "racing_an_apply",
    ),
    # ------------------------------------------------------------------ purging, outbox
    Mutant(
        "savepoint-rollback-forgets-the-transaction",
        "sqlalchemy/written",
        "    if savepoint is None:\n        _forget(session)\n",
        "    if True:\n        _forget(session)\n",
        "a rolled-back savepoint drops the keys its transaction wrote before it: no purge",
        "tests/test_shared_caches.py",
        "rolled_back_savepoint",
    ),
    Mutant(
        "savepoint-release-announced",
        "sqlalchemy/written",
        "    if savepoint is not None:\n        _savepoints(session).pop(savepoint, None)\n",
        "    if False:\n        _savepoints(session).pop(savepoint, None)\n",
        "a released savepoint is purged before its transaction commits, or rolls back",
        "tests/test_shared_caches.py",
        "released_savepoint",
    ),
    Mutant(
        "purge-of-the-decoded-path",
        "purge_targets",
        "    return quote(served.script_root, safe=_PATH_KEPT) + as_sent\n",
        "    return served.path\n",
        "a written non-ASCII or mounted URL is purged under another URL, or not at all",
        "tests/test_purge_delivery.py",
        "written_url_as_sent",
    ),
    Mutant(
        "name-resolution-unbounded",
        "purge_addresses",
        "    if not resolution.done.wait(max(0.0, deadline - time.monotonic())):\n",
        "    if not resolution.done.wait():\n",
        "a hung DNS server holds every purge to its cache: never backed off, writes wait for it",
        "tests/test_purge_delivery.py",
        "never_resolves",
    ),
    Mutant(
        "one-purge-of-every-key",
        "purge_targets",
        "        if batch and length + added > KEY_FIELD_LIMIT:\n",
        "        if False:\n",
        "a write of many rows sends Varnish a key field it refuses: nothing is purged",
        "tests/test_purge_delivery.py",
        "many_rows",
    ),
    Mutant(
        "outbox-keeps-every-row-key",
        "sqlalchemy/outbox",
        "    if sum(len(key) + 1 for key in keys) <= _KEYS_IN_FULL:\n",
        "    if True:\n",
        "an import of thousands of rows fails on MariaDB for the size of its purge record",
        "tests/test_purge_outbox.py",
        "thousands",
    ),
    Mutant(
        "outbox-sends-every-apps-rows",
        "sqlalchemy/outbox",
        "                    columns.purged_caches == purged_caches(settings),\n",
        "",
        "an app sharing the database sends another app's repeats to its own caches",
        "tests/test_purge_outbox.py",
        "another_apps",
    ),
    Mutant(
        "write-signal-receiver-breaks-the-write",
        "invalidation",
        "    send_logging_errors(\n        etag_written, app,",
        "    etag_written.send(\n        app,",
        "a receiver of etag_written that raises makes a committed write a 500, unpurged",
        "tests/test_shared_caches.py",
        "write_signal_that_raises",
    ),
    Mutant(
        "redirected-write-not-announced",
        "invalidation",
        "        if applied or (status < 400 and _state_changed(spec, view_args)):\n",
        "        if applied:\n",
        "a decorated write answered 303 is never purged from the caches (RFC 9111 §4.4)",
        "tests/test_shared_caches.py",
        "answered_303",
    ),
    Mutant(
        "queued-write-announced-as-applied",
        "invalidation",
        "        applied = status < 300 and status != 202\n",
        "        applied = status < 300\n",
        "a 202 (queued, not applied) is announced and purged before its write happens",
        "tests/test_write_outcomes.py",
        "accepted_for_later",
    ),
    Mutant(
        "redirect-that-wrote-nothing-announced",
        "invalidation",
        "    return tag_of(before, False).etag != tag_of(after, False).etag\n",
        "    return True\n",
        "a login_required's 302 under @require_if_match is announced and purged as a write",
        "tests/test_write_outcomes.py",
        "redirect",
    ),
    Mutant(
        "views-own-keys-replaced",
        "invalidation",
        "        response.headers[header] = field_value((*own, *keys), header)\n",
        "        response.headers[header] = field_value(keys, header)\n",
        "a purge by a key the view set itself misses the stored response",
        "tests/test_shared_caches.py",
        "view_set_itself",
    ),
    Mutant(
        "row-keyed-by-the-url",
        "sqlalchemy/items",
        "        return item_keys(self._table, identity if own is None else own)\n",
        "        return item_keys(self._table, identity)\n",
        "/users/Alice read on a case-insensitive key is never purged by a write of alice",
        "tests/test_shared_caches.py",
        "another_spelling and sqlite",
    ),
    Mutant(
        "discarded-transaction-announced",
        "sqlalchemy/written",
        "    if transaction.parent is None:\n        _forget(session)\n",
        "    if False:\n        _forget(session)\n",
        "a write its session closed unfinished is purged by the session's next commit",
        "tests/test_shared_caches.py",
        "session_discarded",
    ),
    Mutant(
        "rolled-back-write-still-expected",
        "sqlalchemy/loaded_rows",
        "            loaded.expected = loaded.committed\n",
        "            pass\n",
        "a view that rolled back its own write of the checked row, then writes it, gets 412",
        "tests/test_natural_writes.py",
        "rolled_back_flush and sqlite",
    ),
    Mutant(
        "expired-row-written-against-the-newest",
        "sqlalchemy/loaded_rows",
        "        set_committed_value(target, key, loaded.expected)",
        "        pass",
        "a view that expires the checked row overwrites the write that raced the check",
        "tests/test_natural_writes.py::test_rfc9110_13_1_1_a_write_racing_another_is_412_not_an_overwrite",
        "sqlite and expire",
    ),
    Mutant(
        "cascaded-table-not-counted",
        "sqlalchemy/table_versions",
        "association_tables_written(session) | referencing_tables_written(session)",
        "association_tables_written(session)",
        "a list of rows an ON DELETE CASCADE removed answers 304 with the rows already gone",
        "tests/test_collections.py::test_rows_a_foreign_key_action_writes_change_the_tag_rfc9110_8_8_3",
        "sqlite and flush",
    ),
    Mutant(
        "in-list-in-set-order",
        "sqlalchemy/collections",
        "selected = in_lists_in_order(statement) if unordered else statement",
        "selected = statement",
        "one list filtered by a set has another tag on every host (PYTHONHASHSEED)",
        "tests/test_collections.py::test_an_in_list_in_another_order_has_the_same_tag_rfc9110_8_8_3",
    ),
    Mutant(
        "date-of-a-running-second-sent",
        "conditions",
        '        return http_date(modified) if self.second_over else ""\n',
        "        return http_date(modified)\n",
        "a change later in the second a client's If-Modified-Since names is answered 304",
        "tests/test_rfc9110_get.py::test_rfc9110_8_8_2_2_a_change_later_in_the_same_second_is_not_hidden_by_a_304",
    ),
    Mutant(
        "running-second-decides-304",
        "conditions",
        "    return current.last_modified >= since\n",
        "    return current.last_modified > since\n",
        "an If-Modified-Since naming a second still running is answered 304",
        "tests/test_conditions.py::test_a_date_in_a_second_still_running_decides_nothing_by_itself",
    ),
    Mutant(
        "nothing-checked-raises-in-hooks",
        "pipeline",
        "        exchange.request.environ.setdefault(context.CHECKED_KEY, None)\n"
        "        if isinstance(error, TypeError):\n",
        "        if isinstance(error, TypeError):\n",
        "a hook reading checked_version() turns a lookup's 404 or 403 into a 500",
        "tests/test_setup_messages.py::test_checked_version_is_none_in_after_request_where_nothing_was_checked",
    ),
    Mutant(
        "create-only-overwrites-a-racing-create",
        "sqlalchemy/loaded_rows",
        "        _refuse_if_created_since(mapper, target)\n",
        "        pass\n",
        "If-None-Match: * found no row, another client created it, and the view overwrote it",
        "tests/test_natural_writes.py::test_rfc9110_13_1_2_a_create_only_put_racing_another_create_is_412_not_500",
        "sqlite",
    ),
    Mutant(
        "malformed-uuid-key-queried",
        "sqlalchemy/items",
        "            if self._uuid_key:\n"
        "                return batch_keys.is_identity(identity, uuid.UUID)\n",
        "",
        "a URL key that spells no UUID over a Uuid column is a 500 from the database",
        "tests/test_natural_writes.py::test_rfc9110_13_2_1_a_string_url_key_no_uuid_column_holds_is_404_never_500",
        "sqlite",
    ),
    Mutant(
        "second-judged-after-a-slow-view",
        "generators",
        "                    environ[_READ_AT_KEY] = judged_at(datetime.now(timezone.utc))\n",
        "                    pass\n",
        "a change made while a slow view ran is answered 304 to the date its 200 sent",
        "tests/test_rfc9110_get.py::test_rfc9110_8_8_2_2_a_second_is_judged_over_when_the_state_was_read",
    ),
    Mutant(
        "counters-dated-at-the-flush",
        "sqlalchemy/table_versions",
        '        event.listen(session, "before_commit", self._stamp_at_commit)\n',
        "",
        "a change flushed in one second and committed after it is hidden by a 304",
        "tests/test_collections.py::test_a_change_committed_after_its_second_ended_is_not_hidden_by_a_304_rfc9110_8_8_2_2",
        "sqlite",
    ),
    Mutant(
        "view-date-of-a-running-second-sent",
        "responses",
        "    if not view_date(headers, modified_header)[1]:\n",
        "    if False:\n",
        "a file modified this second is sent its date, and a change later in it answered 304",
        "tests/test_rfc9110_get.py::test_rfc9110_8_8_2_2_a_file_modified_this_second_sends_no_date_and_gets_no_304",
    ),
    Mutant(
        "view-date-judged-after-a-slow-view",
        "responses",
        "judged_at(now if dated is None else min(dated, now))",
        "judged_at(now)",
        "a file replaced while a slow view ran is answered 304 to the date its 200 sent",
        "tests/test_rfc9110_get.py::test_rfc9110_8_8_2_2_a_file_date_is_judged_when_send_file_read_it",
    ),
    # ------------------------------------------------------------------ settings.py
    Mutant(
        "misspelt-setting-ignored",
        "settings",
        "        check_known_keys(config)\n",
        "        pass\n",
        "ETAG_CACHE_CONTROLL is ignored: every answer goes out without the policy meant",
        "tests/test_misuse.py::test_an_etag_key_that_names_no_setting_is_refused_at_init_app",
    ),
    # ------------------------------------------------------------------ generators.py
    Mutant(
        "decimal-tagged-as-first-seen",
        "versions",
        "        return _one_spelling(value)\n",
        "        pass\n",
        "Decimal('1.00') is tagged as the Decimal('1.0') its process saw first: hosts disagree",
        "tests/test_hostile_input.py",
        "whatever_the_process",
    ),
    Mutant(
        "async-lookup-coroutine-taken",
        "generators",
        "        self.lookup = run_in_app(lookup)\n",
        "        self.lookup = lookup\n",
        "an async def lookup's coroutine is taken for the version: every request is a 500",
        "tests/test_real_apps.py::test_rfc9110_13_2_1_async_lookups_decide_before_the_view_as_sync_ones_do",
    ),
    Mutant(
        "written-state-lookup-abort-kept",
        "generators",
        "            return self.look_up(view_args)\n        except HTTPException:\n",
        "            return self.look_up(view_args)\n        except ZeroDivisionError:\n",
        "a delete whose lookup now aborts 404 is answered 404, and its purge is skipped",
        "tests/test_rfc9110_writes.py::"
        "test_a_write_done_stays_a_2xx_when_its_lookup_aborts_after_it_rfc9110_9_3_4",
    ),
    Mutant(
        "get-checked-created-since-called-stale",
        "sqlalchemy/items",
        "            raise self._lost_to(current, STALE if expected is not None else EXISTS)\n",
        "            raise self._lost_to(current, STALE)\n",
        "a row created since If-None-Match: * is called stale: the client is told its tag is old",
        "tests/test_natural_writes.py::"
        "test_rfc9110_13_1_2_get_checked_refuses_a_row_created_since_as_exists",
    ),
    Mutant(
        "content-location-elsewhere-given-the-targets-tag",
        "responses",
        '    return _names_another(served, field(headers, "content-location"))\n',
        "    return False\n",
        "a POST's 200 with a comment's Content-Location carries the note's version as its tag",
        "tests/test_rfc9110_writes.py::"
        "test_a_write_whose_body_is_another_resource_is_not_given_the_targets_tag_rfc9110_8_7",
    ),
    Mutant(
        "commit-reports-another-rows-version",
        "sqlalchemy/items",
        "        if loaded_rows.checked_here(instance):\n",
        "        if True:\n",
        "an item committed by a POST to a tagged list is tagged by the list's generator: a 500",
        "tests/test_natural_writes.py::"
        "test_rfc9110_15_3_2_commit_of_an_item_created_in_a_tagged_list_is_no_500",
    ),
    Mutant(
        "unconditional-write-overtaken-is-412",
        "sqlalchemy/items",
        "            if not _sent_preconditions():",
        "            if False:",
        "a write that sent no precondition, overtaken by another, is a 412 naming none it gave",
        "tests/test_natural_writes.py::"
        "test_rfc9110_15_5_10_an_unconditional_write_overtaken_by_another_is_409_not_412",
    ),
    # ------------------------------------------------------------------ frameworks.py
    Mutant(
        "class-method-access-check-after-etag",
        "frameworks",
        "_READS) if decided_before_view else []",
        "_READS) if False else []",
        "a client without access learns by 304 or 412 whether its tag is current",
        "tests/test_frameworks.py::test_apiflask_auth_required_on_a_method_under_class_decorators_fails_rfc9110_13_2_1",
    ),
    Mutant(
        "auto-takes-method-decorators-fields",
        "auto",
        ' or bool(getattr(view_class, "method_decorators", None))\n',
        "\n",
        "under ETAG_AUTO a method_decorators route judges nothing: its view runs for a 304",
        "tests/test_frameworks.py::test_auto_mode_leaves_a_restx_route_to_judge_before_its_view_rfc9110_13_2_1",
    ),
    Mutant(
        "auto-own-tag-unexposed",
        "auto",
        "    expose_view_etag(response.headers, served.environ, settings)\n",
        "",
        "auto mode judges a static file by a tag a cross-origin script cannot read",
        "tests/test_cors.py::test_auto_mode_exposes_a_files_own_tag_rfc9110_13_1_1",
    ),
    Mutant(
        "write-conflict-undocumented",
        "openapi",
        "        if tagging.conflicts:\n",
        "        if False:\n",
        "the OpenAPI document hides the 409 an unconditional model write can get",
        "tests/test_openapi.py",
        "documents_409",
    ),
    # ------------------------------------------------------------------ cors.py
    Mutant(
        "etag-not-exposed-across-origins",
        "cors",
        "    if settings.cors_expose:\n",
        "    if False:\n",
        "browser code on another origin cannot read the tag, so it can never send If-Match",
        "tests/test_cors.py::test_a_cross_origin_read_exposes_the_tag",
    ),
    # ------------------------------------------------------------------ purges and their writes
    Mutant(
        "raw-sql-write-not-announced",
        "sqlalchemy/table_versions",
        "            written_keys_of(session).update(written if rows_written else written[:1])\n",
        "            pass\n",
        "a raw-SQL write that raises its tables' versions is never purged from shared caches",
        "tests/test_shared_caches.py",
        "raw_sql_write",
    ),
    Mutant(
        "purge-path-not-rooted",
        "purge_targets",
        "every = dict.fromkeys(map(_rooted, (*paths, *mapped)))",
        "every = dict.fromkeys((*paths, *mapped))",
        "a client's X-Forwarded-Prefix sends the app's PURGE to a port or host it chose",
        "tests/test_purge_delivery.py",
        "never_chooses",
    ),
    Mutant(
        "purge-path-escapes-encoded-again",
        "purge_targets",
        'return quote(tail, safe=_PATH_KEPT + "%")',
        "return quote(tail, safe=_PATH_KEPT)",
        "a written URL's %2F is purged as %252F: another URL, so the cache keeps the old body",
        "tests/test_purge_delivery.py",
        "as_sent",
    ),
    Mutant(
        "purge-path-climbs-by-encoded-dots",
        "purge_targets",
        'dots = _ENCODED_DOT.sub(".", segment)',
        "dots = segment",
        "a written path's %2E%2E segments take the app's PURGE above the cache's purge path",
        "tests/test_purge_delivery.py",
        "stays_under_its_base_path",
    ),
    Mutant(
        "purge-path-climbs-by-encoded-slashes",
        "purge_targets",
        "segments = _SLASH.split(path)[1:]",
        'segments = path.split("/")[1:]',
        "a written path's ..%2F segments, which nginx decodes and resolves, take the app's "
        "PURGE out of the cache's purge location",
        "tests/test_purge_delivery.py",
        "stays_under_its_base_path",
    ),
    Mutant(
        "refused-purges-back-off-the-cache",
        "purging",
        "failing = unconfirmed is not None and not unconfirmed.refused",
        "failing = unconfirmed is not None",
        "a cache refusing purges (403, 405) is backed off: once set right, its purges are "
        "dropped for up to a minute",
        "tests/test_purge_delivery.py",
        "refuses_purges",
    ),
    Mutant(
        "not-now-is-a-refusal",
        "purge_sending",
        "(400 <= status < 500 and status not in (408, 429))",
        "400 <= status < 500",
        "a cache that answers 429 (rate-limited) is never backed off: every write hammers it",
        "tests/test_purge_delivery.py",
        "not_now",
    ),
    Mutant(
        "each-commit-waits-for-a-hung-cache",
        "purging",
        "waits = cache.breaker.closed and name not in given_up",
        "waits = cache.breaker.closed",
        "a request committing N times beside a hung cache waits N purge deadlines",
        "tests/test_purge_delivery.py",
        "commits_many_times",
    ),
    Mutant(
        "key-purge-404-confirmed",
        "purge_sending",
        "(status == 404 and request.missing_confirms)",
        "status == 404",
        "a cache that pipes PURGE to the app (404) is counted purged: stale, and nothing said",
        "tests/test_purge_delivery.py",
        "404_confirms_no_key_purge",
    ),
    Mutant(
        "unnamed-route-keys-hide-the-write-error",
        "invalidation",
        "        return ()\n",
        "        raise\n",
        "a surrogate_keys= failing after a failed write replaces its error: no app handler runs",
        "tests/test_write_outcomes.py",
        "cannot_be_named",
    ),
    Mutant(
        "failed-write-route-keys-kept",
        "invalidation",
        "_announce_committed(scope, failed=status >= 400)",
        "_announce_committed(scope, failed=False)",
        "a write that committed and then answered 500 leaves its route's pages stale",
        "tests/test_write_outcomes.py",
        "routes_own_keys",
    ),
    Mutant(
        "scoped-304-without-the-sessions-vary",
        "folding",
        "        session.accessed = True\n",
        "        pass\n",
        "a scoped 304 decided before the view lacks the Vary: Cookie its 200 carries",
        "tests/test_scopes.py",
        "varies_as_its_200",
    ),
    Mutant(
        "release-leaves-a-views-date-judged",
        "folding",
        "return exchange.settings.release is not None or scope_of(exchange) is not None",
        "return scope_of(exchange) is not None",
        "after a deploy a body-hash view's unchanged date answers 304 (or 206) for the old body",
        "tests/test_scopes.py",
        "body_hash_views",
    ),
    Mutant(
        "views-unquoted-etag-sent-as-is",
        "body_tags",
        "        etag_header = quote_view_etag(headers, etag_header)  # §8.8.3: sent quoted\n",
        "        pass\n",
        "a view's ETag: abc goes out unquoted, no entity-tag (RFC 9110 §8.8.3)",
        "tests/test_rfc9110_get.py",
        "views_unquoted",
    ),
    Mutant(
        "views-several-etag-lines-all-sent",
        "responses",
        '        if len(headers.getlist("ETag")) == 1:\n',
        "        if True:\n",
        "a view's second ETag line goes out beside the first, an unquoted one among them, and "
        "the GET is judged by another line than the write (RFC 9110 §5.3, §8.8.3)",
        "tests/test_rfc9110_get.py",
        "several_etag_lines",
    ),
    Mutant(
        "writes-unquoted-etag-sent-as-is",
        "body_hash",
        "        quote_own_etag(response.headers)  # the new state's tag",
        "        pass  # the new state's tag",
        "a write's own ETag: v2 goes out unquoted, no entity-tag, and etag_written carries it "
        "so (RFC 9110 §8.8.3)",
        "tests/test_rfc9110_get.py",
        "writes_own_unquoted",
    ),
    Mutant(
        "batch-result-named-id",
        "sqlalchemy/batches",
        '    return {entry.id_member: entry.identity, "status": status, **members}\n',
        '    return {"id": entry.identity, "status": status, **members}\n',
        "a batch read by id_member='sku' answers by 'id': the client cannot match its results",
        "tests/test_batches.py",
        "id_member",
    ),
    Mutant(
        "batch-results-documented-by-id",
        "openapi",
        "new_id, batch_results_schema(id_member), lazy=True",
        "new_id, batch_results_schema(), lazy=True",
        "a batch answering by id_member='sku' is documented as answering by 'id'",
        "tests/test_openapi.py",
        "id_member",
    ),
    Mutant(
        "batch-non-finite-id-looked-up",
        "sqlalchemy/batch_entries",
        "    if batch_keys.is_non_finite(identity):\n",
        "    if False:\n",
        "a batch entry naming 1e5000 (infinity) is looked up: a body of Infinity, no JSON",
        "tests/test_batches.py",
        "finite",
    ),
    Mutant(
        "null-tag-member-spelt-for-3-1-only",
        "openapi_components",
        "    if version < (3, 1):\n",
        "    if False:\n",
        "an OpenAPI 3.0 document says a nullable tag member is of type [string, null]: invalid",
        "tests/test_openapi.py",
        "nullable",
    ),
    Mutant(
        "config-snapshot-shares-mappings",
        "settings",
        "        return {key: normalised(item) for key, item in value.items()}\n",
        "        return value\n",
        "an ETAG_PURGE_URLS entry changed in place after init_app is never purged as it says",
        "tests/test_setup_messages.py",
        "in_place",
    ),
    Mutant(
        "config-compared-by-container",
        "settings",
        "    if isinstance(value, (list, tuple)):\n        return tuple(",
        "    if isinstance(value, (list, tuple)):\n        return type(value)(",
        "a config file loaded again after init_app (lists, not tuples) fails every request",
        "tests/test_setup_messages.py",
        "json_lists",
    ),
    Mutant(
        "batch-datetime-key-taken-for-any-scalar",
        "sqlalchemy/batch_keys",
        '    datetime.datetime: "an ISO 8601 date and time string (2024-01-31T09:30:00)",\n',
        "",
        "a DateTime-keyed batch binds the id string as it came: a 500 on SQLite, missing elsewhere",
        "tests/test_batches.py",
        "datetime",
    ),
    Mutant(
        "batch-datetime-offset-unchecked",
        "sqlalchemy/batch_entries",
        "    if (batch_keys.bound(identity, datetime.datetime).tzinfo is not None) != offsets:\n",
        "    if False:\n",
        "a time with an offset, for a key without, is answered missing though its row exists",
        "tests/test_batches.py",
        "datetime",
    ),
    Mutant(
        "batch-datetime-offset-by-column-alone",
        "sqlalchemy/batch_keys",
        "    return bool(timezone) and dialect not in _NO_OFFSETS\n",
        "    return bool(timezone)\n",
        "on SQLite and MariaDB a DateTime(timezone=True) key asks ids for an offset the rows "
        "never carry: every batch entry is missing though its row exists",
        "tests/test_batches.py",
        "sqlite and instant_key_takes_ids",
    ),
    Mutant(
        "table-counter-names-folded",
        "sqlalchemy/table_versions",
        'mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin")',
        "mysql.VARCHAR(255)",
        "on MariaDB, tables Notes and notes share a counter: the list of Notes is never re-tagged",
        "tests/test_collections.py",
        "named_alike",
    ),
    Mutant(
        "restx-method-decorators-beside-decorators",
        "frameworks",
        "    if _method_decorators_also_serve(registered, conditional_view):\n",
        "    if False:\n",
        "a Resource with flask_etag in decorators and method_decorators is served: the inner "
        "require_if_match's 428 is lost",
        "tests/test_frameworks.py",
        "method_decorators_fails_first_request",
    ),
    Mutant(
        "star-304-names-the-identity-form",
        "compression",
        "    if if_none_match is None or if_none_match == etag_header or "
        "preconditions.asks_for_absence:\n",
        "    if if_none_match is None or if_none_match == etag_header:\n",
        "the 304 to If-None-Match: * names the identity tag where the 200 carries the coded one",
        "tests/test_compression.py",
        "star_names_the_coded_form",
    ),
    Mutant(
        "timestamp-read-at-without-clock-skew",
        "generators",
        "environ[_READ_AT_KEY] = judged_at(datetime.now(timezone.utc))",
        "environ[_READ_AT_KEY] = datetime.now(timezone.utc)",
        "a timestamp's date is sent as soon as this host's clock leaves its second: a change a "
        "host behind dates in it is answered 304",
        "tests/test_rfc9110_get.py",
        "clock_behind",
    ),
    Mutant(
        "collection-read-at-without-clock-skew",
        "sqlalchemy/collections",
        "read_at = judged_at(datetime.now(timezone.utc))",
        "read_at = datetime.now(timezone.utc)",
        "a collection's date is sent as soon as this host's clock leaves its second: a write by "
        "a host behind is answered 304",
        "tests/test_collections.py",
        "clock_behind",
    ),
    Mutant(
        "view-date-without-clock-skew",
        "responses",
        "judged_at(now if dated is None else min(dated, now))",
        "now if dated is None else min(dated, now)",
        "a file's mtime is sent as soon as this host's clock leaves its second: a file another "
        "host writes with a clock behind is answered 304",
        "tests/test_rfc9110_get.py",
        "clock_behind",
    ),
    Mutant(
        "clock-skew-never-noted",
        "clocks",
        "    if skew:\n",
        "    if False:\n",
        "ETAG_CLOCK_SKEW is read but never used: every date is sent as soon as this host's "
        "clock leaves its second",
        "tests/test_rfc9110_get.py",
        "clock_behind",
    ),
]


@dataclass
class Result:
    """What happened to one mutant."""

    mutant: Mutant
    killed: bool
    killed_by: str
    seconds: float
    hint_missed: bool = False


class CheckError(Exception):
    """The check itself cannot be trusted; the message says why."""


def mutated_source(mutant: Mutant, package: Path) -> str:
    """The module's text with the mutant applied; the snippet must occur exactly once."""
    path = package / f"{mutant.module}.py"
    source = path.read_text(encoding="utf-8")
    count = source.count(mutant.original)
    if count != 1:
        raise CheckError(
            f"mutant {mutant.name}: its snippet occurs {count} times in flask_etag/"
            f"{mutant.module}.py (must be exactly once): the code changed, update the list"
        )
    if mutant.original == mutant.replacement:
        raise CheckError(f"mutant {mutant.name}: the replacement is the original")
    mutated = source.replace(mutant.original, mutant.replacement)
    compile(mutated, str(path), "exec")  # a mutant that does not even parse is a typo
    return mutated


def copy_package(package: Path, workdir: Path, mutant: Mutant | None = None) -> Path:
    """A copy of ``package`` under ``workdir``, mutated; the path of the (mutated) module."""
    target = workdir / "flask_etag"
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    if mutant is None:
        return target / "__init__.py"
    module_path = target / f"{mutant.module}.py"
    module_path.write_text(mutated_source(mutant, package), encoding="utf-8")
    return module_path


def pytest_environment(workdir: Path, module: str, module_path: Path) -> dict[str, str]:
    """The environment of a run: the copy first on PYTHONPATH, scratch state under workdir."""
    environment = dict(os.environ)
    paths = [str(workdir), str(HERE), environment.get("PYTHONPATH", "")]
    environment.update(
        PYTHONPATH=os.pathsep.join(path for path in paths if path),
        PYTHONDONTWRITEBYTECODE="1",
        HYPOTHESIS_STORAGE_DIRECTORY=str(workdir / "hypothesis"),
        ETAG_MUTANT_MODULE=module,
        ETAG_MUTANT_FILE=str(module_path),
        ETAG_MUTANT_REPORT=str(workdir / "first-failure"),
    )
    return environment


def check_import(environment: dict[str, str], module: str, module_path: Path) -> None:
    """A separate interpreter, started as pytest will be, must import the copy.

    Like the pytest script, it runs in the repository root without the current directory on
    ``sys.path`` (``-c`` puts it first; the script puts its own directory there instead).
    """
    probe = f"import sys; del sys.path[0]; import {module} as m; print(m.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = done.stdout.strip()
    if done.returncode != 0 or Path(loaded).resolve() != module_path.resolve():
        raise CheckError(f"{module} imported from {loaded or done.stderr!r}, not {module_path}")


def pytest_command() -> list[str]:
    """The venv's pytest script: ``python -m pytest`` would put the repository on sys.path."""
    script = Path(sys.executable).with_name("pytest")
    if not script.exists():
        raise CheckError(f"no pytest script beside {sys.executable}")
    return [str(script)]


def run_pytest(
    workdir: Path, environment: dict[str, str], arguments: Sequence[str], *, stop_first: bool
) -> tuple[int, str, str]:
    """Run pytest from the repository root; (exit status, first failing test, output)."""
    report = Path(environment["ETAG_MUTANT_REPORT"])
    report.unlink(missing_ok=True)
    options = list(PYTEST_OPTIONS if stop_first else PYTEST_OPTIONS[1:])
    command = [*pytest_command(), *options, "--basetemp", str(workdir / "pytest"), *arguments]
    done = subprocess.run(
        command, env=environment, cwd=ROOT, capture_output=True, text=True, check=False
    )
    first = report.read_text(encoding="utf-8") if report.exists() else ""
    return done.returncode, first, done.stdout + done.stderr


def checked_status(status: int, output: str, what: str) -> bool:
    """True when tests failed, False when all passed; anything else is a CheckError."""
    if status in (0, 1):
        return status == 1
    tail = "\n".join(output.splitlines()[-25:])
    raise CheckError(f"{what}: pytest exited {status} (not a test failure)\n{tail}")


def check_baseline(
    package: Path, killers: Sequence[Mutant], extra: Sequence[str], whole_suite: bool = True
) -> None:
    """The unmutated copy passes the whole suite (unless ``whole_suite`` is False) and the
    killer selection of ``killers``."""
    with tempfile.TemporaryDirectory(prefix="flask-etag-baseline-") as name:
        workdir = Path(name)
        module_path = copy_package(package, workdir)
        environment = pytest_environment(workdir, "flask_etag", module_path)
        check_import(environment, "flask_etag", module_path)
        if whole_suite:
            status, first, output = run_pytest(workdir, environment, extra, stop_first=False)
            if checked_status(status, output, "baseline"):
                tail = "\n".join(output.splitlines()[-40:])
                raise CheckError(
                    f"the unmutated suite fails, so no kill would mean anything:\n{tail}"
                )
        for selection in killer_runs(killers):
            status, first, output = run_pytest(
                workdir, environment, [*extra, *selection], stop_first=False
            )
            # A killer naming no test exits 4 or 5, which checked_status reports.
            if checked_status(status, output, f"baseline of {' '.join(selection)}"):
                raise CheckError(f"killer fails unmutated: {first}")


def killer_runs(killers: Sequence[Mutant]) -> list[list[str]]:
    """Two pytest runs that hold every killer: the node ids together, and the keyworded
    ones' files under all their keywords, or-ed (a superset: what else it selects passed in
    the whole suite just before).  Each run starts one interpreter, where one per killer
    took minutes.  A keyword that selects none of its own tests exits 5 when its mutant
    runs, which the check reports as unusable."""
    plain = sorted({mutant.killer for mutant in killers if not mutant.keyword})
    keyed = [mutant for mutant in killers if mutant.keyword]
    runs = [plain] if plain else []
    if keyed:
        expression = " or ".join(sorted({f"({mutant.keyword})" for mutant in keyed}))
        runs.append([*sorted({mutant.killer for mutant in keyed}), "-k", expression])
    return runs


def run_mutant(package: Path, mutant: Mutant, extra: Sequence[str], full: bool) -> Result:
    """Apply one mutant to a fresh copy and run its killer, then the suite if it survived."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"flask-etag-{mutant.name}-") as name:
        workdir = Path(name)
        module = f"flask_etag.{mutant.module.replace('/', '.')}"
        module_path = copy_package(package, workdir, mutant)
        environment = pytest_environment(workdir, module, module_path)
        check_import(environment, module, module_path)
        if not full:
            status, first, output = run_pytest(
                workdir, environment, [*extra, *mutant.selection], stop_first=True
            )
            if checked_status(status, output, f"mutant {mutant.name}, its killer"):
                return Result(mutant, True, first, time.perf_counter() - started)
        status, first, output = run_pytest(workdir, environment, extra, stop_first=True)
        killed = checked_status(status, output, f"mutant {mutant.name}, whole suite")
        return Result(mutant, killed, first, time.perf_counter() - started, hint_missed=not full)


def print_table(results: Sequence[Result], total: float) -> None:
    """One line per mutant: verdict, the first failing test, seconds."""
    width = max(len(result.mutant.name) for result in results)
    print(f"{'mutant':<{width}}  verdict   seconds  killed by (first failing test)")
    for result in results:
        verdict = "killed" if result.killed else "SURVIVED"
        note = (
            "  [not by its killer: update the hint]" if result.killed and result.hint_missed else ""
        )
        killed_by = result.killed_by or "-"
        print(
            f"{result.mutant.name:<{width}}  {verdict:<8}  {result.seconds:7.1f}  {killed_by}{note}"
        )
    survivors = [result.mutant for result in results if not result.killed]
    print(f"\n{len(results) - len(survivors)}/{len(results)} killed in {total:.0f} s")
    for mutant in survivors:
        print(f"SURVIVED {mutant.name} ({mutant.module}.py): {mutant.bug}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="whole suite for every mutant")
    parser.add_argument("--only", action="append", default=[], help="run the mutant(s) named")
    parser.add_argument(
        "--suite-passed",
        action="store_true",
        help="skip the whole suite in the baseline: it just passed on this code (.ci/run)",
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: extra arguments for pytest")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    mutants = [mutant for mutant in MUTANTS if not options.only or mutant.name in options.only]
    try:
        if len({mutant.name for mutant in MUTANTS}) != len(MUTANTS):
            raise CheckError("two mutants share a name")
        unknown = set(options.only) - {mutant.name for mutant in MUTANTS}
        if unknown:
            raise CheckError(f"no mutant named {', '.join(sorted(unknown))}")
        results = []
        with tempfile.TemporaryDirectory(prefix="flask-etag-snapshot-") as name:
            # One snapshot of the package: the code may be edited while the check runs.
            package = copy_package(PACKAGE, Path(name)).parent
            for mutant in MUTANTS:  # every snippet is checked, even with --only
                mutated_source(mutant, package)
            killers = [] if options.full else mutants
            check_baseline(package, killers, options.pytest_args, not options.suite_passed)
            for mutant in mutants:
                result = run_mutant(package, mutant, options.pytest_args, options.full)
                results.append(result)
                verdict = "killed" if result.killed else "SURVIVED"
                print(f"{mutant.name}: {verdict} ({result.seconds:.1f} s)", flush=True)
    except CheckError as error:
        print(f"mutation check unusable: {error}", file=sys.stderr)
        return 2
    print()
    print_table(results, time.perf_counter() - started)
    return 0 if all(result.killed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
