"""Delivery end to end: the API, the outbox, the real session worker, a receiver on
127.0.0.1 whose signature check is the ``standardwebhooks`` library. Each announcement event
arrives signed; retries keep the webhook-id; a 410 disables the endpoint; during rotation both
secrets verify; every attempt is recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook, WebhookVerificationError

from service import outbox
from service.database import db
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from tests.api.conftest import create
from tests.factories import EditorInfo
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.webhooks.conftest import verified

pytestmark = pytest.mark.usefixtures("celery_worker", "no_worker_leftovers")


def _rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(model).order_by(model.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def _no_pending_events(app: Flask) -> bool:
    with app.app_context():
        pending = outbox.pending_count()
        db.session.remove()
    return pending == 0


def test_publish_update_retract_arrive_signed(clean_app: Flask, client: FlaskClient,
                                              editor: EditorInfo, receiver: Receiver,
                                              register: Callable[..., dict[str, Any]]) -> None:
    hook = register(receiver.url("/hook"))
    item = create(client, editor, title="Joint observatory first light", status="published",
                  tags=["observatories"])
    posts = receiver.wait_posts(1)
    first = verified(hook["secret"], posts[0])
    assert first["type"] == "announcement.published"
    assert first["data"] == client.get(f"/api/v1/announcements/{item['id']}").get_json()
    assert posts[0].headers["content-type"] == "application/json"
    assert posts[0].headers["webhook-id"].startswith("msg_")
    assert client.patch(f"/api/v1/announcements/{item['id']}", headers=editor.auth,
                        json={"summary": "Now with pictures."}).status_code == 200
    second = verified(hook["secret"], receiver.wait_posts(2)[1])
    assert second["type"] == "announcement.updated"
    assert second["data"]["summary"] == "Now with pictures."
    assert client.post(f"/api/v1/announcements/{item['id']}/retract",
                       headers=editor.auth).status_code == 200
    third = verified(hook["secret"], receiver.wait_posts(3)[2])
    assert third["type"] == "announcement.retracted" and third["data"]["status"] == "retracted"
    ids = [p.headers["webhook-id"] for p in receiver.posts()]
    assert len(set(ids)) == 3  # one message per event
    for post in receiver.posts():
        with pytest.raises(WebhookVerificationError):  # the check is real
            Webhook("whsec_" + "QUJD" * 8).verify(post.body, post.headers)
    assert not any("subscriber" in p.body.decode() for p in receiver.posts())


def test_only_subscribed_types_and_enabled_endpoints(
        clean_app: Flask, client: FlaskClient, editor: EditorInfo, admin: EditorInfo,
        receiver: Receiver, register: Callable[..., dict[str, Any]]) -> None:
    register(receiver.url("/retractions"), events=["announcement.retracted"])
    off = register(receiver.url("/off"))
    client.patch(f"/api/v1/webhooks/{off['id']}", headers=admin.auth, json={"enabled": False})
    item = create(client, editor, title="Remote sensing pact", status="published")
    client.post(f"/api/v1/announcements/{item['id']}/retract", headers=editor.auth)
    posts = receiver.wait_posts(1)
    assert [p.path for p in posts] == ["/retractions"]


def test_5xx_is_retried_with_the_same_webhook_id(
        clean_app: Flask, client: FlaskClient, editor: EditorInfo, receiver: Receiver,
        register: Callable[..., dict[str, Any]]) -> None:
    receiver.behaviour.statuses = [503, 500]
    hook = register(receiver.url("/flaky"), events=["announcement.published"])
    create(client, editor, title="Moon expedition update", status="published")
    posts = receiver.wait_posts(3, timeout=20)
    assert len({p.headers["webhook-id"] for p in posts}) == 1
    assert all(verified(hook["secret"], p)["type"] == "announcement.published" for p in posts)
    wait_for(lambda: [m.status for m in _rows(clean_app, WebhookMessage)]
             == [MessageStatus.DELIVERED])
    attempts = _rows(clean_app, WebhookAttempt)
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 503), (2, 500), (3, 200)]
    assert all(a.at is not None for a in attempts)


def test_410_disables_the_endpoint(clean_app: Flask, client: FlaskClient, editor: EditorInfo,
                                   admin: EditorInfo, receiver: Receiver,
                                   register: Callable[..., dict[str, Any]]) -> None:
    receiver.behaviour.default = 410
    hook = register(receiver.url("/gone"))
    item = create(client, editor, title="Satellite handover", status="published")
    receiver.wait_posts(1)
    wait_for(lambda: client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.auth)
             .get_json()["enabled"] is False)
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.auth).get_json()
    assert "410" in shown["disabled_reason"]
    wait_for(lambda: [m.status for m in _rows(clean_app, WebhookMessage)]
             == [MessageStatus.GONE])
    client.post(f"/api/v1/announcements/{item['id']}/retract", headers=editor.auth)
    wait_for(lambda: _no_pending_events(clean_app))
    time.sleep(1.0)
    assert len(receiver.posts()) == 1  # nothing more to a disabled endpoint


def test_rotation_signs_with_both_secrets(clean_app: Flask, client: FlaskClient,
                                         admin: EditorInfo, receiver: Receiver,
                                         register: Callable[..., dict[str, Any]]) -> None:
    hook = register(receiver.url("/rotating"))
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret",
                          headers=admin.auth).get_json()
    answer = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=admin.auth)
    assert answer.status_code == 202
    post = receiver.wait_posts(1)[0]
    assert post.headers["webhook-id"] == answer.get_json()["message_id"]
    assert len(post.headers["webhook-signature"].split(" ")) == 2
    assert verified(hook["secret"], post)["type"] == "webhook.test"  # the old secret
    assert verified(rotated["secret"], post)["type"] == "webhook.test"  # the new one


def test_after_the_overlap_only_the_new_secret_signs(
        clean_app: Flask, client: FlaskClient, admin: EditorInfo, receiver: Receiver,
        register: Callable[..., dict[str, Any]]) -> None:
    original = clean_app.config["SETTINGS"]
    clean_app.config["SETTINGS"] = replace(original, webhook_secret_overlap=0)
    try:
        hook = register(receiver.url("/rotated"))
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret",
                              headers=admin.auth).get_json()
    finally:
        clean_app.config["SETTINGS"] = original
    client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=admin.auth)
    post = receiver.wait_posts(1)[0]
    assert len(post.headers["webhook-signature"].split(" ")) == 1
    assert verified(rotated["secret"], post)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verified(hook["secret"], post)


def test_scheduling_sends_announcement_scheduled(
        clean_app: Flask, client: FlaskClient, editor: EditorInfo, receiver: Receiver,
        register: Callable[..., dict[str, Any]]) -> None:
    hook = register(receiver.url("/calendar"), events=["announcement.scheduled"])
    item = create(client, editor, title="Observatory dedication", status="scheduled",
                  publish_at="2031-06-01T09:00:00Z")
    payload = verified(hook["secret"], receiver.wait_posts(1)[0])
    assert payload["type"] == "announcement.scheduled"
    assert payload["data"]["id"] == item["id"] and payload["data"]["status"] == "scheduled"
    assert payload["data"]["publish_at"].startswith("2031-06-01T09:00:00")
