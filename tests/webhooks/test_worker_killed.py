"""A real ``celery -A workers worker`` process is SIGKILLed while a receiver holds the webhook
POST open. The message's row stays ``sending`` until the claim's lease lapses; beat's
``push.webhook_requeue_due`` (called here as beat would) hands it to a second worker process,
which delivers it: the same ``webhook-id`` and bytes (receivers deduplicate by the id), and
the message is recorded delivered once, with one attempt."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.outbound.models import OutboundDelivery, OutboundStatus
from service.webhooks import delivery, endpoints
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.webhooks.conftest import verified

TIMEOUT = 2  # OUTBOUND_TIMEOUT of the workers: the claim's lease is 4 * 2 + 5 = 13 s


def _state(app: Flask) -> tuple[list[OutboundStatus], list[MessageStatus], list[int | None]]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboundDelivery.status)))
        messages = list(db.session.scalars(sa.select(WebhookMessage.status)))
        attempts = list(db.session.scalars(sa.select(WebhookAttempt.status_code)))
        db.session.remove()
    return rows, messages, attempts


@pytest.mark.slow
def test_worker_killed_mid_delivery_another_delivers_once(
    private_app: Flask, private_redis: PrivateRedis, receiver: Receiver, database_url: str,
    tmp_path: Path,
) -> None:
    with private_app.app_context():
        secret = endpoints.create(receiver.url("/partner"), ["announcement.published"],
                                  "ESA newsroom").secret
        db.session.commit()
        db.session.remove()
    receiver.behaviour.delay = 30  # the receiver holds the POST open
    env = worker_env(database_url, private_redis.url, tmp_path, OUTBOUND_TIMEOUT=str(TIMEOUT))
    celery = private_app.extensions["celery"]

    with worker_process(env, pool="threads") as first:
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
        factories.announcement(private_app, title="Survives a crash")
        held = receiver.wait_posts(1, timeout=30)[0]  # the worker is inside the POST
        os.killpg(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
    receiver.behaviour.delay = 0
    assert _state(private_app) == ([OutboundStatus.SENDING], [MessageStatus.PENDING], [])

    with worker_process(env, pool="threads"):
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)

        def requeued() -> int:  # beat's push.webhook_requeue_due, every few seconds
            with private_app.app_context():
                n = delivery.requeue_due()
                db.session.remove()
            return n

        assert requeued() == 0  # the dead worker's lease still holds: nobody steals it
        wait_for(requeued, timeout=30, interval=0.5)
        assert time.monotonic() - killed_at >= 4 * TIMEOUT  # only once the lease lapsed
        again = receiver.wait_posts(2, timeout=30)[-1]
        wait_for(lambda: _state(private_app)[1] == [MessageStatus.DELIVERED], timeout=10)
    assert again.headers["webhook-id"] == held.headers["webhook-id"]
    assert again.body == held.body
    assert verified(secret, again)["data"]["title"] == "Survives a crash"
    assert _state(private_app) == ([OutboundStatus.DELIVERED], [MessageStatus.DELIVERED], [200])
    assert len(receiver.posts()) == 2
