"""The documentation's Python examples run, page by page, as written.

Each page's ``python`` blocks run in order in one namespace (a page builds on its earlier
blocks), in a folder of the test's own.  A block that needs something the suite cannot give
it (a server listening on a port, an app of the reader's) is preceded by a line
``% not run: <why>`` (Markdown) or ``.. not run: <why>`` (reStructuredText), and is counted,
never silently skipped.
"""

from __future__ import annotations

import re
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, request_started
from support_databases import dispose_after_test

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_MARKDOWN_BLOCK = re.compile(r"(?m)^(?P<before>[^\n]*)\n```python\n(?P<code>.*?)^```", re.S)
_RST_BLOCK = re.compile(
    r"(?m)^(?P<before>[^\n]*)\n\n?\.\. code-block:: python\n\n(?P<code>(?:(?:[ ]{3,}[^\n]*)?\n)+)"
)
_NOT_RUN = re.compile(r"^(%|\.\.) not run: (?P<why>\S.*)$")


@dataclass(frozen=True)
class Block:
    code: str
    line: int
    not_run_because: str | None


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    pattern = _MARKDOWN_BLOCK if page.suffix == ".md" else _RST_BLOCK
    found = []
    for match in pattern.finditer(text):
        marker = _NOT_RUN.match(match.group("before").strip())
        line = text.count("\n", 0, match.start("code")) + 1
        code = textwrap.dedent(match.group("code"))
        found.append(Block(code, line, marker.group("why") if marker else None))
    return found


PAGES = [
    ROOT / "README.md",
    *sorted(page for page in DOCS.rglob("*") if page.suffix in (".md", ".rst") and blocks(page)),
]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_the_examples_of_a_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # A real module: SQLAlchemy resolves a model's annotations through sys.modules.
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ran = 0
    requested: set[tuple[int, str | None]] = set()

    def record(sender: Flask, **_extra: object) -> None:
        requested.add((id(sender), request.endpoint))

    with request_started.connected_to(record):
        for block in blocks(page):
            if block.not_run_because is not None:
                continue
            code = compile(block.code, f"{page.relative_to(ROOT)}:{block.line}", "exec")
            try:
                exec(code, module.__dict__)
            finally:
                for value in list(module.__dict__.values()):
                    if isinstance(value, Flask):
                        dispose_after_test(value)
            ran += 1
    assert ran or all(block.not_run_because for block in blocks(page))
    never = sorted(
        f"{rule.rule} ({rule.endpoint})"
        for app in {
            id(value): value for value in module.__dict__.values() if isinstance(value, Flask)
        }.values()
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and (id(app), rule.endpoint) not in requested
    )
    assert not never, f"routes the page defines but never sends a request: {never}"


def test_examples_not_run_say_why() -> None:
    """A block is either run or marked with its reason; the marked ones are few."""
    marked = [(page.name, block.line) for page in PAGES for block in blocks(page)
              if block.not_run_because is not None]  # fmt: skip
    every = sum(len(blocks(page)) for page in PAGES)
    assert len(marked) <= every // 2, marked


def test_writes_page_hand_written_cas_gives_its_lost_race_412_the_current_tag_rfc9110_13_1_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-written compare-and-set of writes.md, racing a second writer that commits
    between the If-Match check and the view's UPDATE: 412 with the current tag, which a retry
    passes with (status-codes.md: a 412 for a resource that exists carries its current tag)."""
    from sqlalchemy import event, text

    page = DOCS / "guides" / "writes.md"
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("docs_writes_race")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for block in blocks(page):
        exec(compile(block.code, f"{page.relative_to(ROOT)}:{block.line}", "exec"), module.__dict__)
    app, db = dispose_after_test(module.app), module.db
    raced = []

    def other_client_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE items SET body") and not raced:
            raced.append(statement)  # once: after the If-Match check, before the view's UPDATE
            with db.engine.begin() as other:
                other.execute(text("UPDATE items SET version = version + 1 WHERE id = 1"))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", other_client_writes)
    client = app.test_client()
    lost = client.put("/items/1", data="mine", headers={"If-Match": '"2"'})  # the page left 2
    assert raced and lost.status_code == 412
    assert lost.headers["ETag"] == '"3"' and lost.get_json()["etag"] == '"3"'
    retried = client.put("/items/1", data="mine", headers={"If-Match": lost.headers["ETag"]})
    assert retried.status_code == 200 and retried.headers["ETag"] == '"4"'
