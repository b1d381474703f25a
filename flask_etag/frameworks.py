"""Where ``@etag`` goes among the decorators of Flask-Login, flask-smorest, APIFlask and RESTX.

A wrong order fails silently otherwise: an access check under a version route is never
reached by a 304 (which then tells an unauthorised client its tag is current), and a
framework's serialiser above ``@etag`` receives the response ``@etag`` already made from the
raw result, so its schema is never applied.  The right order, top to bottom::

    @route                       # @app.get, @blp.route, @ns.route
    @login_required              # access checks: Flask-Login, @app.auth_required
    @etag(...)                   # or @require_if_match(...)
    @parser / @serialiser        # @blp.arguments, @blp.response, @app.input, @app.output
    def view(...): ...

Decorators are recognised by the code of the wrapper each one makes, read from the installed
package (:func:`flask_etag.internals.wrapper_codes`; ``tests/test_frameworks.py`` fails
loudly when a release changes it).  Whatever is below ``@etag`` is seen when it decorates;
what is above is seen only on the route's first request, since a decorator applied later
calls no flask_etag code.  Flask-RESTX needs no order check: its decorators (``@ns.expect``,
``@ns.marshal_with``) go on a Resource's methods and flask_etag's in its ``decorators``, so
they are always under it; a flask_etag decorator in its ``method_decorators`` as well is
refused on the first request.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import CodeType
from typing import Any

from flask import Flask, Request

from .exceptions import ETagConfigurationError
from .internals import code_of, wrapper_codes

#: Set on the decorators ``etag`` and ``require_if_match`` return (and on bare ``etag``), so
#: one listed in a Flask-RESTX ``Resource``'s ``method_decorators`` is known before it runs.
DECORATOR_ATTRIBUTE = "__flask_etag_decorator__"

#: One known decorator: (module, its public decorator, the nested functions down to the
#: wrapper it returns, how a user writes it).
Known = tuple[str, str, tuple[str, ...], str]

#: Access checks: they must be above a version or timestamp ``@etag``.
ACCESS_CHECKS: tuple[Known, ...] = (
    ("flask_login", "login_required", ("decorated_view",), "@login_required"),
    ("flask_login", "fresh_login_required", ("decorated_view",), "@fresh_login_required"),
    (
        "flask_httpauth",
        "HTTPAuth.login_required",
        ("login_required_internal", "decorated"),
        "@auth.login_required (APIFlask: @app.auth_required)",
    ),
    (
        "flask_httpauth",
        "MultiAuth.login_required",
        ("login_required_internal", "decorated"),
        "@auth.login_required (APIFlask: @app.auth_required)",
    ),
)

#: Request parsers: above ``@etag`` they would read the content before the preconditions are
#: judged (RFC 9110 §13.2.1) and pass ``@etag`` arguments that are not URL arguments.
PARSERS: tuple[Known, ...] = (
    ("flask_smorest", "Blueprint.arguments", ("decorator", "wrapper"), "@blp.arguments"),
    ("flask_smorest", "Blueprint.paginate", ("decorator", "wrapper"), "@blp.paginate"),
    ("apiflask", "APIFlask.input", ("decorator", "wrapper"), "@app.input"),
    (
        "webargs.core",
        "Parser.use_args",
        ("decorator", "wrapper"),
        "@app.input (webargs' @use_args)",
    ),
)

#: Response serialisers: above ``@etag`` they would get the response ``@etag`` made from the
#: raw result, so their schema would never apply.
SERIALISERS: tuple[Known, ...] = (
    ("flask_smorest", "Blueprint.response", ("decorator", "wrapper"), "@blp.response"),
    ("apiflask", "APIFlask.output", ("decorator", "_response"), "@app.output"),
)

#: Response caches: above ``@etag`` they would store the 304 or 412 answered to one client's
#: conditions (Flask-Caching caches HTTP errors too) and serve it to every other client; under
#: a version, timestamp or collection ``@etag`` they would hand out a body older than the
#: state it is tagged with (:data:`_CACHE_UNDER_LOOKUP`).
CACHES: tuple[Known, ...] = (
    ("flask_caching", "Cache.cached", ("decorator", "decorated_function"), "@cache.cached"),
    # Keyed by the URL arguments alone: one client's 304 would be every client's answer.
    ("flask_caching", "Cache.memoize", ("memoize", "decorated_function"), "@cache.memoize"),
)

#: Why no response cache goes under a route whose tag is the state its lookup reads: the
#: route tags whatever the view returns with the state looked up before it, which a body kept
#: from before a write does not show.
_CACHE_UNDER_LOOKUP = (
    "this route's tag is the state its lookup reads, and a body the cache kept from before a "
    "write would go out under the written state's tag: one strong tag for two "
    "representations (RFC 9110 §8.8.3), and a client holding the old body answered 304 "
    "until the next write. Use a body-hash @etag, whose tag is taken from the bytes the cache "
    "returns, or cache inside the view under a key that names checked_version()."
)

#: flask-smorest's own conditional requests: one route cannot have two deciders.
CONFLICTING: tuple[Known, ...] = (
    ("flask_smorest", "Blueprint.etag", ("decorator", "wrapper"), "@blp.etag"),
)

#: The right order for each framework, top to bottom.
RIGHT_ORDERS = {
    "flask_smorest": "@blp.route, @etag (or @require_if_match), @blp.arguments, "
    "@blp.response, @blp.paginate, the view",
    "apiflask": "@app.get (or @app.route), @app.auth_required, @etag (or "
    "@require_if_match), @app.input, @app.output, the view",
    "webargs.core": "the route decorator, access checks, @etag (or @require_if_match), "
    "@app.input or @use_args, @app.output, the view",
}


def check_wrapped_view(
    view: Callable[..., Any], decided_before_view: bool, looked_up: bool = False
) -> None:
    """At decoration: refuse what ``@etag`` would wrap that belongs above it (or nowhere).

    :param decided_before_view: a version or timestamp route, whose 304 and 412 are answered
        before the view and the decorators under ``@etag`` run, or a body-hash route whose
        writes are judged by ``HashGenerator(current=...)`` before the view (RFC 9110 §13.2.1
        lets a server evaluate preconditions first; that is what makes an access check under
        it too late).
    :param looked_up: a version, timestamp or collection route, tagged with the state its
        lookup reads: a response cache under it is refused (:data:`_CACHE_UNDER_LOOKUP`).
    """
    wrapped = list(wrapper_chain(view))
    conflicting = _found(wrapped, CONFLICTING)
    if conflicting:
        raise _conflict_error(view, conflicting)
    caches = _found(wrapped, CACHES) if looked_up else []
    if caches:
        raise ETagConfigurationError(
            f"{_labels(caches)} is under @etag on the view {_name(view)}: {_CACHE_UNDER_LOOKUP}"
        )
    checks = _found(wrapped, ACCESS_CHECKS) if decided_before_view else []
    if checks:
        raise ETagConfigurationError(
            f"{_labels(checks)} is under @etag on the view {_name(view)}: this route answers "
            "412 (and on a version or timestamp route 304) before the view and the decorators "
            "under @etag run, so an unauthorised client would learn whether its tag is current. "
            "Put the access check above @etag: @app.get (or @blp.route), the access check, "
            "@etag, the view."
        )


def check_wrappers_above(
    conditional_view: Callable[..., Any],
    app: Flask,
    served: Request,
    decided_before_view: bool = False,
    looked_up: bool = False,
) -> bool:
    """On a route's first request: refuse a framework decorator wrapped around ``@etag``, or
    on a method of the class view whose ``decorators`` hold it.

    Returns False when the request does not show the registered view (no URL rule), so the
    caller checks again on the next one.

    :param decided_before_view: as for :func:`check_wrapped_view`: a method's access check
        then runs too late.
    :param looked_up: as for :func:`check_wrapped_view`: a response cache on a read method
        is refused.
    """
    rule = served.url_rule
    if rule is None:
        return False
    registered = app.view_functions.get(rule.endpoint)
    if _method_decorators_also_serve(registered, conditional_view):
        raise _served_twice_error(registered.view_class, rule.endpoint)  # type: ignore[union-attr]
    above = _above(registered, conditional_view)
    methods = _class_methods(registered, conditional_view)
    conflicting = _found([*above, *methods], CONFLICTING)
    if conflicting:
        raise _conflict_error(conditional_view, conflicting)
    reads = _class_methods(registered, conditional_view, _READS) if decided_before_view else []
    checks = _found(reads, ACCESS_CHECKS)
    if checks:
        view_class = registered.view_class  # type: ignore[union-attr]  # reads come from one
        raise ETagConfigurationError(
            f"{_labels(checks)} guards the read of the class view {_name(view_class)} "
            f"(endpoint {rule.endpoint!r}), under @etag in the class's `decorators`: a 304 "
            "(or a 412, with the current tag) is answered before it runs, and tells a client "
            "without access whether its tag is current. List the access check in its "
            "`decorators` after the flask_etag decorator, which makes it the outer one: "
            "decorators = [etag(...), the check]."
        )
    caches = _found(above, CACHES)
    if caches:
        raise ETagConfigurationError(
            f"{_labels(caches)} wraps @etag on the view {_name(conditional_view)} (endpoint "
            f"{rule.endpoint!r}): it would store the 304 or 412 answered to one client's "
            "If-None-Match or If-Match and serve it to every other client. "
            + (
                f"Nor can it go under @etag: {_CACHE_UNDER_LOOKUP}"
                if looked_up
                else "Put @etag above it, so the cache keeps the view's body and every "
                f"request is judged: the route decorator, @etag, {_labels(caches)}, the view."
            )
        )
    method_caches = (
        _found(_class_methods(registered, conditional_view, _READS), CACHES) if looked_up else []
    )
    if method_caches:
        view_class = registered.view_class  # type: ignore[union-attr]  # reads come from one
        raise ETagConfigurationError(
            f"{_labels(method_caches)} is on a read of the class view {_name(view_class)} "
            f"(endpoint {rule.endpoint!r}), under @etag in the class's `decorators`: "
            f"{_CACHE_UNDER_LOOKUP}"
        )
    serialisers, parsers = _found(above, SERIALISERS), _found(above, PARSERS)
    if serialisers or parsers:
        if len(parsers) > 1:  # webargs' wrapper around @blp.arguments: name the framework's
            parsers = [known for known in parsers if known[0] != "webargs.core"]
        what = (
            "it would serialise a result @etag already made into a response, so its schema "
            "would never apply"
            if serialisers
            else "it would parse the request before the preconditions are judged (RFC 9110 "
            "§13.2.1 judges them before the content is processed) and pass @etag arguments "
            "that are not URL arguments"
        )
        misplaced = serialisers + parsers
        raise ETagConfigurationError(
            f"{_labels(misplaced)} wraps @etag on the view {_name(conditional_view)} "
            f"(endpoint {rule.endpoint!r}): {what}. Put @etag above it; top to bottom: "
            f"{RIGHT_ORDERS[misplaced[0][0]]}."
        )
    return True


def _method_decorators_also_serve(registered: Any, conditional_view: Callable[..., Any]) -> bool:
    """Whether ``conditional_view`` is in a Flask-RESTX ``Resource``'s ``decorators`` and its
    ``method_decorators`` list a flask_etag decorator too: they wrap the method on every
    request, inside this one, out of reach of the check a second decorator meets when it
    decorates (``decorators._decorated_twice_error``)."""
    listed = getattr(getattr(registered, "view_class", None), "method_decorators", None)
    if not isinstance(listed, (list, tuple)):
        return False
    if not any(getattr(decorator, DECORATOR_ATTRIBUTE, False) for decorator in listed):
        return False
    return any(function is conditional_view for function in wrapper_chain(registered))


def _served_twice_error(view_class: type, endpoint: str) -> ETagConfigurationError:
    """The outer decorator judges every request and hides the inner one: its tag is never
    sent, and an inner ``require_if_match`` under ``etag`` no longer answers 428 to a write
    without ``If-Match`` (RFC 6585 §3)."""
    return ETagConfigurationError(
        f"the Resource {_name(view_class)} (endpoint {endpoint!r}) lists a flask_etag "
        "decorator in both `decorators` and `method_decorators`: only the outer one judges "
        "its requests, so the inner one's tag is never sent and an inner @require_if_match "
        "no longer answers 428 to a write without If-Match. Use one flask_etag decorator, "
        "in `decorators` or in `method_decorators`, not both: @require_if_match(generator) "
        "tags GET and HEAD as @etag(generator) does."
    )


def _above(registered: Any, conditional_view: Callable[..., Any]) -> list[Any]:
    """The wrappers between the registered view and ``conditional_view``; none if it is not
    in the chain (a Flask-RESTX ``method_decorators`` wrapper, made per request)."""
    wrappers: list[Any] = []
    for function in wrapper_chain(registered):
        if function is conditional_view:
            return wrappers
        wrappers.append(function)
    return []


#: A read's access check must run before a 304 can tell whether a tag is current; a write's
#: may run under ``@etag`` where the read is public: its tag is no secret then.
_READS = ("GET", "HEAD")


def _class_methods(
    registered: Any, conditional_view: Callable[..., Any], only: Iterable[str] | None = None
) -> list[Any]:
    """The methods of a class view (Flask's ``view_class``) whose ``decorators`` hold
    ``conditional_view`` (those named in ``only``), and their wrappers: a decorator there
    runs under ``@etag``, which has already taken the request's ``If-*`` fields and may have
    answered."""
    view_class = getattr(registered, "view_class", None)
    if view_class is None or not any(f is conditional_view for f in wrapper_chain(registered)):
        return []
    methods = getattr(view_class, "methods", None) or ()
    return [
        function
        for method in methods
        if only is None or method in only
        for function in wrapper_chain(getattr(view_class, method.lower(), None))
    ]


def wrapper_chain(view: Any) -> Iterator[Any]:
    """``view`` and every function it wraps, by the ``__wrapped__`` that functools.wraps sets
    (a cycle ends it)."""
    seen: set[int] = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        yield view
        view = getattr(view, "__wrapped__", None)


def _found(functions: Iterable[Any], known: tuple[Known, ...]) -> list[Known]:
    """The known decorators whose wrappers are among ``functions``, in their order."""
    codes = _known_codes(known)
    return [codes[code] for code in map(code_of, functions) if code in codes]


def _labels(found: list[Known]) -> str:
    return " and ".join(dict.fromkeys(known[3] for known in found))


def _known_codes(known: tuple[Known, ...]) -> dict[CodeType | None, Known]:
    """The wrapper code of each known decorator whose package is imported (else not in use)."""
    return {
        code: entry
        for entry in known
        if entry[0] in sys.modules
        for code in wrapper_codes(*entry[:3])
    }


def _conflict_error(view: Callable[..., Any], found: list[Known]) -> ETagConfigurationError:
    return ETagConfigurationError(
        f"{_labels(found)} and flask_etag both decide the conditional requests of the view "
        f"{_name(view)}: remove {_labels(found)} and its set_etag and check_etag calls; "
        "flask_etag tags the response and answers 304, 412 and 428."
    )


def _name(view: Any) -> str:
    return str(getattr(view, "__qualname__", None) or repr(view))
