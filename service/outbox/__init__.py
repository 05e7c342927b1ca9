"""Events that are never lost: recorded with the write, delivered after commit, relayed if not.

``record`` adds an :class:`OutboxEvent` to the current transaction and asks for the
``events.dispatch`` task after commit. ``dispatch`` runs the consumers the caller names for the
event's type (the dispatch table is ``service.events``: the outbox knows no consumer) and marks
it processed once all have run; it is safe to run twice. ``relay_pending`` re-sends events
whose task never ran: the broker was down at commit, or the worker died and the broker lost
the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa

from service.database import db, utcnow
from service.jobs import enqueue_after_commit, send_now
from service.outbox.models import OutboxEvent

log = logging.getLogger(__name__)

DISPATCH_TASK = "events.dispatch"
# How long an event may wait for its task before the relay sends it again.
REDELIVER_AFTER = timedelta(seconds=15)

Consumer = Callable[[str, dict[str, Any]], None]  # (event type, payload)


def record(kind: str, payload: dict[str, Any]) -> OutboxEvent:
    """Add an event to the current transaction; its task is queued once the transaction commits."""
    event = OutboxEvent(kind=kind, payload=payload, enqueued_at=utcnow())
    db.session.add(event)
    db.session.flush()  # the id the task will carry
    enqueue_after_commit(db.session(), DISPATCH_TASK, event.id)
    return event


def dispatch(event_id: int, consumers: Mapping[str, Sequence[Consumer]]) -> bool:
    """Run every consumer of one event, then mark it processed. Returns False if already done.

    Consumers must be idempotent: a worker can die after they ran and before the commit, and
    the event then runs again. A type with no consumers is simply marked processed.
    """
    event = db.session.get(OutboxEvent, event_id)
    if event is None or event.processed_at is not None:
        db.session.rollback()
        return False
    kind, payload = event.kind, dict(event.payload)
    db.session.rollback()  # end the read transaction: handlers may run long and commit on their own
    for consume in consumers.get(kind, ()):
        consume(kind, payload)
    db.session.execute(
        sa.update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.processed_at.is_(None))
        .values(processed_at=utcnow(), last_error=None)
    )
    db.session.commit()
    return True


def relay_pending(older_than: timedelta = REDELIVER_AFTER, limit: int = 500) -> int:
    """Re-send the tasks of events still unprocessed ``older_than`` after their last sending."""
    from flask import current_app

    now = utcnow()
    rows = db.session.execute(
        sa.select(OutboxEvent.id)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.enqueued_at <= now - older_than)
        .order_by(OutboxEvent.id)
        .limit(limit)
    ).scalars().all()
    if not rows:
        db.session.rollback()
        return 0
    db.session.execute(
        sa.update(OutboxEvent)
        .where(OutboxEvent.id.in_(rows))
        .values(enqueued_at=now, attempts=OutboxEvent.attempts + 1)
    )
    db.session.commit()
    celery = current_app.extensions["celery"]
    sent = sum(send_now(celery, DISPATCH_TASK, event_id) for event_id in rows)
    log.info("relayed %d of %d pending events", sent, len(rows))
    return sent


def record_failure(event_id: int, error: BaseException) -> None:
    """Note why an event's handling failed, for the dashboard; the relay will retry it."""
    db.session.rollback()
    db.session.execute(
        sa.update(OutboxEvent)
        .where(OutboxEvent.id == event_id)
        .values(last_error=f"{type(error).__name__}: {error}"[:2000])
    )
    db.session.commit()


def purge_processed(older_than: timedelta = timedelta(days=7)) -> int:
    """Delete events processed long ago; unprocessed ones are kept whatever their age."""
    # Session.execute is typed as returning a Result; for a DELETE it is a CursorResult.
    result = cast(sa.CursorResult[Any], db.session.execute(
        sa.delete(OutboxEvent).where(OutboxEvent.processed_at < utcnow() - older_than)
    ))
    db.session.commit()
    return result.rowcount or 0


def pending_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
    ) or 0
