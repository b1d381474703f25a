"""Document each tagged route's ETag behaviour in an OpenAPI 3 document built with apispec.

``pip install flask-etag[openapi]``.  :class:`ETagPlugin` is an apispec plugin: for every
operation added with ``spec.path(view=...)`` (apispec-webframeworks' ``FlaskPlugin`` passes the
view, or pass it yourself) it adds what the decorators do, read from the view itself:

- GET/HEAD: the ``If-None-Match`` parameter (and ``If-Modified-Since`` for timestamps and
  collections), the ``304`` response, and ``ETag`` (``Last-Modified``) on the 2xx responses;
- writes: ``If-Match`` (``required`` under :func:`~flask_etag.require_if_match`), ``412`` and,
  for required ones only, ``428`` (RFC 6585 §3); ``ETag`` on the 2xx responses but DELETE's;
  while ``ETAG_BODY_MEMBER`` is set, the tag the JSON body may carry instead of ``If-Match``
  and the ``400`` a bad one gets (:mod:`flask_etag.body_preconditions`).

Two things the views cannot say, the app says with keywords: ``etag_member=True`` on
``spec.components.schema(...)`` gives an item schema the member :func:`~flask_etag.item_etag`
fills, and ``etag_batch=`` on ``spec.path(...)`` documents a batch route written with
:func:`~flask_etag.sqlalchemy.write_batch` (:class:`BatchWrites`).

What the operation already documents is kept; the shared parts are components, registered
lazily so a spec without tagged routes carries none of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from copy import deepcopy
from typing import Any

try:
    from apispec import APISpec, BasePlugin
except ImportError as error:  # a missing extra says how to install it
    raise ImportError(
        "flask_etag.openapi needs apispec: pip install 'flask-etag[openapi]'"
    ) from error
from flask import Flask

from .conditions import SAFE_METHODS
from .exceptions import PROBLEM_JSON, ETagConfigurationError
from .openapi_apps import app_of, body_member_of, known_app, rules_at
from .openapi_batches import (
    BatchWrites,
    batch_precondition_failed,
    batch_problems,
    batch_results_schema,
    document_batch_operation,
)
from .openapi_body_preconditions import (
    accept_body_member,
    body_precondition_problem,
    if_match_or_body,
)
from .openapi_components import (
    HEADER_ETAG,
    HEADER_LAST_MODIFIED,
    IF_MATCH_PARAMETERS,
    PARAMETER_IF_MATCH,
    PARAMETER_IF_MATCH_REQUIRED,
    PARAMETER_IF_MODIFIED_SINCE,
    PARAMETER_IF_NONE_MATCH,
    PARAMETER_IF_UNMODIFIED_SINCE,
    PARAMETERS,
    PRECONDITION_FAILED,
    PRECONDITION_REQUIRED,
    REASONS_412_428,
    RESPONSE_BAD_BATCH,
    RESPONSE_BATCH_PRECONDITION_FAILED,
    RESPONSE_BATCH_PRECONDITION_REQUIRED,
    RESPONSE_BODY_PRECONDITION_INVALID,
    RESPONSE_NOT_MODIFIED,
    RESPONSE_PRECONDITION_FAILED,
    RESPONSE_PRECONDITION_REQUIRED,
    RESPONSE_WRITE_CONFLICT,
    SCHEMA_BATCH_RESULTS,
    WRITE_CONFLICT,
    add_validator_headers,
    current_etag_header,
    etag_header,
    etag_member_schema,
    header_parameter,
    last_modified_header,
    problem_schema,
)
from .reasons import CONFLICT, PRECONDITION_REASONS
from .routes import RouteTagging, describe_view

# The names this module has always offered, wherever they are now defined: the API reference
# documents these, and mypy lets other code import them from here.
__all__ = [
    "HEADER_ETAG",
    "HEADER_LAST_MODIFIED",
    "PARAMETER_IF_MATCH",
    "PARAMETER_IF_MATCH_REQUIRED",
    "PARAMETER_IF_MODIFIED_SINCE",
    "PARAMETER_IF_NONE_MATCH",
    "PARAMETER_IF_UNMODIFIED_SINCE",
    "RESPONSE_BAD_BATCH",
    "RESPONSE_BATCH_PRECONDITION_FAILED",
    "RESPONSE_BATCH_PRECONDITION_REQUIRED",
    "RESPONSE_BODY_PRECONDITION_INVALID",
    "RESPONSE_NOT_MODIFIED",
    "RESPONSE_PRECONDITION_FAILED",
    "RESPONSE_PRECONDITION_REQUIRED",
    "RESPONSE_WRITE_CONFLICT",
    "SCHEMA_BATCH_RESULTS",
    "BatchWrites",
    "ETagPlugin",
    "etag_member_schema",
]

#: Methods whose preconditions are evaluated (RFC 9110 §13.2.1 leaves out OPTIONS, TRACE, ...).
_JUDGED_METHODS = SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE"}
_WRITE_METHODS = _JUDGED_METHODS - SAFE_METHODS


class ETagPlugin(BasePlugin):
    """apispec plugin adding ETag headers, conditional parameters and the 304/400/412/428
    responses they get; and on request an item schema's ``etag`` member (``etag_member=`` on
    ``spec.components.schema``) and a batch route's answers (``etag_batch=`` on ``spec.path``).

    :param problem_details: describe 400/412/428 bodies as ``application/problem+json`` (RFC
        9457), flask_etag's default; pass False when the app renders them itself (APIFlask
        and flask-smorest do, in their own error format).
    :param app: the app whose routes the spec documents, for frameworks that add operations
        without their view: APIFlask gives the path, flask-smorest the URL rule, and the view
        is found in the app's URL map.  One plugin per app; without it, the current app.
    """

    def __init__(self, *, problem_details: bool = True, app: Flask | None = None) -> None:
        self.problem_details = problem_details
        self.app = app
        self._components: Any = None
        #: The document's OpenAPI version (major, minor): 3.0 and 3.1 spell null apart.
        self._version: tuple[int, int] = (3, 1)
        #: Header name of each parameter component, by component id.
        self._header_names: dict[str, str] = {}
        #: Component ids by (base id, body member): one text per member an app sets.
        self._member_components: dict[tuple[str, str | None], str] = {}

    def init_spec(self, spec: APISpec) -> None:
        """Register the shared components; OpenAPI 2 has no header components, so 3 only."""
        if spec.openapi_version.major < 3:
            raise ETagConfigurationError(
                "ETagPlugin documents OpenAPI 3 specs: create the APISpec with "
                'openapi_version="3.1.0" (or 3.0.x).'
            )
        components = self._components = spec.components
        self._version = (spec.openapi_version.major, spec.openapi_version.minor)
        self._member_components = {}
        self._header_names = {key: value[0] for key, value in PARAMETERS.items()}
        components.header(HEADER_ETAG, etag_header(), lazy=True)
        components.header(HEADER_LAST_MODIFIED, last_modified_header(), lazy=True)
        for component_id, (name, description, required, schema) in PARAMETERS.items():
            if component_id in IF_MATCH_PARAMETERS:
                continue  # its text names the app's body member: registered when first used
            parameter = header_parameter(name, description, required, schema)
            components.parameter(component_id, "header", parameter, lazy=True)
        self._register_responses(components)
        components.schema(SCHEMA_BATCH_RESULTS, batch_results_schema(), lazy=True)
        # Batches naming their items by "id" use these; another id_member gets its own.
        for base in (SCHEMA_BATCH_RESULTS, RESPONSE_BATCH_PRECONDITION_FAILED):
            self._member_components[(base, "id")] = base

    def _register_responses(self, components: Any) -> None:
        # Referring to another component from these would register it at once (apispec
        # resolves references on registration), so what they share is written out in each.
        not_modified = {
            "description": "Not Modified: the representation you hold is current "
            "(RFC 9110 §15.4.5). No body; reuse the one you have.",
            "headers": {"ETag": etag_header()},
        }
        components.response(RESPONSE_NOT_MODIFIED, not_modified, lazy=True)
        problem = problem_schema(PRECONDITION_REASONS, REASONS_412_428, etag=True)
        failed = self._problem_response(PRECONDITION_FAILED, problem)
        failed["headers"] = {"ETag": current_etag_header()}
        components.response(RESPONSE_PRECONDITION_FAILED, failed, lazy=True)
        required = self._problem_response(PRECONDITION_REQUIRED, deepcopy(problem))
        components.response(RESPONSE_PRECONDITION_REQUIRED, required, lazy=True)
        conflict_problem = problem_schema((CONFLICT,), "409 conflict.", etag=True)
        conflict = self._problem_response(WRITE_CONFLICT, conflict_problem)
        conflict["headers"] = {"ETag": current_etag_header()}
        components.response(RESPONSE_WRITE_CONFLICT, conflict, lazy=True)
        for component_id, description, schema in batch_problems():
            response = self._problem_response(description, schema)
            components.response(component_id, response, lazy=True)

    def _problem_response(self, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        """A response with ``description``, whose body is the problem ``schema`` unless the
        app renders its errors itself."""
        response: dict[str, Any] = {"description": description}
        if self.problem_details:
            response["content"] = {PROBLEM_JSON: {"schema": schema}}
        return response

    def schema_helper(
        self, name: str, definition: dict[str, Any], etag_member: bool | str = False, **kwargs: Any
    ) -> dict[str, Any] | None:
        """``spec.components.schema(name, ..., etag_member=True)``: the schema's items carry
        their own ETag in the member ``etag`` (:func:`~flask_etag.item_etag`); a string names
        another member.  It is ``readOnly`` unless the app's ``ETAG_BODY_MEMBER`` is that
        member, which a write may send back as its precondition."""
        if not etag_member:
            return None
        member = "etag" if etag_member is True else str(etag_member)
        writable = body_member_of(app_of(kwargs, self.app)) == member
        properties = {
            **definition.get("properties", {}),
            member: etag_member_schema(writable=writable),
        }
        return {"properties": properties}

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Add the conditional-request parts to the operations of ``kwargs["view"]``, or of
        the views the app routes ``kwargs["rule"]`` or ``path`` to; and with
        ``kwargs["etag_batch"]``, a batch route's entries and answers."""
        view = kwargs.get("view")
        if not operations:
            return
        batch = kwargs.get("etag_batch")
        if batch is not None and batch is not False:
            self._document_batch(operations, batch, app_of(kwargs, self.app))
        if view is None:
            self._document_routes(path, operations, kwargs)
            return
        app = app_of(kwargs, self.app)
        tagging = describe_view(app, view)
        if tagging is not None:
            self._document_operations(operations, _JUDGED_METHODS, tagging, body_member_of(app))

    def _document_routes(
        self, path: str | None, operations: dict[str, Any], kwargs: dict[str, Any]
    ) -> None:
        """Document operations given without their view, each by the rule serving its method."""
        app = known_app(kwargs, self.app)
        if app is None:
            return  # a path written by hand, with no app to find its route in
        rule = kwargs.get("rule")
        rules = [rule] if rule is not None else rules_at(app, path)
        for rule in rules:
            view = app.view_functions.get(rule.endpoint)
            tagging = None if view is None else describe_view(app, view, rule.endpoint)
            if tagging is not None:
                methods = _JUDGED_METHODS & (rule.methods or set())
                self._document_operations(operations, methods, tagging, body_member_of(app))

    def _document_operations(
        self,
        operations: dict[str, Any],
        methods: Container[str],
        tagging: RouteTagging,
        body_member: str | None,
    ) -> None:
        """Document each of ``operations`` whose method is one of ``methods``."""
        for method, operation in operations.items():
            if method.upper() in methods and isinstance(operation, dict):
                self._document_operation(method.upper(), operation, tagging, body_member)

    def _document_operation(
        self,
        method: str,
        operation: dict[str, Any],
        tagging: RouteTagging,
        body_member: str | None,
    ) -> None:
        if method in SAFE_METHODS:
            self._add_parameter(operation, PARAMETER_IF_NONE_MATCH)
            if tagging.judges_modified_since:
                self._add_parameter(operation, PARAMETER_IF_MODIFIED_SINCE)
            operation.setdefault("responses", {}).setdefault("304", RESPONSE_NOT_MODIFIED)
        elif tagging.auto:
            return  # ETAG_AUTO judges GET and HEAD only
        elif tagging.judges_writes:
            self._document_write(operation, tagging, body_member)
        # else a bare body hash: a write is refused 412 whatever precondition it carries
        # (RFC 9110 §13.1.1 needs the current tag), so none is offered.
        if method != "DELETE":
            add_validator_headers(operation, tagging)

    def _document_write(
        self, operation: dict[str, Any], tagging: RouteTagging, body_member: str | None
    ) -> None:
        """If-Match (or the body's tag member), If-None-Match, and the answers they get."""
        required = tagging.requires_if_match
        self._add_parameter(operation, self._if_match_parameter(required, body_member))
        self._add_parameter(operation, PARAMETER_IF_NONE_MATCH)
        if tagging.last_modified:
            self._add_parameter(operation, PARAMETER_IF_UNMODIFIED_SINCE)
        responses = operation.setdefault("responses", {})
        if body_member is not None:
            accept_body_member(operation, body_member, self._version)
            responses.setdefault("400", self._body_precondition_invalid(body_member))
        responses.setdefault("412", RESPONSE_PRECONDITION_FAILED)
        if required:
            responses.setdefault("428", RESPONSE_PRECONDITION_REQUIRED)
        if tagging.conflicts:
            responses.setdefault("409", RESPONSE_WRITE_CONFLICT)

    def _if_match_parameter(self, required: bool, body_member: str | None) -> str:
        """The ``If-Match`` parameter component as it reads for this app's body member."""
        base = PARAMETER_IF_MATCH_REQUIRED if required else PARAMETER_IF_MATCH
        name, description, _, schema = PARAMETERS[base]
        if body_member is not None:
            description = if_match_or_body(required, body_member)
        parameter = header_parameter(name, description, required, schema)
        component_id = self._member_component(
            base,
            body_member,
            lambda new_id: self._components.parameter(new_id, "header", parameter, lazy=True),
        )
        self._header_names.setdefault(component_id, name)
        return component_id

    def _body_precondition_invalid(self, body_member: str) -> str:
        """The 400 response component for a bad tag in the body member ``body_member``."""
        response = self._problem_response(*body_precondition_problem(body_member))
        return self._member_component(
            RESPONSE_BODY_PRECONDITION_INVALID,
            body_member,
            lambda new_id: self._components.response(new_id, response, lazy=True),
        )

    def _member_component(
        self, base: str, body_member: str | None, register: Callable[[str], Any]
    ) -> str:
        """The id of the component ``base`` as written for ``body_member``, registered (lazily)
        when first asked for: ``base`` for the first member a spec documents, and a name of
        its own for another app's member on the same spec (``IfMatch.odata_etag``)."""
        key = (base, body_member)
        if key not in self._member_components:
            taken = any(known == base for known, _ in self._member_components)
            suffix = re.sub(r"[^A-Za-z0-9_-]", "_", body_member or "none")
            component_id = f"{base}.{suffix}" if taken else base
            register(component_id)
            self._member_components[key] = component_id
        return self._member_components[key]

    def _add_parameter(self, operation: dict[str, Any], component_id: str) -> None:
        """Refer to a parameter component unless the operation documents that header already."""
        name = self._header_names[component_id].lower()
        parameters = operation.setdefault("parameters", [])
        if not any(self._documents_header(parameter, name) for parameter in parameters):
            parameters.append(component_id)

    def _documents_header(self, parameter: Any, name: str) -> bool:
        """True when ``parameter`` (inline, or the id of a parameter component: ours, the
        app's or a framework's, such as flask-smorest's ``IF_NONE_MATCH``) is the header
        ``name``: OpenAPI allows one parameter per name and location (3.1.0 §4.8.10)."""
        if isinstance(parameter, str):
            known = self._header_names.get(parameter)
            if known is not None:
                return known.lower() == name
            components = self._components
            parameter = components.parameters.get(parameter) or components.parameters_lazy.get(
                parameter
            )
        if not isinstance(parameter, dict) or parameter.get("in") != "header":
            return False
        return str(parameter.get("name", "")).lower() == name

    def _document_batch(
        self, operations: dict[str, Any], batch: BatchWrites | bool, app: Flask
    ) -> None:
        """Each write of ``operations``: the batch's entries, results and refusals."""
        if batch is True:
            batch = BatchWrites()
        if not isinstance(batch, BatchWrites):
            raise ETagConfigurationError(
                f"etag_batch= takes a flask_etag.openapi.BatchWrites (or True), not {batch!r}"
            )
        tag_member = body_member_of(app) or "etag"  # read_batch's tag member
        results, failed = self._batch_answers(batch.id_member)
        for method, operation in operations.items():
            if method.upper() in _WRITE_METHODS and isinstance(operation, dict):
                document_batch_operation(
                    operation,
                    batch,
                    tag_member,
                    results=results,
                    failed=failed,
                    version=self._version,
                )

    def _batch_answers(self, id_member: str) -> tuple[str, str]:
        """The ids of the results schema and the 412 response components of a batch whose
        entries name their item by ``id_member``: ``write_batch`` answers by that member."""
        results = self._member_component(
            SCHEMA_BATCH_RESULTS,
            id_member,
            lambda new_id: self._components.schema(
                new_id, batch_results_schema(id_member), lazy=True
            ),
        )
        description, problem = batch_precondition_failed(id_member)
        failed = self._member_component(
            RESPONSE_BATCH_PRECONDITION_FAILED,
            id_member,
            lambda new_id: self._components.response(
                new_id, self._problem_response(description, problem), lazy=True
            ),
        )
        return results, failed
