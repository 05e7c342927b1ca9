"""The conditions every backend adds to its full-text match: published only, and the filters;
and the key by which a backend keeps one version per translation group."""

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


def group_key() -> sa.ColumnElement[str]:
    """One value per translation group, and one per announcement that has no translation:
    a search lists a group once, by its best-ranked matching version (as listings show one
    card per group)."""
    return sa.func.coalesce(sa.cast(Announcement.translation_group, sa.String),
                            sa.cast(Announcement.id, sa.String))
