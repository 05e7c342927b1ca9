"""Webhook endpoints, their messages (one per event per endpoint) and every delivery attempt.

A message's ``msg_id`` (``msg_...``) is the ``webhook-id`` header: fixed when the message is
made, so every retry carries the same one and receivers can deduplicate. Its ``body`` is the
exact JSON sent, stored once, so retries send (and sign) the same bytes. The outbound row that
sends it is ``(kind="webhook", owner_id=message.id)``; attempts are recorded here as well
because the outbound row keeps only the last one and editors want the history.

Secrets are stored as issued (``whsec_...``): signing needs the key itself, not a hash.
During rotation the previous secret keeps signing until ``previous_secret_expires_at``.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # a 2xx arrived
    FAILED = "failed"  # retries gave up (OUTBOUND_GIVE_UP after the first failure)
    GONE = "gone"  # the endpoint answered 410 and was disabled
    CANCELLED = "cancelled"  # the endpoint was disabled or deleted before it went


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.Text)
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Since when every attempt has failed (None after any success): once this is older than
    # WEBHOOK_DISABLE_AFTER the endpoint is disabled, with the reason shown to admins.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookMessage(Model):
    __tablename__ = "webhook_messages"
    __table_args__ = (sa.UniqueConstraint("endpoint_id", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    # What made it (type, announcement, time of the event): a second dispatch finds it.
    event_key: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[MessageStatus] = mapped_column(
        sa.Enum(MessageStatus, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e]),
        default=MessageStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def payload(self) -> Any:
        """The JSON sent (for the admin page and tests)."""
        return json.loads(self.body)


class WebhookAttempt(Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column()  # 1, 2, ... for this message
    status_code: Mapped[int | None] = mapped_column()  # None: no answer (timeout, refused)
    error: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
