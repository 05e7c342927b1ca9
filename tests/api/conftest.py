"""Helpers for the API tests: role fixtures and problem+json assertions."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.factories import EditorInfo

PROBLEM = "application/problem+json"
TYPES = "https://newsroom.example/problems/"


def problem(response: TestResponse, status: int, kind: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status`` (and type ``kind``); return its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == (TYPES + kind if kind else "about:blank")
    assert body["title"] and body["detail"] and body["instance"].startswith("/api")
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def pointers(body: dict[str, Any]) -> dict[str, str]:
    """``{pointer or parameter: detail}`` of a 422's errors."""
    return {e.get("pointer") or e["parameter"]: e["detail"] for e in body["errors"]}


def post(client: FlaskClient, who: EditorInfo | None, path: str = "/api/v1/announcements",
         **fields: Any) -> TestResponse:
    headers = who.auth if who else {}
    return client.post(path, json=fields, headers=headers)


def create(client: FlaskClient, who: EditorInfo, **fields: Any) -> dict[str, Any]:
    """POST an announcement that must succeed; its JSON."""
    response = post(client, who, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
