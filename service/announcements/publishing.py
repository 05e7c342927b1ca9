"""The publishing workflow: create, edit, publish, schedule, retract.

Every function here changes rows in the caller's transaction and records a domain event
(``events``: published, updated, retracted, scheduled, unscheduled) in the outbox when something
readers or partners can see changed; the caller commits (one commit per request or task). The
event states what happened, with the tags and partners before and after, so removing a tag can
take the item out of that tag's feed; what each consumer does about it is the consumer's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from slugify import slugify
from sqlalchemy.exc import IntegrityError

from service.announcements import events, revisions, translations
from service.announcements.models import Announcement, Partner, Status, Tag
from service.announcements.queries import TopicT
from service.announcements.rendering import render_markdown
from service.database import db, utcnow
from service.media.models import Media

KNOWN_NAMES = {
    "nasa": "NASA",
    "esa": "ESA",
    "roscosmos": "Roscosmos",
    "private-sector": "Private sector",
}


class SlugTaken(Exception):
    """Another announcement already has this slug (it is its public URL)."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(slug)


class NotAllowed(Exception):
    """The transition is not possible from the announcement's current status."""


class UnknownImage(LookupError):
    """The featured image names no uploaded image (``service.media``)."""

    def __init__(self, media_id: int) -> None:
        self.media_id = media_id
        super().__init__(media_id)


def _image(media_id: int | None) -> Media | None:
    if media_id is None:
        return None
    media = db.session.get(Media, media_id)
    if media is None:
        raise UnknownImage(media_id)
    return media


@dataclass(frozen=True)
class Change:
    """What an edit touched, for the caller's response and for the event."""

    fields: frozenset[str]
    visible: bool  # readers can see the difference (feeds and pages must follow)


def make_slug(title: str) -> str:
    return slugify(title, max_length=120, word_boundary=True) or "announcement"


def display_name(slug: str) -> str:
    """The name a tag or partner gets when first used: known agencies are spelt right."""
    return KNOWN_NAMES.get(slug, slug.replace("-", " ").capitalize())


def _get_or_create(model: type[TopicT], slugs: Iterable[str]) -> list[TopicT]:
    """Rows for ``slugs``, creating those used for the first time (race-safe)."""
    wanted = sorted(set(slugs))
    rows = {r.slug: r for r in db.session.scalars(sa.select(model).where(model.slug.in_(wanted)))}
    for slug in wanted:
        if slug in rows:
            continue
        try:
            with db.session.begin_nested():
                row = model(slug=slug, name=display_name(slug))
                db.session.add(row)
        except IntegrityError:  # created meanwhile by a concurrent request
            row = db.session.scalars(sa.select(model).where(model.slug == slug)).one()
        rows[slug] = row
    return [rows[s] for s in wanted]


def _claim_slug(slug: str, exclude_id: int | None = None) -> str:
    query = sa.select(Announcement.id).where(Announcement.slug == slug)
    if exclude_id is not None:
        query = query.where(Announcement.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise SlugTaken(slug)
    return slug


def create(
    *,
    title: str,
    summary: str = "",
    body: str = "",
    language: str = "en",
    tags: Iterable[str] = (),
    partners: Iterable[str] = (),
    status: Status = Status.DRAFT,
    publish_at: datetime | None = None,
    slug: str | None = None,
    author_id: int | None = None,
    published_at: datetime | None = None,
    image_id: int | None = None,
) -> Announcement:
    """Add an announcement; published or scheduled ones go out through the outbox.

    ``image_id``: the featured image, an uploaded image's id (``UnknownImage`` otherwise).
    """
    now = utcnow()
    image = _image(image_id)
    announcement = Announcement(
        slug=_claim_slug(slug or make_slug(title)),
        title=title,
        summary=summary,
        body=body,
        body_html=render_markdown(body),
        language=language,
        status=Status.DRAFT,
        created_at=now,
        updated_at=now,
        author_id=author_id,
        tags=_get_or_create(Tag, tags),
        partners=_get_or_create(Partner, partners),
        image=image,
    )
    db.session.add(announcement)
    try:
        db.session.flush()
    except IntegrityError:  # the slug was taken between our check and the insert
        db.session.rollback()
        raise SlugTaken(announcement.slug) from None
    if status is Status.PUBLISHED:
        publish(announcement, at=published_at)
    elif status is Status.SCHEDULED:
        if publish_at is None:  # the callers' validation asks for one first
            raise NotAllowed("a scheduled announcement needs a time to be published at")
        schedule(announcement, publish_at)
    elif status is Status.RETRACTED:
        raise NotAllowed("a new announcement cannot start retracted")
    revisions.record(announcement, author_id)
    return announcement


def update(
    announcement: Announcement, changes: Mapping[str, Any], editor_id: int | None = None
) -> Change:
    """Apply a partial edit. Slug and id stay put on a title edit, so links and feed ids hold.

    Every edit that changes something is kept as a revision by ``editor_id``. A language
    another version of its translation group has is refused (``translations.NotLinkable``).
    """
    before = events.Terms.of(announcement)
    touched: set[str] = set()
    if "language" in changes and changes["language"] != announcement.language:
        translations.check_language(announcement, changes["language"])  # one per language
    for field in ("title", "summary", "language"):
        if field in changes and changes[field] != getattr(announcement, field):
            setattr(announcement, field, changes[field])
            touched.add(field)
    if "body" in changes and changes["body"] != announcement.body:
        announcement.body = changes["body"]
        announcement.body_html = render_markdown(changes["body"])
        touched.add("body")
    if "image_id" in changes and changes["image_id"] != announcement.image_id:
        announcement.image = _image(changes["image_id"])
        touched.add("image")
    if "slug" in changes and changes["slug"] != announcement.slug:
        announcement.slug = _claim_slug(changes["slug"], exclude_id=announcement.id)
        touched.add("slug")
    if "tags" in changes:
        new_tags = _get_or_create(Tag, changes["tags"])
        if [t.slug for t in new_tags] != sorted(t.slug for t in announcement.tags):
            announcement.tags = new_tags
            touched.add("tags")
    if "partners" in changes:
        new_partners = _get_or_create(Partner, changes["partners"])
        if [p.slug for p in new_partners] != sorted(p.slug for p in announcement.partners):
            announcement.partners = new_partners
            touched.add("partners")
    if (
        "publish_at" in changes
        and announcement.status is Status.SCHEDULED
        and changes["publish_at"] != announcement.publish_at
    ):
        schedule(announcement, changes["publish_at"])
        touched.add("publish_at")
    if not touched:
        return Change(frozenset(), visible=False)
    announcement.updated_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SlugTaken(announcement.slug) from None
    revisions.record(announcement, editor_id)
    visible = announcement.status is Status.PUBLISHED
    if visible:
        events.record(events.UPDATED, announcement, before)
    return Change(frozenset(touched), visible=visible)


def publish(announcement: Announcement, at: datetime | None = None) -> None:
    """Make it public now (or at ``at``, the official time of a due embargo).

    A retracted announcement stays retracted: its page says so, and readers were told.
    """
    if announcement.status is Status.PUBLISHED:
        return
    if announcement.status is Status.RETRACTED:
        raise NotAllowed("a retracted announcement cannot be published again")
    now = utcnow()
    announcement.status = Status.PUBLISHED
    announcement.published_at = announcement.published_at or at or now
    announcement.publish_at = None
    announcement.updated_at = max(now, announcement.published_at)
    db.session.flush()
    events.record(events.PUBLISHED, announcement)


def schedule(announcement: Announcement, when: datetime) -> None:
    """Embargo until ``when``: invisible everywhere until beat publishes it."""
    if announcement.status in (Status.PUBLISHED, Status.RETRACTED):
        raise NotAllowed(f"a {announcement.status.value} announcement cannot be scheduled")
    announcement.status = Status.SCHEDULED
    announcement.publish_at = when
    announcement.updated_at = utcnow()
    db.session.flush()
    events.record(events.SCHEDULED, announcement)


def unschedule(announcement: Announcement) -> None:
    """Back to draft: the embargo is lifted without publishing. A draft stays a draft; what
    readers have seen cannot go back to draft."""
    if announcement.status in (Status.PUBLISHED, Status.RETRACTED):
        raise NotAllowed(f"a {announcement.status.value} announcement is not scheduled")
    if announcement.status is Status.SCHEDULED:
        announcement.status = Status.DRAFT
        announcement.publish_at = None
        announcement.updated_at = utcnow()
        db.session.flush()
        events.record(events.UNSCHEDULED, announcement)


def retract(announcement: Announcement, reason: str | None = None) -> None:
    """Withdraw a published announcement: gone from lists, RSS and JSON Feed; its page answers
    410 with the date and ``reason``; its Atom feeds carry a tombstone for a while.

    ``reason`` is one line the caller has checked against ``text_rules`` (empty means none).
    Retracting again changes nothing, the first time and reason stand: readers were told.
    """
    if announcement.status is Status.RETRACTED:
        return
    if announcement.status is not Status.PUBLISHED:
        raise NotAllowed(f"only a published announcement can be retracted, not a "
                         f"{announcement.status.value} one")
    now = utcnow()
    announcement.status = Status.RETRACTED
    announcement.retracted_at = now
    announcement.retraction_reason = reason or None
    announcement.updated_at = now
    db.session.flush()
    events.record(events.RETRACTED, announcement)


def publish_due(now: datetime | None = None, limit: int = 100) -> int:
    """Publish scheduled announcements whose time has come; safe under concurrent beats."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.status == Status.SCHEDULED, Announcement.publish_at <= now)
        .order_by(Announcement.publish_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for announcement in due:
        publish(announcement, at=announcement.publish_at)
    db.session.commit()
    return len(due)
