"""Document each tagged route's ETag behaviour in an OpenAPI 3 document built with apispec.

``pip install flask-etag[openapi]``.  :class:`ETagPlugin` is an apispec plugin: for every
operation added with ``spec.path(view=...)`` (apispec-webframeworks' ``FlaskPlugin`` passes the
view, or pass it yourself) it adds what the decorators do, read from the view itself:

- GET/HEAD: the ``If-None-Match`` parameter (and ``If-Modified-Since`` for timestamps), the
  ``304`` response, and ``ETag`` (``Last-Modified``) on the 2xx responses;
- writes: ``If-Match`` (``required`` under :func:`~flask_etag.require_if_match`), ``412`` and,
  for required ones only, ``428`` (RFC 6585 §3); ``ETag`` on the 2xx responses but DELETE's.

What the operation already documents is kept; the shared parts are components, registered
lazily so a spec without tagged routes carries none of them.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

try:
    from apispec import APISpec, BasePlugin
except ImportError as error:  # a missing extra says how to install it
    raise ImportError(
        "flask_etag.openapi needs apispec: pip install 'flask-etag[openapi]'"
    ) from error
from flask import Flask, current_app, has_app_context

from .conditions import SAFE_METHODS
from .exceptions import PROBLEM_JSON, ETagConfigurationError
from .reasons import PRECONDITION_REASONS
from .routes import RouteTagging, describe_view

#: Component names this plugin registers (lazily, only when an operation refers to them).
HEADER_ETAG = "ETag"
HEADER_LAST_MODIFIED = "LastModified"
PARAMETER_IF_NONE_MATCH = "IfNoneMatch"
PARAMETER_IF_MATCH = "IfMatch"
PARAMETER_IF_MATCH_REQUIRED = "IfMatchRequired"
PARAMETER_IF_MODIFIED_SINCE = "IfModifiedSince"
PARAMETER_IF_UNMODIFIED_SINCE = "IfUnmodifiedSince"
RESPONSE_NOT_MODIFIED = "NotModified"
RESPONSE_PRECONDITION_FAILED = "PreconditionFailed"
RESPONSE_PRECONDITION_REQUIRED = "PreconditionRequired"

#: Methods whose preconditions are evaluated (RFC 9110 §13.2.1 leaves out OPTIONS, TRACE, ...).
_JUDGED_METHODS = SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE"}

_STRING = {"type": "string"}
_HTTP_DATE = {"type": "string", "example": "Tue, 15 Nov 1994 08:12:31 GMT"}

_PARAMETERS: dict[str, tuple[str, str, bool, dict[str, Any]]] = {
    PARAMETER_IF_NONE_MATCH: (
        "If-None-Match",
        "GET/HEAD: the entity-tags you hold; 304 Not Modified while one still matches "
        "(weak comparison, RFC 9110 §13.1.2). Writes: `*` to create only if absent.",
        False,
        _STRING,
    ),
    PARAMETER_IF_MATCH: (
        "If-Match",
        "The strong entity-tag of the representation you are changing; 412 if it is no "
        "longer current (strong comparison, RFC 9110 §13.1.1). `*`: only if it exists.",
        False,
        _STRING,
    ),
    PARAMETER_IF_MATCH_REQUIRED: (
        "If-Match",
        "Required (RFC 6585 §3): the strong entity-tag of the representation you are "
        "changing; 412 if it is no longer current. `If-None-Match: *` (create only if "
        "absent) is accepted instead; without either the answer is 428.",
        True,
        _STRING,
    ),
    PARAMETER_IF_MODIFIED_SINCE: (
        "If-Modified-Since",
        "304 Not Modified when unchanged since this date; ignored with If-None-Match "
        "(RFC 9110 §13.1.3).",
        False,
        _HTTP_DATE,
    ),
    PARAMETER_IF_UNMODIFIED_SINCE: (
        "If-Unmodified-Since",
        "412 when changed since this date; ignored with If-Match (RFC 9110 §13.1.4).",
        False,
        _HTTP_DATE,
    ),
}


class ETagPlugin(BasePlugin):
    """apispec plugin adding ETag headers, conditional parameters and 304/412/428 responses.

    :param problem_details: describe 412/428 bodies as ``application/problem+json`` (RFC
        9457), flask_etag's default; pass False when the app renders them itself (APIFlask
        and flask-smorest do, in their own error format).
    :param app: the app whose routes the spec documents, for frameworks that add operations
        without their view: APIFlask gives the path, flask-smorest the URL rule, and the view
        is found in the app's URL map.  One plugin per app; without it, the current app.
    """

    def __init__(self, *, problem_details: bool = True, app: Flask | None = None) -> None:
        self.problem_details = problem_details
        self.app = app

    def init_spec(self, spec: APISpec) -> None:
        """Register the shared components; OpenAPI 2 has no header components, so 3 only."""
        if spec.openapi_version.major < 3:
            raise ETagConfigurationError(
                "ETagPlugin documents OpenAPI 3 specs: create the APISpec with "
                'openapi_version="3.1.0" (or 3.0.x).'
            )
        components = spec.components
        components.header(HEADER_ETAG, _etag_header(), lazy=True)
        components.header(HEADER_LAST_MODIFIED, _last_modified_header(), lazy=True)
        for component_id, (name, description, required, schema) in _PARAMETERS.items():
            parameter: dict[str, Any] = {"name": name, "description": description, "schema": schema}
            if required:
                parameter["required"] = True
            components.parameter(component_id, "header", parameter, lazy=True)
        self._register_responses(components)

    def _register_responses(self, components: Any) -> None:
        # Referring to another component from these would register it at once (apispec
        # resolves references on registration), so what they share is written out in each.
        not_modified = {
            "description": "Not Modified: the representation you hold is current "
            "(RFC 9110 §15.4.5). No body; reuse the one you have.",
            "headers": {"ETag": _etag_header()},
        }
        components.response(RESPONSE_NOT_MODIFIED, not_modified, lazy=True)
        for component_id, description in (
            (RESPONSE_PRECONDITION_FAILED, _PRECONDITION_FAILED),
            (RESPONSE_PRECONDITION_REQUIRED, _PRECONDITION_REQUIRED),
        ):
            response: dict[str, Any] = {"description": description}
            if component_id == RESPONSE_PRECONDITION_FAILED:
                response["headers"] = {"ETag": _current_etag_header()}
            if self.problem_details:
                response["content"] = {PROBLEM_JSON: {"schema": _problem_schema()}}
            components.response(component_id, response, lazy=True)

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Add the conditional-request parts to the operations of ``kwargs["view"]``, or of
        the views the app routes ``kwargs["rule"]`` or ``path`` to."""
        view = kwargs.get("view")
        if not operations:
            return
        if view is None:
            self._document_routes(path, operations, kwargs)
            return
        tagging = describe_view(_app_of(kwargs, self.app), view)
        if tagging is not None:
            self._document_operations(operations, _JUDGED_METHODS, tagging)

    def _document_routes(
        self, path: str | None, operations: dict[str, Any], kwargs: dict[str, Any]
    ) -> None:
        """Document operations given without their view, each by the rule serving its method."""
        app = _known_app(kwargs, self.app)
        if app is None:
            return  # a path written by hand, with no app to find its route in
        rule = kwargs.get("rule")
        rules = [rule] if rule is not None else _rules_at(app, path)
        for rule in rules:
            view = app.view_functions.get(rule.endpoint)
            tagging = None if view is None else describe_view(app, view, rule.endpoint)
            if tagging is not None:
                methods = _JUDGED_METHODS & (rule.methods or set())
                self._document_operations(operations, methods, tagging)

    def _document_operations(
        self, operations: dict[str, Any], methods: Container[str], tagging: RouteTagging
    ) -> None:
        """Document each of ``operations`` whose method is one of ``methods``."""
        for method, operation in operations.items():
            if method.upper() in methods and isinstance(operation, dict):
                self._document_operation(method.upper(), operation, tagging)

    def _document_operation(
        self, method: str, operation: dict[str, Any], tagging: RouteTagging
    ) -> None:
        if method in SAFE_METHODS:
            self._add_parameter(operation, PARAMETER_IF_NONE_MATCH)
            if tagging.last_modified:
                self._add_parameter(operation, PARAMETER_IF_MODIFIED_SINCE)
            operation.setdefault("responses", {}).setdefault("304", RESPONSE_NOT_MODIFIED)
        elif tagging.auto:
            return  # ETAG_AUTO judges GET and HEAD only
        else:
            required = tagging.requires_if_match
            self._add_parameter(
                operation, PARAMETER_IF_MATCH_REQUIRED if required else PARAMETER_IF_MATCH
            )
            self._add_parameter(operation, PARAMETER_IF_NONE_MATCH)
            if tagging.last_modified:
                self._add_parameter(operation, PARAMETER_IF_UNMODIFIED_SINCE)
            responses = operation.setdefault("responses", {})
            responses.setdefault("412", RESPONSE_PRECONDITION_FAILED)
            if required:
                responses.setdefault("428", RESPONSE_PRECONDITION_REQUIRED)
        if method != "DELETE":
            _add_validator_headers(operation, tagging)

    def _add_parameter(self, operation: dict[str, Any], component_id: str) -> None:
        """Refer to a parameter component unless the operation documents that header already."""
        name = _PARAMETERS[component_id][0].lower()
        parameters = operation.setdefault("parameters", [])
        if not any(_documents_header(parameter, name) for parameter in parameters):
            parameters.append(component_id)


def _documents_header(parameter: Any, name: str) -> bool:
    """True when ``parameter`` (inline or one of our component names) is the header ``name``."""
    if isinstance(parameter, str):
        known = _PARAMETERS.get(parameter)
        return known is not None and known[0].lower() == name
    if not isinstance(parameter, dict) or parameter.get("in") != "header":
        return False
    return str(parameter.get("name", "")).lower() == name


_PRECONDITION_FAILED = (
    "Precondition Failed: the resource changed since you fetched it (RFC 9110 §15.5.13); "
    "nothing was changed. Fetch it again and retry with its current ETag."
)
_PRECONDITION_REQUIRED = (
    "Precondition Required: send If-Match with the ETag you hold, or If-None-Match: * to "
    "create (RFC 6585 §3)."
)


def _problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details, the body flask_etag gives 412 and 428 by default."""
    return {
        "type": "object",
        "description": "Problem details (RFC 9457).",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "The cause, and what to do next."},
            "reason": {
                "type": "string",
                "enum": list(PRECONDITION_REASONS),
                "description": "The cause, as a stable string: 412 stale, weak-tag, missing, "
                "exists, matched, modified-since or cannot-evaluate; 428 required.",
            },
            "etag": {
                "type": "string",
                "description": "412: the resource's current ETag, when it still exists.",
            },
        },
    }


def _current_etag_header() -> dict[str, Any]:
    return {
        "description": "The resource's current entity-tag, to retry the write with "
        "(absent when the resource no longer exists).",
        "schema": {"type": "string", "example": '"52d0fe81eadf4c128ed54e7087cfcc1c"'},
    }


def _etag_header() -> dict[str, Any]:
    return {
        "description": "Entity-tag of this representation (RFC 9110 §8.8.3).",
        "schema": dict(_STRING),
    }


def _last_modified_header() -> dict[str, Any]:
    return {
        "description": "Last modification date (RFC 9110 §8.8.2).",
        "schema": dict(_HTTP_DATE),
    }


#: A werkzeug rule's argument with its optional converter: ``<int:item_id>``.
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _rules_at(app: Flask, path: str | None) -> list[Any]:
    """The app's URL rules whose OpenAPI path is ``path`` (``<int:id>`` written ``{id}``)."""
    return [
        rule for rule in app.url_map.iter_rules() if _RULE_ARGUMENT.sub(r"{\1}", rule.rule) == path
    ]


def _app_of(kwargs: dict[str, Any], default: Flask | None = None) -> Flask:
    """The app whose config decides weak tags and auto mode: ``app=``, the plugin's, or the
    current one."""
    app = _known_app(kwargs, default)
    if app is not None:
        return app
    raise ETagConfigurationError(
        "ETagPlugin needs the Flask app: create ETagPlugin(app=app), call "
        "spec.path(view=..., app=app) or run inside `with app.app_context():`."
    )


def _known_app(kwargs: dict[str, Any], default: Flask | None) -> Flask | None:
    app: Flask | None = kwargs.get("app") or default
    if app is None and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


#: A scoped route's ``ETag``: documented as the caller's own.
_SCOPED_ETAG = {
    "description": "The entity-tag of this representation, which is the caller's own: the "
    "route's scope (such as the user) is folded into it, so another caller's differs.",
    "schema": {"type": "string"},
}


def _add_validator_headers(operation: dict[str, Any], tagging: RouteTagging) -> None:
    """Put ``ETag`` (and ``Last-Modified``, ``Cache-Control``) on the documented 2xx responses."""
    for code, response in operation.get("responses", {}).items():
        if not str(code).upper().startswith("2") or not isinstance(response, dict):
            continue  # a referenced response component is shared, so it is left alone
        headers = response.setdefault("headers", {})
        headers.setdefault("ETag", HEADER_ETAG if tagging.scope is None else _SCOPED_ETAG)
        if tagging.last_modified:
            headers.setdefault("Last-Modified", HEADER_LAST_MODIFIED)
        if tagging.cache_control is not None:
            headers.setdefault(
                "Cache-Control",
                {
                    "description": "Caching policy.",
                    "schema": {"type": "string", "example": tagging.cache_control},
                },
            )
