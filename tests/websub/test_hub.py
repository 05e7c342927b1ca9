"""The hub endpoint: 202 for a valid request (recorded, verification queued), a 4xx with a
plain-text reason for each kind of bad input, never a 500; rate-limited per client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.database import db
from service.websub.models import HubRequest
from tests import factories
from tests.websub.conftest import TOPIC

CALLBACK = "http://127.0.0.1:9/cb?id=7"


def test_accepted_request_is_recorded(ctx: Flask, hub_post: Callable[..., Any]) -> None:
    answer = hub_post(mode="subscribe", topic=TOPIC, callback=CALLBACK, secret="s3cret",
                      lease_seconds="3600", unknown="ignored")
    assert answer.status_code == 202, answer.data
    row = db.session.scalar(sa.select(HubRequest))
    assert (row.mode, row.scope, row.fmt, row.callback, row.secret, row.lease_seconds) == (
        "subscribe", "all", "atom", CALLBACK, "s3cret", 3600)


def test_leases_are_bounded(ctx: Flask, hub_post: Callable[..., Any]) -> None:
    settings = ctx.config["SETTINGS"]
    hub_post(mode="subscribe", topic=TOPIC, callback=CALLBACK, lease_seconds="999999999")
    hub_post(mode="subscribe", topic=TOPIC, callback=CALLBACK)
    hub_post(mode="subscribe", topic=TOPIC, callback=CALLBACK, lease_seconds="-5")
    leases = db.session.scalars(sa.select(HubRequest.lease_seconds).order_by(HubRequest.id))
    assert list(leases) == [settings.websub_lease_max, settings.websub_lease_default,
                            settings.websub_lease_default]


def test_tag_and_partner_topics(ctx: Flask, hub_post: Callable[..., Any]) -> None:
    factories.announcement(ctx, tags=["astrophysics"], partners=["esa"])
    for topic in ("http://newsroom.test/feeds/tags/astrophysics/feed.json",
                  "http://newsroom.test/feeds/partners/esa/rss.xml"):
        assert hub_post(mode="subscribe", topic=topic, callback=CALLBACK).status_code == 202


@pytest.mark.parametrize(("fields", "status", "reason"), [
    ({"topic": TOPIC, "callback": CALLBACK}, 400, "hub.mode"),
    ({"mode": "publish", "topic": TOPIC, "callback": CALLBACK}, 400, "hub.mode"),
    ({"mode": "subscribe", "callback": CALLBACK}, 400, "hub.topic is required"),
    ({"mode": "subscribe", "topic": "http://elsewhere.example/feeds/atom.xml",
      "callback": CALLBACK}, 404, "not a feed"),
    ({"mode": "subscribe", "topic": "http://newsroom.test/feeds/tags/nope/atom.xml",
      "callback": CALLBACK}, 404, "not a feed"),
    ({"mode": "subscribe", "topic": "http://newsroom.test/feeds/atom.xml?x=1",
      "callback": CALLBACK}, 404, "not a feed"),
    ({"mode": "subscribe", "topic": TOPIC}, 400, "hub.callback is required"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "ftp://example.org/cb"}, 400, "http"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "javascript:alert(1)"}, 400, "http"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "/relative"}, 400, "http"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://h:99999/"}, 400, "not a URL"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://h/a b"}, 400, "spaces"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": CALLBACK, "secret": "é" * 100},
     400, "200 bytes"),
])
def test_bad_requests(ctx: Flask, hub_post: Callable[..., Any], fields: dict[str, str],
                      status: int, reason: str) -> None:
    answer = hub_post(**fields)
    assert answer.status_code == status
    assert answer.mimetype == "text/plain" and reason in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HubRequest)) == 0


def test_not_form_encoded(client: FlaskClient) -> None:
    answer = client.post("/websub", json={"hub.mode": "subscribe"})
    assert answer.status_code == 415


def test_rate_limited_per_client(client: FlaskClient) -> None:
    statuses = {client.post("/websub", data={"hub.mode": "x"}).status_code for _ in range(65)}
    assert statuses == {400, 429}
