"""WebSub subscriptions, the requests that may change them, and what each topic last sent.

A :class:`HubRequest` is what a subscriber asked for; only its verification turns it into
(or removes) a :class:`WebSubSubscription`, so a request that fails verification changes
nothing, and a re-subscription replaces the old terms only once verified. One subscription
per (topic, callback). :class:`TopicState` remembers the ETag of the document last
distributed for each topic: the key that makes distribution idempotent.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REFUSED = "refused"  # the callback did not echo the challenge: nothing changed


class HubRequest(Model):
    __tablename__ = "websub_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(16))  # subscribe | unsubscribe
    topic: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.String(200))
    fmt: Mapped[str] = mapped_column(sa.String(8))
    callback: Mapped[str] = mapped_column(sa.Text)
    secret: Mapped[str | None] = mapped_column(sa.String(200))
    lease_seconds: Mapped[int] = mapped_column(default=0)
    status: Mapped[RequestStatus] = mapped_column(
        sa.Enum(RequestStatus, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e]),
        default=RequestStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSubSubscription(Model):
    __tablename__ = "websub_subscriptions"
    __table_args__ = (
        sa.UniqueConstraint("topic", "callback"),
        sa.Index("ix_websub_subscriptions_scope_fmt", "scope", "fmt", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.String(200))
    fmt: Mapped[str] = mapped_column(sa.String(8))
    callback: Mapped[str] = mapped_column(sa.Text)
    secret: Mapped[str | None] = mapped_column(sa.String(200))
    lease_seconds: Mapped[int] = mapped_column()
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopicState(Model):
    __tablename__ = "websub_topics"

    scope: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    fmt: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    etag: Mapped[str] = mapped_column(sa.String(80))
    distributed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
