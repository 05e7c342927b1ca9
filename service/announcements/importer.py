"""Import announcements from Markdown files with front matter (the ``content/`` folder).

Idempotent: the slug is the identity, so a re-import updates what changed and never adds a
second copy; with ``leave_existing`` (what ``make dev`` does on every start) it only creates
the items that are missing and leaves the others as editors made them. Changes reach the feeds
through the same outbox events as API writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import frontmatter
import sqlalchemy as sa
import yaml

from service.announcements import publishing, text_rules
from service.announcements.models import Announcement, Status
from service.database import db


class ContentError(ValueError):
    """A file that cannot be imported; the message names the file and the field."""


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # present already, not compared (leave_existing)


def _when(value: Any, path: Path, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ContentError(f"{path.name}: {name} {value!r} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _slugs(value: Any, path: Path, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContentError(f"{path.name}: {name} must be a list of slugs")
    return value


def load(path: Path) -> dict[str, Any]:
    try:
        post = frontmatter.load(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError(f"{path.name}: unreadable front matter ({exc})") from None
    meta = post.metadata
    if not meta.get("title"):
        raise ContentError(f"{path.name}: title is missing")
    problems = {"title": text_rules.title_problem(str(meta["title"])),
                "summary": text_rules.text_problem(str(meta.get("summary") or "")),
                "body": text_rules.text_problem(post.content)}
    for name, problem in problems.items():
        if problem:
            raise ContentError(f"{path.name}: {name} {problem}")
    return {
        "title": str(meta["title"]),
        "slug": str(meta.get("slug") or publishing.make_slug(str(meta["title"]))),
        "summary": str(meta.get("summary") or ""),
        "body": post.content,
        "language": str(meta.get("language") or "en"),
        "tags": _slugs(meta.get("tags"), path, "tags"),
        "partners": _slugs(meta.get("partners"), path, "partners"),
        "published_at": _when(meta.get("published_at"), path, "published_at"),
        "updated_at": _when(meta.get("updated_at"), path, "updated_at"),
    }


def import_directory(directory: Path, leave_existing: bool = False) -> ImportReport:
    """Import every ``*.md`` (but README.md) in ``directory``, in one transaction per file.

    ``leave_existing``: an announcement whose slug exists already is not touched at all.
    """
    report = ImportReport()
    for path in sorted(directory.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        data = load(path)
        existing = db.session.scalars(
            sa.select(Announcement).where(Announcement.slug == data["slug"])
        ).first()
        if existing is None:
            announcement = publishing.create(
                title=data["title"], slug=data["slug"], summary=data["summary"],
                body=data["body"], language=data["language"], tags=data["tags"],
                partners=data["partners"],
                status=Status.PUBLISHED if data["published_at"] else Status.DRAFT,
                published_at=data["published_at"],
            )
            if data["updated_at"]:
                announcement.updated_at = data["updated_at"]
            elif data["published_at"]:
                announcement.updated_at = announcement.created_at = data["published_at"]
            report.created.append(data["slug"])
        elif leave_existing:
            report.left.append(data["slug"])
        else:
            change = publishing.update(existing, {
                k: data[k] for k in ("title", "summary", "body", "language", "tags", "partners")
            })
            (report.updated if change.fields else report.unchanged).append(data["slug"])
        db.session.commit()
    return report
