"""The figures on the editors' dashboard, each from one cheap query or one Redis call.

The Redis figures (queue depth, feed build times) are ``None`` while Redis cannot be reached,
and the page says "unavailable" for them: the database figures are still worth seeing, and a
dashboard that is a 500 exactly when something is wrong helps nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app

from service import outbox
from service.announcements import revisions
from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.extensions import REDIS_DOWN, get_redis
from service.feeds import store
from service.websub import figures as websub_figures


@dataclass(frozen=True)
class FeedBuild:
    scope: str
    fmt: str
    built_at: datetime


@dataclass(frozen=True)
class Figures:
    by_status: dict[str, int]
    awaiting_review: int
    queued_tasks: int | None  # None: Redis unreachable
    pending_events: int
    feeds: list[FeedBuild] | None  # None: Redis unreachable
    email: dict[str, dict[str, int]] = field(default_factory=dict)
    websub: websub_figures.WebSubFigures | None = None  # subscriptions, failures


def queue_names() -> list[str]:
    """The Celery queues (feeds and events, mail, push); on the Redis broker each is a list."""
    return [queue.name for queue in current_app.extensions["celery"].conf.task_queues]


def counts_by_status() -> dict[str, int]:
    """Announcements per status, every status present (zero when none)."""
    rows = db.session.execute(
        sa.select(Announcement.status, sa.func.count()).group_by(Announcement.status)
    )
    counts = {status.value: 0 for status in Status}
    counts.update({status.value: number for status, number in rows})
    return counts


def awaiting_review_count() -> int:
    subquery = revisions.awaiting_review().subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(subquery)) or 0


def feed_builds() -> list[FeedBuild]:
    """When each feed was last built, the whole-site feeds first, then by scope."""
    builds = []
    for member, when in store.built_times(get_redis()).items():
        scope, _, fmt = member.rpartition(" ")
        builds.append(FeedBuild(scope, fmt, datetime.fromtimestamp(when, UTC)))
    return sorted(builds, key=lambda b: (b.scope != "all", b.scope, b.fmt))


def email_figures(days: int = 7) -> dict[str, dict[str, int]]:
    """Subscribers by status and frequency; emails sent, failed and bounced over ``days``."""
    from service.subscriptions.models import (
        Delivery,
        DeliveryStatus,
        Frequency,
        Subscriber,
        SubscriberStatus,
    )

    by_status = {status.value: 0 for status in SubscriberStatus}
    rows = db.session.execute(
        sa.select(Subscriber.status, sa.func.count()).group_by(Subscriber.status)
    )
    by_status.update({status.value: number for status, number in rows})
    by_frequency = {frequency.value: 0 for frequency in Frequency}
    rows = db.session.execute(
        sa.select(Subscriber.frequency, sa.func.count())
        .where(Subscriber.status == SubscriberStatus.CONFIRMED)
        .group_by(Subscriber.frequency)
    )
    by_frequency.update({frequency.value: number for frequency, number in rows})
    since = utcnow() - timedelta(days=days)
    outcome_rows = db.session.execute(
        sa.select(Delivery.status, sa.func.count())
        .where(
            Delivery.status.in_(
                [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN]
            ),
            Delivery.updated_at >= since,
        )
        .group_by(Delivery.status)
    )
    outcomes = {status: number for status, number in outcome_rows}
    bounced = db.session.scalar(
        sa.select(sa.func.count()).select_from(Subscriber).where(Subscriber.bounced_at >= since)
    )
    return {
        "Subscribers by status": by_status,
        "Confirmed subscribers by frequency": by_frequency,
        f"Emails, last {days} days": {
            "sent": outcomes.get(DeliveryStatus.SENT, 0),
            "failed": outcomes.get(DeliveryStatus.FAILED, 0),
            "possibly delivered (no answer)": outcomes.get(DeliveryStatus.UNCERTAIN, 0),
            "addresses bounced": bounced or 0,
        },
    }


def queued_task_count() -> int | None:
    """Tasks waiting in every queue; None while Redis (the broker) cannot be reached."""
    try:
        # redis-py types a reply as "Awaitable | int" (sync and async share it): sync here
        return sum(cast(int, get_redis().llen(name)) for name in queue_names())
    except REDIS_DOWN:
        return None


def feed_builds_if_reachable() -> list[FeedBuild] | None:
    try:
        return feed_builds()
    except REDIS_DOWN:
        return None


def figures() -> Figures:
    return Figures(
        by_status=counts_by_status(),
        awaiting_review=awaiting_review_count(),
        queued_tasks=queued_task_count(),
        pending_events=outbox.pending_count(),
        feeds=feed_builds_if_reachable(),
        email=email_figures(),
        websub=websub_figures.figures(),
    )


def unpublished(limit: int = 10) -> list[Announcement]:
    """Drafts and scheduled items, the next to go out first, then the latest drafts."""
    return list(db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.status.in_((Status.DRAFT, Status.SCHEDULED)))
        .order_by(Announcement.publish_at.is_(None), Announcement.publish_at,
                  Announcement.updated_at.desc(), Announcement.id.desc())
        .limit(limit)
    ))


def recent(limit: int = 10) -> list[Announcement]:
    """The announcements changed most recently, whatever their status."""
    return list(db.session.scalars(
        sa.select(Announcement)
        .order_by(Announcement.updated_at.desc(), Announcement.id.desc()).limit(limit)
    ))
