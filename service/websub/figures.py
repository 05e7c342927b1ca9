"""What the editors' dashboard shows of the hub: who listens to each topic, what is failing.

Two cheap queries, read-only. Counted are *verified, unexpired* subscriptions (the ones a
change is delivered to, as ``subscriptions.active`` decides), so an expired lease drops off the
dashboard at the moment it stops receiving, not when the purge runs. Failures are the recent
attempts that did not succeed and are not superseded by a later success: rows still
``retrying``, given up (``failed``), or ended by a 410 (``gone``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from service.database import db, utcnow
from service.outbound.models import OutboundDelivery, OutboundStatus
from service.websub import subscriptions
from service.websub.models import WebSubSubscription

FAILED_STATES = (OutboundStatus.RETRYING, OutboundStatus.FAILED, OutboundStatus.GONE)


@dataclass(frozen=True)
class Failure:
    topic: str | None  # None once the subscription is gone (a 410 ends it)
    callback: str
    status: str
    attempts: int
    error: str
    at: datetime | None  # None if it failed before its first attempt finished


@dataclass(frozen=True)
class WebSubFigures:
    per_topic: dict[str, int]  # topic URL -> verified, unexpired subscriptions
    failures: list[Failure]  # most recent first
    days: int


def verified_per_topic() -> dict[str, int]:
    s = WebSubSubscription
    rows = db.session.execute(sa.select(s.topic, sa.func.count()).where(
        s.expires_at > utcnow()).group_by(s.topic).order_by(s.topic))
    return {topic: number for topic, number in rows}


def recent_failures(days: int = 7, limit: int = 20) -> list[Failure]:
    d, s = OutboundDelivery, WebSubSubscription
    rows = db.session.execute(
        sa.select(s.topic, d.url, d.status, d.attempts, d.last_error, d.last_status,
                  d.last_attempt_at)
        .outerjoin(s, s.id == d.owner_id)
        .where(d.kind == subscriptions.KIND, d.status.in_(FAILED_STATES),
               d.last_attempt_at >= utcnow() - timedelta(days=days))
        .order_by(d.last_attempt_at.desc()).limit(limit))
    return [Failure(topic, url, status.value, attempts,
                    error or (f"HTTP {code}" if code else "unknown"), at)
            for topic, url, status, attempts, error, code, at in rows]


def figures(days: int = 7) -> WebSubFigures:
    return WebSubFigures(verified_per_topic(), recent_failures(days), days)
