"""Featured images in every feed format, read back by feedparser; content self-contained
(summary first, absolute links and image addresses); every RSS item has an author."""

from __future__ import annotations

import dataclasses
import json

import feedparser
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from service.database import db
from service.feeds import build
from service.feeds.enclosures import MEDIA_NS, FeedImage
from service.feeds.formats import render_atom, render_json, render_rss
from service.media import library
from tests import factories
from tests.feeds.test_formats import (
    assert_valid_atom,
    assert_valid_json_feed,
    check_rss_profile,
    make_items,
    make_meta,
)
from tests.media import pictures

BASE = "http://newsroom.test"
IMAGE = FeedImage("https://news.example.org/media/ab/ab-1600.webp", "image/webp", 12345, 1600,
                  800, 'Dome & "telescope" at dusk')


def _items_with_image():
    items = make_items()
    return [dataclasses.replace(items[0], image=IMAGE), *items[1:]]


def test_rss_enclosure_and_media_content() -> None:
    items, meta = _items_with_image(), make_meta()
    data = render_rss(meta, items)
    check_rss_profile(data, meta, items)
    parsed = feedparser.parse(data)
    first = parsed.entries[0]
    assert [(e.href, e.type, e.length) for e in first.enclosures] == [
        (IMAGE.url, "image/webp", "12345")]
    assert first.media_content[0]["url"] == IMAGE.url
    assert first.media_content[0]["medium"] == "image"
    assert first.media_content[0]["width"] == "1600"
    root = etree.fromstring(data)
    description = root.find(f"channel/item/{{{MEDIA_NS}}}content/{{{MEDIA_NS}}}description")
    assert description is not None and description.text == IMAGE.alt
    assert not parsed.entries[1].get("enclosures")


def test_atom_enclosure_link_keeps_the_alternate() -> None:
    data = render_atom(make_meta(), _items_with_image())
    assert_valid_atom(data)
    first = feedparser.parse(data).entries[0]
    rels = {link.rel: link for link in first.links}
    assert rels["alternate"].href == make_items()[0].url
    assert rels["enclosure"].href == IMAGE.url and rels["enclosure"].type == "image/webp"
    assert rels["enclosure"].length == "12345"
    assert [e.href for e in first.enclosures] == [IMAGE.url]


def test_json_feed_image() -> None:
    data = render_json(make_meta(), _items_with_image())
    feed = assert_valid_json_feed(data)
    assert feed["items"][0]["image"] == IMAGE.url
    assert "image" not in feed["items"][1]


def _publish_with_image(app: Flask) -> None:
    with app.app_context():
        media = library.upload(pictures.photo(2000, 1000), "The dome at dusk")
        db.session.commit()
        body = (f"See [the mission page](/partners/esa) and [our feeds](feeds).\n\n"
                f"![Inside the dome]({library.url(media.name).removeprefix(BASE)})\n")
        image_id = media.id
    factories.announcement(app, "First light", summary="The telescope saw its first star.",
                           body=body, image_id=image_id, partners=["esa"])


def test_built_feeds_carry_the_image_and_self_contained_content(clean_app: Flask,
                                                                 client: FlaskClient) -> None:
    _publish_with_image(clean_app)
    with clean_app.app_context():
        build.rebuild(build.all_scopes())
    page = f"{BASE}/announcements/first-light"
    for path in ("/feeds/rss.xml", "/feeds/atom.xml", "/feeds/partners/esa/atom.xml"):
        response = client.get(path)
        assert response.status_code == 200
        entry = feedparser.parse(response.data).entries[0]
        assert entry.enclosures and entry.enclosures[0].href.startswith(BASE + "/media/")
        assert entry.enclosures[0].href.endswith("-1600.webp")
        content = entry.content[0].value
        # The summary leads, then the image, then the body; every address absolute.
        assert content.index("The telescope saw its first star.") < content.index("<img")
        assert f'href="{BASE}/partners/esa"' in content
        assert f'href="{BASE}/announcements/feeds"' in content  # resolved against the page
        assert 'src="/media' not in content and f'src="{BASE}/media/' in content
        assert entry.link == page
        assert entry.author == "International Partnerships Office"
    rss = etree.fromstring(client.get("/feeds/rss.xml").data)
    creator = rss.find("channel/item/{http://purl.org/dc/elements/1.1/}creator")
    assert creator is not None and creator.text == "International Partnerships Office"
    with client.get("/feeds/feed.json") as response:
        item = json.loads(response.data)["items"][0]
    assert item["image"].startswith(BASE + "/media/") and item["image"].endswith("-1600.webp")
    assert f'href="{BASE}/partners/esa"' in item["content_html"]
    assert item["authors"] == [{"name": "International Partnerships Office"}]
    with client.get(item["image"].removeprefix(BASE)) as served:
        assert served.status_code == 200 and served.mimetype == "image/webp"
