"""Outbox handler: a published announcement is mailed to instant subscribers."""

from __future__ import annotations

from typing import Any

from service import outbox
from service.subscriptions import delivery


@outbox.handles("announcement.published")
def mail_instant_subscribers(payload: dict[str, Any]) -> None:
    """Start (at most once) the instant mailing; its batches go out as their own tasks."""
    delivery.start_instant(payload["announcement_id"])
