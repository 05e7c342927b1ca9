"""Mailings: one per kind and key (an announcement's instant email, a digest's period),
split into batches of subscriber ids, one ``mail.send_batch`` task each.

:func:`start_mailing` creates a :class:`Mailing` (unique per kind and key, so a second beat or a
re-dispatched event finds it there and stops) and its :class:`MailBatch` rows in one
transaction; the tasks are queued after commit. Batches hold at most ``MAIL_BATCH_SIZE``
subscribers, so memory does not grow with the number of subscribers; the last few are smaller,
so the end of a mailing spreads over every worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.jobs import enqueue_after_commit
from service.subscriptions.models import (
    Delivery,
    Frequency,
    MailBatch,
    Mailing,
    MailingKind,
    Subscriber,
    SubscriberStatus,
)

log = logging.getLogger(__name__)

SEND_TASK = "mail.send_batch"
INSTANT_MAX_AGE = timedelta(days=1)


def _batch_size() -> int:
    size: int = current_app.config["SETTINGS"].mail_batch_size
    return size


def _confirmed(frequency: Frequency) -> sa.ColumnElement[bool]:
    return sa.and_(Subscriber.status == SubscriberStatus.CONFIRMED,
                   Subscriber.frequency == frequency)


def has_recipients(frequency: Frequency) -> bool:
    """Whether any confirmed subscriber takes mail at this frequency (an index lookup)."""
    found = db.session.scalar(sa.select(sa.exists().where(_confirmed(frequency))))
    db.session.rollback()
    return bool(found)


# A mailing's last subscribers go out in smaller batches. Full batches finish at different
# times on different workers; the worker whose threads free first would take every full batch
# still queued and send them alone while the others idle (at 10,000 subscribers on two
# workers, the last four batches of 500 ran on one worker for a fifth of the run). Small
# batches at the end spread over whichever threads are free, whatever the number of workers.
TAIL_BATCHES = 4  # the last this many full batches' worth of subscribers...
TAIL_SPLIT = 4  # ...go out in batches this many times smaller


def _ranges(frequency: Frequency, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive id ranges of confirmed subscribers (keyset pagination): ``size`` each, and
    the last ``TAIL_BATCHES * size`` of them ``TAIL_SPLIT`` times smaller."""
    remaining = db.session.scalar(
        sa.select(sa.func.count()).select_from(Subscriber).where(_confirmed(frequency))) or 0
    small = -(-size // TAIL_SPLIT)
    last = 0
    while True:
        step = size if remaining > TAIL_BATCHES * size else small
        ids = db.session.scalars(
            sa.select(Subscriber.id)
            .where(_confirmed(frequency), Subscriber.id > last)
            .order_by(Subscriber.id)
            .limit(step)
        ).all()
        if not ids:
            return
        yield ids[0], ids[-1]
        last, remaining = ids[-1], remaining - len(ids)


def start_mailing(kind: MailingKind, key: str, *, announcement_id: int | None = None,
                  window_end: datetime | None = None, queue: bool = True
                  ) -> tuple[Mailing, bool]:
    """Create a mailing and its batches, queued after commit; ``(mailing, created)``.

    Safe to call twice or concurrently: the unique (kind, key) lets one caller create it; the
    others get the existing mailing and queue nothing (the reaper finishes unfinished work).
    With ``queue=False`` the caller runs the batches itself (``digests send --here``).
    """
    db.session.rollback()  # start with the write, so SQLite takes its lock before any read
    try:
        with db.session.begin_nested():
            mailing = Mailing(kind=kind, key=key, announcement_id=announcement_id,
                              window_end=window_end, created_at=utcnow())
            db.session.add(mailing)
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalars(
            sa.select(Mailing).where(Mailing.kind == kind, Mailing.key == key)).one()
        db.session.commit()
        return existing, False
    now = utcnow()
    batches = [MailBatch(mailing_id=mailing.id, first_id=first, last_id=last, queued_at=now)
               for first, last in _ranges(Frequency(kind.value), _batch_size())]
    db.session.add_all(batches)
    db.session.flush()
    for batch in batches if queue else ():
        enqueue_after_commit(db.session(), SEND_TASK, batch.id)
    db.session.commit()
    log.info("mailing %s %s: %d batches", kind.value, key, len(batches))
    return mailing, True


def start_instant(announcement_id: int, now: datetime | None = None, *, queue: bool = True
                  ) -> Mailing | None:
    """Mail a just-published announcement to instant subscribers (once, whoever asks again).

    An announcement published with a date more than a day back (an import of old news) is
    not news to anyone's inbox: no instant mailing; digests skip it too.
    """
    now = now or utcnow()
    item = db.session.get(Announcement, announcement_id)
    due = (item is not None and item.status is Status.PUBLISHED
           and item.published_at is not None and item.published_at >= now - INSTANT_MAX_AGE)
    db.session.rollback()
    if not due:
        return None
    mailing, _ = start_mailing(MailingKind.INSTANT, str(announcement_id),
                               announcement_id=announcement_id, queue=queue)
    return mailing


def batch_ids(mailing_id: int) -> list[int]:
    ids = list(db.session.scalars(
        sa.select(MailBatch.id).where(MailBatch.mailing_id == mailing_id).order_by(MailBatch.id)))
    db.session.rollback()
    return ids


def summary(mailing_id: int) -> dict[str, int]:
    """Copies of one mailing by status, for the CLI and the benchmark."""
    rows = db.session.execute(
        sa.select(Delivery.status, sa.func.count())
        .where(Delivery.mailing_id == mailing_id).group_by(Delivery.status)
    )
    counts = {status.value: n for status, n in rows}
    db.session.rollback()
    return counts
