"""Outbox handlers that keep feeds current: a publish rebuilds exactly the feeds it touches."""

from __future__ import annotations

from typing import Any

from service import outbox
from service.feeds import build


@outbox.handles("announcement.published", "announcement.updated", "announcement.retracted")
def rebuild_touched_feeds(payload: dict[str, Any]) -> None:
    build.rebuild(payload["scopes"])
