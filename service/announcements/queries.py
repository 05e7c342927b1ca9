"""Reading announcements for lists and single views, with tags and partners loaded up front."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from service.announcements.models import Announcement, Partner, Status, Tag
from service.database import db

# Postgres' integer column: a larger id cannot exist, and comparing one would be an error there.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Page:
    items: list[Announcement]
    total: int


def get(announcement_id: int, *, for_update: bool = False) -> Announcement | None:
    """One announcement; ``for_update`` locks its row (PostgreSQL) until the commit."""
    if not 0 < announcement_id <= MAX_ID:
        return None
    query = (
        sa.select(Announcement)
        .where(Announcement.id == announcement_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    )
    if for_update:
        query = query.with_for_update(of=Announcement)
    return db.session.scalars(query).one_or_none()


def listing(
    *,
    status: Status | None = None,
    tag: str | None = None,
    partner: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Newest first: by publication time for published ones, else by last change.

    ``status=None`` lists every status (token holders only; the caller decides).
    """
    where: list[sa.ColumnElement[bool]] = []
    if status is not None:
        where.append(Announcement.status == status)
    if tag is not None:
        where.append(Announcement.tags.any(Tag.slug == tag))
    if partner is not None:
        where.append(Announcement.partners.any(Partner.slug == partner))
    if status is Status.PUBLISHED:
        order = (Announcement.published_at.desc(), Announcement.id.desc())
    else:
        order = (Announcement.updated_at.desc(), Announcement.id.desc())
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Announcement).where(*where)
    ) or 0
    items = db.session.scalars(
        sa.select(Announcement)
        .where(*where)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total)
