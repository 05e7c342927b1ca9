"""The listener's messages: processed one per task, and queued again when a task was lost."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from service.database import db
from service.inbound import processing
from service.inbound.listener import PROCESS_TASK
from service.inbound.models import InboundMessage
from service.jobs import send_now

REQUEUE_AFTER = timedelta(seconds=60)


def process_one(message_id: int) -> str | None:
    """Classify and act on one recorded message; its outcome, None if gone or already done."""
    row = db.session.get(InboundMessage, message_id)
    if row is None:
        db.session.rollback()
        return None
    acted = processing.process(row)
    outcome = row.outcome if acted else None
    db.session.commit()
    return outcome


def requeue_pending(older_than: timedelta = REQUEUE_AFTER) -> int:
    """Queue ``inbound.process`` again for messages recorded long ago and still unprocessed."""
    ids = processing.pending(older_than)
    db.session.rollback()
    celery = current_app.extensions["celery"]
    return sum(send_now(celery, PROCESS_TASK, message_id) for message_id in ids)
