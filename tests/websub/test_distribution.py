"""Distribution end to end with the real session worker: a subscriber that found the hub in
/feeds/atom.xml subscribes, is verified, and gets each new announcement signed within a
second; retries after a 5xx; nothing reaches an expired or unsubscribed callback."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from service import outbox
from service.database import db
from service.websub import distribution
from service.websub.models import WebSubSubscription
from tests import factories
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for

ATOM = "{http://www.w3.org/2005/Atom}"


def _discover(client: FlaskClient, path: str) -> tuple[str, str]:
    answer = client.get(path)
    links = {el.get("rel"): el.get("href") for el in
             etree.fromstring(answer.data).iter(f"{ATOM}link") if el.get("rel") in ("hub", "self")}
    header = answer.headers["Link"]
    assert f'<{links["hub"]}>; rel="hub"' in header and f'<{links["self"]}>; rel="self"' in header
    return links["hub"], links["self"]


def _no_pending_events(app: Flask) -> bool:
    with app.app_context():
        pending = outbox.pending_count()
        db.session.remove()
    return pending == 0


def _subscribed(app: Flask) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(WebSubSubscription))
        db.session.remove()
    return n or 0


def test_discover_subscribe_receive_signed(clean_app: Flask, client: FlaskClient,
                                           celery_worker: Any, receiver: Receiver) -> None:
    factories.announcement(clean_app, title="First light")
    wait_for(lambda: _no_pending_events(clean_app))  # its document went out before we subscribe
    hub, topic = wait_for(lambda: _discover(client, "/feeds/atom.xml"))
    assert hub == "http://newsroom.test/websub" and topic == "http://newsroom.test/feeds/atom.xml"
    secret = "a shared secret"
    answer = client.post(hub.removeprefix("http://newsroom.test"), data={
        "hub.mode": "subscribe", "hub.topic": topic, "hub.callback": receiver.url(),
        "hub.secret": secret})
    assert answer.status_code == 202
    wait_for(lambda: _subscribed(clean_app))
    for title in ["Second light", "Third light"]:
        published = time.monotonic()
        factories.announcement(clean_app, title=title)
        # The first document's own push may still reach the new subscriber just before (the
        # hub sent that change while they were subscribed): wait for the one with the title.
        post = wait_for(lambda title=title: next(
            (p for p in receiver.posts() if title.encode() in p.body), None), timeout=5)
        assert post.at - published < 1.0, post.at - published  # within a second
        assert post.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert f'<{topic}>; rel="self"' in post.headers["link"]
        expected = hmac.new(secret.encode(), post.body, hashlib.sha256).hexdigest()
        assert post.headers["x-hub-signature"] == f"sha256={expected}"
    assert client.get("/feeds/atom.xml").data == post.body  # the full current document


def test_retry_after_5xx(clean_app: Flask, celery_worker: Any, receiver: Receiver,
                         hub_request: Callable[..., int]) -> None:
    from service.websub import verification

    verification.verify(hub_request("subscribe", receiver.url()))
    receiver.behaviour.statuses = [503]
    factories.announcement(clean_app, title="Retried")
    posts = receiver.wait_posts(2, timeout=10)  # the first retry comes 1-2 s later
    assert posts[0].body == posts[1].body and b"Retried" in posts[1].body


def test_nothing_for_expired_or_unsubscribed(ctx: Flask, receiver: Receiver,
                                             hub_request: Callable[..., int]) -> None:
    from service.websub import verification

    other = Receiver().start()
    try:
        verification.verify(hub_request("subscribe", receiver.url(), lease_seconds=1))
        verification.verify(hub_request("subscribe", other.url()))
        verification.verify(hub_request("unsubscribe", other.url()))
        time.sleep(1.2)  # the first lease is over
        factories.announcement(ctx, title="Nobody listens")
        from service.feeds import build

        build.rebuild(["all"])
        # Nobody follows the topic now: whoever runs first (the session's worker may handle
        # the publish event) schedules nothing, and says no topic changed for anyone.
        assert distribution.distribute(["all"]) == []
        time.sleep(0.5)
        assert receiver.posts() == [] and other.posts() == []
    finally:
        other.stop()
