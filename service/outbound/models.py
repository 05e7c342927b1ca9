"""Durable outbound deliveries: one row per (kind, owner), e.g. one per WebSub subscription.

A row says "``owner`` is due the current version of its content" and moves through
pending -> sending -> delivered | retrying (at ``next_attempt_at``) | failed | gone |
cancelled. One row per owner, not one per version: a newer version moves ``version`` forward
on the row that is still waiting, so an undelivered older document is superseded rather than
queued behind (the body is read when sending, never stored here).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


class OutboundStatus(enum.StrEnum):
    PENDING = "pending"  # due now (or at next_attempt_at)
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"  # the receiver took ``sent_version``
    RETRYING = "retrying"  # failed; due again at next_attempt_at
    FAILED = "failed"  # gave up (OUTBOUND_GIVE_UP after the first failure)
    GONE = "gone"  # the receiver said it is gone for good (410): the owner was ended
    CANCELLED = "cancelled"  # nothing to send any more (owner ended, content vanished)


OPEN = (OutboundStatus.PENDING, OutboundStatus.RETRYING, OutboundStatus.SENDING)


class OutboundDelivery(Model):
    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("kind", "owner_id"),
        sa.Index("ix_outbound_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # "websub"; "webhook" later
    owner_id: Mapped[int] = mapped_column()  # the caller's row (a subscription, an endpoint)
    url: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboundStatus] = mapped_column(
        sa.Enum(OutboundStatus, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e]),
        default=OutboundStatus.PENDING)
    version: Mapped[str | None] = mapped_column(sa.String(80))  # what is due
    sent_version: Mapped[str | None] = mapped_column(sa.String(80))  # what was last delivered
    attempts: Mapped[int] = mapped_column(default=0)  # since the last success
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column()  # HTTP status of the last attempt
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<OutboundDelivery {self.id} {self.kind}:{self.owner_id} {self.status}>"
