"""Translations: announcements that say the same thing in other languages, linked in a group.

A group (``Announcement.translation_group``, a UUID) holds at most one announcement per language
(a unique index says so too). Linking two announcements merges their groups; unlinking takes one
out, and a group left with one member is dissolved. Each version keeps its own status, slug,
tags and history: the English one can be published while the Arabic one is still a draft.

Readers see the published versions only (``public_versions``): the switcher and ``hreflang``
of a page, the API for anonymous callers. Mail uses ``first_published_ids`` so a subscriber who
chose no language gets one version of an announcement, not one per language.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from service.announcements.models import Announcement, Status
from service.announcements.queries import SEEN_BY_READERS
from service.database import db


class NotLinkable(Exception):
    """The link asked for cannot be made (itself, or a language the group already has)."""


def versions(item: Announcement) -> list[Announcement]:
    """Every announcement of ``item``'s group, ``item`` included, by language; ``[item]`` alone
    when it has no translation."""
    if item.translation_group is None:
        return [item]
    return list(db.session.scalars(
        sa.select(Announcement).where(Announcement.translation_group == item.translation_group)
        .order_by(Announcement.language, Announcement.id)
    ))


def others(item: Announcement) -> list[Announcement]:
    """Its translations, whatever their status (the editors' view)."""
    return [other for other in versions(item) if other.id != item.id]


def public_versions(item: Announcement) -> list[Announcement]:
    """The published versions of ``item``'s group, ``item`` among them when it is published;
    empty when it has no published translation (a page then shows no switcher)."""
    published = [v for v in versions(item) if v.status is Status.PUBLISHED]
    return published if any(v.id != item.id for v in published) else []


def others_of_many(items: Iterable[Announcement]) -> dict[int, list[Announcement]]:
    """``others`` of each of ``items`` by id, in one query (for lists)."""
    items = list(items)
    groups = {item.translation_group for item in items if item.translation_group}
    members: dict[uuid.UUID, list[Announcement]] = {}
    if groups:
        for row in db.session.scalars(
            sa.select(Announcement).where(Announcement.translation_group.in_(groups))
            .order_by(Announcement.language, Announcement.id)
        ):
            if row.translation_group is not None:
                members.setdefault(row.translation_group, []).append(row)
    return {item.id: [o for o in members.get(item.translation_group, []) if o.id != item.id]
            if item.translation_group else [] for item in items}


def language_taken(item: Announcement, language: str) -> Announcement | None:
    """The version of ``item``'s group (``item`` included) in ``language``, if there is one."""
    return next((v for v in versions(item) if v.language == language), None)


def check_language(item: Announcement, language: str) -> None:
    """Refuse a language another version of its group already has (before changing it)."""
    taken = next((o for o in others(item) if o.language == language), None)
    if taken is not None:
        raise NotLinkable(f"its translation {taken.title!r} is already in {language!r}; "
                          f"unlink it first")


def link(item: Announcement, other: Announcement) -> None:
    """Make ``item`` and ``other`` (and their translations) versions of each other."""
    if item.id == other.id:
        raise NotLinkable("an announcement cannot be its own translation")
    members = {a.id: a for a in (*versions(item), *versions(other))}
    languages: dict[str, Announcement] = {}
    for member in members.values():
        seen = languages.setdefault(member.language, member)
        if seen is not member:
            raise NotLinkable(f"{seen.title!r} and {member.title!r} are both in "
                              f"{member.language!r}: a group has one version per language")
    group = other.translation_group or item.translation_group or uuid.uuid4()
    try:
        with db.session.begin_nested():
            for member in members.values():
                member.translation_group = group
    except IntegrityError:  # another request linked a version in that language meanwhile
        raise NotLinkable("another version in one of these languages was linked meanwhile; "
                          "reload and try again") from None


def unlink(item: Announcement) -> None:
    """Take ``item`` out of its group; a translation left alone is no group any more."""
    rest = others(item)
    item.translation_group = None
    if len(rest) == 1:
        rest[0].translation_group = None
    db.session.flush()


def first_published_ids(items: Iterable[Announcement]) -> set[int]:
    """Those of ``items`` no other version of their group was published before (by time, then
    id): the one version a subscriber of every language gets. One query."""
    items = list(items)
    grouped = {item.translation_group for item in items if item.translation_group}
    if not grouped:
        return {item.id for item in items}
    first: dict[uuid.UUID, tuple[datetime, int]] = {}
    rows = db.session.execute(
        sa.select(Announcement.translation_group, Announcement.published_at, Announcement.id)
        .where(Announcement.translation_group.in_(grouped),
               Announcement.status.in_(SEEN_BY_READERS),
               Announcement.published_at.is_not(None))
    )
    for group, published_at, item_id in rows:
        if group is None or published_at is None:  # excluded by the query
            continue
        key = (published_at, item_id)
        if group not in first or key < first[group]:
            first[group] = key
    return {item.id for item in items
            if item.translation_group is None or item.translation_group not in first
            or first[item.translation_group][1] == item.id}
