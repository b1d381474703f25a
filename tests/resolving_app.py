"""A small app that purges caches named by host name, run as a script by the purge tests.

``python tests/resolving_app.py PORT CACHES_JSON TIMEOUT`` serves on loopback ``PORT``:
``POST /things/<n>`` announces a write of ``things/<n>``, ``GET /statistics`` answers
:func:`flask_etag.purge_statistics`.  It runs in a process of its own so that a test can
give it a resolver of its own (a mount namespace with another ``/etc/resolv.conf``), and it
is started as a script, not with ``-c``, so that the mutation check's copy of the package
comes first on its path.
"""

from __future__ import annotations

import json
import sys

from flask import Flask
from werkzeug.serving import make_server

from flask_etag import ETag, announce_write, purge_statistics


def create_app(caches: list[str], timeout: float) -> Flask:
    """The writing app, purging ``caches`` within ``timeout`` seconds, never repeating."""
    app = Flask(__name__)
    app.config.update(ETAG_PURGE_URLS=caches, ETAG_PURGE_TIMEOUT=timeout, ETAG_PURGE_REPEAT_AFTER=0)
    ETag(app)

    @app.post("/things/<int:number>")
    def write(number: int) -> tuple[str, int]:
        announce_write([f"things/{number}"])
        return "", 204

    @app.get("/statistics")
    def statistics() -> list[dict[str, object]]:
        return purge_statistics()

    return app


if __name__ == "__main__":
    port, caches, timeout = int(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
    server = make_server("127.0.0.1", port, create_app(caches, timeout), threaded=True)
    print("ready", flush=True)
    server.serve_forever()
