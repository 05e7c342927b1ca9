"""The dashboard's figures: announcements by status, queue depth, feed builds, email."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.editor import dashboard
from service.extensions import get_redis
from service.feeds import build
from service.outbound.models import OutboundDelivery, OutboundStatus
from tests.factories import EditorInfo
from tests.waiting import wait_for


def _figure(html: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}(?:</a>)?</dt><dd>(\d+)</dd>", html)
    assert match, label
    return int(match.group(1))


def test_dashboard_counts_and_feeds(
    clean_app: Flask,
    client: FlaskClient,
    signed_in: Callable[[str], EditorInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A queue of our own: the session's worker would empty the real one at once.
    monkeypatch.setattr(dashboard, "queue_names", lambda: ["newsroom:test:queue"])
    with clean_app.app_context():
        publishing.create(title="Draft one")
        publishing.create(title="Out", status=Status.PUBLISHED, tags=["esa-news"])
        publishing.create(
            title="Later", status=Status.SCHEDULED, publish_at=utcnow() + timedelta(days=1)
        )
        db.session.commit()
        build.rebuild(["all"])
        get_redis().rpush("newsroom:test:queue", b"{}", b"{}")  # tasks no worker took yet
    signed_in("editor")
    page = client.get("/editor/")
    assert page.status_code == 200
    assert _figure(page.text, "Draft") == 1 and _figure(page.text, "Published") == 1
    assert _figure(page.text, "Scheduled") == 1 and _figure(page.text, "Retracted") == 0
    # One line sums the pipeline up and links to the details; drafts and scheduled first.
    health = re.search(r'<p class="health" role="status">(.*?)</p>', page.text, re.S)
    assert health and "waiting" in health.group(1) and 'href="/editor/pipeline"' in health.group(1)
    assert "<td>Everything</td>" not in page.text
    first = page.text.index('id="in-progress"')
    assert first < page.text.index('id="by-status"')
    assert page.text.index("Later</bdi>", first) < page.text.index("Draft one</bdi>", first)
    assert "Out</bdi>" in page.text.split('id="activity"', 1)[1]
    page = client.get("/editor/pipeline")
    assert _figure(page.text, "Tasks waiting in the queue") == 2
    assert page.text.count("<td>Everything</td>") == 3  # rss, atom, json just built
    # The publish and the embargo are outbox events until a worker (if one runs) has
    # processed them.
    assert _figure(page.text, "Events not yet processed") in (0, 1, 2)


def test_queue_depth_counts_every_queue(ctx: Flask) -> None:
    assert dashboard.queue_names() == ["celery", "mail", "push"]


def test_email_figures_are_on_the_dashboard(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("author")
    page = client.get("/editor/").text
    assert "Subscribers by status</h3>" in page
    assert "Emails, last 7 days</h3>" in page


def test_email_figures_count_subscribers_and_recent_bounces(ctx: Flask) -> None:
    from service.subscriptions import models
    now = utcnow()
    for number, (status, frequency) in enumerate(
        [
            ("confirmed", "daily"),
            ("confirmed", "daily"),
            ("confirmed", "weekly"),
            ("pending", "instant"),
            ("bounced", "daily"),
        ]
    ):
        db.session.add(
            models.Subscriber(
                email=f"s{number}@example.org",
                status=models.SubscriberStatus(status),
                frequency=models.Frequency(frequency),
                bounced_at=now - timedelta(days=1) if status == "bounced" else None,
            )
        )
    db.session.commit()
    figures = dashboard.email_figures()
    assert figures["Subscribers by status"] == {
        "pending": 1,
        "confirmed": 3,
        "unsubscribed": 0,
        "bounced": 1,
        "erased": 0,  # erased at their request: counted, nameless
    }
    assert figures["Confirmed subscribers by frequency"] == {
        "instant": 0,
        "daily": 2,
        "weekly": 1,
    }
    assert figures["Emails, last 7 days"]["addresses bounced"] == 1
    assert figures["Emails, last 7 days"]["sent"] == 0


def test_dashboard_shows_websub_subscriptions_and_delivery_failures(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    """Verified, unexpired subscriptions per topic, and a delivery a callback refused (a real
    503 from a loopback server, through the real delivery code) with its error."""
    from service.websub import distribution
    from service.websub.models import WebSubSubscription
    from tests.outbound.receiver import running_receiver

    atom, tag = "http://newsroom.test/feeds/atom.xml", "http://newsroom.test/feeds/tags/esa/rss.xml"
    receivers = running_receiver()
    receiver = next(receivers)
    receiver.behaviour.default = 503
    with clean_app.app_context():
        publishing.create(title="Pushed", status=Status.PUBLISHED, tags=["esa"])
        db.session.commit()
        build.rebuild(["all"])
        later = utcnow() + timedelta(days=1)
        subs = [WebSubSubscription(topic=topic, scope=scope, fmt=fmt, callback=callback,
                                   lease_seconds=86400, expires_at=expires)
                for topic, scope, fmt, callback, expires in [
                    (atom, "all", "atom", receiver.url("/failing"), later),
                    (atom, "all", "atom", "http://127.0.0.1:9/second", later),
                    (atom, "all", "atom", "http://127.0.0.1:9/expired",
                     utcnow() - timedelta(seconds=1)),
                    (tag, "tag:esa", "rss", "http://127.0.0.1:9/tag", later)]]
        db.session.add_all(subs)
        db.session.commit()
        row = distribution.outbound.schedule("websub", subs[0].id, receiver.url("/failing"), "v1")
        db.session.commit()
        # A session worker may be distributing the same publish to these rows: "not-due"
        # then means it claimed the row first; either way the 503 ends up recorded.
        assert distribution.deliver(row.id)[row.id] in {"retrying", "not-due"}
        row_id = row.id
        db.session.remove()

        def refused() -> bool:
            found = db.session.get(OutboundDelivery, row_id, populate_existing=True)
            db.session.rollback()
            return bool(found and found.status is OutboundStatus.RETRYING
                        and found.last_status == 503)

        wait_for(refused, timeout=20)
        db.session.remove()
    try:
        signed_in("editor")
        page = client.get("/editor/pipeline")
    finally:
        next(receivers, None)  # stops the receiver
    assert page.status_code == 200
    html = page.text
    assert f"<tr><td>{atom}</td><td>2</td></tr>" in html  # the expired one is not counted
    assert f"<tr><td>{tag}</td><td>1</td></tr>" in html
    failures = html.split("Delivery failures", 1)[1]
    assert receiver.url("/failing") in failures and "HTTP 503" in failures
    assert "retrying" in failures and atom in failures
