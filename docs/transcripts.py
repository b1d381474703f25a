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

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/products.py"

#: Fields left out of a transcript: they change with every run and say nothing of ETags.
_VOLATILE = ("server:", "date:", "connection:")
_MERGE_PATCH = "-H 'Content-Type: application/merge-patch+json'"
_BLOCK = re.compile(
    r"(<!-- transcript: (?P<name>[\w-]+) -->\n```\n)(?P<body>.*?)(```\n<!-- end transcript -->)",
    re.S,
)
_TAG = re.compile(r'(W/)?\\?"[0-9a-f]{6,64}\\?"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flask(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", EXAMPLE, *arguments]


@contextlib.contextmanager
def example_server() -> Iterator[tuple[str, dict[str, str]]]:
    """``flask run`` of the example on a free port and a fresh SQLite file: (URL, environ)."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'products.sqlite3'}",
        }
        port = _free_port()
        server = subprocess.Popen(
            _flask("run", "--port", str(port)),
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(port, server)
            yield url, env
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
    return "\n\n".join(step.rstrip("\n") for step in steps) + "\n"


def etag_routes(env: dict[str, str]) -> str:
    """docs/guides/cli.md: ``flask etag routes`` of the example."""
    shown = f"flask --app {EXAMPLE} etag routes"
    output = subprocess.run(
        _flask("etag", "routes"), cwd=ROOT, env=env, capture_output=True, check=True,
        text=True,
    ).stdout  # fmt: skip
    return f"$ {shown}\n{output}"


#: Each transcript: the page that shows it, and how to produce it from a running example.
TRANSCRIPTS: dict[str, tuple[str, Callable[[str, dict[str, str]], str]]] = {
    "example-session": ("docs/guides/example.md", lambda url, env: example_session(url)),
    "etag-routes": ("docs/guides/cli.md", lambda url, env: etag_routes(env)),
}


def produce() -> dict[str, str]:
    """Every transcript, from one real run of the example."""
    with example_server() as (url, env):
        return {name: make(url, env) for name, (_, make) in TRANSCRIPTS.items()}


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
    for name, (page, _) in TRANSCRIPTS.items():
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
