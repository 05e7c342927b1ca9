"""Where feeds are built: from the database to RSS, Atom and JSON Feed documents in Redis.

Workers call :func:`rebuild` when an event says which scopes changed. Builds of one scope are
serialised by a Redis lock, and each reads the database after taking it, so a slower build
started earlier can never overwrite a newer one.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from redis import Redis
from redis.lock import Lock
from sqlalchemy.orm import selectinload

from service import urls
from service.announcements import queries
from service.announcements.models import Announcement, Partner, Status, Tag
from service.database import db, utcnow
from service.extensions import get_redis
from service.feeds import archives, discovery, enclosures, scopes, store
from service.feeds.enclosures import FeedImage
from service.feeds.formats import FORMATS, FeedItem, FeedMeta
from service.feeds.models import FeedPosition
from service.feeds.tombstones import Tombstone
from service.media import library

LOCK_TIMEOUT = 60  # seconds; a build takes milliseconds, this only frees a dead worker's lock
AUTHOR = "International Partnerships Office"  # every item's author (RSS dc:creator)
FEED_IMAGE_WIDTH = 1600


class UnknownScope(LookupError):
    """No such tag or partner, or none readers may know of yet (``queries.is_public``)."""


def _scope_filter(scope: str) -> tuple[sa.ColumnElement[bool] | None, Tag | Partner | None]:
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


def _meta(scope: str, row: Tag | Partner | None, where: sa.ColumnElement[bool] | None) -> FeedMeta:
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


def _items(where: sa.ColumnElement[bool] | None, scope: str,
           positions: tuple[int, int | None]) -> list[FeedItem]:
    """The scope's published items at these positions (last: None, to the newest), newest
    first; a range of the primary key, so the cost does not grow with the history."""
    first, last = positions
    query = (
        sa.select(Announcement)
        .join(FeedPosition, FeedPosition.announcement_id == Announcement.id)
        .where(Announcement.status == Status.PUBLISHED, FeedPosition.scope == scope,
               FeedPosition.position >= first)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
    )
    if last is not None:
        query = query.where(FeedPosition.position <= last)
    if where is not None:
        query = query.where(where)
    items: list[FeedItem] = []
    for a in db.session.scalars(query):
        published = _published_at(a)
        url = urls.announcement(a.slug)
        image = _feed_image(a)
        items.append(FeedItem(
            id=entry_id(a.uid),
            url=url,
            title=a.title,
            summary=a.summary,
            content_html=enclosures.content_html(a.summary, a.body_html, url, image),
            published=published,
            updated=max(a.updated_at, published),
            language=a.language,
            categories=tuple((t.slug, t.name) for t in a.tags)
            + tuple((p.slug, p.name) for p in a.partners),
            author_name=AUTHOR,
            image=image,
        ))
    return items


def _feed_image(announcement: Announcement) -> FeedImage | None:
    """The featured image's copy feeds carry: 1600 wide, or the original when narrower."""
    if announcement.image is None:
        return None
    size = library.rendition(announcement.image, FEED_IMAGE_WIDTH)
    return FeedImage(library.url(str(size["name"])), str(size["type"]), int(size["bytes"]),
                     int(size["width"]), int(size["height"]), announcement.image.alt)


def _published_at(announcement: Announcement) -> datetime:
    """When a published announcement was published (publishing sets it with the status)."""
    if announcement.published_at is None:
        raise ValueError(f"{announcement!r} is published but has no published_at")
    return announcement.published_at


# Atom first: /feeds/atom.xml is the most read feed, and _store writes in this order.
_ORDER = ("atom", *(fmt for fmt in FORMATS if fmt != "atom"))


def _render(meta: FeedMeta, items: list[FeedItem], links: archives.Links
            ) -> Iterator[tuple[str, tuple[str, bytes]]]:
    """``(fmt, (content type, bytes))`` of each format, Atom first, each rendered only when
    the one before it has been stored."""
    for fmt in _ORDER:
        ctype, render = FORMATS[fmt]
        yield fmt, (ctype, archives.decorate(fmt, render(meta, items), links))


def _page_meta(meta: FeedMeta, scope: str, number: int) -> FeedMeta:
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
    where, row = _scope_filter(scope)
    lay = archives.layout(scope)
    return dict(_render(_meta(scope, row, where),
                        _items(where, scope, (lay.first_current, None)),
                        archives.subscription_links(scope, lay)))


def render_page(scope: str, number: int) -> dict[str, tuple[str, bytes]]:
    """Archive page ``number`` of one scope in every format. Raises UnknownScope, and
    LookupError for a page that does not exist (yet)."""
    where, row = _scope_filter(scope)
    lay = archives.layout(scope)
    if not 1 <= number <= lay.archived:
        raise LookupError(f"{scope} has no archive page {number}")
    return dict(_render(_page_meta(_meta(scope, row, where), scope, number),
                        _items(where, scope, lay.positions(number)),
                        archives.page_links(scope, number, lay)))


def _lock(scope: str) -> Lock:
    conn = get_redis()
    lock: Lock = conn.lock(f"newsroom:lock:feed:{scope}", timeout=LOCK_TIMEOUT,
                           blocking_timeout=LOCK_TIMEOUT)
    return lock


def _remove_all(conn: Redis, scope: str, export_dir: Path | None) -> None:
    """A scope that must not exist: its feeds and every archive page stored for it."""
    for fmt in scopes.FILENAMES:
        store.remove(conn, scope, fmt, export_dir)
    _remove_pages_from(conn, scope, 1, export_dir)


def _remove_pages_from(conn: Redis, scope: str, number: int, export_dir: Path | None) -> None:
    """Archive pages from ``number`` on (pages exist in an unbroken run from 1)."""
    while conn.exists(store.key(scopes.page(scope, number), "atom")):
        for fmt in scopes.FILENAMES:
            store.remove(conn, scopes.page(scope, number), fmt, export_dir)
        number += 1


def _store(conn: Redis, scope: str, document: str,
           formats: Iterable[tuple[str, tuple[str, bytes]]]) -> None:
    export_dir = current_app.config["SETTINGS"].feed_export_dir
    for fmt, (ctype, body) in formats:
        link = (discovery.link_header(scope, fmt) if document == scope
                else archives.link_header(document, fmt))
        store.put(conn, document, fmt, body, ctype, export_dir, link=link)


def _store_page(conn: Redis, scope: str, meta: FeedMeta, where: sa.ColumnElement[bool] | None,
                lay: archives.Layout, number: int) -> None:
    _store(conn, scope, scopes.page(scope, number), _render(
        _page_meta(meta, scope, number), _items(where, scope, lay.positions(number)),
        archives.page_links(scope, number, lay)))
    db.session.expunge_all()  # a long run of pages must not keep every page's rows


def rebuild_scope(scope: str, changed: Collection[int] | None = None,
                  every_page: bool = False) -> bool:
    """Build and store one scope under its lock; False (and its feeds removed) when the tag or
    partner is unknown or not public.

    ``changed``: the announcements an event is about. Those not placed in the scope's history
    yet get the next positions; the archive pages holding them are rebuilt. None: every
    published announcement of the scope without a position is placed (a catch-up that reads
    the whole scope: the CLI, tests, a feed built on demand). The subscription feed is always
    rebuilt and stored first, then a page newly cut and the one before it. ``every_page``:
    then every archive page (``flask feeds rebuild``). More than ``PAGES_PER_LOCK`` pages are
    built by :func:`_build_pages`, a batch per lock.
    """
    conn = get_redis()
    with _lock(scope):
        db.session.rollback()  # read what is committed now, not an older snapshot
        try:
            where, row = _scope_filter(scope)
        except UnknownScope:
            # Also what an earlier build left, e.g. a tag whose only published announcement
            # lost it, or one built before the public rule existed.
            db.session.rollback()
            _remove_all(conn, scope, current_app.config["SETTINGS"].feed_export_dir)
            return False
        try:
            before = archives.layout(scope)
            archives.assign(scope, where, changed, before.newest)
            lay = archives.layout(scope)
            if lay.newest != before.newest:  # a durable commit only when positions were given
                db.session.commit()
            meta = _meta(scope, row, where)
            _store(conn, scope, scope, _render(
                meta, _items(where, scope, (lay.first_current, None)),
                archives.subscription_links(scope, lay)))
            pages = archives.pages_to_rebuild(before, lay)
            pages |= archives.pages_holding(scope, changed or (), lay)
            if lay.archived and not conn.exists(store.key(scopes.page(scope, lay.archived),
                                                          "atom")):
                pages |= {lay.archived, *([lay.archived - 1] if lay.archived > 1 else [])}
            batched = every_page or len(pages) > PAGES_PER_LOCK
            for number in sorted(() if batched else pages, reverse=True):
                _store_page(conn, scope, meta, where, lay, number)
        finally:
            db.session.rollback()
    if batched:  # many pages (a catch-up placed many items, or every page): a batch per lock
        _build_pages(conn, scope, None if every_page else sorted(pages))
    return True


PAGES_PER_LOCK = 20  # a full rebuild lets the workers' builds in between (LOCK_TIMEOUT)


def _build_pages(conn: Redis, scope: str, numbers: list[int] | None) -> None:
    """Archive pages of a scope (``None``: every one, and pages past the newest removed, e.g.
    after a larger ARCHIVE_PAGE_SIZE), ``PAGES_PER_LOCK`` at a time, each batch under the
    scope's lock from a fresh read, so a publish or edit a worker builds in between is never
    overwritten by an older page and no lock is held past LOCK_TIMEOUT."""
    done = 0
    while True:
        with _lock(scope):
            db.session.rollback()
            try:
                where, row = _scope_filter(scope)
                lay = archives.layout(scope)
                meta = _meta(scope, row, where)
                wanted = (list(range(1, lay.archived + 1)) if numbers is None
                          else [n for n in numbers if n <= lay.archived])
                for page in wanted[done:done + PAGES_PER_LOCK]:
                    _store_page(conn, scope, meta, where, lay, page)
            except UnknownScope:
                return
            finally:
                db.session.rollback()
            done += PAGES_PER_LOCK
            if done >= len(wanted):
                if numbers is None:
                    _remove_pages_from(conn, scope, lay.archived + 1,
                                       current_app.config["SETTINGS"].feed_export_dir)
                return


def build_page(scope: str, number: int) -> bool:
    """Build one archive page that is missing from Redis (a request for it came first); False
    when the scope or the page does not exist."""
    with _lock(scope):
        db.session.rollback()
        try:
            documents = render_page(scope, number)
        except LookupError:  # UnknownScope too
            return False
        finally:
            db.session.rollback()
        _store(get_redis(), scope, scopes.page(scope, number), documents.items())
    return True


def rebuild(scope_list: Iterable[str], changed: Collection[int] | None = None,
            every_page: bool = False) -> int:
    """Rebuild several scopes, the all-announcements feed first (the most read)."""
    ordered = sorted(set(scope_list), key=lambda s: (s != scopes.ALL, s))
    return sum(rebuild_scope(scope, changed, every_page) for scope in ordered)


def all_scopes() -> list[str]:
    """Every scope a feed may exist for; rebuilding a tag or partner not public removes its feed."""
    tags = db.session.scalars(sa.select(Tag.slug)).all()
    partners = db.session.scalars(sa.select(Partner.slug)).all()
    return [scopes.ALL, *(f"tag:{s}" for s in tags), *(f"partner:{s}" for s in partners)]
