"""The ``ETag`` extension object: config, per-app settings and auto mode."""

from __future__ import annotations

from flask import Flask

from . import auto
from .cli import etag_cli
from .exceptions import ETagConfigurationError
from .route_order import watch_first_request
from .settings import DEFAULTS, SETTINGS_KEY, Settings, config_snapshot, install


class ETag:
    """Conditional requests for a Flask app: ``ETag(app)`` or ``ext.init_app(app)``.

    The extension keeps no app of its own, so one instance serves any number of apps, each
    with its own ``ETAG_*`` config.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and validate the ``ETAG_*`` config and register the extension on ``app``.

        The app's state (:class:`~flask_etag.settings.Settings`) lives under
        ``app.extensions["etag"]``; its ``extension`` is this object.
        """
        if SETTINGS_KEY in app.extensions:
            raise ETagConfigurationError(
                f"flask_etag is already set up on the app {app.name!r}: create ETag(app), or "
                "call ext.init_app(app), once per app."
            )
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, default)
        settings = Settings.from_config(app.config)
        settings.extension = self
        settings.config_read = config_snapshot(app.config)
        install(app, settings)
        auto.install(app)
        app.cli.add_command(etag_cli)
        watch_first_request(app)
