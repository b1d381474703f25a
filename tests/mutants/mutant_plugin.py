"""pytest plugin that ``run.py`` loads (``-p mutant_plugin``) into every run it starts.

It proves that the run tests the copy ``run.py`` made (the package is installed editable, so
the repository's own ``flask_etag`` is one wrong ``sys.path`` entry away), and writes the id
of the first failing test to a file for ``run.py``'s table.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

#: Exit status of a run that would not have tested the mutant; run.py treats it as an error.
WRONG_MODULE = 3


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once unless the module under test is the one in run.py's temporary copy."""
    module = importlib.import_module(os.environ["ETAG_MUTANT_MODULE"])
    loaded = Path(str(module.__file__)).resolve()
    expected = Path(os.environ["ETAG_MUTANT_FILE"]).resolve()
    if loaded != expected:
        pytest.exit(f"{module.__name__} was imported from {loaded}, not {expected}", WRONG_MODULE)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record the first failing test (setup, call or teardown)."""
    _record_first_failure(report.failed, report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that fails to collect is recorded too, so run.py can say which."""
    _record_first_failure(report.failed, report.nodeid)


def _record_first_failure(failed: bool, nodeid: str) -> None:
    path = Path(os.environ["ETAG_MUTANT_REPORT"])
    if failed and not path.exists():
        path.write_text(nodeid, encoding="utf-8")
