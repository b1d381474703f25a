"""The benchmark script must not rot: run it once with tiny counts, as CI does.

No timing is asserted (the numbers of a two-round run mean nothing).  What is asserted is that
every contender answered every case as the row says (the script checks each status and that
no 304 ran the view, and exits non-zero otherwise), that every table is printed, and, from the
end-to-end run under gunicorn, that a revalidation moves under 1% of the bytes of a full
response: a byte count, not a timing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from support_processes import REPO_ROOT, require_module, skip_or_fail

SCRIPT = REPO_ROOT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def quick_run() -> str:
    """The output of ``bench.py --quick --e2e`` (about half a minute on a loaded machine)."""
    require_module("flask_smorest", "the benchmark compares against flask-smorest's @blp.etag")
    require_module("gunicorn", "the end-to-end benchmark serves through gunicorn")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--e2e"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


@pytest.mark.slow
def test_ratio_table_has_every_contender_and_case(quick_run: str) -> None:
    """The performance page's ratio table: ours, werkzeug and flask-smorest on all five cases."""
    assert "Request time as a ratio to bare Flask" in quick_run
    header = next(line for line in quick_run.splitlines() if line.startswith("case "))
    assert header.split()[1:5] == ["baseline", "ours", "werkzeug", "flask-smorest"]
    for case in (
        "small JSON 200, body-hash tag",
        "small JSON 304, body-hash tag",
        "large JSON 200, body-hash tag",
        "large JSON 304, body-hash tag",
        "version-tagged 304, 3 ms view",
    ):
        rows = [line for line in quick_run.splitlines() if line.startswith(case)]
        assert len(rows) == 2, case  # the ratio row and the microseconds row
        ratios = re.findall(r"\d+\.\d{3}", rows[0])
        assert len(ratios) == 3 and all(float(ratio) > 0 for ratio in ratios), rows[0]


@pytest.mark.slow
def test_hash_table_has_every_algorithm_and_size(quick_run: str) -> None:
    assert "Hash throughput, GB/s" in quick_run
    for algorithm in ("blake3", "md5", "sha1", "sha256"):
        row = next(line for line in quick_run.splitlines() if line.startswith(algorithm + " "))
        assert len(re.findall(r"\d+\.\d{2}", row)) == 3, row


@pytest.mark.slow
def test_end_to_end_revalidation_moves_under_one_percent(quick_run: str) -> None:
    """RFC 9110 §15.4.5 in bytes: a 304 carries no content, so it is tiny next to a 200."""
    assert "End to end: gunicorn" in quick_run
    for kind in ("hash", "version"):
        sizes = {
            status: int(match.group(1))
            for status in ("200", "304")
            if (match := re.search(rf"^{kind} {status}\s+\d+\s+(\d+)\s", quick_run, re.M))
        }
        assert sizes.keys() == {"200", "304"}, quick_run
        assert sizes["200"] > 90_000  # the ~100 KB resource, whole
        assert sizes["304"] < sizes["200"] / 100


@pytest.mark.slow
def test_instruction_counts_run_and_print_their_ratios() -> None:
    """``instructions.py`` under valgrind, two cases at one layout: every row, a ratio each.

    The counts of such a short run are not asserted (that is the full run's job); that the
    script works, and that a 304 decided before the view costs fewer instructions than the
    route's 200, is.
    """
    if shutil.which("valgrind") is None:
        skip_or_fail("valgrind is not installed (apt-get install valgrind)")
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "instructions.py"),
            *("--case", "ours version 200", "--case", "ours version 304 (view skipped)"),
            *("--requests", "10", "--layouts", "1"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    counts = {
        line[:34].strip(): float(line[34:48].replace(",", ""))
        for line in completed.stdout.splitlines()
        if line.startswith(("bare ", "ours "))
    }
    skipped = "ours version 304 (view skipped)"
    assert set(counts) == {"bare 200", "ours version 200", skipped}, counts
    assert counts[skipped] < counts["ours version 200"]
