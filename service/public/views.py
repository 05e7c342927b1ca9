"""Public pages: home, one announcement, a tag, a partner, the feeds, search. Published items
only.

Every list loads its announcements with their tags and partners in three queries, whatever the
number of items (``selectinload``); the feeds page counts with one grouped query per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy.orm import aliased, selectinload

from service import urls
from service.announcements import queries, translations
from service.announcements.languages import native_name
from service.announcements.models import (
    Announcement,
    Partner,
    Status,
    Tag,
    announcement_partners,
    announcement_tags,
)
from service.announcements.queries import TopicT
from service.announcements.rendering import is_rtl
from service.database import db
from service.feeds import scopes
from service.public import errors, previews, seo
from service.search import queries as search_queries
from service.search.backend import MAX_QUERY, Filters
from service.url_numbers import positive_int

bp = Blueprint("public", __name__)
seo.register(bp)
errors.register(bp)
previews.register(bp)

PER_PAGE = 20
SEARCH_PER_PAGE = 10
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
FEED_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


@bp.app_template_filter("text_direction")
def text_direction(language: str) -> str:
    """``"ar"``, ``"ar-EG"`` -> ``"rtl"``; everything else ``"ltr"`` (see ``is_rtl``)."""
    return "rtl" if is_rtl(language) else "ltr"


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    """A language in its own name (``languages.native_name``)."""
    return native_name(code)


def feed_links(scope: str, title: str) -> list[dict[str, str]]:
    """The three feeds of a scope, as ``<link rel="alternate">`` and visible links use them."""
    return [
        {
            "href": urls.feed(scopes.path(scope, fmt)),
            "type": FEED_TYPES[fmt],
            "title": f"{title} ({FEED_NAMES[fmt]})",
            "format": FEED_NAMES[fmt],
        }
        for fmt in scopes.FILENAMES
    ]


def _page() -> int:
    return positive_int(request.args.get("page"), default=1) or abort(404)


Filter = Callable[[Any], sa.ColumnElement[bool]]  # an entity (or alias) -> its condition


def _listing(where: Filter | None, page: int
             ) -> tuple[list[Announcement], bool, dict[int, list[dict[str, str]]]]:
    """A page of a listing: one card per translation group, the version published first
    among those the listing shows (what a reader of any language gets by email too), and for
    each card the other published versions ("Also in"). The group's other versions are found
    by an index probe per row (``ix_announcements_translation_group_language``), so the page
    stays an ordered range read with LIMIT, at any size."""
    a, earlier = Announcement, aliased(Announcement)
    before = sa.exists().where(
        earlier.translation_group == a.translation_group,
        earlier.status == Status.PUBLISHED,
        sa.or_(earlier.published_at < a.published_at,
               sa.and_(earlier.published_at == a.published_at, earlier.id < a.id)),
        *([where(earlier)] if where is not None else []),
    )
    query = (
        sa.select(a)
        .where(a.status == Status.PUBLISHED, sa.or_(a.translation_group.is_(None), ~before))
        .options(selectinload(a.tags), selectinload(a.partners))
        .order_by(a.published_at.desc(), a.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    )
    if where is not None:
        query = query.where(where(a))
    rows = list(db.session.scalars(query))
    if page > 1 and not rows:
        abort(404)
    items = rows[:PER_PAGE]
    return items, len(rows) > PER_PAGE, _also_in(items)


def _also_in(items: list[Announcement]) -> dict[int, list[dict[str, str]]]:
    """Each item's other published versions as language links (listings and search)."""
    also = {item_id: [_version_link(v) for v in others if v.status is Status.PUBLISHED]
            for item_id, others in translations.others_of_many(items).items()}
    return {k: v for k, v in also.items() if v}


@bp.get("/")
def home() -> str:
    page = _page()
    items, has_next, also = _listing(None, page)
    return render_template(
        "public/listing.html",
        heading="Announcements",
        items=items,
        also=also,
        page=page,
        has_next=has_next,
        feeds=feed_links(scopes.ALL, "All announcements"),
    )


@bp.get("/tags/<slug>")
def tag(slug: str) -> str:
    row = queries.public_by_slug(Tag, slug) or abort(404)
    page = _page()
    items, has_next, also = _listing(lambda entity: entity.tags.any(Tag.id == row.id), page)
    return render_template(
        "public/listing.html",
        heading=f"Tagged: {row.name}",
        meta=seo.page(f"Tagged: {row.name}", f"Announcements tagged {row.name}."),
        items=items,
        also=also,
        page=page,
        has_next=has_next,
        feeds=feed_links(f"tag:{slug}", f"Tagged {row.name}"),
    )


@bp.get("/partners/<slug>")
def partner(slug: str) -> str:
    row = queries.public_by_slug(Partner, slug) or abort(404)
    page = _page()
    items, has_next, also = _listing(
        lambda entity: entity.partners.any(Partner.id == row.id), page)
    return render_template(
        "public/listing.html",
        heading=f"Partner: {row.name}",
        meta=seo.page(row.name, f"Announcements about our partnership with {row.name}."),
        items=items,
        also=also,
        page=page,
        has_next=has_next,
        feeds=feed_links(f"partner:{slug}", row.name),
    )


@bp.get("/announcements/<slug>")
def announcement(slug: str) -> tuple[str, int]:
    item = db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.slug == slug)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    ).first()
    if item is None or item.status in (Status.DRAFT, Status.SCHEDULED):
        abort(404)  # an embargoed announcement does not exist for readers
    feeds = feed_links(scopes.ALL, "All announcements")
    if item.status is Status.RETRACTED:
        # 410 Gone: it existed and was withdrawn on purpose. The notice gives the date and the
        # editor's reason, not the title or the text, which may be what was wrong.
        return render_template("public/withdrawn.html", item=item, feeds=feeds), 410
    return render_template("public/announcement.html", item=item, feeds=feeds,
                           versions=_versions(item), meta=seo.announcement(item)), 200


def _versions(item: Announcement) -> list[dict[str, object]]:
    """Its published versions for the language switcher and ``hreflang`` (none: no switcher)."""
    return [
        {**_version_link(version), "title": version.title,
         "url": urls.announcement(version.slug), "current": version.id == item.id}
        for version in translations.public_versions(item)
    ]


def _version_link(version: Announcement) -> dict[str, str]:
    """A version as a language link: its language, that language's own name, its page."""
    return {"language": version.language, "name": native_name(version.language),
            "path": url_for("public.announcement", slug=version.slug)}


def _published_counts(model: type[TopicT], link: sa.Table) -> list[tuple[TopicT, int]]:
    """Each tag (or partner) with its number of published announcements, in one query."""
    column = link.c.tag_id if model is Tag else link.c.partner_id
    rows = db.session.execute(
        sa.select(model, sa.func.count(Announcement.id))
        .join(link, column == model.id)
        .join(Announcement, Announcement.id == link.c.announcement_id)
        .where(Announcement.status == Status.PUBLISHED)
        .group_by(model.id)
        .order_by(model.name)
    )
    return [(row, number) for row, number in rows]


@bp.get("/feeds")
def feeds() -> str:
    """Every feed: everything, each tag, each partner (those with something published)."""
    tags = [
        (row, n, feed_links(f"tag:{row.slug}", f"Tagged {row.name}"))
        for row, n in _published_counts(Tag, announcement_tags)
    ]
    partners = [
        (row, n, feed_links(f"partner:{row.slug}", row.name))
        for row, n in _published_counts(Partner, announcement_partners)
    ]
    return render_template(
        "public/feeds.html",
        tags=tags,
        partners=partners,
        feeds=feed_links(scopes.ALL, "All announcements"),
    )


def _filter_value(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value[:64] or None


@bp.get("/search")
def search() -> str:
    """``/search?q=...&tag=&partner=&language=&page=``: ranked, highlighted, paginated.

    Any text is a valid query (no syntax can fail); a page past the end is an empty page.
    """
    text = request.args.get("q", "")[:MAX_QUERY].strip()
    filters = Filters(tag=_filter_value("tag"), partner=_filter_value("partner"),
                      language=_filter_value("language"))
    page = _page()
    found = search_queries.search(text, filters, page=page, per_page=SEARCH_PER_PAGE) \
        if text else None
    params = {k: v for k, v in (("q", text), ("tag", filters.tag), ("partner", filters.partner),
                                ("language", filters.language)) if v}
    return render_template(
        "public/search.html",
        text=text,
        filters=filters,
        found=found,
        also=_also_in([result.item for result in found.results]) if found else {},
        params=params,
        tags=queries.public(Tag),
        partners=queries.public(Partner),
        languages=sorted(queries.public_languages()),
        feeds=feed_links(scopes.ALL, "All announcements"),
    )
