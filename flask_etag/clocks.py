"""The moment dates are judged at: one every clock that dates a change has passed.

Its own module, without the rest of the settings, because :mod:`flask_etag.responses` reads
it and :mod:`flask_etag.settings` imports what imports that module.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app

#: Where the app's state lives: ``app.extensions["etag"]`` holds its
#: :class:`~flask_etag.settings.Settings`, and their ``extension`` the
#: :class:`~flask_etag.ETag` that read them.
SETTINGS_KEY = "etag"

_NO_SKEW = timedelta(0)


class _Skews:
    """Whether an app of this process has set ``ETAG_CLOCK_SKEW``: until one has, a dated
    read looks no settings up for it (one attribute read, where a lookup is four calls on
    every collection and timestamp read).  Set from config at ``init_app``, never from a
    request."""

    any_set = False


SKEWS = _Skews()


def note_skew(skew: timedelta) -> None:
    """``init_app``: from now on, dated reads look their app's skew up."""
    if skew:
        SKEWS.any_set = True


def judged_at(moment: datetime) -> datetime:
    """``moment`` less ``ETAG_CLOCK_SKEW`` (:func:`clock_skew`), where an app of the process
    set one: the moment a date read then is judged at, one every host's clock has passed."""
    return moment - clock_skew() if SKEWS.any_set else moment


def clock_skew(app: Flask | None = None) -> timedelta:
    """``ETAG_CLOCK_SKEW`` of ``app`` (the current one by default); none before ``init_app``.

    A date is judged at the moment a state was read less this: one every clock that dates
    changes has passed.  A ``Last-Modified`` is sent, and judged exact, only once its second
    is over by it (RFC 9110 §8.8.2.2).  A host whose clock is behind dates its change earlier
    than a host ahead of it dated the one before; a date the second sent as soon as its own
    clock left that second was answered 304 after the first's change (§13.1.3).
    """
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = app.extensions.get(SETTINGS_KEY)
    return _NO_SKEW if settings is None else settings.clock_skew
