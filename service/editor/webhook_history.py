"""What the webhook pages read: recent deliveries by status, and one endpoint's latest messages.

A few queries per page whatever the number of messages: attempts and outbound rows are loaded
for the shown messages at once, not one query per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from service.database import db, utcnow
from service.outbound.models import OutboundDelivery
from service.webhooks.endpoints import KIND
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage

RECENT_DAYS = 7  # the list's counts: messages made in this many days
RECENT_MESSAGES = 50  # the endpoint page's deliveries


@dataclass
class Delivery:
    """One message as the endpoint page shows it: its attempts, oldest first, and its outbound
    row (None once it is gone), which says when a retry is due."""

    message: WebhookMessage
    attempts: list[WebhookAttempt] = field(default_factory=list)
    outbound: OutboundDelivery | None = None


def recent_counts() -> dict[int, dict[MessageStatus, int]]:
    """Per endpoint id, how many of its messages of the last :data:`RECENT_DAYS` days are in
    each status (statuses with none are left out)."""
    since = utcnow() - timedelta(days=RECENT_DAYS)
    rows = db.session.execute(
        sa.select(WebhookMessage.endpoint_id, WebhookMessage.status, sa.func.count())
        .where(WebhookMessage.created_at >= since)
        .group_by(WebhookMessage.endpoint_id, WebhookMessage.status))
    counts: dict[int, dict[MessageStatus, int]] = defaultdict(dict)
    for endpoint_id, status, number in rows:
        counts[endpoint_id][status] = number
    return dict(counts)


def recent_deliveries(endpoint_id: int, limit: int = RECENT_MESSAGES) -> list[Delivery]:
    """The endpoint's latest ``limit`` messages, newest first, each with its history."""
    messages = list(db.session.scalars(
        sa.select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
        .order_by(WebhookMessage.created_at.desc(), WebhookMessage.id.desc()).limit(limit)))
    shown = {m.id: Delivery(m) for m in messages}
    if not shown:
        return []
    for attempt in db.session.scalars(
            sa.select(WebhookAttempt).where(WebhookAttempt.message_id.in_(shown))
            .order_by(WebhookAttempt.message_id, WebhookAttempt.attempt, WebhookAttempt.id)):
        shown[attempt.message_id].attempts.append(attempt)
    for row in db.session.scalars(sa.select(OutboundDelivery).where(
            OutboundDelivery.kind == KIND, OutboundDelivery.owner_id.in_(shown))):
        shown[row.owner_id].outbound = row
    return list(shown.values())


def message_count(endpoint_id: int) -> int:
    """All the endpoint's messages (what deleting it deletes with it)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(WebhookMessage)
                             .where(WebhookMessage.endpoint_id == endpoint_id)) or 0
