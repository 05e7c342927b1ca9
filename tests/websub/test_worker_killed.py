"""The true crash for push: a real ``celery -A workers worker`` process is SIGKILLed while a
subscriber's callback holds the delivery POST open. Its row stays ``sending`` until the claim's
lease lapses; beat's ``push.requeue_due`` (called here as beat would) hands it to a second
worker process, which delivers it. The subscriber ends up with the document; an expired and a
never-verified callback receive nothing at any point."""

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
from service.websub import distribution, verification
from service.websub.models import HubRequest
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.websub.conftest import TOPIC

TIMEOUT = 2  # OUTBOUND_TIMEOUT of the workers: the claim's lease is 4 * 2 + 5 = 13 s


def _subscribe(app: Flask, callback: str, lease_seconds: int = 3600) -> str:
    with app.app_context():
        row = HubRequest(mode="subscribe", topic=TOPIC, scope="all", fmt="atom",
                         callback=callback, lease_seconds=lease_seconds)
        db.session.add(row)
        db.session.commit()
        outcome = verification.verify(row.id)
        db.session.remove()
    return outcome


def _rows(app: Flask) -> list[tuple[OutboundStatus, str | None]]:
    with app.app_context():
        rows = list(db.session.execute(sa.select(OutboundDelivery.status,
                                                 OutboundDelivery.sent_version)))
        db.session.remove()
    return [(status, sent) for status, sent in rows]


@pytest.mark.slow
def test_worker_killed_mid_delivery_another_delivers(
    private_app: Flask, private_redis: PrivateRedis, receiver: Receiver, database_url: str,
    tmp_path: Path,
) -> None:
    expired, unverified = Receiver().start(), Receiver().start()
    try:
        assert _subscribe(private_app, receiver.url()) == "verified"
        assert _subscribe(private_app, expired.url(), lease_seconds=1) == "verified"
        unverified.behaviour.echo_challenge = False
        assert _subscribe(private_app, unverified.url()) == "refused"
        time.sleep(1.1)  # the short lease is over before anything is published
        receiver.behaviour.delay = 30  # the callback holds the POST open
        env = worker_env(database_url, private_redis.url, tmp_path,
                         OUTBOUND_TIMEOUT=str(TIMEOUT))
        celery = private_app.extensions["celery"]

        with worker_process(env, pool="threads") as first:
            wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
            factories.announcement(private_app, title="Survives a crash")
            held = receiver.wait_posts(1, timeout=30)[0]  # the worker is inside the POST
            os.killpg(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            assert b"Survives a crash" in held.body
        receiver.behaviour.delay = 0
        assert _rows(private_app) == [(OutboundStatus.SENDING, None)]  # claimed, undecided

        with worker_process(env, pool="threads"):
            wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)

            def requeued() -> int:  # beat's push.requeue_due, every 5 s in production
                with private_app.app_context():
                    n = distribution.requeue_due()
                    db.session.remove()
                return n

            assert requeued() == 0  # the dead worker's lease still holds: nobody steals it
            wait_for(requeued, timeout=30, interval=0.5)
            assert time.monotonic() - killed_at >= 4 * TIMEOUT  # only once the lease lapsed
            post = receiver.wait_posts(2, timeout=30)[-1]
            wait_for(lambda: _rows(private_app)[0][0] is OutboundStatus.DELIVERED, timeout=10)
        assert b"Survives a crash" in post.body and post.body == held.body
        assert _rows(private_app)[0][1] is not None  # the delivered version is recorded
        assert expired.received == [expired.received[0]]  # its verification GET, nothing else
        assert [r.method for r in unverified.received] == ["GET"]
        assert expired.posts() == [] and unverified.posts() == []
    finally:
        expired.stop()
        unverified.stop()
