"""Mutation check: every mutant below is a realistic bug, and the test suite must catch each one.

Run it from the repository root, with the project's virtualenv::

    .venv/bin/python tests/mutants/run.py            # hinted test first, whole suite if it passes
    .venv/bin/python tests/mutants/run.py --full     # the whole suite for every mutant (slower)
    .venv/bin/python tests/mutants/run.py --only fast-path-if-match
    .venv/bin/python tests/mutants/run.py -- --deselect tests/test_x.py::test_y  # pytest args

For each mutant it copies ``flask_etag/`` to a temporary directory, replaces one snippet in
one module, and runs pytest (``-x -m "not slow" --hypothesis-seed=0``) with the copy first on
``PYTHONPATH``; the ``mutant_plugin`` beside this file stops the run unless the copy is what
was imported (the package is installed editable).  A mutant is killed when a test fails.
The test named in the mutant's ``killer`` runs first, because it is quick; only if it passes
does the whole suite run (and the table says the hint needs updating).  Before any mutant,
the unmutated copy must pass the whole suite and every killer, or a "kill" would mean
nothing.  The whole check takes about two and a half minutes on a two-core machine, so
``.ci/run`` runs it after the test suite.

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
        "fast-path-if-match",
        "conditions",
        "        preconditions.if_none_match == etag_header\n"
        "        and preconditions.if_match is None\n",
        "        preconditions.if_none_match == etag_header\n",
        "is_exact_revalidation forgets If-Match: current INM + stale If-Match answers 304",
        PRECEDENCE_READS,
        "function-GET-body and stale and before",
    ),
    Mutant(
        "fast-path-if-unmodified-since",
        "conditions",
        "        and preconditions.if_match is None\n"
        "        and preconditions.if_unmodified_since is None\n",
        "        and preconditions.if_match is None\n",
        "is_exact_revalidation forgets If-Unmodified-Since: a file route answers 304, not 412",
        PRECEDENCE_READS,
        "function-GET-file and earlier and before",
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
        "        if not if_match_passes(preconditions.if_match, current):\n"
        "            return Outcome.PRECONDITION_FAILED\n"
        "    elif preconditions.if_unmodified_since is not None:\n"
        "        if _unmodified_since(preconditions.if_unmodified_since, current) is False:\n"
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
        "        if not if_match_passes(preconditions.if_match, current):\n"
        "            return Outcome.PRECONDITION_FAILED\n"
        "    elif preconditions.if_unmodified_since is not None:\n"
        "        if _unmodified_since(preconditions.if_unmodified_since, current) is False:\n"
        "            return Outcome.PRECONDITION_FAILED\n",
        "If-None-Match evaluated before If-Match: stale If-Match + matching INM answers 304",
        PRECEDENCE_READS,
        "function-GET-version and stale and before",
    ),
    Mutant(
        "if-unmodified-since-strict",
        "conditions",
        "    return current.last_modified <= since\n",
        "    return current.last_modified < since\n",
        "If-Unmodified-Since equal to Last-Modified fails (<= became <)",
        PRECEDENCE_READS,
        "function-GET-timestamp and equal and Unmodified",
    ),
    Mutant(
        "if-modified-since-inclusive",
        "conditions",
        "    return current.last_modified > since\n",
        "    return current.last_modified >= since\n",
        "If-Modified-Since equal to Last-Modified counts as modified (> became >=)",
        PRECEDENCE_READS,
        "function-GET-timestamp and equal and 13.1.3",
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
    # ------------------------------------------------------------------ handling.py
    Mutant(
        "304-without-etag",
        "handling",
        "        for name, value in headers\n    ]\n",
        '        for name, value in headers\n        if name != "ETag"\n    ]\n',
        "a 304 decided before the view carries no ETag (§15.4.5)",
        PRECEDENCE_READS,
        "function-GET-version and 304 and step and 1",
    ),
    Mutant(
        "preconditions-shown-to-view",
        "handling",
        "    hidden = _take_fields(environ, _DECIDED_BY_THE_EXTENSION)\n",
        "    hidden: dict[str, Any] = {}\n",
        "the view sees the precondition fields: send_file judges If-Match: * again (412)",
        PRECEDENCE_READS,
        "function-GET-file and alone and 13.1.1",
    ),
    Mutant(
        "body-hash-write-guard-if-match-only",
        "handling",
        "    if preconditions is not None:\n"
        "        current = current_representation_validators(app, generator, settings)\n",
        "    if preconditions is not None and preconditions.if_match is not None:\n"
        "        current = current_representation_validators(app, generator, settings)\n",
        "a body-hash write is judged only when it carries If-Match: If-None-Match is skipped",
        PRECEDENCE_WRITES,
        "function and body-hash and 13.1.2",
    ),
    Mutant(
        "status-document-tagged",
        "handling",
        "    if location is None:\n        return False\n",
        "    if location is None:\n        return True\n",
        "a write without Content-Location is tagged as if it were the new representation",
        "tests/test_real_apps.py::test_write_answering_a_status_document_is_untagged",
    ),
    Mutant(
        "streamed-get-missing",
        "handling",
        "    return Validators(exists=True) if current is None else current\n",
        "    return MISSING if current is None else current\n",
        "a streamed GET is taken as a missing resource when judging a body-hash write",
        "tests/test_real_apps.py::test_streamed_representation_counts_as_existing_for_writes",
    ),
    Mutant(
        "missing-get-judged",
        "handling",
        "    if not (safe and not current.exists):\n",
        "    if True:\n",
        "a GET of a missing resource is judged before the view: 412 instead of its 404",
        "tests/test_rfc9110_get.py::test_missing_resource_answers_404_to_reads",
    ),
    Mutant(
        "view-last-modified-ignored",
        "handling",
        "    if safe and preconditions is not None and final.last_modified is None:\n",
        "    if False:\n",
        "a version route ignores the Last-Modified its view (send_file) sets for IMS",
        PRECEDENCE_READS,
        "function-GET-file and 13.1.3 and equal",
    ),
    # ------------------------------------------------------------ sqlalchemy/collections.py
    Mutant(
        "collection-delete-not-counted",
        "sqlalchemy/collections",
        "        written = [*session.new, *session.deleted]\n",
        "        written = [*session.new]\n",
        "a delete does not raise the table's version: the old list is revalidated 304",
        "tests/test_collections.py",
        "sqlite and deleting and last and row",
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
        "        if response.status_code < 500:\n",
        "        if response.status_code == 200:\n",
        "a 304 drops the keys, and a cache refreshing its copy with it forgets what to purge",
        "tests/test_shared_caches.py",
        "item_read_names",
    ),
    # ------------------------------------------------------------------ tags.py
    Mutant(
        "strip-any-coding",
        "tags",
        "    return base if colon and coding.lower() in CONTENT_CODINGS else opaque\n",
        "    return base if colon else opaque\n",
        'strip_coding takes any ":suffix" for a content coding: "x:foo" matches "x"',
        PRECEDENCE_READS,
        "function-GET-body and coding",
    ),
    Mutant(
        "if-match-unquoted",
        "tags",
        "        if match is None or match.end() == position:\n            return ETags()\n",
        "        if match is None or match.end() == position:\n"
        "            from werkzeug.http import parse_etags\n\n"
        "            return parse_etags(value)\n",
        "If-Match falls back to werkzeug's lenient parse: an unquoted tag passes",
        PRECEDENCE_WRITES,
        "function and unquoted",
    ),
    Mutant(
        "unsafe-version-not-hashed",
        "tags",
        "    if _SAFE_OPAQUE.fullmatch(text):\n",
        "    if text:\n",
        "a version with quotes or CR/LF is used in the tag as it is (header injection)",
        "tests/test_rfc9110_get.py::test_awkward_versions_give_safe_usable_tags",
    ),
    # ------------------------------------------------------------------ decorators.py
    Mutant(
        "428-any-conditional-header",
        "invalidation",
        "    return preconditions is not None and preconditions.asks_for_write_guard\n",
        "    return preconditions is not None\n",
        "require_if_match accepts any conditional field (If-None-Match with a tag) as a guard",
        PRECEDENCE_WRITES,
        "function and 6585 and non-matching",
    ),
    Mutant(
        "428-if-match-only",
        "invalidation",
        "    return preconditions is not None and preconditions.asks_for_write_guard\n",
        "    return preconditions is not None and preconditions.if_match is not None\n",
        "require_if_match refuses If-None-Match: * (create only if absent) with 428",
        PRECEDENCE_WRITES,
        "function and 6585 and creates",
    ),
    Mutant(
        "428-on-reads",
        "decorators",
        "        if method in SAFE_METHODS:\n            return read(",
        "        if False:\n            return read(",
        "require_if_match answers 428 to a plain GET",
        "tests/test_precedence.py::test_require_if_match_guards_writes_only",
        "function",
    ),
    Mutant(
        "ignored-methods-judged",
        "decorators",
        "        if method in IGNORED_METHODS:\n            return call(**view_args)\n",
        "",
        "OPTIONS/TRACE go through the preconditions (require_if_match answers 428)",
        "tests/test_precedence.py::test_methods_that_ignore_preconditions",
        "function",
    ),
    # ------------------------------------------------------------------ finishing.py
    Mutant(
        "rewritten-body-not-rehashed",
        "finishing",
        "    elif sent is not hashed and sent != hashed:\n",
        "    elif hashed is None:\n",
        "a body an after_request hook rewrote keeps the tag of the view's bytes",
        "tests/test_hooks_and_negotiation.py",
    ),
    # ------------------------------------------------------------------ the fast path's shortcuts
    Mutant(
        "fast-304-keeps-content-type",
        "handling",
        "        del fields[:2]  # Content-Type",
        "        del fields[1:2]  # Content-Type",
        "the body-hash fast path's 304 keeps Content-Type, which §15.4.5 leaves out",
        "tests/test_fast_paths.py",
        "plain",
    ),
    Mutant(
        "fast-path-ignores-after-this-request",
        "handling",
        "        and not hooks_after_this_request()  # none may rewrite the body after the tag\n",
        "",
        "a view's after_this_request rewrite is sent under the tag of the bytes before it",
        "tests/test_hooks_and_negotiation.py",
        "after_this_request and fast",
    ),
    Mutant(
        "general-path-ignores-after-this-request",
        "handling",
        "    if not hooks_after_this_request():\n        return False\n",
        "    if True:\n        return False\n",
        "with a cache policy, an after_this_request rewrite keeps the view's tag",
        "tests/test_hooks_and_negotiation.py",
        "after_this_request and general",
    ),
    Mutant(
        "fields-as-built-ignore-status",
        "internals",
        "        if self._status_code == 200 and len(headers._list) ==",
        "        if len(headers._list) ==",
        "a fast-path 200 made 204 later is sent with Content-Length (RFC 9110 §8.6)",
        "tests/test_hooks_and_negotiation.py",
        "werkzeugs_fixes and 204",
    ),
    Mutant(
        "fields-as-built-ignore-new-fields",
        "internals",
        "        if self._status_code == 200 and len(headers._list) ==",
        "        if self._status_code == 200 or len(headers._list) ==",
        "a Location added after the fast path skips werkzeug's IRI-to-URI fix",
        "tests/test_hooks_and_negotiation.py",
        "werkzeugs_fixes and location",
    ),
    Mutant(
        "fields-as-built-bypass-the-apps-class",
        "internals",
        "    cls = None if overrides_get_wsgi_headers(base) else _skipping_the_copy(base)\n",
        "    cls = _skipping_the_copy(base)\n",
        "the fast path's 200 skips the fields an app's response class adds as it is sent",
        "tests/test_hooks_and_negotiation.py",
        "response_class and body",
    ),
    # ------------------------------------------------------------------ responses.py
    Mutant(
        "304-bypasses-the-apps-class",
        "responses",
        "        if overrides_get_wsgi_headers(base):\n",
        "        if False:\n",
        "a 304 lacks the Cache-Control an app's response class adds to its 200 (§15.4.5)",
        "tests/test_hooks_and_negotiation.py",
        "response_class and timestamp",
    ),
    Mutant(
        "304-through-the-apps-class-drops-last-modified",
        "responses",
        '        if last_modified is not None and "Last-Modified" not in headers:\n',
        "        if False:\n",
        "through an app's response class, werkzeug drops the 304's Last-Modified",
        "tests/test_hooks_and_negotiation.py",
        "response_class and timestamp",
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
        FLASK_ETAG_MUTANT_MODULE=module,
        FLASK_ETAG_MUTANT_FILE=str(module_path),
        FLASK_ETAG_MUTANT_REPORT=str(workdir / "first-failure"),
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
    report = Path(environment["FLASK_ETAG_MUTANT_REPORT"])
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


def check_baseline(package: Path, killers: Sequence[Mutant], extra: Sequence[str]) -> None:
    """The unmutated copy passes the whole suite and the killer selection of ``killers``."""
    with tempfile.TemporaryDirectory(prefix="flask-etag-baseline-") as name:
        workdir = Path(name)
        module_path = copy_package(package, workdir)
        environment = pytest_environment(workdir, "flask_etag", module_path)
        check_import(environment, "flask_etag", module_path)
        status, first, output = run_pytest(workdir, environment, extra, stop_first=False)
        if checked_status(status, output, "baseline"):
            tail = "\n".join(output.splitlines()[-40:])
            raise CheckError(f"the unmutated suite fails, so no kill would mean anything:\n{tail}")
        for selection in sorted({tuple(mutant.selection) for mutant in killers}):
            status, first, output = run_pytest(
                workdir, environment, [*extra, *selection], stop_first=False
            )
            # A selection of no test exits 5, which checked_status reports.
            if checked_status(status, output, f"baseline of {' '.join(selection)}"):
                raise CheckError(f"killer {' '.join(selection)} fails unmutated: {first}")


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
            check_baseline(package, [] if options.full else mutants, options.pytest_args)
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
