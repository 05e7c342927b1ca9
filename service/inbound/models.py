"""Every message that reached the bounce mailbox or the listener, and what it did."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow

MAX_RAW = 2 * 1024 * 1024  # bytes of a message kept (and classified); raw_size says the rest


class InboundKind(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"  # a permanent failure (5.x.x)
    SOFT_BOUNCE = "soft_bounce"  # a temporary failure (4.x.x, delayed)
    COMPLAINT = "complaint"  # an RFC 5965 report: abuse, fraud, virus
    UNSUBSCRIBE = "unsubscribe"  # mail to the List-Unsubscribe mailto
    AUTO_REPLY = "auto_reply"  # out of office and the like (RFC 3834), nothing to do
    REPORT = "report"  # an RFC 5965 report that is no complaint (not-spam, auth-failure)
    UNRECOGNISED = "unrecognised"  # for an operator to read


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=16, validate_strings=True,
                   values_callable=lambda e: [m.value for m in e])


class InboundMessage(Model):
    """One inbound message, recorded once under its key (Message-ID, else a hash of it)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        sa.Index("ix_inbound_messages_subscriber_id_kind", "subscriber_id", "kind",
                 "received_at"),
        sa.Index("ix_inbound_messages_kind_resolved_at", "kind", "resolved_at"),
        sa.Index("ix_inbound_messages_processed_at", "processed_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # imap, lmtp, smtp, cli
    recipients: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # envelope, if known
    imap_uid: Mapped[str | None] = mapped_column(sa.String(64))  # "<uidvalidity>:<uid>"
    sender: Mapped[str | None] = mapped_column(sa.String(320))  # From, for the listing
    subject: Mapped[str | None] = mapped_column(sa.String(255))
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)  # at most MAX_RAW bytes
    raw_size: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[InboundKind | None] = mapped_column(_enum(InboundKind))
    # What it changed: bounced, counted, unsubscribed, suppressed, nothing, forged, stale...
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="SET NULL"))
    # The copy it is about: "delivery:<id>", or "token:<envelope token>" outside mailings;
    # temporary failures count once per copy, however often their report arrives.
    copy_ref: Mapped[str | None] = mapped_column(sa.String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an operator saw to it

    def __repr__(self) -> str:
        return f"<InboundMessage {self.id} {self.kind} {self.outcome}>"
