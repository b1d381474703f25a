"""Count 304, 412 and 428 answers per endpoint from flask_etag's signals.

Run it with ``flask --app examples/metrics.py run`` and try::

    curl -i localhost:5000/articles/1                          # 200, ETag: "1"
    curl -i -H 'If-None-Match: "1"' localhost:5000/articles/1  # 304
    curl -i -X PUT -H 'Content-Type: application/json' -d '{"title": "x"}' \\
        localhost:5000/articles/1                              # 428: If-Match required
    curl localhost:5000/metrics                                # the counters

``/metrics`` speaks the Prometheus text format, so a scraper can read it as it is; with
prometheus_client you would call ``counter.labels(endpoint, status).inc()`` in ``count``
instead of keeping the counts yourself.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, request
from flask.typing import ResponseReturnValue

from flask_etag import (
    ETag,
    VersionGenerator,
    etag_not_modified,
    etag_precondition_failed,
    etag_precondition_required,
    require_if_match,
)

#: The three signals and the status each one announces.
ANSWERS = {
    "304": etag_not_modified,
    "412": etag_precondition_failed,
    "428": etag_precondition_required,
}


class ConditionalMetrics:
    """Per-endpoint counts of conditional answers, for one app or several."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # threaded servers send signals from many threads

    def init_app(self, app: Flask) -> None:
        """Listen to ``app``'s signals only (the app is the sender)."""
        for status, signal in ANSWERS.items():
            signal.connect(self._counter(status), sender=app, weak=False)

    def _counter(self, status: str) -> Callable[..., None]:
        def count(sender: Flask, *, endpoint: str | None, **details: Any) -> None:
            with self._lock:
                self._counts[(endpoint or "unknown", status)] += 1

        return count

    def exposition(self) -> str:
        """The counts in the Prometheus text format, one line per endpoint and status."""
        with self._lock:
            counts = sorted(self._counts.items())
        return "".join(
            f'flask_etag_responses_total{{endpoint="{endpoint}",status="{status}"}} {value}\n'
            for (endpoint, status), value in counts
        )


def create_app() -> Flask:
    """An article store with version tags, and its metrics at ``/metrics``."""
    app = Flask(__name__)
    ETag(app)
    metrics = ConditionalMetrics()
    metrics.init_app(app)
    articles: dict[int, dict[str, Any]] = {1: {"title": "ETags", "version": 1}}
    versions = VersionGenerator(lambda article_id: articles.get(article_id, {}).get("version"))

    @app.route("/articles/<int:article_id>", methods=["GET", "PUT"], endpoint="article")
    @require_if_match(versions, cache_control="no-cache")
    def article(article_id: int) -> ResponseReturnValue:
        if request.method == "PUT":
            article = articles.setdefault(article_id, {"version": 0})
            article["title"] = str((request.get_json(silent=True) or {}).get("title", ""))
            article["version"] += 1
        elif article_id not in articles:
            abort(404)
        return {"id": article_id, "title": articles[article_id]["title"]}

    @app.get("/metrics")
    def show_metrics() -> Response:
        return Response(metrics.exposition(), mimetype="text/plain")

    return app
