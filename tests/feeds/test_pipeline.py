"""The whole path: a committed write -> outbox event -> real Celery worker -> feeds in Redis."""

from __future__ import annotations

import json
from typing import Any

import feedparser
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db
from tests import factories
from tests.waiting import wait_for


def _titles(client: FlaskClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    if path.endswith(".json"):  # feedparser reads RSS and Atom only
        return [item["title"] for item in json.loads(response.data)["items"]]
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [entry.title for entry in parsed.entries]


def test_publish_reaches_exactly_the_feeds_it_belongs_to(
    clean_app: Flask, client: FlaskClient, celery_worker: Any
) -> None:
    factories.announcement(clean_app, title="Radar campaign", tags=["remote-sensing"],
                           partners=["roscosmos"])
    wait_for(lambda: "Radar campaign" in _titles(client, "/feeds/atom.xml"))
    for path in ("/feeds/rss.xml", "/feeds/tags/remote-sensing/atom.xml",
                 "/feeds/partners/roscosmos/rss.xml"):
        assert _titles(client, path) == ["Radar campaign"]
    factories.announcement(clean_app, title="Observatory news", tags=["observatory"])
    wait_for(lambda: _titles(client, "/feeds/rss.xml") == ["Observatory news", "Radar campaign"])
    # The other scopes were not touched by the second publish.
    assert _titles(client, "/feeds/tags/remote-sensing/atom.xml") == ["Radar campaign"]
    assert client.get("/feeds/tags/unknown/rss.xml").status_code == 404


def test_edit_and_retract_follow_into_feeds(
    clean_app: Flask, client: FlaskClient, celery_worker: Any
) -> None:
    item_id = factories.announcement(clean_app, title="First title", tags=["satellites"])
    wait_for(lambda: _titles(client, "/feeds/atom.xml") == ["First title"])
    first = feedparser.parse(client.get("/feeds/atom.xml").data).entries[0]
    with clean_app.app_context():
        item = db.session.get(Announcement, item_id)
        publishing.update(item, {"title": "Second title", "tags": []})
        db.session.commit()
    wait_for(lambda: _titles(client, "/feeds/atom.xml") == ["Second title"])
    second = feedparser.parse(client.get("/feeds/atom.xml").data).entries[0]
    assert second.id == first.id  # the id survives a title edit
    assert second.updated_parsed >= first.updated_parsed
    # The tag was removed from its only announcement, so readers have seen nothing of it
    # any more: the same task, just after "all", removes its feed (queries.is_public).
    wait_for(lambda: client.get("/feeds/tags/satellites/rss.xml").status_code == 404)
    with clean_app.app_context():
        publishing.retract(db.session.get(Announcement, item_id))
        db.session.commit()
    wait_for(lambda: _titles(client, "/feeds/feed.json") == [])
    assert _titles(client, "/feeds/rss.xml") == []


def test_scheduled_item_is_invisible_until_published(
    clean_app: Flask, client: FlaskClient, celery_worker: Any
) -> None:
    from datetime import timedelta

    from service.database import utcnow

    with clean_app.app_context():
        item = publishing.create(title="Embargo", status=Status.SCHEDULED, tags=["agreements"],
                                 publish_at=utcnow() + timedelta(seconds=1))
        db.session.commit()
        slug = item.slug
    assert _titles(client, "/feeds/atom.xml") == []
    # Its tag has nothing readers have seen: no feed, as for an unknown tag (not even empty).
    assert client.get("/feeds/tags/agreements/atom.xml").status_code == 404
    assert client.get(f"/announcements/{slug}").status_code == 404
    # What beat does every two seconds, sent through the real broker:
    def due() -> bool:
        clean_app.extensions["celery"].send_task("announcements.publish_due")
        return _titles(client, "/feeds/atom.xml") == ["Embargo"]

    wait_for(due, timeout=10, interval=0.3)
    assert client.get(f"/announcements/{slug}").status_code == 200
    assert _titles(client, "/feeds/tags/agreements/atom.xml") == ["Embargo"]
