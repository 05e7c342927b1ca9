"""When a daily or weekly digest is due, and what period it covers.

A period ends at ``DIGEST_HOUR`` (UTC) every day, or on ``DIGEST_WEEKDAY`` at that hour every
week; its key is the date (``2026-11-22``) or ISO week (``2026-W47``) of that end. Beat calls
:func:`send` every few minutes: the first call after a period ends starts its mailing, and
every later call (a second beat, the CLI, a retried task) finds the mailing there and starts
nothing. A digest holds each subscriber's matching items published from the end of their
previous digest (or their confirmation) up to the period's end, fixed when the period starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.subscriptions import mailings
from service.subscriptions.models import Mailing, MailingKind

# Publishing transactions in flight when a period closes still land in it.
SETTLE = timedelta(seconds=2)


@dataclass(frozen=True)
class Started:
    mailing: Mailing
    created: bool
    batches: int


def period(kind: MailingKind, now: datetime, hour: int, weekday: int) -> tuple[str, datetime]:
    """``(key, end)`` of the latest period of ``kind`` that has ended at ``now``."""
    end = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    if kind is MailingKind.DAILY:
        return end.date().isoformat(), end
    if kind is MailingKind.WEEKLY:
        end -= timedelta(days=(end.weekday() - weekday) % 7)
        year, week, _ = end.isocalendar()
        return f"{year}-W{week:02d}", end
    raise ValueError(f"{kind} has no periods")


def _window_end(end: datetime, now: datetime) -> datetime:
    """``end``, but never past an embargo that is due and not yet published by beat."""
    end = min(end, now - SETTLE)
    due = db.session.scalar(
        sa.select(sa.func.min(Announcement.publish_at))
        .where(Announcement.status == Status.SCHEDULED, Announcement.publish_at <= end)
    )
    db.session.rollback()
    return min(end, due) if due is not None else end


def send(kind: MailingKind, now: datetime | None = None, *, manual: bool = False,
         queue: bool = True) -> Started:
    """Start the digest of the period that ended last (or, ``manual``, of one ending now).

    ``queue=False`` leaves the batches to the caller (see ``mailings.start_mailing``).
    """
    if kind not in (MailingKind.DAILY, MailingKind.WEEKLY):
        raise ValueError(f"not a digest: {kind}")
    now = now or utcnow()
    if manual:
        key, end = now.strftime("%Y-%m-%dT%H:%M:%SZ"), now
    else:
        settings = current_app.config["SETTINGS"]
        key, end = period(kind, now, settings.digest_hour, settings.digest_weekday)
    existing = db.session.scalars(
        sa.select(Mailing).where(Mailing.kind == kind, Mailing.key == key)).first()
    db.session.rollback()
    if existing is not None:  # the usual case for beat: this period has started already
        return Started(existing, created=False, batches=0)
    mailing, created = mailings.start_mailing(kind, key, window_end=_window_end(end, now),
                                              queue=queue)
    batches = len(mailings.batch_ids(mailing.id)) if created else 0
    return Started(mailing, created, batches)
