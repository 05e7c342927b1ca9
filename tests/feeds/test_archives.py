"""RFC 5005 archived feeds: every scope's whole history, each published item exactly once.

Small pages (FEED_SIZE 3, ARCHIVE_PAGE_SIZE 4) so a dozen announcements make several pages.
The chain is walked as a reader would: from the subscription feed, following the links
feedparser reads (Atom, RSS) or JSON Feed's ``next_url``, through the app's URLs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from service.announcements import events as announcement_events
from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db
from service.extensions import get_redis
from service.feeds import archives, build, scopes, store
from service.feeds import events as feed_events
from service.feeds.formats import render_atom, render_json, render_rss
from service.feeds.models import FeedPosition
from service.outbox.models import OutboxEvent
from tests import factories
from tests.feeds.test_formats import (
    ATOM,
    FH,
    assert_valid_atom,
    assert_valid_json_feed,
    check_rss_profile,
    make_items,
    make_meta,
    parse_feed,
    xml,
)
from tests.fixtures.app import TEST_BASE_URL
from tests.waiting import wait_for

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
BASE = "https://news.example.org/feeds/tags/esa"


@pytest.fixture
def small_pages(ctx: Flask) -> Iterator[Flask]:
    sizes = ctx.config["FEED_SIZE"], ctx.config["ARCHIVE_PAGE_SIZE"]
    ctx.config.update(FEED_SIZE=3, ARCHIVE_PAGE_SIZE=4)
    yield ctx
    ctx.config["FEED_SIZE"], ctx.config["ARCHIVE_PAGE_SIZE"] = sizes


def _publish(app: Flask, number: int, **fields: Any) -> int:
    """One announcement, and the rebuild its event makes the worker do."""
    item = factories.announcement(app, title=f"Item {number:02d}",
                                  published_at=T0 + timedelta(minutes=number), **fields)
    with app.app_context():
        build.rebuild(["all", *(f"tag:{t}" for t in fields.get("tags", ()))], changed=(item,))
    return item


def _uid(app: Flask, item_id: int) -> str:
    with app.app_context():
        return f"urn:uuid:{db.session.get(Announcement, item_id).uid}"


def _etags() -> dict[str, str]:
    """Every stored document of every scope -> its ETag."""
    conn = get_redis()
    return {key.decode(): conn.hget(key, "etag").decode()
            for key in conn.scan_iter(f"{store.PREFIX}*")}


# --- the documents ---------------------------------------------------------------------


def test_layout_cuts_complete_pages_below_the_newest_feed_size() -> None:
    lay = archives.Layout(newest=0, page_size=4, feed_size=3)
    assert (lay.archived, lay.first_current) == (0, 1)
    for newest, archived in [(6, 0), (7, 1), (10, 1), (11, 2), (15, 3)]:
        lay = archives.Layout(newest=newest, page_size=4, feed_size=3)
        assert lay.archived == archived, newest
        held = newest - lay.first_current + 1  # what the subscription feed holds
        assert 3 <= held <= 3 + 4 - 1
    lay = archives.Layout(newest=11, page_size=4, feed_size=3)
    assert lay.positions(2) == (5, 8) and lay.page_of(8) == 2 and lay.page_of(9) is None


def _page_meta() -> Any:
    return make_meta(self_urls={fmt: f"{BASE}/archive/2/{name}"
                                for fmt, name in scopes.FILENAMES.items()})


@pytest.fixture
def plain_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """archives.url without an app: the documents' URLs under news.example.org."""
    monkeypatch.setattr(archives, "url", lambda document, fmt:
                        "https://news.example.org/" + scopes.path(document, fmt))


def test_archive_pages_are_valid_atom_and_rss_and_json(plain_urls: None) -> None:
    meta, items = _page_meta(), make_items()
    links = archives.Links(prev="tag:esa@1", next="tag:esa@3", current="tag:esa")

    atom = archives.decorate("atom", render_atom(meta, items), links)
    root = assert_valid_atom(atom)
    assert root.find(f"{{{FH}}}archive") is not None
    found = {link.get("rel"): link.get("href") for link in root.findall(f"{{{ATOM}}}link")}
    assert found["current"] == f"{BASE}/atom.xml"
    assert found["prev-archive"] == f"{BASE}/archive/1/atom.xml"
    assert found["next-archive"] == f"{BASE}/archive/3/atom.xml"
    assert found["self"] == f"{BASE}/archive/2/atom.xml"
    parsed = parse_feed(atom)
    assert {link.rel for link in parsed.feed.links} >= {"current", "prev-archive",
                                                         "next-archive", "self"}
    assert len(parsed.entries) == len(items)

    rss = archives.decorate("rss", render_rss(meta, items), links)
    channel = check_rss_profile(rss, meta, items).find("channel")
    assert channel.find(f"{{{FH}}}archive") is not None
    rels = {link.get("rel"): link.get("href") for link in channel.findall(f"{{{ATOM}}}link")}
    assert rels["prev-archive"] == f"{BASE}/archive/1/rss.xml"
    assert rels["current"] == f"{BASE}/rss.xml"
    assert {link.rel for link in parse_feed(rss).feed.links} >= {"current", "prev-archive"}

    feed = assert_valid_json_feed(archives.decorate("json", render_json(meta, items), links))
    assert feed["next_url"] == f"{BASE}/archive/1/feed.json"
    assert list(feed)[:5] == ["version", "title", "home_page_url", "feed_url", "next_url"]


def test_the_subscription_feed_links_only_to_its_newest_page(plain_urls: None) -> None:
    meta, items = make_meta(), make_items()
    links = archives.Links(prev="tag:esa@5")
    atom = archives.decorate("atom", render_atom(meta, items), links)
    root = assert_valid_atom(atom)
    assert root.find(f"{{{FH}}}archive") is None  # the subscription feed is no archive
    assert [(link.get("rel"), link.get("href")) for link in root.findall(f"{{{ATOM}}}link")
            if "archive" in (link.get("rel") or "") or link.get("rel") == "current"] == [
        ("prev-archive", f"{BASE}/archive/5/atom.xml")]
    check_rss_profile(archives.decorate("rss", render_rss(meta, items), links), meta, items)
    # With no archive yet, nothing is added at all.
    for fmt, render in (("atom", render_atom), ("rss", render_rss), ("json", render_json)):
        assert archives.decorate(fmt, render(meta, items), archives.Links()) == \
            render(meta, items)


def test_an_empty_archive_page_is_still_valid(plain_urls: None) -> None:
    """Every item of a page retracted: the page stays (the chain is unbroken), empty."""
    meta = dataclasses.replace(_page_meta(), updated=None)
    links = archives.Links(next="tag:esa@2", current="tag:esa")
    assert_valid_atom(archives.decorate("atom", render_atom(meta, []), links))
    check_rss_profile(archives.decorate("rss", render_rss(meta, []), links), meta, [])


# --- the chain -------------------------------------------------------------------------


def _path(url: str) -> str:
    assert url.startswith(TEST_BASE_URL + "/"), url
    return url.removeprefix(TEST_BASE_URL)


def _walk(client: FlaskClient, start: str) -> list[list[str]]:
    """Entry ids of each document from ``start`` back to the oldest page, checking each."""
    documents: list[list[str]] = []
    path: str | None = start
    seen: set[str] = set()
    while path is not None:
        assert path not in seen, f"loop at {path}"
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if path.endswith(".json"):
            feed = assert_valid_json_feed(response.data)
            documents.append([item["id"] for item in feed["items"]])
            path = _path(feed["next_url"]) if "next_url" in feed else None
            continue
        if path.endswith("atom.xml"):
            assert_valid_atom(response.data)
        parsed = parse_feed(response.data)
        links = {link.rel: link.href for link in parsed.feed.links}
        is_archive = xml(response.data).find(f".//{{{FH}}}archive") is not None
        assert is_archive == (path != start)
        if is_archive:
            assert _path(links["self"]) == path
            assert _path(links["current"]) == start
        documents.append([entry.id for entry in parsed.entries])
        path = _path(links["prev-archive"]) if "prev-archive" in links else None
    return documents


@pytest.mark.parametrize("filename", ["atom.xml", "rss.xml", "feed.json"])
def test_the_chain_holds_every_published_item_exactly_once(
    small_pages: Flask, client: FlaskClient, filename: str
) -> None:
    published = [_publish(small_pages, n, tags=["esa"] if n % 2 else []) for n in range(1, 15)]
    withdrawn = published[4]  # in archive page 2 of "all"
    with small_pages.app_context():
        publishing.retract(db.session.get(Announcement, withdrawn), reason="wrong date")
        db.session.commit()
        build.rebuild(["all", "tag:esa"], changed=(withdrawn,))
    live = [_uid(small_pages, i) for i in published if i != withdrawn]

    documents = _walk(client, f"/feeds/{filename}")
    walked = [uid for document in documents for uid in document]
    assert sorted(walked) == sorted(live) and len(walked) == len(set(walked))
    # 14 positions, 3 newest: pages 1-2 (positions 1-8) archived, 6 in the feed.
    assert [len(d) for d in documents] == [6, 3, 4]
    assert documents[0][0] == live[-1]  # newest first

    tagged = [_uid(small_pages, i) for n, i in enumerate(published, 1) if n % 2 and i != withdrawn]
    documents = _walk(client, f"/feeds/tags/esa/{filename}")
    walked = [uid for document in documents for uid in document]
    assert sorted(walked) == sorted(tagged) and len(walked) == len(set(walked))
    assert [len(d) for d in documents] == [3, 3]  # 7 positions: page 1 (1-4, one withdrawn)


def test_the_subscription_feed_never_empties_when_a_page_is_cut(
    small_pages: Flask, client: FlaskClient
) -> None:
    for n in range(1, 12):
        _publish(small_pages, n)
        held = len(parse_feed(client.get("/feeds/atom.xml").data).entries)
        assert min(n, 3) <= held <= 3 + 4 - 1, (n, held)


# --- what a change rebuilds ------------------------------------------------------------


def test_a_publish_rebuilds_the_feed_and_at_most_the_newest_page(small_pages: Flask) -> None:
    for n in range(1, 11):  # positions 1-10: page 1 archived (1-4), 5-10 in the feed
        _publish(small_pages, n)
    before = _etags()
    _publish(small_pages, 11)  # 11 positions: page 2 (5-8) is cut; page 1 gets next-archive
    after = _etags()
    changed = {key for key in after if before.get(key) != after[key]}
    # page 1 only by its new next-archive link, which JSON Feed has no word for
    assert changed == {*(store.key(doc, fmt) for doc in ("all", "all@2")
                         for fmt in scopes.FILENAMES),
                       store.key("all@1", "atom"), store.key("all@1", "rss")}
    before = after
    _publish(small_pages, 12)  # no page cut: only the subscription feed
    after = _etags()
    assert {key for key in after if before.get(key) != after[key]} == {
        store.key("all", fmt) for fmt in scopes.FILENAMES}


def test_websub_is_handed_off_after_the_subscription_feeds_and_before_the_pages(
    small_pages: Flask
) -> None:
    """The feeds consumer runs WebSub's hand-off once the event's subscription feeds hold the
    item, and builds the page the publish cut only after it (pages are nobody's topic)."""
    for n in range(1, 11):
        _publish(small_pages, n)
    item = factories.announcement(small_pages, title="Item 11", tags=["esa"],
                                  published_at=T0 + timedelta(minutes=11))
    payload = announcement_events.AnnouncementEvent(
        announcement_events.PUBLISHED, item, announcement_events.Terms(),
        announcement_events.Terms(tags=("esa",))).payload()
    seen: list[tuple[str, dict[str, Any], bool, bool, bool]] = []

    def websub(kind: str, given: dict[str, Any]) -> None:
        conn = get_redis()
        feeds = [store.get(conn, scope, "atom") for scope in ("all", "tag:esa")]
        seen.append((kind, given, all(f is not None and b"Item 11" in f.body for f in feeds),
                     bool(conn.exists(store.key("all@2", "atom"))),
                     bool(conn.exists(store.key("all@1", "atom")))))

    with small_pages.app_context():
        feed_events.rebuild_touched_feeds_then(websub)(announcement_events.PUBLISHED, payload)
        # Both subscription feeds held the item; page 2, cut by this publish, did not exist
        # yet (page 1 did, from the publishes before).
        assert seen == [(announcement_events.PUBLISHED, payload, True, False, True)]
        assert get_redis().exists(store.key("all@2", "atom"))
        # An event that changes no feed still reaches the consumers after the feeds one.
        feed_events.rebuild_touched_feeds_then(websub)(announcement_events.SCHEDULED, payload)
        assert [entry[0] for entry in seen] == [announcement_events.PUBLISHED,
                                                announcement_events.SCHEDULED]


def test_an_edit_or_retraction_of_an_archived_item_rebuilds_only_its_page(
    small_pages: Flask,
) -> None:
    ids = [_publish(small_pages, n, tags=["esa"]) for n in range(1, 16)]  # pages 1-3
    before = _etags()
    with small_pages.app_context():
        publishing.update(db.session.get(Announcement, ids[5]), {"title": "Item 06, corrected"})
        db.session.commit()
        build.rebuild(["all", "tag:esa"], changed=(ids[5],))  # the UPDATED event's work
    after = _etags()
    assert {key for key in after if before.get(key) != after[key]} == {
        store.key(doc, fmt) for doc in ("all@2", "tag:esa@2") for fmt in scopes.FILENAMES}
    assert b"Item 06, corrected" in store.get(get_redis(), "all@2", "atom").body

    before = after
    with small_pages.app_context():
        publishing.retract(db.session.get(Announcement, ids[0]), reason=None)
        db.session.commit()
        build.rebuild(["all", "tag:esa"], changed=(ids[0],))
    after = _etags()
    # its pages, and the subscription feeds (the Atom tombstone, RSS's lastBuildDate)
    pages = {store.key(doc, fmt) for doc in ("all@1", "tag:esa@1") for fmt in scopes.FILENAMES}
    feeds = {store.key(doc, fmt) for doc in ("all", "tag:esa") for fmt in scopes.FILENAMES}
    changed = {key for key in after if before.get(key) != after[key]}
    assert pages <= changed <= pages | feeds
    assert store.key("all", "atom") in changed


def test_a_tag_taken_off_an_archived_item_leaves_a_hole_in_that_page_only(
    small_pages: Flask, client: FlaskClient
) -> None:
    ids = [_publish(small_pages, n, tags=["esa"]) for n in range(1, 12)]
    with small_pages.app_context():
        publishing.update(db.session.get(Announcement, ids[1]), {"tags": []})
        db.session.commit()
        build.rebuild(["all", "tag:esa"], changed=(ids[1],))
    documents = _walk(client, "/feeds/tags/esa/atom.xml")
    assert [len(d) for d in documents] == [3, 4, 3]
    assert _uid(small_pages, ids[1]) not in {uid for d in documents for uid in d}


# --- serving -----------------------------------------------------------------------------


def test_archive_pages_are_served_with_long_caching_and_their_own_etag(
    small_pages: Flask, client: FlaskClient
) -> None:
    for n in range(1, 12):
        _publish(small_pages, n, partners=["esa"])
    with small_pages.app_context():
        build.rebuild(["partner:esa"])  # the partner's positions (a catch-up)
    feed = client.get("/feeds/atom.xml")
    assert feed.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    etags = set()
    for path in ("/feeds/archive/1/atom.xml", "/feeds/archive/2/rss.xml",
                 "/feeds/archive/2/feed.json", "/feeds/partners/esa/archive/1/atom.xml"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["Cache-Control"] == "public, max-age=86400"
        assert page.headers["Link"] == f'<{TEST_BASE_URL}{path}>; rel="self"'
        etags.add(page.headers["ETag"])
        again = client.get(path, headers={"If-None-Match": page.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Cache-Control"] == \
            "public, max-age=86400"
    assert len(etags) == 4 and feed.headers["ETag"] not in etags
    assert json.loads(client.get("/feeds/archive/1/feed.json").data).get("next_url") is None
    for missing in ("/feeds/archive/3/atom.xml", "/feeds/archive/0/atom.xml",
                    "/feeds/archive/01/atom.xml", "/feeds/archive/1/other.xml",
                    "/feeds/tags/nothing/archive/1/atom.xml"):
        assert client.get(missing).status_code == 404, missing


def test_a_page_missing_from_redis_is_built_on_request(
    small_pages: Flask, client: FlaskClient
) -> None:
    for n in range(1, 9):
        _publish(small_pages, n)
    stored = store.get(get_redis(), "all@1", "rss")
    get_redis().delete(store.key("all@1", "rss"))
    response = client.get("/feeds/archive/1/rss.xml")
    assert response.status_code == 200 and response.data == stored.body


def test_feeds_rebuild_builds_every_page_from_scratch(
    small_pages: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "PAGES_PER_LOCK", 2)  # several batches, each under the lock
    ids = [factories.announcement(small_pages, title=f"Imported {n}", tags=["esa"],
                                  published_at=T0 + timedelta(minutes=n)) for n in range(15)]
    # A session worker may be placing these as their events come, two at a time and so not
    # always in order: let it finish, then start the history from nothing, as after an import.
    if small_pages.extensions["celery"].control.ping(timeout=0.5):
        wait_for(lambda: not db.session.scalar(sa.select(sa.func.count()).select_from(
            OutboxEvent).where(OutboxEvent.processed_at.is_(None))), timeout=30)
    db.session.execute(sa.delete(FeedPosition))
    db.session.commit()
    result = runner.invoke(args=["feeds", "rebuild"])
    assert result.exit_code == 0, result.output
    conn = get_redis()
    for doc in ("all@1", "all@2", "all@3", "tag:esa@3"):
        assert conn.exists(store.key(doc, "atom")), doc
    assert not conn.exists(store.key("all@4", "atom"))
    # oldest first: page 1 holds the first four published
    page = feedparser.parse(store.get(conn, "all@1", "atom").body)
    assert sorted(e.id for e in page.entries) == sorted(_uid(small_pages, i) for i in ids[:4])
    # Bigger pages: the same history in fewer pages, and the pages past them removed.
    small_pages.config["ARCHIVE_PAGE_SIZE"] = 6
    assert runner.invoke(args=["feeds", "rebuild"]).exit_code == 0
    assert conn.exists(store.key("all@2", "rss")) and not conn.exists(store.key("all@3", "rss"))
    page = feedparser.parse(store.get(conn, "all@2", "atom").body)
    assert sorted(e.id for e in page.entries) == sorted(_uid(small_pages, i) for i in ids[6:12])


def test_a_catch_up_that_cuts_many_pages_builds_them_a_batch_per_lock(
    small_pages: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import placed by one rebuild: every page it cuts exists afterwards."""
    monkeypatch.setattr(build, "PAGES_PER_LOCK", 2)
    for n in range(23):
        factories.announcement(small_pages, title=f"Imported {n}",
                               published_at=T0 + timedelta(minutes=n))
    build.rebuild(["all"])  # 23 positions: pages 1-5
    conn = get_redis()
    assert [conn.exists(store.key(f"all@{n}", "json")) for n in range(1, 7)] == [1] * 5 + [0]
    page = parse_feed(store.get(conn, "all@5", "atom").body)
    assert {link.rel for link in page.feed.links} >= {"prev-archive", "current"}
    assert "next-archive" not in {link.rel for link in page.feed.links}


def test_the_migration_places_what_was_published_before_it(
    redis_url: str, tmp_path: Path
) -> None:
    """Migration 0013 gives every announcement published before it its positions, oldest
    first, per scope (on a SQLite database of its own, upgraded to 0012, filled, then to
    0013; the SQL is the same on PostgreSQL)."""
    from flask_migrate import upgrade

    from service import create_app
    from service.feeds.models import FeedPosition
    from tests.fixtures.app import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite3'}", redis_url),
                     TESTING=True)
    from service.announcements.models import Tag, announcement_tags

    with app.app_context():
        upgrade(revision="0012")
        # Rows as the schema of 0012 has them (the models know columns added later), so
        # written with Core and only the columns 0012 has.
        table = Announcement.__table__
        tag_id = db.session.execute(sa.insert(Tag.__table__).values(slug="esa", name="ESA")
                                    ).inserted_primary_key[0]
        rows_in = [(f"Before {n}", Status.PUBLISHED, T0 + timedelta(minutes=n), n != 2)
                   for n in (3, 1, 2)] + [("A draft", Status.DRAFT, None, True)]
        for title, status, published_at, tagged in rows_in:
            new_id = db.session.execute(sa.insert(table).values(
                slug=title.lower().replace(" ", "-"), title=title, status=status,
                published_at=published_at)).inserted_primary_key[0]
            if tagged:
                db.session.execute(sa.insert(announcement_tags).values(
                    announcement_id=new_id, tag_id=tag_id))
        db.session.commit()
        upgrade(revision="0013")
        rows = db.session.execute(
            sa.select(FeedPosition.scope, FeedPosition.position, Announcement.title)
            .join(Announcement, Announcement.id == FeedPosition.announcement_id)
            .order_by(FeedPosition.scope, FeedPosition.position)).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("all", 1, "Before 1"), ("all", 2, "Before 2"), ("all", 3, "Before 3"),
        ("tag:esa", 1, "Before 1"), ("tag:esa", 2, "Before 3")]
