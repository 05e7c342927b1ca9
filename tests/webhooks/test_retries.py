"""Attempts driven by hand against a real receiver on loopback: timeouts, 429 and redirects
are retried with the same webhook-id; retries give up after ``OUTBOUND_GIVE_UP``; an endpoint
whose every attempt fails for ``WEBHOOK_DISABLE_AFTER`` is disabled with the reason, and a
success in between starts that clock over. Signatures are checked with ``standardwebhooks``.

The handler here (``by_hand``) queues its retries under a task name no worker consumes, so no
worker races the test for a row; everything else is the production path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.outbound.models import OutboundDelivery, OutboundStatus
from service.webhooks import delivery, endpoints
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.outbound.receiver import Receiver
from tests.webhooks import by_hand
from tests.webhooks.conftest import verified


def _attempt(row_id: int) -> str:
    return delivery.deliver(row_id, by_hand.HANDLER)[row_id]


def _due_now(row_id: int) -> None:
    db.session.execute(sa.update(OutboundDelivery).where(OutboundDelivery.id == row_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=5)))
    db.session.commit()


def _fresh(model: type, row_id: int) -> object:
    db.session.expire_all()
    return db.session.get(model, row_id)


def _attempt_rows() -> list[tuple[int, int | None]]:
    db.session.expire_all()
    return [(a.attempt, a.status_code) for a in db.session.scalars(
        sa.select(WebhookAttempt).order_by(WebhookAttempt.id))]


def test_a_timeout_is_retried_with_the_same_id(ctx: Flask, receiver: Receiver,
                                               outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_timeout=1)
    endpoint = by_hand.endpoint(receiver.url("/slow"))
    row_id = by_hand.message(endpoint)
    receiver.behaviour.delay = 2.5
    assert _attempt(row_id) == "retrying"
    receiver.behaviour.delay = 0
    _due_now(row_id)
    assert _attempt(row_id) == "delivered"
    first, second = receiver.wait_posts(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(endpoint.secret, second)["data"]["title"] == "Moon"
    assert _attempt_rows() == [(1, None), (2, 200)]
    error = db.session.scalars(sa.select(WebhookAttempt.error)).first()
    assert error is not None and "Timeout" in error


@pytest.mark.parametrize("status", [429, 500, 503, 302, 301, 400])
def test_other_answers_are_retried(ctx: Flask, receiver: Receiver, status: int) -> None:
    receiver.behaviour.statuses = [status]
    receiver.behaviour.location = receiver.url("/elsewhere")  # never followed
    row_id = by_hand.message(by_hand.endpoint(receiver.url("/hook")))
    assert _attempt(row_id) == "retrying"
    row = _fresh(OutboundDelivery, row_id)
    assert isinstance(row, OutboundDelivery) and row.status is OutboundStatus.RETRYING
    assert 0 < (row.next_attempt_at - utcnow()).total_seconds() <= 30  # first retry soon
    _due_now(row_id)
    assert _attempt(row_id) == "delivered"
    assert [p.path for p in receiver.received] == ["/hook", "/hook"]
    assert _attempt_rows() == [(1, status), (2, 200)]


def test_retries_give_up_and_the_message_is_failed(
        ctx: Flask, receiver: Receiver, outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_give_up=60)
    receiver.behaviour.default = 500
    endpoint = by_hand.endpoint(receiver.url())
    row_id = by_hand.message(endpoint)
    assert _attempt(row_id) == "retrying"
    db.session.execute(sa.update(OutboundDelivery).values(
        first_failed_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    _due_now(row_id)
    assert _attempt(row_id) == "failed"
    message = db.session.scalars(sa.select(WebhookMessage)).one()
    assert message.status is MessageStatus.FAILED
    assert delivery.outbound.due(endpoints.KIND) == []  # nothing more is sent
    still = _fresh(WebhookEndpoint, endpoint.id)
    assert isinstance(still, WebhookEndpoint) and still.enabled  # not failing long enough
    assert still.failing_since is not None


def test_an_endpoint_failing_for_the_period_is_disabled(
        ctx: Flask, receiver: Receiver, outbound_settings: Callable[..., None]) -> None:
    outbound_settings(webhook_disable_after=3600)
    receiver.behaviour.default = 503
    endpoint = by_hand.endpoint(receiver.url())
    row_id = by_hand.message(endpoint)
    assert _attempt(row_id) == "retrying"
    db.session.execute(sa.update(WebhookEndpoint).values(
        failing_since=utcnow() - timedelta(seconds=3599)))
    db.session.commit()
    _due_now(row_id)
    assert _attempt(row_id) == "retrying"
    still = _fresh(WebhookEndpoint, endpoint.id)
    assert isinstance(still, WebhookEndpoint) and still.enabled  # a second short
    db.session.execute(sa.update(WebhookEndpoint).values(
        failing_since=utcnow() - timedelta(seconds=3601)))
    db.session.commit()
    _due_now(row_id)
    assert _attempt(row_id) == "retrying"
    off = _fresh(WebhookEndpoint, endpoint.id)
    assert isinstance(off, WebhookEndpoint) and not off.enabled
    assert off.disabled_reason is not None
    assert "every delivery failed" in off.disabled_reason and "HTTP 503" in off.disabled_reason
    sent = len(receiver.received)
    _due_now(row_id)
    assert _attempt(row_id) == "cancelled"  # nothing to a disabled endpoint
    assert len(receiver.received) == sent
    # An admin turning it back on starts afresh.
    endpoints.change(off, enabled=True)
    db.session.commit()
    assert off.disabled_reason is None and off.failing_since is None


def test_a_success_starts_the_failing_clock_over(ctx: Flask, receiver: Receiver) -> None:
    receiver.behaviour.statuses = [500]
    endpoint = by_hand.endpoint(receiver.url())
    row_id = by_hand.message(endpoint)
    assert _attempt(row_id) == "retrying"
    failing = _fresh(WebhookEndpoint, endpoint.id)
    assert isinstance(failing, WebhookEndpoint) and failing.failing_since is not None
    _due_now(row_id)
    assert _attempt(row_id) == "delivered"
    healthy = _fresh(WebhookEndpoint, endpoint.id)
    assert isinstance(healthy, WebhookEndpoint) and healthy.failing_since is None
