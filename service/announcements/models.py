"""Announcements and the two ways readers follow them: tags (topics) and partners (agencies)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.database import Model, UTCDateTime, db, utcnow
from service.media.models import Media


class Status(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    RETRACTED = "retracted"


announcement_tags = sa.Table(
    "announcement_tags",
    db.metadata,
    sa.Column("announcement_id", sa.ForeignKey("announcements.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

announcement_partners = sa.Table(
    "announcement_partners",
    db.metadata,
    sa.Column("announcement_id", sa.ForeignKey("announcements.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("partner_id", sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Tag(Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))


class Partner(Model):
    """A partner agency or organisation (NASA, ESA, Roscosmos, the private sector...)."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))


class Announcement(Model):
    __tablename__ = "announcements"
    __table_args__ = (
        sa.Index("ix_announcements_status_published_at", "status", "published_at"),
        sa.Index("ix_announcements_status_publish_at", "status", "publish_at"),
        sa.Index("ix_announcements_status_retracted_at", "status", "retracted_at"),
        # One version per language in a translation group.
        sa.Index("ix_announcements_translation_group_language", "translation_group", "language",
                 unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The identity feeds and emails use: never changes, whatever is edited.
    uid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(sa.String(200), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, as the editor wrote it
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered and sanitized
    language: Mapped[str] = mapped_column(sa.String(35), default="en")
    status: Mapped[Status] = mapped_column(
        sa.Enum(Status, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e]),
        default=Status.DRAFT,
    )
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the embargo, if scheduled
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it was withdrawn and the editor's reason (one line, shown on its page and in the
    # Atom feeds' tombstones; None when none was given).
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retraction_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("editors.id", ondelete="SET NULL"))
    # The featured image (pages, list cards, emails, feeds, link previews); None: no image.
    image_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media.id", ondelete="SET NULL"), index=True)
    # The announcements sharing a group are translations of each other (None: no translation
    # linked). See ``service/announcements/translations.py``.
    translation_group: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)

    # selectin, not joined: a LEFT JOIN cannot be locked FOR UPDATE on PostgreSQL.
    image: Mapped[Media | None] = relationship(lazy="selectin")
    tags: Mapped[list[Tag]] = relationship(secondary=announcement_tags, order_by=Tag.slug)
    partners: Mapped[list[Partner]] = relationship(
        secondary=announcement_partners, order_by=Partner.slug
    )

    @property
    def is_public(self) -> bool:
        return self.status is Status.PUBLISHED

    def __repr__(self) -> str:
        return f"<Announcement {self.id} {self.slug!r} {self.status.value}>"


class Revision(Model):
    """A snapshot of an announcement as one save left it; editors compare and restore them."""

    __tablename__ = "announcement_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]  # 1, 2, 3... per announcement
    editor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("editors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(35))
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    partners: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(16))
    # The featured image this save left (None: none); an image deleted since reads as none.
    image_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media.id", ondelete="SET NULL"))

    __table_args__ = (sa.UniqueConstraint("announcement_id", "number"),)
