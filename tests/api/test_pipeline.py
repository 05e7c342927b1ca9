"""End to end through the API: a POST reaches the feeds via the outbox and a real worker."""

from __future__ import annotations

import json
from typing import Any

import feedparser
from flask.testing import FlaskClient

from tests.api.conftest import create
from tests.factories import EditorInfo
from tests.waiting import wait_for

API = "/api/v1/announcements"


def _titles(client: FlaskClient, path: str) -> list[str]:
    response = client.get(path)
    if response.status_code == 404:  # the tag or partner does not exist (yet)
        return []
    assert response.status_code == 200, response.status_code
    if path.endswith(".json"):
        return [item["title"] for item in json.loads(response.data)["items"]]
    return [entry.title for entry in feedparser.parse(response.data).entries]


def test_posted_announcement_reaches_its_feeds(
    client: FlaskClient, editor: EditorInfo, celery_worker: Any
) -> None:
    item = create(client, editor, title="Lunar gateway agreement", status="published",
                  tags=["human-spaceflight"], partners=["esa"])
    wait_for(lambda: _titles(client, "/feeds/atom.xml") == ["Lunar gateway agreement"])
    wait_for(lambda: _titles(client, "/feeds/tags/human-spaceflight/rss.xml")
             == ["Lunar gateway agreement"])
    wait_for(lambda: _titles(client, "/feeds/partners/esa/feed.json")
             == ["Lunar gateway agreement"])

    edited = client.patch(f"{API}/{item['id']}", json={"title": "Gateway agreement signed"},
                          headers=editor.auth)
    assert edited.status_code == 200
    wait_for(lambda: _titles(client, "/feeds/atom.xml") == ["Gateway agreement signed"])

    assert client.post(f"{API}/{item['id']}/retract", headers=editor.auth).status_code == 200
    wait_for(lambda: _titles(client, "/feeds/partners/esa/feed.json") == [])
    wait_for(lambda: _titles(client, "/feeds/rss.xml") == [])  # each feed as its build lands


def test_a_draft_stays_out_of_the_feeds(
    client: FlaskClient, editor: EditorInfo, celery_worker: Any
) -> None:
    create(client, editor, title="Quiet draft")
    create(client, editor, title="Published one", status="published")
    # The publish rebuilt the feed from a database that holds the draft too.
    wait_for(lambda: _titles(client, "/feeds/atom.xml") == ["Published one"])
