"""Where feeds are built: from the database to RSS, Atom and JSON Feed documents in Redis.

Workers call :func:`rebuild` when an event says which scopes changed. Builds of one scope are
serialised by a Redis lock, and each reads the database after taking it, so a slower build
started earlier can never overwrite a newer one. What a document holds and how it is
rendered is ``documents``'; here are the locks, the order and the storing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from redis import Redis
from redis.lock import Lock

from service.announcements.models import Partner, Tag
from service.database import db
from service.extensions import get_redis
from service.feeds import archives, discovery, documents, scopes, store
from service.feeds.documents import UnknownScope
from service.feeds.formats import FeedMeta

LOCK_TIMEOUT = 60  # seconds; a build takes milliseconds, this only frees a dead worker's lock


# How often a build waiting for a scope's lock tries again. redis-py's default (0.1 s) made
# the next publish's feed wait a tenth of a second whenever it arrived while the previous
# build was still storing its RSS and JSON; a try is one SET NX.
LOCK_RETRY = 0.002


def _lock(scope: str) -> Lock:
    conn = get_redis()
    lock: Lock = conn.lock(f"newsroom:lock:feed:{scope}", timeout=LOCK_TIMEOUT,
                           sleep=LOCK_RETRY, blocking_timeout=LOCK_TIMEOUT)
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
    current = store.versions(conn, document, scopes.FILENAMES)  # one round trip, not three
    for fmt, (ctype, body) in formats:
        link = (discovery.link_header(scope, fmt) if document == scope
                else archives.link_header(document, fmt))
        store.put(conn, document, fmt, body, ctype, export_dir, link=link, current=current[fmt])


def _store_page(conn: Redis, scope: str, meta: FeedMeta, where: sa.ColumnElement[bool] | None,
                lay: archives.Layout, number: int) -> None:
    _store(conn, scope, scopes.page(scope, number), documents.render(
        documents.page_meta(meta, scope, number),
        documents.feed_items(where, scope, lay.positions(number)),
        archives.page_links(scope, number, lay)))
    db.session.expunge_all()  # a long run of pages must not keep every page's rows


def rebuild_scope(scope: str, changed: Collection[int] | None = None,
                  every_page: bool = False) -> bool:
    """Build and store one scope; False (and its feeds removed) when the tag or partner is
    unknown or not public.

    ``changed``: the announcements an event is about. Those not placed in the scope's history
    yet get the next positions; the archive pages holding them are rebuilt. None: every
    published announcement of the scope without a position is placed (a catch-up that reads
    the whole scope: the CLI, tests, a feed built on demand). The subscription feed is built
    and stored first, under the scope's lock; then, a batch per lock, a page newly cut and
    the one before it, or with ``every_page`` every archive page (``flask feeds rebuild``).
    """
    return rebuild([scope], changed, every_page) == 1


def _rebuild_subscription(scope: str, changed: Collection[int] | None) -> set[int] | None:
    """The subscription feed of one scope, under its lock; returns the archive pages that
    need building after it (None: the scope does not exist, its feeds are removed). Pages are
    left to :func:`_build_pages`, so the lock is not held while they render: the next
    publish's subscription feed never waits behind a page just cut."""
    conn = get_redis()
    with _lock(scope):
        db.session.rollback()  # read what is committed now, not an older snapshot
        try:
            where, row = documents.scope_filter(scope)
        except UnknownScope:
            # Also what an earlier build left, e.g. a tag whose only published announcement
            # lost it, or one built before the public rule existed.
            db.session.rollback()
            _remove_all(conn, scope, current_app.config["SETTINGS"].feed_export_dir)
            return None
        try:
            before = archives.layout(scope)
            placed = archives.assign(scope, where, changed, before.newest)
            lay = dataclasses.replace(before, newest=before.newest + placed)
            if placed:  # a durable commit only when positions were given
                db.session.commit()
            _store(conn, scope, scope, documents.render(
                documents.feed_meta(scope, row, where),
                documents.feed_items(where, scope, (lay.first_current, None)),
                archives.subscription_links(scope, lay)))
            pages = archives.pages_to_rebuild(before, lay)
            if changed is not None and placed < len(set(changed)):
                # Some were placed before (an edit, a retraction): their pages change. Those
                # placed just now are above every archived position.
                pages |= archives.pages_holding(scope, changed, lay)
            if lay.archived and not conn.exists(store.key(scopes.page(scope, lay.archived),
                                                          "atom")):
                pages |= {lay.archived, *([lay.archived - 1] if lay.archived > 1 else [])}
            return pages
        finally:
            db.session.rollback()


PAGES_PER_LOCK = 20  # a full rebuild lets the workers' builds in between (LOCK_TIMEOUT)


def _build_pages(conn: Redis, scope: str, numbers: list[int] | None) -> None:
    """Archive pages of a scope (``None``: every one, and pages past the newest removed, e.g.
    after a larger ARCHIVE_PAGE_SIZE), ``PAGES_PER_LOCK`` at a time, each batch under the
    scope's lock from a fresh read, so a publish or edit a worker builds in between is never
    overwritten by an older page and no lock is held past LOCK_TIMEOUT. The few pages of a
    publish (up to ``PAGES_PER_LOCK``) take the lock one page at a time, so a subscription feed
    waits behind one page at most."""
    if numbers is not None and not numbers:
        return
    per_lock = PAGES_PER_LOCK if numbers is None or len(numbers) > PAGES_PER_LOCK else 1
    done = 0
    while True:
        with _lock(scope):
            db.session.rollback()
            try:
                where, row = documents.scope_filter(scope)
                lay = archives.layout(scope)
                meta = documents.feed_meta(scope, row, where)
                wanted = (list(range(1, lay.archived + 1)) if numbers is None
                          else [n for n in numbers if n <= lay.archived])
                for page in wanted[done:done + per_lock]:
                    _store_page(conn, scope, meta, where, lay, page)
            except UnknownScope:
                return
            finally:
                db.session.rollback()
            done += per_lock
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
            rendered = documents.render_page(scope, number)
        except LookupError:  # UnknownScope too
            return False
        finally:
            db.session.rollback()
        _store(get_redis(), scope, scopes.page(scope, number), rendered.items())
    return True


def rebuild(scope_list: Iterable[str], changed: Collection[int] | None = None,
            every_page: bool = False, then: Callable[[], None] | None = None) -> int:
    """Rebuild several scopes: every subscription feed first, the all-announcements feed
    first of all (the most read), then the archive pages they need. ``then`` runs once every
    subscription feed is stored and before the pages: the work that sends or announces the
    new feeds (WebSub's hand-off) does not wait for a page cut, as pages are nobody's topic.
    Should ``then`` raise, the pages are left for the event's next run (its positions are
    placed by then, so that run rebuilds the pages holding them, and a missing newest page
    is always built)."""
    ordered = sorted(set(scope_list), key=lambda s: (s != scopes.ALL, s))
    pending = {scope: _rebuild_subscription(scope, changed) for scope in ordered}
    if then is not None:
        then()
    for scope, pages in pending.items():
        if pages is not None:
            _build_pages(get_redis(), scope, None if every_page else sorted(pages))
    return sum(pages is not None for pages in pending.values())


def all_scopes() -> list[str]:
    """Every scope a feed may exist for; rebuilding a tag or partner not public removes its feed."""
    tags = db.session.scalars(sa.select(Tag.slug)).all()
    partners = db.session.scalars(sa.select(Partner.slug)).all()
    return [scopes.ALL, *(f"tag:{s}" for s in tags), *(f"partner:{s}" for s in partners)]
