"""A real ``celery -A workers worker`` process reading the bounce mailbox (a real Dovecot) is
SIGKILLed mid-mailbox. Nothing it flagged on the server goes unrecorded, at most the one message
in hand is recorded and not yet flagged, and a second worker (beat's ``inbound.read_mailbox``,
sent as beat would) reads the rest: every message recorded and acted on exactly once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.inbound.mailbox import PROCESSED
from service.inbound.models import InboundMessage
from service.mail import verp
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.inbound.conftest import BOUNCE_ADDRESS
from tests.inbound.dovecot import Dovecot
from tests.inbound.samples import sample
from tests.waiting import wait_for

COUNT = 200


def _reports(app: Flask) -> list[bytes]:
    """One report per subscriber: a permanent failure for even ones, a delay for odd ones."""
    app.config["BOUNCE_ADDRESS"] = BOUNCE_ADDRESS
    reports = []
    with app.app_context():
        confirmed = utcnow().replace(microsecond=0)
        rows = [Subscriber(email=f"reader{n}@partner-agency.example", frequency=Frequency.DAILY,
                           status=SubscriberStatus.CONFIRMED, confirmed_at=confirmed,
                           since_at=confirmed) for n in range(COUNT)]
        db.session.add_all(rows)
        db.session.commit()
        senders = verp.Senders("newsroom@localhost")
        for n, row in enumerate(rows):
            shape = "postfix_hard" if n % 2 == 0 else "postfix_delayed"
            reports.append(sample(shape, verp=senders.make(row.id, None, row.email),
                                  rcpt=row.email, message_id=f"report-{n}@mx.example"))
        db.session.remove()
    return reports


def _recorded(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) or 0
        db.session.remove()
    return count


def _flagged(dovecot: Dovecot) -> int:
    return sum(PROCESSED.encode() in flags for flags in dovecot.flags().values())


@pytest.mark.slow
def test_worker_killed_mid_mailbox_another_reads_the_rest_once(
    private_app: Flask, private_redis: PrivateRedis, dovecot: Dovecot, database_url: str,
    tmp_path: Path,
) -> None:
    dovecot.append(*_reports(private_app))
    env = worker_env(database_url, private_redis.url, tmp_path, BOUNCE_ADDRESS=BOUNCE_ADDRESS,
                     INBOUND_IMAP_URL=dovecot.url.replace("timeout=10", "timeout=2")
                     + "&batch=1000")
    celery = private_app.extensions["celery"]

    with worker_process(env, pool="threads") as first:
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
        celery.send_task("inbound.read_mailbox")
        wait_for(lambda: _recorded(private_app) >= 10, timeout=60, interval=0.01)
        os.killpg(first.pid, signal.SIGKILL)
    recorded, flagged = _recorded(private_app), _flagged(dovecot)
    assert recorded < COUNT, "the worker finished before it was killed: nothing was tested"
    assert recorded - 1 <= flagged <= recorded  # nothing flagged unrecorded; one in hand at most

    with worker_process(env, pool="threads"):
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)

        def read_all() -> bool:  # beat, every minute; here every second
            celery.send_task("inbound.read_mailbox")
            return _flagged(dovecot) == COUNT

        wait_for(read_all, timeout=90, interval=1)  # once the dead reader's lock lapses
    with private_app.app_context():
        rows = db.session.execute(sa.select(InboundMessage.message_key, InboundMessage.outcome,
                                            InboundMessage.processed_at)).all()
        statuses = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.status)).all())
        db.session.remove()
    assert sorted(key for key, _, _ in rows) == sorted(f"mid:<report-{n}@mx.example>"
                                                       for n in range(COUNT))
    assert all(processed is not None for _, _, processed in rows)
    assert sorted(outcome for _, outcome, _ in rows) == ["bounced"] * (COUNT // 2) + [
        "counted"] * (COUNT // 2)
    assert statuses == {f"reader{n}@partner-agency.example": SubscriberStatus.BOUNCED
                        if n % 2 == 0 else SubscriberStatus.CONFIRMED for n in range(COUNT)}
