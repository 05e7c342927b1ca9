"""A mailing's plan: full batches first, the last subscribers in smaller ones, each subscriber
in exactly one batch and sent one copy."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.subscriptions import delivery, digests, mailings
from service.subscriptions.models import Delivery, MailBatch, MailingKind, Subscriber
from tests import factories
from tests.mail.smtp import SmtpServer


def _batch_sizes(app: Flask, mailing_id: int) -> list[int]:
    """Subscribers per batch, in queueing order, counted from the subscribers table."""
    with app.app_context():
        sizes = [
            db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber).where(
                Subscriber.id.between(first, last))) or 0
            for first, last in db.session.execute(
                sa.select(MailBatch.first_id, MailBatch.last_id)
                .where(MailBatch.mailing_id == mailing_id).order_by(MailBatch.id))
        ]
        db.session.remove()
    return sizes


def test_the_last_subscribers_go_out_in_smaller_batches_and_each_gets_one_copy(
    clean_app: Flask, smtp_server: SmtpServer
) -> None:
    end = digests.period(MailingKind.DAILY, utcnow(), 7, 0)[1]
    addresses = [f"reader{n}@example.org" for n in range(50)]
    for address in addresses:
        factories.subscriber(clean_app, address, "daily")
    factories.announcement(clean_app, "Joint observatory mirror",
                           published_at=end - timedelta(hours=5))
    with clean_app.app_context():
        db.session.execute(sa.update(Subscriber).values(since_at=end - timedelta(days=3)))
        db.session.commit()
        db.session.remove()
    settings = clean_app.config["SETTINGS"]
    clean_app.config["SETTINGS"] = dataclasses.replace(settings, mail_batch_size=8)
    try:
        with clean_app.app_context():
            mailing_id = digests.send(MailingKind.DAILY, queue=False).mailing.id
            db.session.remove()
    finally:
        clean_app.config["SETTINGS"] = settings
    # 50 subscribers, batches of 8: full ones while more than 4 x 8 remain, then 2 at a time.
    assert _batch_sizes(clean_app, mailing_id) == [8, 8, 8] + [2] * 13
    with clean_app.app_context():
        sent = [delivery.run_batch(batch_id).sent for batch_id in mailings.batch_ids(mailing_id)]
        per_subscriber = db.session.execute(
            sa.select(Delivery.subscriber_id, sa.func.count()).where(
                Delivery.mailing_id == mailing_id).group_by(Delivery.subscriber_id)).all()
        db.session.remove()
    assert sent == [8, 8, 8] + [2] * 13
    assert len(per_subscriber) == 50 and {n for _, n in per_subscriber} == {1}
    assert Counter(r for m in smtp_server.received for r in m.recipients) == dict.fromkeys(
        addresses, 1)
