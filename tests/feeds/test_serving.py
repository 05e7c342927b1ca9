"""Feed HTTP semantics: validators, 304s (RFC 9110), HEAD, on-demand builds, freshness."""

from __future__ import annotations

import gzip
import os
from email.utils import formatdate
from pathlib import Path

import feedparser
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.feeds import build, store
from service.feeds.serving import parse_path
from service.outbox.models import OutboxEvent

FEEDS = ["/feeds/rss.xml", "/feeds/atom.xml", "/feeds/feed.json",
         "/feeds/tags/observatory/rss.xml", "/feeds/tags/observatory/atom.xml",
         "/feeds/tags/observatory/feed.json", "/feeds/partners/nasa/rss.xml",
         "/feeds/partners/nasa/atom.xml", "/feeds/partners/nasa/feed.json"]
TYPES = {"rss.xml": "application/rss+xml; charset=utf-8",
         "atom.xml": "application/atom+xml; charset=utf-8",
         "feed.json": "application/feed+json; charset=utf-8"}


@pytest.mark.parametrize(("path", "expected"), [
    ("/feeds/rss.xml", ("all", "rss")),
    ("/feeds/feed.json", ("all", "json")),
    ("/feeds/tags/remote-sensing/atom.xml", ("tag:remote-sensing", "atom")),
    ("/feeds/partners/esa/feed.json", ("partner:esa", "json")),
    ("/feeds/index.html", None),
    ("/feeds/tags//rss.xml", None),
    ("/feeds/people/x/rss.xml", None),
    ("/feeds/tags/x/y/rss.xml", None),
    ("/announcements/rss.xml", None),
])
def test_parse_path(path: str, expected: tuple[str, str] | None) -> None:
    assert parse_path(path) == expected


@pytest.fixture
def published(ctx: Flask) -> Flask:
    """One published announcement, its event marked handled: these tests build feeds
    themselves, and a worker left running by another test must not race them."""
    publishing.create(title="First light", tags=["observatory"], partners=["nasa"],
                      status=Status.PUBLISHED)
    db.session.execute(sa.update(OutboxEvent).values(processed_at=utcnow()))
    db.session.commit()
    # A build a worker still had queued from another test may have stored the feeds of an
    # emptied database; builds of one feed are serialised and read the database under their
    # lock, so this one, and any after it, hold the announcement.
    build.rebuild(build.all_scopes())
    return ctx


def test_never_built_feeds_are_built_on_demand(published: Flask, client: FlaskClient) -> None:
    conn = published.extensions["redis"]
    conn.delete(*conn.scan_iter("newsroom:feed:*"), "newsroom:none")  # as after a flush
    assert store.get(conn, "all", "atom") is None
    for path in FEEDS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == TYPES[path.rsplit("/", 1)[1]]
        assert response.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
        assert response.headers["ETag"].startswith('"')
        assert response.headers["Last-Modified"].endswith("GMT")
        assert b"First light" in response.data
    assert client.get("/feeds/tags/unknown/atom.xml").status_code == 404
    assert client.get("/feeds/partners/unknown/rss.xml").status_code == 404
    assert client.get("/feeds/other.xml").status_code == 404


def test_conditional_requests(published: Flask, client: FlaskClient) -> None:
    first = client.get("/feeds/atom.xml")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]

    same = client.get("/feeds/atom.xml", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b""
    assert same.headers["ETag"] == etag and same.headers["Cache-Control"]
    assert client.get("/feeds/atom.xml", headers={"If-None-Match": f'"x", W/{etag}'}
                      ).status_code == 304  # weak comparison, lists
    assert client.get("/feeds/atom.xml", headers={"If-None-Match": "*"}).status_code == 304
    assert client.get("/feeds/atom.xml", headers={"If-Modified-Since": last_modified}
                      ).status_code == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
    assert client.get("/feeds/atom.xml", headers={
        "If-None-Match": '"stale"', "If-Modified-Since": last_modified}).status_code == 200
    assert client.get("/feeds/atom.xml", headers={
        "If-None-Match": etag, "If-Modified-Since": formatdate(0, usegmt=True)}
    ).status_code == 304
    assert client.get("/feeds/atom.xml", headers={
        "If-Modified-Since": formatdate(0, usegmt=True)}).status_code == 200
    assert client.get("/feeds/atom.xml", headers={"If-Modified-Since": "yesterday"}
                      ).status_code == 200  # an invalid date is ignored
    # Each feed has its own validator.
    assert client.get("/feeds/rss.xml", headers={"If-None-Match": etag}).status_code == 200


def test_head_has_headers_and_no_body(published: Flask, client: FlaskClient) -> None:
    get = client.get("/feeds/rss.xml")
    head = client.head("/feeds/rss.xml")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_next_request_sees_a_rebuild(published: Flask, client: FlaskClient) -> None:
    before = client.get("/feeds/atom.xml")  # now cached by this process
    publishing.create(title="Second item", status=Status.PUBLISHED)
    # Handled here too: a worker left running would otherwise still be rebuilding "all"
    # from this event while the next test starts on emptied tables.
    db.session.execute(sa.update(OutboxEvent).values(processed_at=utcnow()))
    db.session.commit()
    build.rebuild(["all"])
    after = client.get("/feeds/atom.xml", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert [e.title for e in feedparser.parse(after.data).entries] == ["Second item",
                                                                       "First light"]


def test_unchanged_rebuild_keeps_validators(published: Flask, client: FlaskClient) -> None:
    first = client.get("/feeds/atom.xml")
    build.rebuild(build.all_scopes())
    again = client.get("/feeds/atom.xml")
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]


def test_last_modified_moves_with_every_change(published: Flask, client: FlaskClient) -> None:
    first = client.get("/feeds/atom.xml")
    publishing.create(title="Within the same second", status=Status.PUBLISHED)
    db.session.commit()
    build.rebuild(["all"])
    second = client.get("/feeds/atom.xml",
                        headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200
    assert second.headers["Last-Modified"] != first.headers["Last-Modified"]


def test_export_catches_up_with_a_version_another_process_stored(ctx: Flask,
                                                                 tmp_path: Path) -> None:
    """A build that finds its bytes already in Redis (stored by a process that exports no
    files) still writes the file, with the feed's Last-Modified as its mtime."""
    conn = ctx.extensions["redis"]
    body, ctype = b"<feed>one</feed>", "application/atom+xml; charset=utf-8"
    assert store.put(conn, "all", "atom", body, ctype) is True  # no export directory
    assert store.put(conn, "all", "atom", body, ctype, tmp_path) is False  # same bytes
    exported = tmp_path / "feeds" / "atom.xml"
    assert exported.read_bytes() == body
    twin = exported.with_name("atom.xml.gz")  # ISA-L's gzip, read back by the standard library
    assert gzip.decompress(twin.read_bytes()) == body
    assert int(twin.stat().st_mtime) == int(exported.stat().st_mtime)
    assert int(exported.stat().st_mtime) == int(conn.hget(store.key("all", "atom"), "lmts"))
    exported.write_bytes(b"stale")  # the file of an older version
    os.utime(exported, (1_000_000_000, 1_000_000_000))
    store.put(conn, "all", "atom", body, ctype, tmp_path)
    assert exported.read_bytes() == body
