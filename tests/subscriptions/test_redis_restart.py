"""Redis restarts empty with an instant mailing queued in it: the reaper's next run (beat,
every minute) requeues it at once, not after the five-minute lease, and every copy still goes
out exactly once, including one a run had claimed before Redis went away."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.subscriptions import delivery, mailings, reaper
from service.subscriptions.models import Delivery, DeliveryStatus, MailBatch
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

READERS = [f"reader{n}@example.org" for n in range(4)]


def test_instant_mailing_lost_with_redis_is_resumed_on_the_next_reaper_run(
    private_app: Flask, private_redis: PrivateRedis, smtp_server: SmtpServer,
    database_url: str, tmp_path: Path,
) -> None:
    ids = [factories.subscriber(private_app, address, "instant") for address in READERS]
    item_id = factories.announcement(private_app, "Lost with the broker")
    conn = private_app.extensions["redis"]
    with private_app.app_context():
        mailing = mailings.start_instant(item_id)  # its batch task goes to Redis, no worker
        assert mailing is not None
        mailing_id = mailing.id
        [batch_id] = mailings.batch_ids(mailing_id)
        # A run had claimed the first copy when Redis went (its task went with Redis).
        db.session.add(Delivery(mailing_id=mailing_id, batch_id=batch_id, subscriber_id=ids[0],
                                status=DeliveryStatus.CLAIMED, claim="lost-run", attempts=1,
                                updated_at=utcnow()))
        db.session.commit()
        db.session.remove()
    assert conn.llen("mail") == 1

    private_redis.stop()
    time.sleep(1.5)  # the mailing was queued a moment before the new server started
    private_redis.start()  # empty: no --save, no appendonly
    restarted = time.monotonic()
    assert conn.llen("mail") == 0
    # Redis counts its uptime in whole seconds; within the first one the reaper cannot tell
    # a batch queued just before the restart from one queued just after (and requeues both).
    wait_for(lambda: int(conn.info("server")["uptime_in_seconds"]) >= 1, timeout=5)

    with private_app.app_context():
        assert reaper.resume_stalled() == 1  # seconds after, not five minutes
        assert reaper.resume_stalled() == 0  # requeued once, not on every run
        db.session.remove()
    assert conn.llen("mail") == 1

    env = worker_env(database_url, private_redis.url, tmp_path, SMTP_URL=smtp_server.url)
    with worker_process(env):
        def sent() -> bool:  # and the batch closed, before the worker is stopped
            with private_app.app_context():
                counts = mailings.summary(mailing_id)
                closed = db.session.get(MailBatch, batch_id).done_at is not None  # type: ignore[union-attr]
                db.session.remove()
            return counts == {"sent": len(READERS)} and closed

        wait_for(sent, timeout=60, interval=0.3)
    assert time.monotonic() - restarted < 60
    copies = Counter(r for received in smtp_server.received for r in received.recipients)
    assert copies == {address: 1 for address in READERS}
    with private_app.app_context():
        assert db.session.get(MailBatch, batch_id).done_at is not None
        # The lost run, should it wake up, owns nothing any more: its claim was taken over.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                 .where(Delivery.claim == "lost-run")) == 0
        again = delivery.run_batch(batch_id)  # a duplicate of the task sends nothing
        assert again.sent == 0
        assert reaper.resume_stalled() == 0
        db.session.remove()
    assert len(smtp_server.received) == len(READERS)
