r"""The version matrix: every supported Python with the newest dependencies, and one run
with the lowest versions ``setup.cfg`` claims.

The ``upcoming`` session runs them on the main branches of Flask and Werkzeug, from the wheels
in ``../shared/upcoming/``.

Run all sessions with ``nox``, one with ``nox -s lowest`` or ``nox -s tests-3.12``; arguments
after ``--`` go to pytest (``nox -s tests-3.13 -- -x tests/test_conditions.py``).  Only the
fast tests run (``-m "not slow"``): the real-process tests need the system services that
``.ci/run`` installs, and run once, in the project's own environment.

nox looks for each interpreter as ``python3.10`` ... ``python3.13`` on ``PATH`` and never
downloads one.  pyenv's shims answer only for the versions selected, so select all four
(the first is then the default ``python3``), with the installed names that
``pyenv versions --bare`` prints, for good or for one shell::

    pyenv global 3.11.x 3.10.x 3.12.x 3.13.x
    export PYENV_VERSION="$(pyenv versions --bare | grep -E '^3\.1[0-3]\.[0-9]+$' | paste -sd:)"

or put one version's ``bin`` first on ``PATH``, without shims:
``PATH="$(pyenv root)/versions/3.10.x/bin:$PATH" nox -s lowest``.

A missing interpreter fails its session rather than skipping it, so a green run has run
every version.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

nox.needs_version = ">=2025.5.1"
nox.options.sessions = ["tests", "lowest", "upcoming"]
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
LOWEST_PYTHON = PYTHONS[0]
FAST_TESTS = ("-m", "not slow")
SETUP_CFG = Path(__file__).parent / "setup.cfg"

#: Test requirements that cannot be installed beside the lowest Flask: flask-smorest 0.44
#: requires Flask>=3.0.2.
NOT_WITH_LOWEST_FLASK = {"flask-smorest"}

#: The fast tests that need flask-smorest, left out of the lowest session only: the
#: framework integrations and the docs page that shows them.  The benchmarks also use it,
#: but they are slow tests, which no nox session runs.
NEED_FLASK_SMOREST = (
    "--ignore=tests/test_frameworks.py",
    "--deselect=tests/test_docs.py::test_the_examples_of_a_page_run[docs/guides/frameworks.rst]",
)


#: The wheels of Flask's and Werkzeug's main branches (``../shared/upcoming/README.md``).
UPCOMING_WHEELS = Path(__file__).parent.parent / "shared" / "upcoming"

#: What of the test extra does not run on the upcoming releases yet, left out of that session
#: only: Flask-RESTX 1.3 registers its documentation route twice, which Werkzeug 3.2 refuses
#: (DuplicateRuleError), and APIFlask 3.1 imports ``werkzeug.http.HTTP_STATUS_CODES``, which
#: Werkzeug 3.2 deprecates.  flask_etag's own warnings stay errors.
NOT_YET_ON_UPCOMING = (
    "-k",
    "not restx",
    "--deselect=tests/test_docs.py::test_the_examples_of_a_page_run[docs/guides/frameworks.rst]",
    "-W",
    "ignore::DeprecationWarning:apiflask.helpers",
)


def _requirements(option: str, section: str = "options") -> list[Requirement]:
    """The requirements one ``setup.cfg`` option lists (install_requires or an extra)."""
    config = configparser.ConfigParser()
    config.read(SETUP_CFG, encoding="utf-8")
    lines = config[section][option].splitlines()
    return [Requirement(line) for line in lines if line.strip()]


def _lowest_pin(requirement: Requirement) -> str:
    """``name==X`` for a requirement that claims ``name>=X``: the version to prove."""
    minimums = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    if len(minimums) != 1:
        raise ValueError(f"{requirement} in setup.cfg must claim exactly one minimum (>=)")
    return f"{requirement.name}=={minimums[0]}"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The fast tests with the newest dependencies."""
    session.install("--upgrade", "-e", ".[test]")
    session.run("pytest", *FAST_TESTS, *session.posargs)


@nox.session(python=PYTHONS[-1])
def upcoming(session: nox.Session) -> None:
    """The fast tests on the main branches of Flask and Werkzeug, installed over the test
    extra without their dependencies, with the project's own ``filterwarnings = error``."""
    wheels = sorted(str(wheel) for wheel in UPCOMING_WHEELS.glob("*.whl"))
    if len(wheels) != 2:
        session.error(f"expected Flask's and Werkzeug's wheels in {UPCOMING_WHEELS}")
    session.install("-e", ".[test]")
    session.install("--no-deps", "--force-reinstall", *wheels)
    versions = (
        "from importlib.metadata import version; print(version('flask'), version('werkzeug'))"
    )
    session.run("python", "-c", versions)
    session.run("pytest", *FAST_TESTS, *NOT_YET_ON_UPCOMING, *session.posargs)


@nox.session(python=LOWEST_PYTHON)
def lowest(session: nox.Session) -> None:
    """The fast tests with exactly the minimum versions of install_requires and the
    sqlalchemy extra, pinned with ``==`` from setup.cfg."""
    claimed = _requirements("install_requires") + _requirements(
        "sqlalchemy", "options.extras_require"
    )
    pins = [_lowest_pin(requirement) for requirement in claimed]
    test_requirements = [
        str(requirement)
        for requirement in _requirements("test", "options.extras_require")
        if canonicalize_name(requirement.name) not in NOT_WITH_LOWEST_FLASK
    ]
    session.install("-e", ".", *pins, *test_requirements)
    pinned_names = {canonicalize_name(requirement.name) for requirement in claimed}
    freeze = session.run("python", "-m", "pip", "freeze", "--exclude-editable", silent=True)
    installed = [
        line
        for line in str(freeze).splitlines()
        if canonicalize_name(line.partition("==")[0]) in pinned_names
    ]
    session.log("lowest versions installed: " + ", ".join(installed))
    if len(installed) != len(pinned_names):
        session.error(f"expected {sorted(pinned_names)} in pip freeze, found {installed}")
    session.run("pytest", *FAST_TESTS, *NEED_FLASK_SMOREST, *session.posargs)
