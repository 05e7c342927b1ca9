"""Durable deliveries: scheduling rows, queueing their tasks, finding lost ones, backoff.

Sending them (``service.outbound.sending``) follows these rules, the same for every caller:

- **Claim** by compare-and-set (pending or retrying and due, or sending with a lapsed lease),
  committed before the request goes, as the mail ledger does. A worker killed mid-request
  leaves a ``sending`` row whose lease lapses; :func:`due` hands it to the next run (beat's
  ``push.requeue_due``), so a killed worker's delivery is done by another. A receiver may get
  a document twice that way, never none: WebSub delivery is at-least-once.
- **Cap**: a slot per destination host in Redis (``limits``) is taken first; when all are
  held the row is re-queued shortly without counting an attempt, so one slow host never holds
  more than its share of workers.
- **Retry** with exponential backoff and full jitter (``backoff``), until ``OUTBOUND_GIVE_UP``
  seconds after the first failure; then ``failed``.
- **Batches**: a fan-out queues its rows ``BATCH`` to a task (:func:`queue_many`); a task
  claims, prepares and records its batch in a few statements and sends the requests side by
  side, so a thousand callbacks cost a thousand requests, not a thousand transactions each.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from service.config import Settings
from service.database import db, utcnow
from service.jobs import enqueue_after_commit
from service.outbound.contract import Handler, Outcome, Outgoing, classify
from service.outbound.models import OutboundDelivery, OutboundStatus

__all__ = ["Handler", "Outcome", "Outgoing", "backoff", "classify", "due", "queue", "queue_many",
           "create_many", "requeue_due", "schedule", "schedule_many"]

log = logging.getLogger(__name__)

BATCH = 50  # rows per task in a fan-out (25 measured slower: more per-task overhead)
CAP_WAIT = (0.2, 1.0)  # seconds before a capped delivery tries again (uniform)
BACKOFF_BASE = 2.0  # the first retry comes 1-2 s after the failure, well within 30 s
BACKOFF_MAX = 900.0


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): doubling, capped, jittered."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not cryptography)


def settings() -> Settings:
    current: Settings = current_app.config["SETTINGS"]
    return current


def queue_many(session: Session | scoped_session[Any], task: str, row_ids: list[int]) -> None:
    """Queue ``row_ids`` after ``session`` commits, ``BATCH`` rows to a task."""
    for start in range(0, len(row_ids), BATCH):
        enqueue_after_commit(session, task, row_ids[start:start + BATCH])


def queue(task: str, row_id: int | list[int], countdown: float = 0.0) -> None:
    """Hand one row to the broker now or after ``countdown`` seconds. A broker that cannot
    take it loses nothing: the row is durable and :func:`due` finds it."""
    try:
        current_app.extensions["celery"].send_task(task, args=(row_id,),
                                                   countdown=countdown or None)
    except OSError as exc:
        log.warning("could not queue %s(%s); beat will requeue it: %s", task, row_id, exc)


def schedule(kind: str, owner_id: int, url: str, version: str | None) -> OutboundDelivery:
    """Make ``owner`` due ``version`` (in the caller's transaction; queue after commit).

    The one row per owner moves forward: a delivered, failed or cancelled row becomes pending
    again; a pending or retrying one keeps its schedule and just gets the newer version; one
    being sent finishes its request and then, seeing a newer version due, goes again.
    """
    query = (sa.select(OutboundDelivery).filter_by(kind=kind, owner_id=owner_id)
             .with_for_update())
    row = db.session.scalar(query)
    if row is None:
        try:
            with db.session.begin_nested():  # another worker may be making the same row
                row = OutboundDelivery(kind=kind, owner_id=owner_id, url=url, version=version,
                                       status=OutboundStatus.PENDING, next_attempt_at=utcnow())
                db.session.add(row)
            return row
        except IntegrityError:
            row = db.session.scalar(query.execution_options(populate_existing=True))
            if row is None:
                raise
    _move_forward(row, url, version)
    return row


def _move_forward(row: OutboundDelivery, url: str, version: str | None) -> None:
    row.url, row.version = url, version
    if row.status not in (OutboundStatus.PENDING, OutboundStatus.RETRYING,
                          OutboundStatus.SENDING):
        row.status, row.attempts, row.first_failed_at = OutboundStatus.PENDING, 0, None
        row.next_attempt_at = utcnow()


def create_many(kind: str, targets: list[tuple[int, str, str | None]]) -> list[int]:
    """New rows, due now, for owners that have none yet (``(owner_id, url, version)``, e.g.
    fresh webhook messages): one INSERT for all, no lookup; returns their ids, to queue
    after commit."""
    if not targets:
        return []
    now = utcnow()
    return list(db.session.scalars(
        sa.insert(OutboundDelivery).returning(OutboundDelivery.id, sort_by_parameter_order=True),
        [{"kind": kind, "owner_id": owner_id, "url": url, "version": version,
          "status": OutboundStatus.PENDING, "next_attempt_at": now, "attempts": 0,
          "created_at": now} for owner_id, url, version in targets]))


def schedule_many(kind: str, targets: list[tuple[int, str]], version: str | None
                  ) -> list[int]:
    """:func:`schedule` for many ``(owner_id, url)`` at once, in a few queries (a fan-out to
    thousands of callbacks is one event); returns the row ids, to queue after commit."""
    ids: list[int] = []
    for start in range(0, len(targets), 500):
        chunk = dict(targets[start:start + 500])
        try:
            with db.session.begin_nested():
                existing = _schedule_chunk(kind, chunk, version)
        except IntegrityError:  # another worker made some of these rows meanwhile: again,
            with db.session.begin_nested():  # now that its rows are committed and seen
                existing = _schedule_chunk(kind, chunk, version)
        ids.extend(existing[o].id for o in chunk)
    return ids


def _schedule_chunk(kind: str, chunk: dict[int, str], version: str | None
                    ) -> dict[int, OutboundDelivery]:
    existing = {row.owner_id: row for row in db.session.scalars(
        sa.select(OutboundDelivery).where(OutboundDelivery.kind == kind,
                                          OutboundDelivery.owner_id.in_(chunk))
        .with_for_update().execution_options(populate_existing=True))}
    for owner_id, url in chunk.items():
        if owner_id in existing:
            _move_forward(existing[owner_id], url, version)
        else:
            row = OutboundDelivery(kind=kind, owner_id=owner_id, url=url, version=version,
                                   status=OutboundStatus.PENDING, next_attempt_at=utcnow())
            db.session.add(row)
            existing[owner_id] = row
    db.session.flush()
    return existing


def requeue_due(kind: str, task: str) -> int:
    """Beat: queue again, ``BATCH`` to a task, the rows of ``kind`` whose task may have been
    lost (see :func:`due`); how many."""
    ids = due(kind)
    db.session.rollback()
    for start in range(0, len(ids), BATCH):
        queue(task, ids[start:start + BATCH])
    return len(ids)


def due(kind: str, limit: int = 1000) -> list[int]:
    """Rows of ``kind`` whose time has come and whose task may have been lost: pending or
    retrying past their time (a broker down when queueing, an eta lost with its worker), or
    sending past their lease (a killed worker). For beat to queue again; claims keep a row
    queued twice from being sent twice at once."""
    now = utcnow()
    t = OutboundDelivery
    return list(db.session.scalars(
        sa.select(t.id).where(t.kind == kind, sa.or_(
            sa.and_(t.status.in_([OutboundStatus.PENDING, OutboundStatus.RETRYING]),
                    t.next_attempt_at <= now - timedelta(seconds=2)),
            sa.and_(t.status == OutboundStatus.SENDING, t.lease_until < now),
        )).order_by(t.next_attempt_at).limit(limit)))
