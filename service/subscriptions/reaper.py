"""The reaper (``mail.resume``, beat, every minute): work a dead or lost run left behind.

Copies left *sending* are settled by the dead run's progress mark (``runs``): *sent*,
*uncertain* (never resent) or *deferred* (never started); batches with claims past their lease,
or queued in a Redis that has restarted since, are queued again, and the new run claims the
copies and carries on where the dead one stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from service.database import db, utcnow
from service.jobs import send_now
from service.subscriptions import runs
from service.subscriptions.delivery import BATCH_LEASE, ROW_LEASE
from service.subscriptions.mailings import SEND_TASK
from service.subscriptions.models import Delivery, DeliveryStatus, MailBatch

log = logging.getLogger(__name__)


def broker_started_at() -> datetime:
    """When the Redis that is the broker (re)started, by its own uptime (no clock shared)."""
    uptime = int(current_app.extensions["redis"].info("server")["uptime_in_seconds"])
    # Whole seconds: this errs late, so a batch queued in the new server's first second may
    # be counted as lost too, and run twice: harmless, where erring early would lose one.
    return utcnow() - timedelta(seconds=uptime)


def _settle_sending(now: datetime, stale: datetime, restarted_at: datetime) -> None:
    """Copies a dead run left *sending*: by its progress mark (the copy in flight), the ones
    before it got their 250 (*sent*), the ones after it never started (*deferred*, keeping
    their old ``updated_at`` so this pass requeues their batch). No mark, or a Redis restarted
    since the group's commit (its mark may be older than the truth): *uncertain*, all."""
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.claim, Delivery.updated_at)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.updated_at < stale)
    ).all()
    if not rows:
        return
    claims = sorted({claim for _, claim, _ in rows if claim})
    marks = dict(zip(claims, current_app.extensions["redis"].mget(
        [runs.progress_key(c) for c in claims]), strict=True)) if claims else {}
    settled: dict[DeliveryStatus, list[int]] = {s: [] for s in (
        DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN, DeliveryStatus.DEFERRED)}
    for delivery_id, claim, updated_at in rows:
        mark = marks.get(claim) if claim else None
        if mark is None or updated_at <= restarted_at:
            settled[DeliveryStatus.UNCERTAIN].append(delivery_id)
        else:
            in_flight = int(mark)
            settled[DeliveryStatus.SENT if delivery_id < in_flight
                    else DeliveryStatus.UNCERTAIN if delivery_id == in_flight
                    else DeliveryStatus.DEFERRED].append(delivery_id)
    sending = Delivery.status == DeliveryStatus.SENDING
    if settled[DeliveryStatus.SENT]:
        db.session.execute(sa.update(Delivery).where(
            sending, Delivery.id.in_(settled[DeliveryStatus.SENT])).values(
            status=DeliveryStatus.SENT, sent_at=Delivery.updated_at, updated_at=now))
    if settled[DeliveryStatus.DEFERRED]:
        db.session.execute(sa.update(Delivery).where(
            sending, Delivery.id.in_(settled[DeliveryStatus.DEFERRED])).values(
            status=DeliveryStatus.DEFERRED,
            error="the worker stopped before sending it: sent by the next run"))
    if settled[DeliveryStatus.UNCERTAIN]:
        db.session.execute(sa.update(Delivery).where(
            sending, Delivery.id.in_(settled[DeliveryStatus.UNCERTAIN])).values(
            status=DeliveryStatus.UNCERTAIN, updated_at=now,
            error="the worker stopped while sending: possibly delivered, not resent"))
        log.warning("%d deliveries are uncertain: their worker stopped mid-send",
                    len(settled[DeliveryStatus.UNCERTAIN]))


def resume_stalled(now: datetime | None = None, row_lease: timedelta = ROW_LEASE,
                   batch_lease: timedelta = BATCH_LEASE) -> int:
    """Requeue batches a dead or lost run left unfinished; returns how many were queued.

    Copies left *sending* by a dead run are settled by its progress mark (``runs``): the
    ones before the copy in flight *sent*, that one *uncertain* (never resent), the ones after
    it *deferred*; all *uncertain* without a mark to trust. Copies left *claimed* or
    *deferred* past their lease are taken over by the requeued run.

    A Redis that restarted empty lost every task queued in it: an unfinished batch queued
    before the restart is requeued on this run, without waiting out the leases (five and
    fifteen minutes otherwise), and so are claims last touched before it (their run's task was
    in that Redis). Taking over a claim early cannot send a copy twice: every move of a copy is
    a compare-and-set on the claim token, so the old run, if it still lives, loses the copy at
    its next step; a copy already *sending* is never taken. With a Redis that kept its data
    over the restart (appendonly) the requeued batch runs twice, and the second run finds
    nothing to claim.
    """
    now = now or utcnow()
    restarted_at = broker_started_at()
    stale = now - row_lease
    claims_before = max(stale, restarted_at)
    _settle_sending(now, stale, restarted_at)
    with_stale_rows = sa.select(Delivery.batch_id).where(
        Delivery.status.in_([DeliveryStatus.CLAIMED, DeliveryStatus.DEFERRED]),
        Delivery.updated_at < stale)
    batch_ids = db.session.scalars(
        sa.select(MailBatch.id).where(sa.or_(
            sa.and_(MailBatch.queued_at <= stale,
                    sa.or_(MailBatch.id.in_(with_stale_rows),
                           sa.and_(MailBatch.done_at.is_(None),
                                   MailBatch.queued_at <= now - batch_lease))),
            # Its task was in a Redis that has restarted since: lost with it.
            sa.and_(MailBatch.done_at.is_(None), MailBatch.queued_at < restarted_at)))
        .order_by(MailBatch.id).limit(1000)
    ).all()
    # Claims past their lease (or older than the broker) are given back, so the requeued run
    # takes them at once.
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.status == DeliveryStatus.CLAIMED, Delivery.updated_at < claims_before)
        .values(status=DeliveryStatus.DEFERRED, error="claim expired: its worker stopped")
    )
    if batch_ids:
        db.session.execute(sa.update(MailBatch).where(MailBatch.id.in_(batch_ids))
                           .values(queued_at=now, done_at=None))
    db.session.commit()
    celery = current_app.extensions["celery"]
    for batch_id in batch_ids:
        send_now(celery, SEND_TASK, batch_id)
    if batch_ids:
        log.info("requeued %d stalled mail batches", len(batch_ids))
    return len(batch_ids)
