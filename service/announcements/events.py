"""What happened to an announcement, as the outbox records it: facts, never instructions.

The workflow (``publishing``) records one event per change readers or partners can see, in the
change's own transaction. An event names the announcement and its tags and partners before and
after the change; each consumer derives its own work from that (feeds their scopes, mail its
instant mailing, push its deliveries), so a new consumer needs no change here. Which consumers
an event type reaches is the dispatch table's business (``service.events``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service import outbox
from service.announcements.models import Announcement
from service.database import utcnow

PUBLISHED = "announcement.published"
UPDATED = "announcement.updated"  # a published announcement was edited
RETRACTED = "announcement.retracted"
SCHEDULED = "announcement.scheduled"  # embargoed until a time (set or moved)
UNSCHEDULED = "announcement.unscheduled"  # the embargo lifted without publishing
TYPES = (PUBLISHED, UPDATED, RETRACTED, SCHEDULED, UNSCHEDULED)


@dataclass(frozen=True)
class Terms:
    """An announcement's tag and partner slugs at one moment."""

    tags: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()

    @classmethod
    def of(cls, announcement: Announcement) -> Terms:
        return cls(tuple(sorted(t.slug for t in announcement.tags)),
                   tuple(sorted(p.slug for p in announcement.partners)))


@dataclass(frozen=True)
class AnnouncementEvent:
    """One fact about one announcement, as consumers read it from the outbox."""

    type: str
    announcement_id: int
    before: Terms
    after: Terms
    at: datetime | None = None

    @property
    def tags(self) -> set[str]:
        """Every tag the announcement had before or has after the change."""
        return set(self.before.tags) | set(self.after.tags)

    @property
    def partners(self) -> set[str]:
        return set(self.before.partners) | set(self.after.partners)

    def payload(self) -> dict[str, Any]:
        return {
            "announcement_id": self.announcement_id,
            "tags_before": list(self.before.tags), "tags_after": list(self.after.tags),
            "partners_before": list(self.before.partners),
            "partners_after": list(self.after.partners),
            "at": self.at.isoformat() if self.at else None,
        }

    @classmethod
    def from_outbox(cls, kind: str, payload: dict[str, Any]) -> AnnouncementEvent:
        """Read a row; rows written before facts were recorded (``{"scopes": [...]}``, from
        before this release, still unprocessed at upgrade) read as the same terms before and
        after, which reaches exactly the feeds they named."""
        if "scopes" in payload:
            scopes: Iterable[str] = payload["scopes"]
            tags = tuple(sorted(s.removeprefix("tag:") for s in scopes if s.startswith("tag:")))
            partners = tuple(sorted(s.removeprefix("partner:") for s in payload["scopes"]
                                    if s.startswith("partner:")))
            terms = Terms(tags, partners)
            return cls(kind, int(payload["announcement_id"]), terms, terms)
        at = payload.get("at")
        return cls(
            kind, int(payload["announcement_id"]),
            Terms(tuple(payload.get("tags_before", ())), tuple(payload.get("partners_before", ()))),
            Terms(tuple(payload.get("tags_after", ())), tuple(payload.get("partners_after", ()))),
            datetime.fromisoformat(at) if at else None,
        )


def record(kind: str, announcement: Announcement, before: Terms | None = None
           ) -> AnnouncementEvent:
    """Record ``kind`` for ``announcement`` in the current transaction (see ``outbox``)."""
    if kind not in TYPES:
        raise ValueError(f"not an announcement event: {kind}")
    after = Terms.of(announcement)
    event = AnnouncementEvent(kind, announcement.id, before or after, after, utcnow())
    outbox.record(kind, event.payload())
    return event
