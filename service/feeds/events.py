"""The feeds' consumer of announcement events: a change rebuilds exactly the feeds it touches.

The event says what happened and which tags and partners the announcement had before and after;
the scopes are derived here: ``all`` and every tag and partner feed of either side, so removing
a tag also takes the item out of that tag's feed. Embargo events change nothing readers see.
"""

from __future__ import annotations

from typing import Any

from service.announcements import events
from service.feeds import build, scopes
from service.outbox import Consumer

_VISIBLE = frozenset({events.PUBLISHED, events.UPDATED, events.RETRACTED})


def scopes_of(event: events.AnnouncementEvent) -> set[str]:
    """The feeds an event's announcement was in, or is in now."""
    return ({scopes.ALL} | {f"tag:{slug}" for slug in event.tags}
            | {f"partner:{slug}" for slug in event.partners})


def rebuild_touched_feeds_then(*after: Consumer) -> Consumer:
    """The feeds consumer, running the consumers ``after`` (WebSub's hand-off: it sends the
    rebuilt documents) once the event's subscription feeds are stored and before its archive
    pages are built; for an event that changes no feed they simply run."""

    def rebuild_then(kind: str, payload: dict[str, Any]) -> None:
        def run_after() -> None:
            for consume in after:
                consume(kind, payload)

        if kind not in _VISIBLE:
            run_after()
            return
        event = events.AnnouncementEvent.from_outbox(kind, payload)
        # The announcement's id keeps the rebuild flat: only it may need a position in each
        # scope's history, and only the archive pages holding it change (archives.py).
        build.rebuild(sorted(scopes_of(event)), changed=(event.announcement_id,),
                      then=run_after)

    return rebuild_then
