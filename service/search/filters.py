"""The conditions every backend adds to its full-text match: published only, and the filters."""

from __future__ import annotations

import sqlalchemy as sa

from service.announcements.models import Announcement, Partner, Status, Tag
from service.search.backend import Filters


def conditions(filters: Filters) -> list[sa.ColumnElement[bool]]:
    """Published (never retracted, scheduled or draft), with the tag, partner and language."""
    where: list[sa.ColumnElement[bool]] = [Announcement.status == Status.PUBLISHED]
    if filters.tag:
        where.append(Announcement.tags.any(Tag.slug == filters.tag))
    if filters.partner:
        where.append(Announcement.partners.any(Partner.slug == filters.partner))
    if filters.language:
        where.append(Announcement.language == filters.language)
    return where


def newest_first() -> tuple[sa.UnaryExpression[object], ...]:
    """The tie-break after the rank: newer first, then the larger id (a stable order)."""
    return (Announcement.published_at.desc(), Announcement.id.desc())  # type: ignore[return-value]
