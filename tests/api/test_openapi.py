"""The generated OpenAPI document: valid OpenAPI 3.1, complete, and true to real responses."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from tests.api.conftest import create
from tests.factories import EditorInfo


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    document = _document(client)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_api_route_is_documented(clean_app: Flask, client: FlaskClient) -> None:
    documented = {(path, method) for path, ops in _document(client)["paths"].items()
                  for method in ops}
    routes = set()
    for rule in clean_app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):  # every route under /api/, whichever blueprint
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) >= 9 and ("/api/v1/subscriptions", "post") in routes
    assert routes == documented


def test_security_and_problem_responses(client: FlaskClient) -> None:
    document = _document(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    create_op = document["paths"]["/api/v1/announcements"]["post"]
    assert create_op["security"] == [{"bearerAuth": []}]
    for status in ("400", "401", "403", "409", "413", "415", "422", "500"):
        ref = create_op["responses"][status]["$ref"]
        name = ref.rsplit("/", 1)[1]
        content = document["components"]["responses"][name]["content"]
        assert list(content) == ["application/problem+json"]
    assert document["paths"]["/api/v1/announcements"]["get"]["security"] == [
        {}, {"bearerAuth": []}]
    body_schema = create_op["requestBody"]["content"]["application/json"]["schema"]
    create_schema = document["components"]["schemas"][body_schema["$ref"].rsplit("/", 1)[1]]
    assert create_schema["additionalProperties"] is False
    assert create_schema["required"] == ["title"]


def _validator(document: dict[str, Any], name: str) -> jsonschema.Validator:
    schema = {**document, "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_real_responses_match_their_schemas(client: FlaskClient, editor: EditorInfo) -> None:
    document = _document(client)
    item = create(client, editor, title="Documented", tags=["sar"], status="published")
    _validator(document, "Announcement").validate(item)
    _validator(document, "AnnouncementPage").validate(client.get("/api/v1/announcements").json)
    problem = client.post("/api/v1/announcements", json={"x": 1}, headers=editor.auth).json
    _validator(document, "ProblemDetails").validate(problem)
