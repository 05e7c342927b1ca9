"""Subscribers, and the record of every mailing sent to them.

A :class:`Mailing` is one thing to send (an announcement to instant subscribers, or one daily or
weekly digest period); its work is split into :class:`MailBatch` ranges of subscriber ids, one
Celery task each. A :class:`Delivery` row is one subscriber's copy of one mailing: the unique
``(mailing_id, subscriber_id)`` pair is the claim that makes every copy go out at most once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=16, validate_strings=True,
                   values_callable=lambda e: [m.value for m in e])


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"  # signed up, not yet confirmed: gets nothing but the confirmation email
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the mail server refused the address for good (5xx)
    ERASED = "erased"  # deleted at their request: no address, no preferences, only the counts


class Frequency(enum.StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


class MailingKind(enum.StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


class DeliveryStatus(enum.StrEnum):
    CLAIMED = "claimed"  # a worker owns it (until its lease runs out) and has not started it
    SENDING = "sending"  # the message data is about to go, or went out: never sent again
    SENT = "sent"
    DEFERRED = "deferred"  # a temporary failure: nothing was delivered, any run may take it
    UNCERTAIN = "uncertain"  # the data went out and no answer came: possibly delivered
    FAILED = "failed"  # refused for good (5xx), or out of attempts
    CANCELLED = "cancelled"  # no longer due: retracted, unsubscribed, nothing left to send


OPEN_STATUSES = (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED)


class Subscriber(Model):
    __tablename__ = "subscribers"
    __table_args__ = (
        # Fan-out streams subscribers by id within one (status, frequency).
        sa.Index("ix_subscribers_status_frequency_id", "status", "frequency", "id"),
        sa.Index("ix_subscribers_status_requested_at", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # normalised
    status: Mapped[SubscriberStatus] = mapped_column(_enum(SubscriberStatus),
                                                     default=SubscriberStatus.PENDING)
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency), default=Frequency.DAILY)
    # Topic slugs; both empty means every announcement.
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    partners: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    language: Mapped[str | None] = mapped_column(sa.String(35))  # None: every language
    # Part of every manage/unsubscribe link; bumping it revokes all links mailed so far.
    token_version: Mapped[int] = mapped_column(default=0)
    # Digests hold what was published after this (and after the previous digest).
    since_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The consent record an import brought (when and how they agreed elsewhere); a sign-up
    # here has its confirmation (confirmed_at) instead.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_source: Mapped[str | None] = mapped_column(sa.String(200))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def preferences(self) -> dict[str, Any]:
        return {"frequency": self.frequency.value, "tags": list(self.tags),
                "partners": list(self.partners), "language": self.language}

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status.value} {self.frequency.value}>"


class Mailing(Model):
    """One thing to send: an announcement (instant) or one digest period."""

    __tablename__ = "mailings"
    __table_args__ = (sa.UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MailingKind] = mapped_column(_enum(MailingKind))
    # The announcement id (instant) or the period, e.g. "2026-11-22" or "2026-W47".
    key: Mapped[str] = mapped_column(sa.String(64))
    announcement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("announcements.id", ondelete="SET NULL")
    )
    # Digests: the end (exclusive) of what this period holds, fixed when the period starts so
    # that a retried batch renders the same digest.
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Mailing {self.id} {self.kind.value} {self.key}>"


class MailBatch(Model):
    """Subscriber ids ``first_id..last_id`` (inclusive) of one mailing: one task's work."""

    __tablename__ = "mail_batches"
    __table_args__ = (
        sa.UniqueConstraint("mailing_id", "first_id"),
        sa.Index("ix_mail_batches_done_queued_at", "done_at", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(sa.ForeignKey("mailings.id", ondelete="CASCADE"))
    first_id: Mapped[int]
    last_id: Mapped[int]
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    runs: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Model):
    """One subscriber's copy of one mailing; the unique pair is the exactly-once claim."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("mailing_id", "subscriber_id"),
        sa.Index("ix_deliveries_batch_id_status", "batch_id", "status"),
        sa.Index("ix_deliveries_status_updated_at", "status", "updated_at"),
        sa.Index("ix_deliveries_subscriber_id", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(sa.ForeignKey("mailings.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_batches.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus))
    claim: Mapped[str] = mapped_column(sa.String(32))  # the run that owns it
    attempts: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the lease clock
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    error: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<Delivery {self.id} m{self.mailing_id} s{self.subscriber_id} {self.status.value}>"


class Suppression(Model):
    """An address no mail goes to: only a hash of it is kept, with why, who and when.

    ``address_hash`` is the SHA-256 of the normalised address (``suppression.address_hash``),
    so the list survives the address being erased and tells nobody the address it holds.
    """

    __tablename__ = "suppressions"
    __table_args__ = (sa.Index("ix_suppressions_suppressed_at", "suppressed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(32))  # bounce, complaint, admin, import...
    suppressed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Suppression {self.address_hash[:12]} {self.source}>"
