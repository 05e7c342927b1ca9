"""Items published within one second keep distinct times in Atom and JSON Feed (milliseconds),
from the database (SQLite and PostgreSQL keep microseconds) through the build."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
from flask import Flask

from service.announcements.models import Announcement
from service.database import db
from service.feeds import build, documents
from tests import factories
from tests.feeds.test_formats import assert_valid_atom, assert_valid_json_feed

ATOM = "{http://www.w3.org/2005/Atom}"
SECOND = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def test_the_database_keeps_sub_second_times(ctx: Flask) -> None:
    moment = SECOND.replace(microsecond=123_456)
    item_id = factories.announcement(ctx, title="Precise", published_at=moment)
    db.session.remove()
    assert db.session.get(Announcement, item_id).published_at == moment


def test_same_second_publishes_get_distinct_atom_and_json_times(ctx: Flask) -> None:
    for number, ms in enumerate((5, 250, 999)):
        factories.announcement(ctx, title=f"Burst {number}", tags=["burst"],
                               published_at=SECOND.replace(microsecond=ms * 1000 + 7))
    build.rebuild_scope("tag:burst")  # places them in the tag's history, as the worker does
    rendered = {fmt: body for fmt, (_, body) in documents.render_scope("tag:burst").items()}
    root = assert_valid_atom(rendered["atom"])
    published = [e.findtext(f"{ATOM}published") for e in root.iter(f"{ATOM}entry")]
    assert published == ["2026-12-01T10:00:00.999+00:00", "2026-12-01T10:00:00.250+00:00",
                         "2026-12-01T10:00:00.005+00:00"]
    updated = [e.findtext(f"{ATOM}updated") for e in root.iter(f"{ATOM}entry")]
    assert root.findtext(f"{ATOM}updated") == max(updated)
    assert not feedparser.parse(rendered["atom"]).bozo
    items = assert_valid_json_feed(rendered["json"])["items"]
    assert [i["date_published"] for i in items] == [
        "2026-12-01T10:00:00.999Z", "2026-12-01T10:00:00.250Z", "2026-12-01T10:00:00.005Z"]
    # RSS keeps RFC 822 dates: one second for all three.
    rss = feedparser.parse(rendered["rss"])
    assert {e.published for e in rss.entries} == {"Tue, 01 Dec 2026 10:00:00 +0000"}
    assert json.loads(rendered["json"])["items"][0]["title"] == "Burst 2"
