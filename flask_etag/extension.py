"""The ``ETag`` extension object: config, per-app settings and auto mode."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

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
        if settings.auto:
            app.after_request(_tag_automatically)


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
