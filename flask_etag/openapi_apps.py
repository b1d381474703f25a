"""Which Flask app an apispec call documents, and what the plugin reads from it.

APIFlask and flask-smorest add operations without their view (a path, a URL rule), so the
view is found in the app's URL map; and the app's ``ETAG_BODY_MEMBER`` changes what its
writes accept.  Kept apart so the plugin holds what it documents, not how it finds the app.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, has_app_context

from .exceptions import ETagConfigurationError
from .settings import SETTINGS_KEY

#: A werkzeug rule's argument with its optional converter: ``<int:item_id>``.
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def rules_at(app: Flask, path: str | None) -> list[Any]:
    """The app's URL rules whose OpenAPI path is ``path`` (``<int:id>`` written ``{id}``)."""
    return [
        rule for rule in app.url_map.iter_rules() if _RULE_ARGUMENT.sub(r"{\1}", rule.rule) == path
    ]


def app_of(kwargs: dict[str, Any], default: Flask | None = None) -> Flask:
    """The app whose config decides weak tags and auto mode: ``app=``, the plugin's, or the
    current one."""
    app = known_app(kwargs, default)
    if app is not None:
        return app
    raise ETagConfigurationError(
        "ETagPlugin needs the Flask app: create ETagPlugin(app=app), call "
        "spec.path(view=..., app=app) or run inside `with app.app_context():`."
    )


def known_app(kwargs: dict[str, Any], default: Flask | None) -> Flask | None:
    """``app=``, the plugin's app or the current one; None without any (a spec built alone)."""
    app: Flask | None = kwargs.get("app") or default
    if app is None and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def body_member_of(app: Flask) -> str | None:
    """The JSON member a write to ``app`` may carry its tag in (``ETAG_BODY_MEMBER``)."""
    settings = app.extensions.get(SETTINGS_KEY)
    return None if settings is None else settings.body_member
