"""Functions the app gives flask_etag that are called with a route's URL arguments (a lookup,
``current=``, ``surrogate_keys=``, a collection's select) or with none (a scope): whether
they can take them is told at set-up, from their signatures, not as a 500 on every request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .exceptions import ETagConfigurationError


def signature_mismatch(function: Callable[..., Any], view_args: dict[str, Any]) -> str | None:
    """Why ``function`` cannot be called with ``view_args`` as keyword arguments; None when
    it can, or when it has no signature to read (some builtins: left to the request)."""
    try:
        inspect.signature(function).bind(**view_args)
    except TypeError as error:
        return str(error)
    except ValueError:
        return None
    return None


def url_arguments_error(
    function: Callable[..., Any], subject: str, example: str, view_args: dict[str, Any]
) -> ETagConfigurationError | None:
    """The set-up error when ``function``, called with a route's URL arguments as keyword
    arguments, cannot take them; None when it can.  ``example`` opens the call that shows
    the fix."""
    mismatch = signature_mismatch(function, view_args)
    if mismatch is None:
        return None
    names = ", ".join(view_args)
    return ETagConfigurationError(
        f"{subject} cannot take this route's URL arguments ({names or 'none'}): {mismatch}. "
        "It is called with them as keyword arguments: write it as a function of exactly "
        f"those names, e.g. {example}lambda {names}: ...)."
    )
