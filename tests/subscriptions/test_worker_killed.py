"""The true crash: SIGKILL the Celery pool process in the middle of a batch, then resume."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.subscriptions import digests, mailings, reaper
from service.subscriptions.models import Delivery, MailingKind, Subscriber
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

SUBSCRIBERS = 12


@pytest.mark.slow
def test_worker_killed_mid_batch_resumes_without_duplicates(
    private_app: Flask, private_redis: PrivateRedis, smtp_server: SmtpServer,
    database_url: str, tmp_path: Path,
) -> None:
    smtp_server.handler.delay_all = 0.25  # a slow server: the batch takes seconds
    end = digests.period(MailingKind.DAILY, utcnow(), 7, 0)[1]
    addresses = [f"reader{n}@example.org" for n in range(SUBSCRIBERS)]
    for address in addresses:
        factories.subscriber(private_app, address, "daily")
    with private_app.app_context():
        db.session.execute(sa.update(Subscriber).values(since_at=end - timedelta(days=2)))
        publishing.create(title="Commissioning complete", status=Status.PUBLISHED,
                          published_at=end - timedelta(hours=3))
        db.session.commit()
        db.session.remove()

    env = worker_env(database_url, private_redis.url, tmp_path, SMTP_URL=smtp_server.url)
    celery = private_app.extensions["celery"]

    def running_pid() -> int | None:
        active = celery.control.inspect(timeout=1).active() or {}
        pids = [task["worker_pid"] for tasks in active.values() for task in tasks
                if task["name"] == mailings.SEND_TASK]
        return pids[0] if pids else None

    def idle() -> bool:
        active = celery.control.inspect(timeout=1).active() or {}
        return bool(active) and not any(active.values())

    with worker_process(env):
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
        with private_app.app_context():
            mailing_id = digests.send(MailingKind.DAILY).mailing.id  # queued for the worker
            db.session.remove()
        wait_for(lambda: len(smtp_server.received) >= 3, timeout=30)
        os.kill(wait_for(running_pid, timeout=10), signal.SIGKILL)  # mid-batch
        killed_at = len(smtp_server.received)
        assert killed_at < SUBSCRIBERS

        # Whatever the broker does with the lost task, the dead run's claims hold until the
        # reaper (beat, once their lease is over) hands the batch to a new run.
        wait_for(idle, timeout=30, interval=0.3)
        with private_app.app_context():
            assert reaper.resume_stalled(row_lease=timedelta(0)) == 1
            db.session.remove()

        def finished() -> dict[str, int]:
            with private_app.app_context():
                counts = mailings.summary(mailing_id)
                db.session.remove()
            return counts if sum(counts.values()) == SUBSCRIBERS and set(counts) <= {
                "sent", "uncertain"} else {}

        counts = wait_for(finished, timeout=60, interval=0.3)

    copies = Counter(r for received in smtp_server.received for r in received.recipients)
    assert max(copies.values()) == 1, copies  # nobody got it twice
    assert counts.get("uncertain", 0) <= 1  # at most the one in flight when the worker died
    with private_app.app_context():
        sent = set(db.session.scalars(
            sa.select(Subscriber.email).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.status == "sent")))
        db.session.remove()
    assert sent <= set(copies)  # every copy marked sent really arrived
    assert len(copies) >= SUBSCRIBERS - counts.get("uncertain", 0)
