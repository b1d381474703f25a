"""The docs' "real output" blocks, produced by a real run of the example.

``python docs/transcripts.py`` starts the example product API (``flask run`` on a fresh SQLite
file), runs the curl session of docs/guides/example.md and ``flask etag routes`` of
docs/guides/cli.md, and writes their output into the blocks between the pages'
``<!-- transcript: name -->`` and ``<!-- end transcript -->`` lines.
``tests/test_transcripts.py`` runs it again and compares, so a page cannot drift from what
the code does.  The example's versions are random (uuid4): the comparison reads every
entity-tag as the n-th distinct one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/products.py"

#: Fields left out of a transcript: they change with every run and say nothing of ETags.
_VOLATILE = ("server:", "date:", "connection:", "last-modified:")
_MERGE_PATCH = "-H 'Content-Type: application/merge-patch+json'"
_BLOCK = re.compile(
    r"(<!-- transcript: (?P<name>[\w-]+) -->\n```\n)(?P<body>.*?)(```\n<!-- end transcript -->)",
    re.S,
)
#: The colours werkzeug's request log gives some statuses on a terminal-less stderr too.
_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_TAG = re.compile(r'(W/)?\\?"[0-9a-f]{6,64}(?:\.[0-9a-f]+)*\\?"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flask(*arguments: str, app: str = EXAMPLE) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", app, *arguments]


class Server(NamedTuple):
    """A running ``flask run``: its URL, the environ it runs with, and its request log."""

    url: str
    env: dict[str, str]
    log: Path
    folder: Path

    def requests_logged(self) -> list[str]:
        """The request lines of its log, without the client address and the time."""
        lines = _ANSI_COLOUR.sub("", self.log.read_text(encoding="utf-8")).splitlines()
        return [line.split("] ", 1)[1] for line in lines if '] "' in line]


@contextlib.contextmanager
def example_server(app: str = EXAMPLE) -> Iterator[Server]:
    """``flask run`` of ``app`` on a free port, with a fresh SQLite file."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = {
            **os.environ,
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'products.sqlite3'}",
        }
        port = _free_port()
        log = folder / "server.log"
        with log.open("w", encoding="utf-8") as written:
            server = subprocess.Popen(
                _flask("run", "--port", str(port), app=app),
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=written,
            )  # fmt: skip
        try:
            _wait_for(port, server)
            yield Server(f"http://127.0.0.1:{port}", env, log, folder)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the example server stopped at start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError("the example server did not start listening within 30 s")


def curl(arguments: str) -> str:
    """Run ``curl -i`` as the reader would; the command as shown, then its output."""
    command = f"curl -i {arguments}"
    output = subprocess.run(
        shlex.split(command.replace("\\\n", " ")), capture_output=True, check=True, text=True
    ).stdout
    head, _, body = output.replace("\r\n", "\n").partition("\n\n")
    kept = [line for line in head.split("\n") if not line.lower().startswith(_VOLATILE)]
    return "\n".join([f"$ {command}", *kept, "", *([body.rstrip("\n")] if body else [])])


def example_session(url: str) -> str:
    """docs/guides/example.md: a read, its revalidation, writes with and without If-Match."""
    item = f"{url}/api/products/101"
    first = curl(f"{item}")
    tag = re.search(r"^ETag: (.*)$", first, re.M).group(1)  # type: ignore[union-attr]
    held = f"-H 'If-Match: {tag}'"
    steps = [
        first,
        curl(f"{item} -H 'If-None-Match: {tag}'"),
        curl(f"-X PATCH {item} {held} \\\n       {_MERGE_PATCH} -d '{{\"stock\": 44}}'"),
        curl(f"-X PATCH {item} {held} \\\n       {_MERGE_PATCH} -d '{{\"price\": 110}}'"),
        curl(f"-X PATCH {item} \\\n       {_MERGE_PATCH} -d '{{\"price\": 110}}'"),
        curl(
            f"-X POST {url}/api/products -H 'Content-Type: application/json' \\\n"
            """       -d '{"name":"USB-C Cable","price":9.99,"stock":300}'""",
        ),
    ]
    return "\n\n".join(step.rstrip("\n") for step in [*steps, *batch_steps(url)]) + "\n"


def batch_steps(url: str) -> list[str]:
    """The list with each product's tag, a batch written with those tags, then sent again."""
    listing = curl(f"{url}/api/products")
    tags = re.findall(r'"etag":\s*"(\\"[0-9a-f]+\\")"', listing)
    entries = ",".join(
        f'{{"id":{number},"etag":"{tag}","stock":{stock}}}'
        for number, tag, stock in zip((101, 102), tags, (40, 290), strict=True)
    )
    batch = f"-X PATCH {url}/api/products {_MERGE_PATCH} \\\n       -d '[{entries}]'"
    return [listing, curl(batch), curl(batch)]


def etag_routes(env: dict[str, str]) -> str:
    """docs/guides/cli.md: ``flask etag routes`` of the example."""
    shown = f"flask --app {EXAMPLE} etag routes"
    output = subprocess.run(
        _flask("etag", "routes"), cwd=ROOT, env=env, capture_output=True, check=True,
        text=True,
    ).stdout  # fmt: skip
    return f"$ {shown}\n{output}"


def cache_clients(server: Server) -> str:
    """docs/guides/caches.md: its CacheControl and hishel code against the example, then the
    server's request log of both sessions."""
    code = "\n".join(
        block
        for block in python_blocks("docs/guides/caches.md")
        if "CacheControl(" in block or "CacheClient(" in block
    )
    printed = subprocess.run(
        [sys.executable, "-c", code.replace("http://127.0.0.1:5000", server.url)],
        cwd=server.folder, capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    return printed


def cache_clients_log(server: Server) -> str:
    cache_clients(server)
    return "\n".join(server.requests_logged()) + "\n"


def metrics_session(server: Server) -> str:
    """docs/guides/signals.md: the answers of ``examples/metrics.py``, then its counters."""
    article = f"{server.url}/articles/1"
    json = "-H 'Content-Type: application/json'"
    lines = []
    for arguments in (
        article,
        f"-H 'If-None-Match: \"1\"' {article}",
        f'-X PUT {json} -d \'{{"title": "x"}}\' {article}',
        f'-X PUT {json} -H \'If-Match: "7"\' -d \'{{"title": "x"}}\' {article}',
    ):
        head = (
            subprocess.run(
                ["curl", "-si", *shlex.split(arguments)], capture_output=True, check=True, text=True
            )
            .stdout.replace("\r\n", "\n")
            .split("\n\n", 1)[0]
        )
        status = head.split("\n", 1)[0].split(" ", 1)[1]
        tag = re.search(r"^ETag: (.*)$", head, re.M | re.I)
        lines.append(
            f"$ curl -si {arguments}\n  -> {status}{f', ETag: {tag.group(1)}' if tag else ''}"
        )
    metrics = subprocess.run(
        ["curl", "-s", f"{server.url}/metrics"], capture_output=True, check=True, text=True
    ).stdout
    return "\n".join([*lines, f"$ curl -s {server.url}/metrics", metrics.rstrip("\n")]) + "\n"


def python_blocks(page: str) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


#: Each transcript: its page, the app it runs, and how to produce it from a fresh server.
TRANSCRIPTS: dict[str, tuple[str, str, Callable[[Server], str]]] = {
    "example-session": (
        "docs/guides/example.md",
        EXAMPLE,
        lambda server: example_session(server.url),
    ),
    "etag-routes": ("docs/guides/cli.md", EXAMPLE, lambda server: etag_routes(server.env)),
    "cache-clients": ("docs/guides/caches.md", EXAMPLE, cache_clients),
    "cache-clients-log": ("docs/guides/caches.md", EXAMPLE, cache_clients_log),
    "metrics-session": ("docs/guides/signals.md", "examples/metrics.py", metrics_session),
}


def produce() -> dict[str, str]:
    """Every transcript, each from a real run of a fresh server."""
    produced = {}
    for name, (_, app, make) in TRANSCRIPTS.items():
        with example_server(app) as server:
            produced[name] = make(server)
    return produced


def shown(page: str) -> dict[str, str]:
    """The transcripts a page shows now, by name."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return {match.group("name"): match.group("body") for match in _BLOCK.finditer(text)}


def comparable(transcript: str) -> str:
    """The transcript with each entity-tag named by its order of first appearance, and the
    example's port made the documented one."""
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        opaque = re.sub(r'[\\"W/]', "", match.group(0))
        return names.setdefault(opaque, f"<tag {len(names) + 1}>")

    return _TAG.sub(name, on_the_documented_port(transcript))


def write(produced: dict[str, str]) -> None:
    """Put each transcript into the block of its name on its page."""
    for name, (page, _, _) in TRANSCRIPTS.items():
        path = ROOT / page
        body = on_the_documented_port(produced[name])

        def replaced(match: re.Match[str], name: str = name, body: str = body) -> str:
            if match.group("name") != name:
                return match.group(0)
            return f"{match.group(1)}{body}{match.group(4)}"

        path.write_text(_BLOCK.sub(replaced, path.read_text(encoding="utf-8")), encoding="utf-8")


def on_the_documented_port(transcript: str) -> str:
    """The transcript as the docs show it: on the example's documented port."""
    return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:5000", transcript)


if __name__ == "__main__":
    write(produce())
