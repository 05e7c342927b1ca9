"""A publish queues push and mail tasks only for someone: an enabled webhook endpoint taking
the event, a WebSub subscriber of one of its topics (or external hubs to ping), a confirmed
instant-mail subscriber. Otherwise those tasks would only take a worker's slot from the next
event. The hand-offs are called as the dispatcher calls them, in this process, and what reaches
the broker is read from Celery's own signal (``published_messages``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from service import events
from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.outbox.models import OutboxEvent
from service.subscriptions import events as subscription_events
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus
from service.webhooks.models import WebhookEndpoint
from service.websub.models import WebSubSubscription

PUSH, INSTANT = events.PUSH_TASK, subscription_events.START_INSTANT_TASK


@pytest.fixture
def published_event(ctx: Flask) -> tuple[str, dict[str, Any]]:
    publishing.create(title="Who hears this", status=Status.PUBLISHED, tags=["moon"])
    db.session.commit()
    kind, payload = db.session.execute(sa.select(OutboxEvent.kind, OutboxEvent.payload)).one()
    db.session.rollback()
    return kind, dict(payload)


def _hand_off(kind: str, payload: dict[str, Any]) -> None:
    # A verification an earlier test queued may have landed on the session worker since the
    # tables were emptied: only this test's subscriptions count.
    db.session.execute(sa.delete(WebSubSubscription).where(
        WebSubSubscription.callback.not_like("http://127.0.0.1:9/%")))
    db.session.commit()
    for name in ("webhooks", "websub"):
        events.hand_off(name)(kind, payload)
    subscription_events.mail_instant_subscribers(kind, payload)


def test_nobody_listening_queues_nothing(published_event: tuple[str, dict[str, Any]],
                                         published_messages: list[str]) -> None:
    db.session.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_x",
                                   events=["announcement.retracted"]))  # another event type
    db.session.add(WebhookEndpoint(url="http://127.0.0.1:9/off", secret="whsec_y",
                                   events=["announcement.published"], enabled=False))
    db.session.add(WebSubSubscription(topic="t", scope="tag:moon", fmt="atom",
                                      callback="http://127.0.0.1:9/gone", lease_seconds=60,
                                      expires_at=utcnow() - timedelta(seconds=1)))  # lapsed
    db.session.add(Subscriber(email="daily@example.org", status=SubscriberStatus.CONFIRMED,
                              frequency=Frequency.DAILY))
    db.session.add(Subscriber(email="pending@example.org", status=SubscriberStatus.PENDING,
                              frequency=Frequency.INSTANT))
    db.session.commit()
    _hand_off(*published_event)
    assert published_messages == []


@pytest.fixture
def external_hubs(ctx: Flask) -> Iterator[None]:
    settings = ctx.config["SETTINGS"]
    ctx.config["SETTINGS"] = dataclasses.replace(settings, websub_hubs=("http://hub.test/",))
    yield
    ctx.config["SETTINGS"] = settings


@pytest.mark.parametrize("listener", ["endpoint", "subscriber", "external hubs", "instant"])
def test_each_kind_of_listener_gets_its_task(request: pytest.FixtureRequest, listener: str,
                                             published_event: tuple[str, dict[str, Any]],
                                             published_messages: list[str]) -> None:
    if listener == "endpoint":
        db.session.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_x",
                                       events=["announcement.published"]))
    elif listener == "subscriber":
        db.session.add(WebSubSubscription(topic="t", scope="tag:moon", fmt="json",
                                          callback="http://127.0.0.1:9/cb", lease_seconds=60,
                                          expires_at=utcnow() + timedelta(minutes=1)))
    elif listener == "external hubs":
        request.getfixturevalue("external_hubs")
    else:
        db.session.add(Subscriber(email="now@example.org", status=SubscriberStatus.CONFIRMED,
                                  frequency=Frequency.INSTANT))
    db.session.commit()
    _hand_off(*published_event)
    assert published_messages == [INSTANT if listener == "instant" else PUSH]

