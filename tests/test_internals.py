"""What flask_etag relies on beyond the public APIs, proven against the installed releases.

The ``upcoming`` nox session runs these against the main branches of Flask and Werkzeug
(``../shared/upcoming/``), so a release that changes them fails here first.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.datastructures import ETags

from flask_etag.internals import request_target_as_sent
from flask_etag.tags import parse_entity_tag_list


def test_werkzeug_parses_if_none_match_as_a_set_of_tags_rfc9110_13_1_2() -> None:
    """The parser werkzeug offers (``ETags.from_header`` from 3.2 on, ``parse_etags`` before),
    read by :func:`~flask_etag.tags.parse_entity_tag_list`, lists strong and weak tags apart."""
    parsed = parse_entity_tag_list(' "a", W/"b" ,, "\xe9t\xe9"')
    assert isinstance(parsed, ETags)
    assert parsed.as_set() == {"a", "\xe9t\xe9"}
    assert parsed.as_set(include_weak=True) == {"a", "b", "\xe9t\xe9"}
    assert parse_entity_tag_list(" * ").star_tag


def test_the_request_target_as_sent_keeps_its_escapes_rfc3986_2_2() -> None:
    """werkzeug's test client (as its server, and gunicorn) keeps the target as sent in the
    environ: a purge by URL names ``%2F`` as the client did, where ``PATH_INFO`` decodes it."""
    app = Flask(__name__)
    seen: dict[str, str | None] = {}

    @app.get("/things/<path:name>")
    def thing(name: str) -> str:
        seen["target"] = request_target_as_sent(request.environ)
        seen["path"] = request.environ["PATH_INFO"]
        return name

    assert app.test_client().get("/things/a%2Fb?x=1").status_code == 200
    assert seen == {"target": "/things/a%2Fb?x=1", "path": "/things/a/b"}
    assert request_target_as_sent({}) is None
