"""The transactional outbox: an event row committed in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


class OutboxEvent(Model):
    __tablename__ = "outbox_events"
    __table_args__ = (sa.Index("ix_outbox_events_pending", "processed_at", "enqueued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a task for it was last handed to the broker (or meant to be: the relay checks).
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<OutboxEvent {self.id} {self.kind} processed={self.processed_at is not None}>"
