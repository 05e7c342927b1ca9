"""Public pages: home, one announcement, a tag, a partner. Published items only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.orm import selectinload

from service.announcements.models import Announcement, Partner, Status, Tag
from service.database import db
from service.feeds import scopes

bp = Blueprint("public", __name__)

PER_PAGE = 20


def _feed_links(scope: str, title: str) -> list[dict[str, str]]:
    base = current_app.config["BASE_URL"]
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml",
             "json": "application/feed+json"}
    names = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
    return [{"href": f"{base}/{scopes.path(scope, fmt)}", "type": types[fmt],
             "title": f"{title} ({names[fmt]})"} for fmt in scopes.FILENAMES]


def _page() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


def _listing(where: sa.ColumnElement[bool] | None, page: int) -> tuple[list[Announcement], bool]:
    query = (
        sa.select(Announcement)
        .where(Announcement.status == Status.PUBLISHED)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    )
    if where is not None:
        query = query.where(where)
    rows = list(db.session.scalars(query))
    if page > 1 and not rows:
        abort(404)
    return rows[:PER_PAGE], len(rows) > PER_PAGE


@bp.get("/")
def home() -> str:
    page = _page()
    items, has_next = _listing(None, page)
    return render_template("public/listing.html", heading="Announcements", items=items,
                           page=page, has_next=has_next,
                           feeds=_feed_links(scopes.ALL, "All announcements"))


@bp.get("/tags/<slug>")
def tag(slug: str) -> str:
    row = db.session.scalars(sa.select(Tag).where(Tag.slug == slug)).first() or abort(404)
    page = _page()
    items, has_next = _listing(Announcement.tags.any(Tag.id == row.id), page)
    return render_template("public/listing.html", heading=f"Tagged: {row.name}", items=items,
                           page=page, has_next=has_next,
                           feeds=_feed_links(f"tag:{slug}", row.name))


@bp.get("/partners/<slug>")
def partner(slug: str) -> str:
    row = db.session.scalars(sa.select(Partner).where(Partner.slug == slug)).first() or abort(404)
    page = _page()
    items, has_next = _listing(Announcement.partners.any(Partner.id == row.id), page)
    return render_template("public/listing.html", heading=f"Partner: {row.name}", items=items,
                           page=page, has_next=has_next,
                           feeds=_feed_links(f"partner:{slug}", row.name))


@bp.get("/announcements/<slug>")
def announcement(slug: str) -> tuple[str, int]:
    item = db.session.scalars(
        sa.select(Announcement).where(Announcement.slug == slug)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    ).first()
    if item is None or item.status in (Status.DRAFT, Status.SCHEDULED):
        abort(404)  # an embargoed announcement does not exist for readers
    status = 410 if item.status is Status.RETRACTED else 200
    return render_template("public/announcement.html", item=item,
                           feeds=_feed_links(scopes.ALL, "All announcements")), status
