"""The OpenAPI 3.1 document, generated from the registered routes and the pydantic models.

Each API view carries an :class:`Operation` (set with :func:`operation`) naming its models,
statuses and headers; :func:`document` walks the URL map, so a route without one, or a route
added without updating the document, cannot go unnoticed (a test checks every route).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api import bp
from service.api import documented_rules as rules
from service.api.problems import MEDIA_TYPE
from service.api.schemas import ProblemDetails

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"
_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Path parameters by converter: ``int`` is the app's bounded one (service.url_numbers).
_CONVERTER_SCHEMAS = {"int": rules.ID_PARAMETER, "default": {"type": "string"}}

# Shared error responses: (name, description, extra headers).
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON; the detail says where."),
    401: ("Unauthorized", "No token, or a token that is unknown or revoked."),
    403: ("Forbidden", "Your role may not do this."),
    404: ("NotFound", "No such announcement or image (or not visible without a token)."),
    409: ("Conflict", "The slug is taken, the change is not possible in this status, or a "
                      "translation's language is taken in its group."),
    410: ("Gone", "The announcement was retracted."),
    412: ("PreconditionFailed", "If-Match did not match the current ETag."),
    413: ("ContentTooLarge", "The body (or an uploaded file) is over its size limit."),
    415: ("UnsupportedMediaType", "The body is not of the type the operation takes "
                                  "(application/json, or multipart/form-data for uploads), "
                                  "or an uploaded file is not JPEG, PNG or WebP."),
    422: ("UnprocessableContent", "Invalid fields or parameters; see 'errors'."),
    429: ("TooManyRequests", "Too many requests from this client or for this address."),
    500: ("InternalServerError", "A server bug; no details are disclosed."),
}
_HEADERS = {
    "ETag": {"description": "A version tag for If-Match and If-None-Match.",
             "schema": {"type": "string"}},
    "Location": {"description": "The new resource's URL (an announcement, a webhook).",
                 "schema": {"type": "string", "format": "uri"}},
    "Link": {"description": "RFC 8288 pagination links (first, last, next, prev).",
             "schema": {"type": "string"}},
}
_REQUEST_HEADERS = {
    "If-Match": "Apply only if the announcement's ETag still matches (else 412).",
    "If-None-Match": "Answer 304 Not Modified if the ETag matches.",
}

Schema = type[BaseModel] | dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, tuple[str, Schema]]  # status -> (description, body schema)
    auth: Literal["required", "optional", "none"] = "required"
    body: type[BaseModel] | None = None
    body_optional: bool = False
    form: dict[str, Any] | None = None  # a multipart/form-data body's schema (uploads)
    form_encoding: dict[str, Any] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    response_headers: dict[int, tuple[str, ...]] = field(default_factory=dict)
    request_headers: tuple[str, ...] = ()
    description: str = ""


def operation(**spec: Any) -> Callable[[F], F]:
    """Record the view's contract for the OpenAPI document."""

    def decorate(view: F) -> F:
        view.openapi = Operation(**spec)  # type: ignore[attr-defined]
        return view

    return decorate


def _error_statuses(op: Operation) -> list[int]:
    statuses = set(op.errors) | {500}
    if op.auth != "none":
        statuses.add(401)
    if op.body is not None or op.form is not None:
        statuses |= {400, 413, 415, 422}
    if op.query is not None:
        statuses.add(422)
    if "If-Match" in op.request_headers:
        statuses.add(412)
    return sorted(statuses)


def _models(ops: list[Operation]) -> list[tuple[type[BaseModel], Literal["validation",
                                                                         "serialization"]]]:
    wanted: dict[tuple[type[BaseModel], str], None] = {(ProblemDetails, "serialization"): None}
    for op in ops:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for _, schema in op.responses.values():
            if isinstance(schema, type):
                wanted[(schema, "serialization")] = None
    return list(wanted)  # type: ignore[arg-type]


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never null: drop the model's ``| None``."""
    schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
    options = [s for s in schema.pop("anyOf", []) if s != {"type": "null"}]
    if len(options) == 1:
        schema |= options[0]
    elif options:
        schema["anyOf"] = options
    if schema.get("default", ...) is None:
        del schema["default"]
    return schema


def _parameters(rule: str, op: Operation) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": _CONVERTER_SCHEMAS.get(converter or "default", {"type": "string"})}
        | ({"description": rules.ID_DESCRIPTION} if name == "announcement_id" else
           {"description": rules.ID_DESCRIPTION.replace("announcement", "webhook")}
           if name == "webhook_id" else
           {"description": rules.ID_DESCRIPTION.replace("announcement", "image")}
           if name == "media_id" else {})
        for converter, name in _RULE_ARG.findall(rule)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            param = {"name": name, "in": "query", "required": name in required,
                     "schema": _query_schema(prop)}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    for name in op.request_headers:
        params.append({"name": name, "in": "header", "required": False,
                       "description": _REQUEST_HEADERS[name], "schema": {"type": "string"}})
    return params


def _operation(endpoint: str, rule: str, op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (description, schema) in sorted(op.responses.items()):
        entry: dict[str, Any] = {"description": description}
        if isinstance(schema, type):
            entry["content"] = {"application/json": {"schema": refs[(schema, "serialization")]}}
        elif schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        headers = op.response_headers.get(status, ())
        if headers:
            entry["headers"] = {name: _HEADERS[name] for name in headers}
        responses[str(status)] = entry
    for status in _error_statuses(op):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    result: dict[str, Any] = {
        "operationId": endpoint.removeprefix("api."),
        "summary": op.summary,
        "tags": ["announcements" if "announcements" in rule else
                 "media" if "/media" in rule else "meta"],
        "parameters": _parameters(rule, op),
        "responses": responses,
    }
    if op.description:
        result["description"] = op.description
    if op.body is not None:
        result["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    if op.form is not None:
        multipart: dict[str, Any] = {"schema": op.form}
        if op.form_encoding:
            multipart["encoding"] = op.form_encoding
        result["requestBody"] = {"required": True,
                                 "content": {"multipart/form-data": multipart}}
    result["security"] = {
        "required": [{SECURITY_SCHEME: []}],
        "optional": [{}, {SECURITY_SCHEME: []}],
        "none": [],
    }[op.auth]
    return result


def document(app: Flask) -> dict[str, Any]:
    """Assemble the document from ``app``'s URL map (the ``api`` blueprint's routes)."""
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(f"{bp.name}."):
            continue
        op: Operation | None = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if op is None:
            raise LookupError(f"API view {rule.endpoint} has no @operation")
        routes.append((rule, op))
    refs, defs = models_json_schema(_models([op for _, op in routes]), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for rule, op in routes:
        path = _RULE_ARG.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, rule.rule,
                                                                   op, refs)
    problem = {MEDIA_TYPE: {"schema": refs[(ProblemDetails, "serialization")]}}
    responses: dict[str, Any] = {}
    for status, (name, description) in _ERRORS.items():
        responses[name] = {"description": description, "content": problem}
        if status == 401:
            responses[name]["headers"] = {"WWW-Authenticate": {
                "description": "The Bearer challenge (RFC 6750).", "schema": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsroom API",
            "version": "1.0.0",
            "description": "Announcements of the international partnerships office. Errors "
                           "are RFC 9457 problem details (application/problem+json).",
        },
        "servers": [{"url": app.config["BASE_URL"]}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "responses": responses,
            "securitySchemes": {SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer",
                "description": "An API token from `flask --app service tokens create EMAIL`.",
            }},
        },
    }


@bp.get("/openapi.json")
@operation(summary="This API's OpenAPI 3.1 document", auth="none",
           responses={200: ("The document.", {"type": "object"})})
def openapi_document() -> ResponseReturnValue:
    cached = current_app.extensions.get("newsroom.openapi")
    if cached is None:
        cached = current_app.extensions["newsroom.openapi"] = document(current_app)
    return jsonify(cached)


def standalone_document(base_url: str) -> dict[str, Any]:
    """The same document without a configured app: no database, Redis or settings needed.

    For tools that need the contract before (or without) an app, such as the schemathesis
    test, which builds its test cases at import time. A bare Flask app with the app
    factory's integer converter and the API blueprint has the same API routes; a test checks
    that the document served at /api/v1/openapi.json is this one.
    """
    from service.url_numbers import BoundedIntConverter

    bare = Flask("newsroom-openapi")
    bare.url_map.converters["int"] = BoundedIntConverter
    bare.config["BASE_URL"] = base_url
    bare.register_blueprint(bp)
    return document(bare)
