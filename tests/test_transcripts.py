"""Issue 20: the docs' "real output" blocks are what a real run of the example prints.

``docs/transcripts.py`` produces them (``flask run`` of the example, then the pages' curl
session and ``flask etag routes``); this test runs it again and compares each block, every
entity-tag read as the n-th distinct one (the example's versions are random).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from types import ModuleType

import pytest
from support_processes import REPO_ROOT, skip_or_fail

pytestmark = pytest.mark.slow


def load_transcripts() -> ModuleType:
    spec = importlib.util.spec_from_file_location("transcripts", REPO_ROOT / "docs/transcripts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["transcripts"] = module
    spec.loader.exec_module(module)
    return module


def test_every_real_output_block_is_what_a_real_run_prints() -> None:
    if shutil.which("curl") is None:
        skip_or_fail("curl is not installed (apt-get install curl)")
    transcripts = load_transcripts()
    produced = transcripts.produce()
    for name, (page, _, _) in transcripts.TRANSCRIPTS.items():
        shown = transcripts.shown(page)
        assert name in shown, f"{page} has no <!-- transcript: {name} --> block"
        assert transcripts.comparable(shown[name]) == transcripts.comparable(produced[name]), (
            f"{page} differs from a real run: run `python docs/transcripts.py` and review"
        )


def test_the_comparison_reads_tags_by_order_and_can_fail() -> None:
    transcripts = load_transcripts()
    first = 'ETag: "aaaaaaaa"\nIf-Match: "aaaaaaaa"\nETag: "bbbbbbbb"\n'
    renamed = 'ETag: "cccccccc"\nIf-Match: "cccccccc"\nETag: "dddddddd"\n'
    assert transcripts.comparable(first) == transcripts.comparable(renamed)
    swapped = 'ETag: "cccccccc"\nIf-Match: "dddddddd"\nETag: "dddddddd"\n'
    assert transcripts.comparable(first) != transcripts.comparable(swapped)
