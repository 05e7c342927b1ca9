"""Tombstones leave when their time is up, not at some later publish.

A tombstone stays in an Atom feed for ``TOMBSTONE_DAYS`` after the retraction; the feed only
changes when it is rebuilt, so beat runs :func:`rebuild_where_tombstones_expired` hourly: the
scopes of every announcement whose tombstone period ended within the last ``WINDOW`` (twice
the interval, so one missed run loses nothing) are rebuilt, and the tombstone is gone.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.feeds import build, scopes

WINDOW = timedelta(hours=2)


def rebuild_where_tombstones_expired(window: timedelta = WINDOW) -> int:
    """Rebuild the feeds whose tombstones expired in the last ``window``; how many scopes."""
    days = current_app.config["SETTINGS"].tombstone_days
    if days <= 0:
        return 0
    ended = utcnow() - timedelta(days=days)
    retracted = db.session.scalars(
        sa.select(Announcement).where(Announcement.status == Status.RETRACTED,
                                      Announcement.retracted_at > ended - window,
                                      Announcement.retracted_at <= ended)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners)))
    touched: set[str] = set()
    for item in retracted:
        touched |= {scopes.ALL, *(f"tag:{t.slug}" for t in item.tags),
                    *(f"partner:{p.slug}" for p in item.partners)}
    db.session.rollback()
    return build.rebuild(sorted(touched)) if touched else 0
