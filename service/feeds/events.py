"""The feeds' consumer of announcement events: a change rebuilds exactly the feeds it touches.

The event says what happened and which tags and partners the announcement had before and after;
the scopes are derived here: ``all`` and every tag and partner feed of either side, so removing
a tag also takes the item out of that tag's feed. Embargo events change nothing readers see.
"""

from __future__ import annotations

from typing import Any

from service.announcements import events
from service.feeds import build, scopes

_VISIBLE = frozenset({events.PUBLISHED, events.UPDATED, events.RETRACTED})


def scopes_of(event: events.AnnouncementEvent) -> set[str]:
    """The feeds an event's announcement was in, or is in now."""
    return ({scopes.ALL} | {f"tag:{slug}" for slug in event.tags}
            | {f"partner:{slug}" for slug in event.partners})


def rebuild_touched_feeds(kind: str, payload: dict[str, Any]) -> None:
    if kind in _VISIBLE:
        event = events.AnnouncementEvent.from_outbox(kind, payload)
        # The announcement's id keeps the rebuild flat: only it may need a position in each
        # scope's history, and only the archive pages holding it change (archives.py).
        build.rebuild(sorted(scopes_of(event)), changed=(event.announcement_id,))
