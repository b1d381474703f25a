"""The ``ETag`` extension object: config, per-app settings and auto mode."""

from __future__ import annotations

from flask import Flask, Response, after_this_request, current_app, request

from . import compression
from .cli import etag_cli
from .conditions import SAFE_METHODS, Preconditions
from .exceptions import ETagPreconditionFailed
from .generators import HashGenerator
from .handling import conditional_body_response
from .settings import DEFAULTS, Settings, current_settings, install

_AUTO_GENERATOR = HashGenerator()


class ETag:
    """Conditional requests for a Flask app: ``ETag(app)`` or ``ext.init_app(app)``.

    The extension keeps no app of its own, so one instance serves any number of apps, each
    with its own ``ETAG_*`` config.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and validate the ``ETAG_*`` config and register the extension on ``app``."""
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, default)
        settings = Settings.from_config(app.config)
        install(app, settings)
        app.extensions["etag"] = self
        compression.install(app)
        app.cli.add_command(etag_cli)
        if settings.auto:
            # First of all hooks, so the body is hashed before any after_request hook (a
            # compressor's) rewrites it, whichever extension the app set up first.
            hooks = app.before_request_funcs.setdefault(None, [])
            if _tag_this_response_automatically not in hooks:
                hooks.insert(0, _tag_this_response_automatically)


def _tag_this_response_automatically() -> None:
    after_this_request(_tag_automatically)


def _tag_automatically(response: Response) -> Response:
    """``ETAG_AUTO``: every untagged GET/HEAD 2xx in-memory response gets a body-hash tag.

    Like Django's ConditionalGetMiddleware or Spring's ShallowEtagHeaderFilter: no view runs
    less, but unchanged bodies are not sent again.
    """
    if request.method not in SAFE_METHODS or "ETag" in response.headers:
        return response
    settings = current_settings()
    preconditions = Preconditions.from_environ(request.environ)
    try:
        return conditional_body_response(
            response, _AUTO_GENERATOR, settings, settings.cache_control, preconditions
        )
    except ETagPreconditionFailed as error:
        # After-request hooks may not raise (Flask would answer 500), so render it here,
        # through the app's own 412 handler when it has one.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return app.make_response(app.handle_user_exception(error))  # type: ignore[no-any-return]
