"""Reading announcements for lists and single views, with tags and partners loaded up front."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from service.announcements.models import (
    Announcement,
    Partner,
    Status,
    Tag,
    announcement_partners,
    announcement_tags,
)
from service.database import db
from service.url_numbers import MAX_INT

# What readers have seen. A retracted announcement was public: the tags and partners it had stay
# public, so their feeds go on existing and readers see the item leave.
SEEN_BY_READERS = (Status.PUBLISHED, Status.RETRACTED)

TopicT = TypeVar("TopicT", Tag, Partner)


@dataclass(frozen=True)
class Page:
    items: list[Announcement]
    total: int


def get(announcement_id: int, *, for_update: bool = False) -> Announcement | None:
    """One announcement; ``for_update`` locks its row (PostgreSQL) until the commit."""
    if not 0 < announcement_id <= MAX_INT:  # a larger id cannot exist, and is an error in SQL
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
    order: tuple[sa.UnaryExpression[datetime | None] | sa.UnaryExpression[datetime],
                 sa.UnaryExpression[int]]
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


def is_public(model: type[Tag] | type[Partner]) -> sa.ColumnElement[bool]:
    """The rule, for a query on ``model``: a tag or partner is public once readers have seen one
    of its announcements (published or retracted).

    Until then (only drafts and embargoed announcements have it) it does not exist for readers:
    no page, no feed, no choice on the subscribe form, so an embargo cannot leak through a topic
    name such as ``secret-moon-deal``.
    """
    link, column = (
        (announcement_tags, announcement_tags.c.tag_id) if model is Tag
        else (announcement_partners, announcement_partners.c.partner_id)
    )
    # "The first such announcement is not NULL", not EXISTS: PostgreSQL turns an EXISTS
    # (LIMIT or not) into a semi-join, which hashed every announcement (60-100 ms at 100,000,
    # on every build of a tag's feed); a scalar subquery with LIMIT 1 stays a subplan that
    # stops at the first match (the tag's index, then that announcement by its key).
    return (
        sa.select(link.c.announcement_id)
        .join(Announcement, Announcement.id == link.c.announcement_id)
        .where(column == model.id, Announcement.status.in_(SEEN_BY_READERS))
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )


def public(model: type[TopicT]) -> list[TopicT]:
    """Every public tag (or partner), by name."""
    return list(db.session.scalars(sa.select(model).where(is_public(model)).order_by(model.name)))


def public_by_slug(model: type[TopicT], slug: str) -> TopicT | None:
    """The tag (or partner) with this slug when it is public; None otherwise (a 404 for readers)."""
    return db.session.scalars(
        sa.select(model).where(model.slug == slug, is_public(model))
    ).one_or_none()


def public_languages() -> set[str]:
    """The languages of published announcements (what a subscriber can usefully pick)."""
    return set(db.session.scalars(
        sa.select(Announcement.language).where(Announcement.status == Status.PUBLISHED).distinct()
    ))
