"""Document each tagged route's ETag behaviour in an OpenAPI 3 document built with apispec.

``pip install flask-etag[openapi]``.  :class:`ETagPlugin` is an apispec plugin: for every
operation added with ``spec.path(view=...)`` (apispec-webframeworks' ``FlaskPlugin`` passes the
view, or pass it yourself) it adds what the decorators do, read from the view itself:

- GET/HEAD: the ``If-None-Match`` parameter (and ``If-Modified-Since`` for timestamps), the
  ``304`` response, and ``ETag`` (``Last-Modified``) on the 2xx responses;
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
from collections.abc import Callable, Container, Mapping
from copy import deepcopy
from dataclasses import dataclass
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
from .reasons import BAD_BODY_TAG, BODY_DISAGREES, MISSING, PRECONDITION_REASONS, REQUIRED, STALE
from .routes import RouteTagging, describe_view
from .settings import SETTINGS_KEY

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
RESPONSE_BODY_PRECONDITION_INVALID = "BodyPreconditionInvalid"
RESPONSE_BATCH_PRECONDITION_FAILED = "BatchPreconditionFailed"
RESPONSE_BATCH_PRECONDITION_REQUIRED = "BatchPreconditionRequired"
RESPONSE_BAD_BATCH = "BadBatch"
SCHEMA_BATCH_RESULTS = "BatchResults"

#: Methods whose preconditions are evaluated (RFC 9110 §13.2.1 leaves out OPTIONS, TRACE, ...).
_JUDGED_METHODS = SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE"}
_WRITE_METHODS = _JUDGED_METHODS - SAFE_METHODS
#: ``read_batch``'s 400 (flask_etag.sqlalchemy.batches, which needs SQLAlchemy to import).
_BAD_BATCH = "bad-batch"

_STRING = {"type": "string"}
_HTTP_DATE = {"type": "string", "example": "Tue, 15 Nov 1994 08:12:31 GMT"}
_TAG_EXAMPLE = '"52d0fe81eadf4c128ed54e7087cfcc1c"'

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
#: The ``If-Match`` parameters, whose text names the body member: registered when first used.
_IF_MATCH_PARAMETERS = (PARAMETER_IF_MATCH, PARAMETER_IF_MATCH_REQUIRED)


@dataclass(frozen=True)
class BatchWrites:
    """A batch route written with :func:`~flask_etag.sqlalchemy.read_batch` and
    :func:`~flask_etag.sqlalchemy.write_batch`, for :class:`ETagPlugin` to document:
    ``spec.path(view=patch_products, etag_batch=BatchWrites(...))``.

    :param atomic: True for all or nothing (a stale or missing entry, or one without a tag,
        refuses the whole batch with 412 or 428), False for each entry on its own (every
        result has its status), None when the request chooses (as the example's
        ``?atomic=false`` does).
    :param id_member: the entries' member naming their item (``read_batch``'s ``id_member``).
    :param id_schema: that member's schema, such as ``{"type": "integer"}``; any JSON value
        when not given.
    :param changes: the schema of an entry's other members, its changes: a schema or the name
        of a schema component.
    :param media_types: the request's media types (the JSON ones the route accepts).
    """

    atomic: bool | None = True
    id_member: str = "id"
    id_schema: Mapping[str, Any] | None = None
    changes: str | Mapping[str, Any] | None = None
    media_types: tuple[str, ...] = ("application/json",)


def etag_member_schema(*, writable: bool = True) -> dict[str, Any]:
    """The schema of an item's ``etag`` member, the tag :func:`~flask_etag.item_etag` gives
    it: for item schemas written by hand, or a marshmallow field's ``metadata``.

    :param writable: whether a write may send it back in its body as its precondition (the
        app's ``ETAG_BODY_MEMBER`` names this member); False marks it ``readOnly``.
    """
    property_schema: dict[str, Any] = {
        "type": "string",
        "description": "This item's entity-tag: the ETag field its own GET sends (RFC 9110 "
        "§8.8.3), quotes included. Send it as If-Match"
        + (", or back in this member of a write's JSON body," if writable else "")
        + " to change the item only while it is unchanged (RFC 9110 §13.1.1).",
        "example": _TAG_EXAMPLE,
    }
    if not writable:
        property_schema["readOnly"] = True
    return property_schema


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
        self._member_components = {}
        self._header_names = {key: value[0] for key, value in _PARAMETERS.items()}
        components.header(HEADER_ETAG, _etag_header(), lazy=True)
        components.header(HEADER_LAST_MODIFIED, _last_modified_header(), lazy=True)
        for component_id, (name, description, required, schema) in _PARAMETERS.items():
            if component_id in _IF_MATCH_PARAMETERS:
                continue  # its text names the app's body member: registered when first used
            parameter = _parameter(name, description, required, schema)
            components.parameter(component_id, "header", parameter, lazy=True)
        self._register_responses(components)
        components.schema(SCHEMA_BATCH_RESULTS, _batch_results_schema(), lazy=True)

    def _register_responses(self, components: Any) -> None:
        # Referring to another component from these would register it at once (apispec
        # resolves references on registration), so what they share is written out in each.
        not_modified = {
            "description": "Not Modified: the representation you hold is current "
            "(RFC 9110 §15.4.5). No body; reuse the one you have.",
            "headers": {"ETag": _etag_header()},
        }
        components.response(RESPONSE_NOT_MODIFIED, not_modified, lazy=True)
        problem = _problem_schema(PRECONDITION_REASONS, _REASONS_412_428, etag=True)
        failed = self._problem_response(_PRECONDITION_FAILED, problem)
        failed["headers"] = {"ETag": _current_etag_header()}
        components.response(RESPONSE_PRECONDITION_FAILED, failed, lazy=True)
        required = self._problem_response(_PRECONDITION_REQUIRED, deepcopy(problem))
        components.response(RESPONSE_PRECONDITION_REQUIRED, required, lazy=True)
        for component_id, description, schema in _batch_problems():
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
        writable = _body_member(_app_of(kwargs, self.app)) == member
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
            self._document_batch(operations, batch, _app_of(kwargs, self.app))
        if view is None:
            self._document_routes(path, operations, kwargs)
            return
        app = _app_of(kwargs, self.app)
        tagging = describe_view(app, view)
        if tagging is not None:
            self._document_operations(operations, _JUDGED_METHODS, tagging, _body_member(app))

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
                self._document_operations(operations, methods, tagging, _body_member(app))

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
            if tagging.last_modified:
                self._add_parameter(operation, PARAMETER_IF_MODIFIED_SINCE)
            operation.setdefault("responses", {}).setdefault("304", RESPONSE_NOT_MODIFIED)
        elif tagging.auto:
            return  # ETAG_AUTO judges GET and HEAD only
        else:
            self._document_write(operation, tagging, body_member)
        if method != "DELETE":
            _add_validator_headers(operation, tagging)

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
            _accept_body_member(operation, body_member)
            responses.setdefault("400", self._body_precondition_invalid(body_member))
        responses.setdefault("412", RESPONSE_PRECONDITION_FAILED)
        if required:
            responses.setdefault("428", RESPONSE_PRECONDITION_REQUIRED)

    def _if_match_parameter(self, required: bool, body_member: str | None) -> str:
        """The ``If-Match`` parameter component as it reads for this app's body member."""
        base = PARAMETER_IF_MATCH_REQUIRED if required else PARAMETER_IF_MATCH
        name, description, _, schema = _PARAMETERS[base]
        if body_member is not None:
            description = _if_match_or_body(required, body_member)
        parameter = _parameter(name, description, required, schema)
        component_id = self._member_component(
            base,
            body_member,
            lambda new_id: self._components.parameter(new_id, "header", parameter, lazy=True),
        )
        self._header_names.setdefault(component_id, name)
        return component_id

    def _body_precondition_invalid(self, body_member: str) -> str:
        """The 400 response component for a bad tag in the body member ``body_member``."""
        response = self._problem_response(
            _BODY_PRECONDITION_INVALID.format(member=body_member),
            _problem_schema((BAD_BODY_TAG, BODY_DISAGREES), _REASONS_400),
        )
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
        """True when ``parameter`` (inline or one of our component ids) is the header ``name``."""
        if isinstance(parameter, str):
            known = self._header_names.get(parameter)
            return known is not None and known.lower() == name
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
        tag_member = _body_member(app) or "etag"  # read_batch's tag member
        for method, operation in operations.items():
            if method.upper() in _WRITE_METHODS and isinstance(operation, dict):
                _document_batch_operation(operation, batch, tag_member)


def _parameter(
    name: str, description: str, required: bool, schema: dict[str, Any]
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "description": description, "schema": schema}
    if required:
        parameter["required"] = True
    return parameter


def _if_match_or_body(required: bool, member: str) -> str:
    """If-Match's description where a write may carry its tag in the body member instead."""
    in_body = (
        f"the same tag as the JSON body's `{member}` member (judged as this field and taken "
        "out of the body; 400 if it is not one entity tag, or names another tag than this "
        "field)"
    )
    if required:
        return (
            "Required (RFC 6585 §3): the strong entity-tag of the representation you are "
            "changing; 412 if it is no longer current. Accepted instead: "
            f"{in_body}, or `If-None-Match: *` (create only if absent); without any of them "
            "the answer is 428."
        )
    return (
        "The strong entity-tag of the representation you are changing; 412 if it is no "
        "longer current (strong comparison, RFC 9110 §13.1.1). `*`: only if it exists. Or "
        f"send {in_body}."
    )


#: JSON media types, as werkzeug's ``Request.is_json`` tells them: the body member is read
#: from these.
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:json|[^;\s]*\+json)\s*(?:;|$)", re.IGNORECASE)


def _accept_body_member(operation: dict[str, Any], member: str) -> None:
    """Add the tag member to the operation's inline JSON object body schemas; a schema
    component is shared, so it is left alone (``etag_member=`` documents it)."""
    request_body = operation.get("requestBody")
    if not isinstance(request_body, dict):
        return
    for media_type, content in request_body.get("content", {}).items():
        schema = content.get("schema") if isinstance(content, dict) else None
        if not _JSON_MEDIA_TYPE.match(media_type) or not isinstance(schema, dict):
            continue
        if "$ref" not in schema and (schema.get("type") == "object" or "properties" in schema):
            schema.setdefault("properties", {}).setdefault(member, _body_tag_member())


def _body_tag_member() -> dict[str, Any]:
    return {
        "type": "string",
        "description": "Instead of If-Match: the entity-tag of the representation you are "
        "changing, as its ETag field sends it (quotes included). The write is judged as if "
        "it had sent If-Match with it (RFC 9110 §13.1.1); the member is not stored.",
        "example": _TAG_EXAMPLE,
    }


def _document_batch_operation(
    operation: dict[str, Any], batch: BatchWrites, tag_member: str
) -> None:
    """The entries a batch write takes, and what it answers (flask_etag.sqlalchemy.batches)."""
    entries = {"type": "array", "items": _batch_entry_schema(batch, tag_member)}
    operation.setdefault(
        "requestBody",
        {
            "required": True,
            "content": {kind: {"schema": deepcopy(entries)} for kind in batch.media_types},
        },
    )
    responses = operation.setdefault("responses", {})
    written = responses.setdefault("200", {"description": _BATCH_WRITTEN[batch.atomic]})
    if isinstance(written, dict):
        written.setdefault("content", {"application/json": {"schema": SCHEMA_BATCH_RESULTS}})
    responses.setdefault("400", RESPONSE_BAD_BATCH)
    if batch.atomic is not False:
        responses.setdefault("412", RESPONSE_BATCH_PRECONDITION_FAILED)
        responses.setdefault("428", RESPONSE_BATCH_PRECONDITION_REQUIRED)


def _batch_entry_schema(batch: BatchWrites, tag_member: str) -> dict[str, Any]:
    identity = {"description": "The item this entry changes.", **(batch.id_schema or {})}
    entry: dict[str, Any] = {
        "type": "object",
        "description": "One item's change: the item, the tag it was read at, and the members "
        "to change.",
        "required": [batch.id_member, tag_member],
        "properties": {
            batch.id_member: identity,
            tag_member: {
                "type": "string",
                "description": "The ETag the item was read at (the list's etag member, or its "
                "GET's ETag field): the entry is written only while the item is still at it "
                "(RFC 9110 §13.1.1).",
                "example": _TAG_EXAMPLE,
            },
        },
    }
    if batch.changes is None:
        return entry
    changes = batch.changes if isinstance(batch.changes, str) else dict(deepcopy(batch.changes))
    return {"allOf": [changes, entry]}


_BATCH_WRITTEN = {
    True: "Every entry was written: one result per entry, in order, each with status 200 "
    "and its item's new ETag.",
    False: "Each entry on its own: one result per entry, in order, with its status (200 "
    "written, 412 stale, 404 missing, 428 without a tag, or the status its change was "
    "refused with).",
    None: "One result per entry, in order. All or nothing: each with status 200 and its "
    "item's new ETag. Each entry on its own: each with its status (200 written, 412 stale, "
    "404 missing, 428 without a tag, or the status its change was refused with).",
}
_PRECONDITION_FAILED = (
    "Precondition Failed: the resource changed since you fetched it (RFC 9110 §15.5.13); "
    "nothing was changed. Fetch it again and retry with its current ETag."
)
_PRECONDITION_REQUIRED = (
    "Precondition Required: send If-Match with the ETag you hold, or If-None-Match: * to "
    "create (RFC 6585 §3)."
)
_BODY_PRECONDITION_INVALID = (
    "Bad Request (RFC 9110 §15.5.1): the JSON body's `{member}` member, sent for If-Match, "
    "is not one entity tag (reason bad-body-tag), or names another tag than the If-Match "
    "sent with it (body-disagrees). Nothing was changed."
)
_REASONS_412_428 = (
    "412 stale, weak-tag, missing, exists, matched, modified-since or cannot-evaluate; "
    "428 required."
)
_REASONS_400 = "bad-body-tag or body-disagrees."


def _batch_problems() -> list[tuple[str, str, dict[str, Any]]]:
    """The batch route's refusals: component id, description, problem schema."""
    entry_tag = {
        "type": "object",
        "properties": {
            "id": {"description": "The entry's item, as the entry named it."},
            "etag": {"type": "string", "description": "The item's current ETag."},
        },
    }
    failed = _problem_schema((STALE, MISSING), "stale when an entry is stale, else missing.")
    failed["properties"] |= {
        "stale": {
            "type": "array",
            "description": "Each entry whose item changed since it was read, with its "
            "current ETag to retry with.",
            "items": entry_tag,
        },
        "missing": {
            "type": "array",
            "description": "The ids of the entries whose item does not exist.",
            "items": {},
        },
    }
    return [
        (RESPONSE_BATCH_PRECONDITION_FAILED, _BATCH_PRECONDITION_FAILED, failed),
        (
            RESPONSE_BATCH_PRECONDITION_REQUIRED,
            _BATCH_PRECONDITION_REQUIRED,
            _problem_schema((REQUIRED,), "required."),
        ),
        (RESPONSE_BAD_BATCH, _BAD_BATCH_DESCRIPTION, _problem_schema((_BAD_BATCH,), "bad-batch.")),
    ]


_BATCH_PRECONDITION_FAILED = (
    "Precondition Failed: some entries' items changed since they were read, or are gone, so "
    "nothing was written (RFC 9110 §13.1.1, §15.5.13). `stale` lists each changed one with "
    "its current ETag, `missing` the others: read them again and retry."
)
_BATCH_PRECONDITION_REQUIRED = (
    "Precondition Required: an entry carries no tag, and every entry must carry the ETag its "
    "item was read at (RFC 6585 §3). Nothing was written."
)
_BAD_BATCH_DESCRIPTION = (
    "Bad Request: the body is not a JSON array of entries, each an object naming its item "
    "once. Nothing was written."
)


def _batch_results_schema() -> dict[str, Any]:
    """What ``write_batch`` returns: one result per entry, in the batch's order."""
    return {
        "type": "array",
        "description": "One result per entry, in the batch's order.",
        "items": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": {"description": "The entry's item, as the entry named it."},
                "status": {
                    "type": "integer",
                    "description": "200 written; 412 stale (etag is the item's current "
                    "tag); 404 no such item; 428 the entry carried no tag; else the status "
                    "its change was refused with (such as 422), with detail.",
                    "example": 200,
                },
                "etag": {
                    "type": "string",
                    "description": "200: the item's new ETag; 412 and 428: its current one.",
                    "example": _TAG_EXAMPLE,
                },
                "detail": {"type": "string", "description": "Why the entry was refused."},
            },
        },
    }


def _problem_schema(
    reasons: tuple[str, ...], reasons_described: str, *, etag: bool = False
) -> dict[str, Any]:
    """RFC 9457 problem details, the body flask_etag gives its 4xx by default, with the
    extension members (§3.2) ``reason`` and, with ``etag``, the current tag."""
    schema: dict[str, Any] = {
        "type": "object",
        "description": "Problem details (RFC 9457).",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "The cause, and what to do next."},
            "reason": {
                "type": "string",
                "enum": list(reasons),
                "description": f"The cause, as a stable string: {reasons_described}",
            },
        },
    }
    if etag:
        schema["properties"]["etag"] = {
            "type": "string",
            "description": "412: the resource's current ETag, when it still exists.",
        }
    return schema


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


def _body_member(app: Flask) -> str | None:
    """The JSON member a write to ``app`` may carry its tag in (``ETAG_BODY_MEMBER``)."""
    settings = app.extensions.get(SETTINGS_KEY)
    return None if settings is None else settings.body_member


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
