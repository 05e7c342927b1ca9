"""Retracting by API: the optional reason, its rules (as a title's, 500 characters), the time."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Announcement, Status
from service.api import documented_rules as rules
from service.database import db, utcnow
from tests.api.conftest import create, pointers, problem
from tests.factories import EditorInfo

API = "/api/v1/announcements"


def _stored(app: Flask, item_id: int) -> Announcement:
    with app.app_context():
        item = db.session.get(Announcement, item_id)
        assert item is not None
        db.session.expunge(item)
        return item


def test_retract_with_a_reason_stores_it_and_the_time(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    item = create(client, editor, title="Launch date", status="published")
    before = utcnow()
    response = client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                           json={"reason": "  Issued in error: the launch date was wrong.  "})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "retracted"
    assert body["retraction_reason"] == "Issued in error: the launch date was wrong."
    retracted_at = datetime.fromisoformat(body["retracted_at"])
    assert before <= retracted_at <= utcnow()
    stored = _stored(clean_app, item["id"])
    assert stored.status is Status.RETRACTED
    assert stored.retraction_reason == "Issued in error: the launch date was wrong."
    assert stored.retracted_at == retracted_at
    # Retracting again changes nothing: readers were told the first reason, at the first time.
    again = client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                        json={"reason": "Another story"}).get_json()
    assert again["retraction_reason"] == body["retraction_reason"]
    assert again["retracted_at"] == body["retracted_at"]


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "   "}])
def test_the_reason_is_optional(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo, body: dict[str, str] | None
) -> None:
    item = create(client, editor, title="No reason", status="published")
    kwargs = {} if body is None else {"json": body}
    response = client.post(f"{API}/{item['id']}/retract", headers=editor.auth, **kwargs)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["retraction_reason"] is None
    assert _stored(clean_app, item["id"]).retracted_at is not None


@pytest.mark.parametrize(("reason", "detail"), [
    ("x" * 501, "at most 500 characters"),
    ("Two\nlines", "single line"),
    ("Bell\x07", "control characters"),
    ("NUL\x00", "control characters"),
    ("Over\u202eride", "bidirectional"),
    (42, "valid string"),
    (None, "valid string"),
])
def test_a_bad_reason_is_a_422_and_nothing_is_retracted(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo, reason: object, detail: str
) -> None:
    item = create(client, editor, title="Still published", status="published")
    response = client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                           json={"reason": reason})
    body = problem(response, 422, "validation")
    assert detail in pointers(body)["#/reason"]
    stored = _stored(clean_app, item["id"])
    assert stored.status is Status.PUBLISHED and stored.retracted_at is None
    unknown = client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                          json={"why": "typo"})
    assert pointers(problem(unknown, 422, "validation")) == {"#/why": "is not a known field"}


def test_a_500_character_reason_is_fine(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    item = create(client, editor, title="Long reason", status="published")
    reason = "é" * 500
    response = client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                           json={"reason": reason})
    assert response.get_json()["retraction_reason"] == reason
    assert _stored(clean_app, item["id"]).retraction_reason == reason


def test_the_openapi_document_states_the_reason_rules(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/announcements/{announcement_id}/retract"]["post"]
    assert operation["requestBody"]["required"] is False
    assert "tombstone" in operation["description"]
    reason = document["components"]["schemas"]["RetractRequest"]["properties"]["reason"]
    assert reason["maxLength"] == 500 and reason["pattern"] == rules.REASON_PATTERN
    validator = jsonschema.Draft202012Validator(
        {**document, "$ref": "#/components/schemas/RetractRequest"})
    assert validator.is_valid({}) and validator.is_valid({"reason": "Issued in error."})
    for bad in ({"reason": "Two\nlines"}, {"reason": "x" * 501}, {"reason": "\u2066"},
                {"why": "x"}):
        assert not validator.is_valid(bad), bad
    shown = document["components"]["schemas"]["Announcement"]["properties"]
    assert {"retracted_at", "retraction_reason"} <= set(shown)



def test_anonymous_readers_get_a_410_with_the_time_and_reason(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    item = create(client, editor, title="Withdrawn figures", status="published")
    client.post(f"{API}/{item['id']}/retract", headers=editor.auth,
                json={"reason": "The figures were preliminary."})
    body = problem(client.get(f"{API}/{item['id']}"), 410, "retracted")
    assert body["reason"] == "The figures were preliminary."
    retracted_at = _stored(clean_app, item["id"]).retracted_at
    assert retracted_at is not None and body["retracted_at"] == retracted_at.isoformat()
    assert "Withdrawn figures" not in str(body)  # a retraction does not repeat the title
