"""What a feed document holds, read from the database and rendered in every format.

A document is a scope's subscription feed or one of its archive pages: its metadata
(:func:`meta`), its items at a range of the scope's positions (:func:`items`), and the three
formats rendered from them (:func:`render`). Pure reads; storing and locking are ``build``'s.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from service import urls
from service.announcements import queries
from service.announcements.models import (
    Announcement,
    Partner,
    Status,
    Tag,
    announcement_partners,
    announcement_tags,
)
from service.database import among, db, utcnow
from service.feeds import archives, discovery, enclosures, scopes
from service.feeds.enclosures import FeedImage
from service.feeds.formats import FORMATS, FeedItem, FeedMeta
from service.feeds.models import FeedPosition
from service.feeds.tombstones import Tombstone
from service.media import library
from service.media.models import Media

AUTHOR = "International Partnerships Office"  # every item's author (RSS dc:creator)
FEED_IMAGE_WIDTH = 1600


class UnknownScope(LookupError):
    """No such tag or partner, or none readers may know of yet (``queries.is_public``)."""


def scope_filter(scope: str) -> tuple[sa.ColumnElement[bool] | None, Tag | Partner | None]:
    kind, slug = scopes.split(scope)
    if kind == scopes.ALL or slug is None:  # split gives a slug to every other kind
        return None, None
    if kind == "tag":
        tag = queries.public_by_slug(Tag, slug)
        if tag is None:
            raise UnknownScope(scope)
        return Announcement.tags.any(Tag.id == tag.id), tag
    partner = queries.public_by_slug(Partner, slug)
    if partner is None:
        raise UnknownScope(scope)
    return Announcement.partners.any(Partner.id == partner.id), partner


def entry_id(uid: uuid.UUID) -> str:
    """An announcement's id in every feed (Atom id, RSS guid, JSON id, tombstone ref)."""
    return f"urn:uuid:{uid}"


def _tombstones(where: sa.ColumnElement[bool] | None) -> tuple[Tombstone, ...]:
    """The scope's announcements retracted in the last ``TOMBSTONE_DAYS``, newest first."""
    days = current_app.config["SETTINGS"].tombstone_days
    if days <= 0:
        return ()
    query = (
        sa.select(Announcement.uid, Announcement.retracted_at, Announcement.retraction_reason)
        .where(Announcement.status == Status.RETRACTED,
               Announcement.retracted_at >= utcnow() - timedelta(days=days))
        .order_by(Announcement.retracted_at.desc(), Announcement.id.desc())
        .limit(current_app.config["FEED_SIZE"])
    )
    if where is not None:
        query = query.where(where)
    rows: Iterable[tuple[uuid.UUID, datetime | None, str | None]] = db.session.execute(query)
    return tuple(Tombstone(entry_id(uid), when, reason or "")
                 for uid, when, reason in rows if when is not None)  # the filter saw to it


def feed_meta(scope: str, row: Tag | Partner | None, where: sa.ColumnElement[bool] | None
              ) -> FeedMeta:
    kind, slug = scopes.split(scope)
    if row is None:
        title, description, home = ("Newsroom: all announcements",
                                    "Announcements of the international partnerships office.",
                                    urls.absolute("/"))
    elif kind == "tag":
        title, description, home = (f"Newsroom: {row.name}",
                                    f"Announcements tagged {row.name}.", urls.tag(row.slug))
    else:
        title, description, home = (f"Newsroom: {row.name}",
                                    f"Announcements about our partnership with {row.name}.",
                                    urls.partner(row.slug))
    retracted = sa.select(sa.func.max(Announcement.updated_at)).where(
        Announcement.status == Status.RETRACTED
    )
    if where is not None:
        retracted = retracted.where(where)
    return FeedMeta(
        id="urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, urls.absolute(f"/feeds/{scope}"))),
        title=title,
        description=description,
        home_url=home,
        self_urls={fmt: urls.feed(scopes.path(scope, fmt)) for fmt in scopes.FILENAMES},
        language="en",
        author_name=AUTHOR,
        updated=db.session.scalar(retracted),
        hubs=discovery.hub_urls(),
        tombstones=_tombstones(where),
    )


def feed_items(where: sa.ColumnElement[bool] | None, scope: str,
               positions: tuple[int, int | None]) -> list[FeedItem]:
    """The scope's published items at these positions (last: None, to the newest), newest
    first; a range of the primary key, so the cost does not grow with the history.

    Read as rows, not ORM objects: a build runs after every publish, and the identity map
    and three eager loads (tags, partners, image) of a whole feed's announcements were most
    of its time. Four queries: the positions' ids, those announcements, their tags and
    partners together, and the featured images (only when one of them has one)."""
    first, last = positions
    a = Announcement
    # The positions first, by the primary key's range: joined in one query, the planner may
    # walk every published announcement in published_at order to meet the range (100,000
    # at 100,000 announcements), where this reads the feed's 50-99 ids alone.
    placed = sa.select(FeedPosition.announcement_id).where(
        FeedPosition.scope == scope, FeedPosition.position >= first)
    if last is not None:
        placed = placed.where(FeedPosition.position <= last)
    ids = list(db.session.scalars(placed))
    if not ids:
        return []
    dialect = db.session.get_bind().dialect.name
    query = (
        sa.select(a.id, a.uid, a.slug, a.title, a.summary, a.body_html, a.published_at,
                  a.updated_at, a.language, a.image_id)
        .where(among(a.id, "ids", dialect), a.status == Status.PUBLISHED)
        .order_by(a.published_at.desc(), a.id.desc())
    )
    if where is not None:
        query = query.where(where)
    rows = db.session.execute(query, {"ids": ids}).all()
    categories = _categories([row.id for row in rows])
    images = _images([row.image_id for row in rows if row.image_id is not None])
    items: list[FeedItem] = []
    for row in rows:
        if row.published_at is None:
            raise ValueError(f"announcement {row.id} is published but has no published_at")
        url = urls.announcement(row.slug)
        image = images.get(row.image_id) if row.image_id is not None else None
        items.append(FeedItem(
            id=entry_id(row.uid),
            url=url,
            title=row.title,
            summary=row.summary,
            content_html=enclosures.content_html(row.summary, row.body_html, url, image),
            published=row.published_at,
            updated=max(row.updated_at, row.published_at),
            language=row.language,
            categories=categories.get(row.id, ()),
            author_name=AUTHOR,
            image=image,
        ))
    return items


def _categories(ids: list[int]) -> dict[int, tuple[tuple[str, str], ...]]:
    """Each announcement's ``(slug, name)`` categories: its tags, then its partners, each
    by slug (as ``Announcement.tags`` and ``.partners`` are ordered); one query."""
    if not ids:
        return {}
    found: dict[int, list[tuple[str, str]]] = {}
    statement = _categories_statement(db.session.get_bind().dialect.name)
    for owner, _, slug, name in db.session.execute(statement, {"ids": ids}):
        found.setdefault(owner, []).append((slug, name))
    return {owner: tuple(pairs) for owner, pairs in found.items()}


@functools.cache
def _categories_statement(dialect: str) -> sa.Select[Any]:
    """Built once per dialect: a union of two joins cost more to build than to run."""
    at, ap = announcement_tags.c, announcement_partners.c
    both = sa.union_all(
        sa.select(at.announcement_id.label("owner"), sa.literal(0).label("kind"),
                  Tag.slug, Tag.name).join(Tag, Tag.id == at.tag_id)
        .where(among(at.announcement_id, "ids", dialect)),
        sa.select(ap.announcement_id.label("owner"), sa.literal(1).label("kind"),
                  Partner.slug, Partner.name).join(Partner, Partner.id == ap.partner_id)
        .where(among(ap.announcement_id, "ids", dialect)),
    ).subquery()
    return sa.select(both).order_by(both.c.owner, both.c.kind, both.c.slug)


def _images(ids: list[int]) -> dict[int, FeedImage]:
    """The featured images' copies feeds carry, by media id."""
    if not ids:
        return {}
    return {media.id: _feed_image(media)
            for media in db.session.scalars(sa.select(Media).where(Media.id.in_(set(ids))))}


def _feed_image(media: Media) -> FeedImage:
    """The featured image's copy feeds carry: 1600 wide, or the original when narrower."""
    size = library.rendition(media, FEED_IMAGE_WIDTH)
    return FeedImage(library.url(str(size["name"])), str(size["type"]), int(size["bytes"]),
                     int(size["width"]), int(size["height"]), media.alt)


# Atom first: /feeds/atom.xml is the most read feed, and build stores in this order.
_ORDER = ("atom", *(fmt for fmt in FORMATS if fmt != "atom"))


def render(meta: FeedMeta, items: list[FeedItem], links: archives.Links
           ) -> Iterator[tuple[str, tuple[str, bytes]]]:
    """``(fmt, (content type, bytes))`` of each format, Atom first, each rendered only when
    the one before it has been stored."""
    for fmt in _ORDER:
        ctype, renderer = FORMATS[fmt]
        yield fmt, (ctype, archives.decorate(fmt, renderer(meta, items), links))


def page_meta(meta: FeedMeta, scope: str, number: int) -> FeedMeta:
    """An archive page says what the subscription feed says, minus what only it carries (hubs:
    pages are no WebSub topic; tombstones; the retraction time, so a page's bytes depend on its
    own items alone)."""
    document = scopes.page(scope, number)
    return dataclasses.replace(
        meta, title=f"{meta.title} (archive page {number})",
        self_urls={fmt: archives.url(document, fmt) for fmt in scopes.FILENAMES},
        updated=None, hubs=(), tombstones=())


def render_scope(scope: str) -> dict[str, tuple[str, bytes]]:
    """The subscription feed of one scope in every format: ``{fmt: (content type, bytes)}``.
    Raises UnknownScope."""
    where, row = scope_filter(scope)
    lay = archives.layout(scope)
    return dict(render(feed_meta(scope, row, where),
                       feed_items(where, scope, (lay.first_current, None)),
                       archives.subscription_links(scope, lay)))


def render_page(scope: str, number: int) -> dict[str, tuple[str, bytes]]:
    """Archive page ``number`` of one scope in every format. Raises UnknownScope, and
    LookupError for a page that does not exist (yet)."""
    where, row = scope_filter(scope)
    lay = archives.layout(scope)
    if not 1 <= number <= lay.archived:
        raise LookupError(f"{scope} has no archive page {number}")
    return dict(render(page_meta(feed_meta(scope, row, where), scope, number),
                       feed_items(where, scope, lay.positions(number)),
                       archives.page_links(scope, number, lay)))


