"""The webhooks API: admins only, secrets shown once, bad URLs and event types refused."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import EditorInfo

BODY = {"url": "https://hooks.example.org/newsroom", "events": ["announcement.published"],
        "description": "Partner portal"}


def test_roles(client: FlaskClient, admin: EditorInfo, editor: EditorInfo,
               author: EditorInfo) -> None:
    assert client.post("/api/v1/webhooks", json=BODY).status_code == 401
    assert client.get("/api/v1/webhooks").status_code == 401
    for who in (editor, author):
        answer = client.post("/api/v1/webhooks", json=BODY, headers=who.auth)
        assert answer.status_code == 403
        assert answer.mimetype == "application/problem+json"
        assert client.get("/api/v1/webhooks", headers=who.auth).status_code == 403
    answer = client.post("/api/v1/webhooks", json=BODY, headers=admin.auth)
    assert answer.status_code == 201
    created = answer.get_json()
    assert created["url"] == BODY["url"] and created["events"] == BODY["events"]
    assert created["enabled"] is True and created["description"] == "Partner portal"
    assert answer.headers["Location"].endswith(f"/api/v1/webhooks/{created['id']}")
    for who in (editor, author):
        assert client.get(f"/api/v1/webhooks/{created['id']}",
                          headers=who.auth).status_code == 403
        assert client.delete(f"/api/v1/webhooks/{created['id']}",
                             headers=who.auth).status_code == 403


def test_secret_is_shown_once(client: FlaskClient, admin: EditorInfo) -> None:
    created = client.post("/api/v1/webhooks", json=BODY, headers=admin.auth).get_json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    one = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin.auth)
    listed = client.get("/api/v1/webhooks", headers=admin.auth)
    assert one.status_code == 200 and "secret" not in one.get_json()
    assert [item["id"] for item in listed.get_json()["items"]] == [created["id"]]
    assert secret not in one.text and secret not in listed.text
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret",
                          headers=admin.auth).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert rotated["rotating"] is True
    again = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin.auth).text
    assert rotated["secret"] not in again and secret not in again


@pytest.mark.parametrize("change", [
    {"url": "ftp://hooks.example.org/x"},
    {"url": "not a url"},
    {"url": "/relative/path"},
    {"url": "https://user:pw@hooks.example.org/"},
    {"url": "https://hooks.example.org:99999/"},
    {"events": ["announcement.deleted"]},
    {"events": []},
    {"events": "announcement.published"},
    {"surprise": True},
])
def test_invalid_bodies_are_422(client: FlaskClient, admin: EditorInfo,
                                change: dict[str, Any]) -> None:
    answer = client.post("/api/v1/webhooks", json={**BODY, **change}, headers=admin.auth)
    assert answer.status_code == 422, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["errors"]


def test_patch_and_delete(client: FlaskClient, admin: EditorInfo,
                          register: Callable[..., dict[str, Any]]) -> None:
    created = register("https://hooks.example.org/a")
    path = f"/api/v1/webhooks/{created['id']}"
    answer = client.patch(path, headers=admin.auth, json={
        "url": "https://hooks.example.org/b", "events": ["announcement.retracted"],
        "description": "moved", "enabled": False})
    assert answer.status_code == 200, answer.get_json()
    changed = answer.get_json()
    assert (changed["url"], changed["events"], changed["description"], changed["enabled"]) == (
        "https://hooks.example.org/b", ["announcement.retracted"], "moved", False)
    assert changed["disabled_reason"]
    assert client.patch(path, headers=admin.auth,
                        json={"events": ["nope"]}).status_code == 422
    enabled = client.patch(path, headers=admin.auth, json={"enabled": True}).get_json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None
    assert client.delete(path, headers=admin.auth).status_code == 204
    assert client.get(path, headers=admin.auth).status_code == 404
    assert client.delete(path, headers=admin.auth).status_code == 404
    assert client.post(path + "/test", headers=admin.auth).status_code == 404
