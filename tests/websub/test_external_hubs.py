"""``WEBSUB_HUBS``: an external hub (a real HTTP server on 127.0.0.1) is advertised next to
ours in every feed format and the Link header, and receives ``hub.mode=publish`` with each
changed topic after a publish, through the real session worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from tests import factories
from tests.fixtures.processes import wait_for_idle_worker
from tests.outbound.receiver import Receiver, running_receiver

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def external_hub() -> Iterator[Receiver]:
    yield from running_receiver()


def test_external_hub_advertised_and_pinged(clean_app: Flask, client: FlaskClient,
                                            celery_worker: Any, external_hub: Receiver,
                                            outbound_settings: Callable[..., None]) -> None:
    hub = external_hub.url("/hub")
    outbound_settings(websub_hubs=(hub,))
    try:
        factories.announcement(clean_app, title="Pinged", tags=["optics"])
        pings = external_hub.wait_posts(1, timeout=10)
        form = parse_qs(pings[0].body.decode())
        assert form["hub.mode"] == ["publish"]
        topics = set(form["hub.url"])
        assert {"http://newsroom.test/feeds/atom.xml", "http://newsroom.test/feeds/rss.xml",
                "http://newsroom.test/feeds/feed.json",
                "http://newsroom.test/feeds/tags/optics/atom.xml"} <= topics
        assert pings[0].headers["content-type"] == "application/x-www-form-urlencoded"

        answer = client.get("/feeds/atom.xml")
        assert b"Pinged" in answer.data
        hubs = [el.get("href") for el in etree.fromstring(answer.data).iter(f"{ATOM}link")
                if el.get("rel") == "hub"]
        assert hubs == ["http://newsroom.test/websub", hub]
        assert answer.headers["Link"] == (
            f'<http://newsroom.test/websub>; rel="hub", <{hub}>; rel="hub", '
            '<http://newsroom.test/feeds/atom.xml>; rel="self"')
        assert client.get("/feeds/feed.json").json["hubs"] == [
            {"type": "WebSub", "url": "http://newsroom.test/websub"},
            {"type": "WebSub", "url": hub}]
        rss = etree.fromstring(client.get("/feeds/rss.xml").data)
        assert hub in [el.get("href") for el in rss.iter("{http://www.w3.org/2005/Atom}link")
                       if el.get("rel") == "hub"]

        # An edit that changes the documents pings again; the hub sees each change.
        factories.announcement(clean_app, title="Pinged again")
        again = external_hub.wait_posts(2, timeout=10)[1]
        assert "http://newsroom.test/feeds/atom.xml" in parse_qs(again.body.decode())[
            "hub.url"]
    finally:
        wait_for_idle_worker(clean_app)
