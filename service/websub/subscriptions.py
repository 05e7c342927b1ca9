"""Subscriptions as the hub keeps them: active ones per topic, ending one, purging expired.

An expired subscription is treated as gone the moment its lease ends (``active`` filters on
``expires_at``), whether or not the purge has run; the purge (beat, and ``flask websub
purge-expired``) only tidies the rows away.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from service.database import db, utcnow
from service.outbound.models import OutboundDelivery
from service.websub.models import HubRequest, RequestStatus, WebSubSubscription

KIND = "websub"  # the outbound kind of WebSub deliveries
KEEP_REQUESTS = timedelta(days=7)


def active(scope: str, fmt: str) -> sa.Select[int, str]:
    """Ids and callbacks of the verified, unexpired subscriptions of one topic."""
    s = WebSubSubscription
    return (sa.select(s.id, s.callback)
            .where(s.scope == scope, s.fmt == fmt, s.expires_at > utcnow()).order_by(s.id))


def _forget(ids: list[int]) -> None:
    if ids:
        db.session.execute(sa.delete(OutboundDelivery).where(
            OutboundDelivery.kind == KIND, OutboundDelivery.owner_id.in_(ids)))
        db.session.execute(sa.delete(WebSubSubscription).where(WebSubSubscription.id.in_(ids)))


def end(topic: str, callback: str) -> bool:
    """Remove one subscription and anything still due to it (in the caller's transaction)."""
    ids = list(db.session.scalars(sa.select(WebSubSubscription.id).filter_by(
        topic=topic, callback=callback)))
    _forget(ids)
    return bool(ids)


def end_by_id(subscription_id: int) -> None:
    _forget([subscription_id])


def purge_expired() -> int:
    """Delete subscriptions whose lease is over, and requests decided a week ago."""
    now = utcnow()
    ids = list(db.session.scalars(sa.select(WebSubSubscription.id).where(
        WebSubSubscription.expires_at <= now)))
    _forget(ids)
    db.session.execute(sa.delete(HubRequest).where(
        HubRequest.status != RequestStatus.PENDING, HubRequest.decided_at < now - KEEP_REQUESTS))
    db.session.commit()
    return len(ids)


def listing() -> list[WebSubSubscription]:
    return list(db.session.scalars(sa.select(WebSubSubscription).order_by(
        WebSubSubscription.topic, WebSubSubscription.callback)))
