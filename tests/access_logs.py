"""The origin's own record of what it was asked and answered: gunicorn access logs.

The real-client tests prove a revalidation happened where it counts, on the server: the
request carried ``If-None-Match`` and was answered 304 with no body.  A client's own flags
could be wrong; the server's log cannot pretend a 304 it never sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

#: gunicorn access-log atoms, tab separated: method, path, status, body bytes sent, the
#: request's If-None-Match and If-Match ("-" when absent).
ACCESS_LOG_FORMAT = "\t".join(
    ("%(m)s", "%(U)s", "%(s)s", "%(B)s", "%({if-none-match}i)s", "%({if-match}i)s")
)

#: How long a test waits for log lines: gunicorn writes one after sending the response.
LOG_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Logged:
    """One request as the origin saw it."""

    method: str
    path: str
    status: int
    body_bytes: int
    if_none_match: str | None
    if_match: str | None


def access_log_args(log_path: Path) -> list[str]:
    """gunicorn command-line options that write :data:`ACCESS_LOG_FORMAT` to ``log_path``."""
    return [f"--access-logfile={log_path}", f"--access-logformat={ACCESS_LOG_FORMAT}"]


def _header(value: str) -> str | None:
    # gunicorn writes "-" for an absent header and escapes the quotes of entity-tags.
    return None if value == "-" else value.replace('\\"', '"')


def read_access_log(log_path: Path) -> list[Logged]:
    """Every request logged so far, oldest first."""
    if not log_path.exists():
        return []
    records = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        method, path, status, body_bytes, if_none_match, if_match = line.split("\t")
        records.append(
            Logged(
                method=method,
                path=path,
                status=int(status),
                body_bytes=0 if body_bytes == "-" else int(body_bytes),
                if_none_match=_header(if_none_match),
                if_match=_header(if_match),
            )
        )
    return records


def wait_for_requests(log_path: Path, path: str, count: int) -> list[Logged]:
    """The requests for ``path`` once at least ``count`` are logged (bounded wait)."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        records = [record for record in read_access_log(log_path) if record.path == path]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)
