"""Real shared caches for the tests: nginx and Varnish, each in a folder of the test's own.

Both run in the foreground on a loopback port, write everything under the folder given, and
are always stopped on leaving the block.  A missing program is a skip (a failure under
``ETAG_TESTS_STRICT=1``) naming the package to install.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from support_processes import (
    LOOPBACK,
    ServerStartError,
    free_port,
    skip_or_fail,
    stop_process,
    wait_until_ready,
)

_SYSTEM_PATH = "/usr/sbin:/usr/local/sbin"


def executable(name: str, package: str) -> str:
    """``name`` on the PATH (or in the system folders), or a skip naming ``package``."""
    found = shutil.which(name) or shutil.which(name, path=_SYSTEM_PATH)
    if found is None:
        skip_or_fail(f"{name} is not installed: apt-get install {package}")
    return found


def nginx_user() -> str:
    """nginx's ``user`` line: as root, workers would drop to "nobody", who cannot enter
    pytest's ``tmp_path``; they keep this user instead."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


def nginx_temp_paths(prefix: Path) -> str:
    """nginx's temporary folders, all under ``prefix`` (its defaults are system folders)."""
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    return " ".join(f"{kind}_temp_path {prefix}/{kind}_temp;" for kind in kinds)


@contextlib.contextmanager
def nginx_server(
    prefix: Path, config_for_port: Callable[[int], str], port: int | None = None
) -> Iterator[str]:
    """nginx with the config ``config_for_port(port)``; yields its base URL.

    :param port: the port to listen on, when others must know it first (a purge URL);
        otherwise a free one is taken, and retried if it is taken meanwhile.
    """
    nginx = executable("nginx", "nginx")
    for _attempt in range(1 if port else 3):
        chosen = port or free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(config_for_port(chosen), encoding="utf-8")
        command = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        with _started(command, chosen, "/", lambda: _read(prefix / "error.log")) as url:
            if url is None:
                continue
            yield url
            return
    raise ServerStartError("nginx found no free loopback port")


@contextlib.contextmanager
def varnish_server(workdir: Path, vcl: str, port: int, ready_path: str = "/") -> Iterator[str]:
    """varnishd with the VCL text ``vcl`` on ``port``; yields its base URL.

    ``-j none``: no jail, so the compiler and the cache process run as this user and can
    read the test's folder (the default jail switches to a ``varnish`` user).
    """
    varnishd = executable("varnishd", "varnish varnish-modules")
    workdir.mkdir(parents=True, exist_ok=True)
    vcl_path = workdir / "test.vcl"
    vcl_path.write_text(vcl, encoding="utf-8")
    command = [
        varnishd, "-F", "-j", "none", "-a", f"{LOOPBACK}:{port}", "-f", str(vcl_path),
        "-n", str(workdir / "state"), "-s", "malloc,64m", "-T", "none",
    ]  # fmt: skip
    with _started(command, port, ready_path, lambda: "") as url:
        if url is None:
            raise ServerStartError(f"varnishd could not listen on port {port}")
        yield url


@contextlib.contextmanager
def _started(
    command: list[str], port: int, ready_path: str, more_log: Callable[[], str]
) -> Iterator[str | None]:
    """Run ``command`` until the block ends; yields None when its port was taken."""
    with tempfile.TemporaryFile("w+", prefix="cache-", suffix=".log") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_ready(process, port, ready_path, 30.0, output)
        except ServerStartError as error:
            stop_process(process, 5.0)
            if "Address already in use" in str(error) + more_log():
                yield None
                return
            raise ServerStartError(f"{error}\n{more_log()}") from None
        try:
            yield f"http://{LOOPBACK}:{port}"
        finally:
            stop_process(process, 10.0)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
