"""Revisions: a snapshot per save, the differences between two, and what restoring one changes.

:func:`record` is called by the publishing functions themselves (``create`` and ``update``), so
every save keeps a revision whichever way it came in: the editor UI, the API or the importer.
A save that leaves the snapshot as it was (only the embargo time moved, say) adds none.

Submitting a draft for review is a revision too, with the status ``submitted``: the history
shows who asked for review and when, and no column is needed for it. Later saves of a draft
awaiting review keep that status until an editor schedules or publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from service.announcements.models import Announcement, Revision, Status
from service.announcements.word_diff import Row, side_by_side
from service.database import db, utcnow
from service.editors.models import Editor
from service.media import library

CONTENT_FIELDS = ("title", "summary", "body", "language", "tags", "partners", "image_id")
LABELS = {"image_id": "Featured image"}  # the rest: the field's name, capitalised
SUBMITTED = "submitted"


@dataclass(frozen=True)
class FieldDiff:
    """One field's two versions side by side, changed words marked (``word_diff``)."""

    field: str
    rows: list[Row]

    @property
    def label(self) -> str:
        return LABELS.get(self.field, self.field.capitalize())


def snapshot(announcement: Announcement) -> dict[str, Any]:
    return {
        "title": announcement.title,
        "summary": announcement.summary,
        "body": announcement.body,
        "language": announcement.language,
        "tags": sorted(t.slug for t in announcement.tags),
        "partners": sorted(p.slug for p in announcement.partners),
        "image_id": announcement.image_id,
    }


def latest(announcement_id: int) -> Revision | None:
    return db.session.scalars(
        sa.select(Revision)
        .where(Revision.announcement_id == announcement_id)
        .order_by(Revision.number.desc())
        .limit(1)
    ).first()


def _content(revision: Revision) -> dict[str, Any]:
    return {field: getattr(revision, field) for field in CONTENT_FIELDS}


def record(
    announcement: Announcement, editor_id: int | None, status: str | None = None
) -> Revision | None:
    """Keep the announcement as it is now (after a flush) as its next revision.

    Called after the row was written, so on PostgreSQL a concurrent save of the same
    announcement waits on the row lock and then numbers its revision after ours.
    """
    previous = latest(announcement.id)
    if status is None:
        status = announcement.status.value
        if (
            previous is not None
            and previous.status == SUBMITTED
            and announcement.status is Status.DRAFT
        ):
            status = SUBMITTED  # still awaiting review, now with these changes
    content = snapshot(announcement)
    if previous is not None and _content(previous) == content and previous.status == status:
        return None
    revision = Revision(
        announcement_id=announcement.id,
        number=(previous.number + 1) if previous else 1,
        editor_id=editor_id,
        created_at=utcnow(),
        status=status,
        **content,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def submit(announcement: Announcement, editor_id: int) -> Revision | None:
    """Ask an editor to review a draft; None if it was awaiting review already."""
    return record(announcement, editor_id, status=SUBMITTED)


def awaiting_review() -> sa.Select[int]:
    """Ids of drafts whose latest revision is a submission, as a subquery for filters."""
    newest = (
        sa.select(Revision.announcement_id, sa.func.max(Revision.number).label("number"))
        .group_by(Revision.announcement_id)
        .subquery()
    )
    return (
        sa.select(Revision.announcement_id)
        .join(
            newest,
            sa.and_(
                Revision.announcement_id == newest.c.announcement_id,
                Revision.number == newest.c.number,
            ),
        )
        .join(Announcement, Announcement.id == Revision.announcement_id)
        .where(Revision.status == SUBMITTED, Announcement.status == Status.DRAFT)
    )


def submitted_among(ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` await review: one query for a whole page of a list."""
    ids = list(ids)
    if not ids:
        return set()
    return set(db.session.scalars(awaiting_review().where(Revision.announcement_id.in_(ids))))


def history(announcement_id: int) -> list[tuple[Revision, str | None]]:
    """Every revision, newest first, with the address of the editor who saved it."""
    rows = db.session.execute(
        sa.select(Revision, Editor.email)
        .outerjoin(Editor, Editor.id == Revision.editor_id)
        .where(Revision.announcement_id == announcement_id)
        .order_by(Revision.number.desc())
    )
    return [(revision, email) for revision, email in rows]


def get(announcement_id: int, number: int) -> Revision | None:
    return db.session.scalars(
        sa.select(Revision).where(
            Revision.announcement_id == announcement_id, Revision.number == number
        )
    ).first()


def diff(old: Revision, new: Revision) -> list[FieldDiff]:
    """Field by field, only for the fields that differ: lines aligned, words compared (the
    featured image as its description and size)."""
    return [FieldDiff(field, side_by_side(_text(field, getattr(old, field)),
                                          _text(field, getattr(new, field))))
            for field in CONTENT_FIELDS if getattr(old, field) != getattr(new, field)]


def _text(field: str, value: Any) -> Any:
    """What the diff compares: the value itself, or for the image what an editor knows it by."""
    if field != "image_id":
        return value
    media = library.get(value) if value is not None else None  # a deleted one reads as None
    return "No featured image" if media is None else f"{media.alt} ({media.width} x {media.height})"


def changes_to_restore(revision: Revision) -> dict[str, Any]:
    """What ``publishing.update`` needs to bring the announcement back to ``revision``.

    The status is not restored: restoring text never publishes or retracts anything.
    """
    return _content(revision)
