"""``benchmarks/collection_pages.py --http`` must not rot: run it once with a tiny count.

No timing is asserted; the script itself checks that the page is a full 1,000-row page and
that every timed request was a 304, and exits non-zero otherwise.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from support_processes import REPO_ROOT, require_module

pytestmark = pytest.mark.slow


def test_the_http_mode_times_both_revalidations() -> None:
    require_module("gunicorn", "the --http mode serves the example through gunicorn")
    completed = subprocess.run(
        [sys.executable, "benchmarks/collection_pages.py", "--http", "--http-requests", "100"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for url in ("/api/products?per_page=1000&page=5", "/api/products/101"):
        assert re.search(rf"^{re.escape(url)}\s+\d+\s+\d+\s+\d+$", completed.stdout, re.M), url
    assert re.search(r"^collection 304 / item 304: \d+\.\d\d ", completed.stdout, re.M)
