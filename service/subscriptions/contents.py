"""What a mailing holds for each subscriber of a batch: the items, chosen by their topics,
partners and language, and for digests by the window since their previous digest.

Translations: a subscriber who chose a language gets the versions in that language only (an
Arabic reader the Arabic one, when it is published); one who chose none gets one version of
each announcement, the first published (``translations.first_published_ids``), not one copy
per language.

The sender and the editors' preview both choose here (``instant_item``, ``digest_items``), so
they cannot disagree. Rows are read as plain tuples: a batch's memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from service import urls
from service.announcements import translations
from service.announcements.models import Announcement, Status
from service.announcements.rendering import is_rtl
from service.database import db
from service.media import library
from service.subscriptions import suppression
from service.subscriptions.models import (
    Delivery,
    DeliveryStatus,
    Frequency,
    MailBatch,
    Mailing,
    MailingKind,
    Subscriber,
    SubscriberStatus,
)


@dataclass(frozen=True)
class Target:
    """One subscriber of a batch and the announcement ids their copy holds."""

    subscriber_id: int
    email: str
    token_version: int
    content: tuple[int, ...]  # announcement ids: the key of the rendered template


@dataclass(frozen=True)
class ItemFacts:
    """What choosing needs of one announcement, read off the ORM object once per batch: the
    loop over a batch's subscribers x items then reads no instrumented attribute."""

    id: int
    published_at: datetime | None
    language: str
    tags: frozenset[str]
    partners: frozenset[str]

    @classmethod
    def of(cls, item: Announcement) -> ItemFacts:
        return cls(item.id, item.published_at, item.language,
                   frozenset(t.slug for t in item.tags), frozenset(p.slug for p in item.partners))


def matches(item: ItemFacts, tags: list[str], partners: list[str], language: str | None,
            first_versions: set[int]) -> bool:
    """Whether a subscriber with these choices gets ``item``: the sender's rule, which the
    editor's confirmation counts with too."""
    if language and item.language != language:
        return False
    if not language and item.id not in first_versions:  # they had (or get) another version
        return False
    if not tags and not partners:
        return True
    return not item.tags.isdisjoint(tags) or not item.partners.isdisjoint(partners)


def _subscribers(mailing: Mailing, batch: MailBatch) -> list[sa.Row[Any]]:
    return list(db.session.execute(
        sa.select(Subscriber.id, Subscriber.email, Subscriber.token_version, Subscriber.tags,
                  Subscriber.partners, Subscriber.language, Subscriber.since_at)
        .where(Subscriber.id.between(batch.first_id, batch.last_id),
               Subscriber.status == SubscriberStatus.CONFIRMED,
               Subscriber.frequency == Frequency(mailing.kind.value))
        .order_by(Subscriber.id)
    ))


def instant_item(announcement_id: int) -> Announcement | None:
    """The announcement an instant email is about, or None when it is not published.

    Retracted (or gone) before it reached everyone, scheduled or a draft: never mailed. The
    sender and the editors' preview both ask here, so they cannot disagree.
    """
    item = db.session.scalars(
        sa.select(Announcement).where(Announcement.id == announcement_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    ).first()
    return item if item is not None and item.status is Status.PUBLISHED else None


def digest_items(start: datetime, end: datetime) -> list[Announcement]:
    """Published announcements with ``start <= published_at < end``, newest first.

    Every item any digest of that window may hold (each subscriber's topics filter it
    further); retracted and scheduled ones are not published, so never among them.
    """
    return list(db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.status == Status.PUBLISHED, Announcement.published_at >= start,
               Announcement.published_at < end)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
    ))


def _instant_targets(mailing: Mailing, batch: MailBatch
                     ) -> tuple[list[Target], dict[int, Announcement]]:
    item = instant_item(mailing.announcement_id) if mailing.announcement_id else None
    if item is None:
        return [], {}
    first, facts = translations.first_published_ids([item]), ItemFacts.of(item)
    targets = [Target(row.id, row.email, row.token_version, (item.id,))
               for row in _subscribers(mailing, batch)
               if matches(facts, row.tags, row.partners, row.language, first)]
    return targets, {item.id: item}


def _previous_digest_ends(mailing: Mailing, batch: MailBatch) -> dict[int, datetime]:
    """Per subscriber, where their latest other digest ended (sent, or on its way)."""
    rows = db.session.execute(
        sa.select(Delivery.subscriber_id, sa.func.max(Mailing.window_end))
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .where(Delivery.subscriber_id.between(batch.first_id, batch.last_id),
               Mailing.kind.in_([MailingKind.DAILY, MailingKind.WEEKLY]),
               Mailing.id != mailing.id,
               Delivery.status.not_in([DeliveryStatus.CANCELLED, DeliveryStatus.FAILED]))
        .group_by(Delivery.subscriber_id)
    )
    return {subscriber_id: end for subscriber_id, end in rows if end is not None}


def _digest_targets(mailing: Mailing, batch: MailBatch
                    ) -> tuple[list[Target], dict[int, Announcement]]:
    window_end = mailing.window_end
    assert window_end is not None
    subscribers = _subscribers(mailing, batch)
    previous = _previous_digest_ends(mailing, batch)
    starts = {row.id: max(filter(None, (row.since_at, previous.get(row.id))),
                          default=window_end) for row in subscribers}
    earliest = min(starts.values(), default=window_end)
    if earliest >= window_end:
        return [], {}
    items = digest_items(earliest, window_end)
    first = translations.first_published_ids(items)
    facts = [ItemFacts.of(item) for item in items]
    targets = []
    for row in subscribers:
        start = starts[row.id]
        chosen = tuple(item.id for item in facts if item.published_at is not None
                       and item.published_at >= start
                       and matches(item, row.tags, row.partners, row.language, first))
        if chosen:  # nothing new, nothing sent
            targets.append(Target(row.id, row.email, row.token_version, chosen))
    return targets, {item.id: item for item in items}


def targets(mailing: Mailing, batch: MailBatch) -> tuple[list[Target], dict[int, Announcement]]:
    """Who in ``batch`` gets a copy of ``mailing``, and the announcements by id.

    A suppressed address gets none, whatever its subscriber's status (one query per batch).
    """
    if mailing.kind is MailingKind.INSTANT:
        chosen, items = _instant_targets(mailing, batch)
    else:
        chosen, items = _digest_targets(mailing, batch)
    suppressed = suppression.suppressed_among(db.session, (t.email for t in chosen))
    if suppressed:
        chosen = [t for t in chosen if t.email not in suppressed]
    return chosen, items


def item_view(item: Announcement) -> dict[str, Any]:
    """What the email templates show of one announcement (plain values, no ORM object)."""
    return {
        "title": " ".join(item.title.split()),
        "summary": item.summary,
        "url": urls.announcement(item.slug),
        "published_at": item.published_at,
        "language": item.language,
        "dir": "rtl" if is_rtl(item.language) else "ltr",
        "tags": [t.name for t in item.tags],
        "partners": [p.name for p in item.partners],
        "image": _image_view(item),
    }


EMAIL_IMAGE_WIDTH = 600  # shown this wide; the copy sent is at least twice that when there is one


def _image_view(item: Announcement) -> dict[str, Any] | None:
    """The featured image as emails show it: one absolute URL (mail clients know no srcset)."""
    if item.image is None:
        return None
    width = min(EMAIL_IMAGE_WIDTH, item.image.width)
    return {"url": library.best_url(item.image, 2 * EMAIL_IMAGE_WIDTH), "alt": item.image.alt,
            "width": width, "height": round(item.image.height * width / item.image.width)}
