"""The manage page of a reader who left: no form that says "Saved." while they stay
unsubscribed; one way back, with their choices; leaving does not look like saving."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from service.database import db
from service.subscriptions import tokens
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus
from tests import factories
from tests.subscriptions.helpers import csrf_token


def _row(app: Flask, subscriber_id: int) -> tuple[SubscriberStatus, Frequency]:
    with app.app_context():
        row = db.session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status, row.frequency


def test_an_unsubscribed_reader_gets_one_way_back(clean_app: Flask, client: FlaskClient) -> None:
    subscriber_id = factories.subscriber(clean_app, "left@example.org", "daily",
                                         status=SubscriberStatus.UNSUBSCRIBED)
    with clean_app.app_context():
        path = f"/subscriptions/manage/{tokens.manage_token(subscriber_id, 0, 'left@example.org')}"
    page = client.get(path).text
    assert "<strong>unsubscribed</strong>" in page
    main = page[page.index('<main id="main"'):]
    buttons = re.findall(r"<button[^>]*>([^<]+)</button>", main)
    assert buttons == ["Subscribe again"]  # no "Save" that would change nothing
    assert "Unsubscribe from everything" not in page

    token = csrf_token(page.encode())
    # A stale form's "save" still posted: the page does not pretend they are back.
    saved = client.post(path, data={"csrf_token": token, "action": "save",
                                    "frequency": "weekly", "language": ""})
    assert saved.status_code == 200
    assert "Saved.</p>" not in saved.text and "still not receiving email" in saved.text
    assert _row(clean_app, subscriber_id) == (SubscriberStatus.UNSUBSCRIBED, Frequency.WEEKLY)

    back = client.post(path, data={"csrf_token": token, "action": "resubscribe",
                                   "frequency": "instant", "language": ""})
    assert back.status_code == 200 and "<strong>subscribed</strong>" in back.text
    assert _row(clean_app, subscriber_id) == (SubscriberStatus.CONFIRMED, Frequency.INSTANT)


def test_leaving_is_set_apart_from_saving(clean_app: Flask, client: FlaskClient) -> None:
    subscriber_id = factories.subscriber(clean_app, "stay@example.org", "daily")
    with clean_app.app_context():
        path = f"/subscriptions/manage/{tokens.manage_token(subscriber_id, 0, 'stay@example.org')}"
    page = client.get(path).text
    assert re.search(r'<button type="submit" class="button primary">Save my choices</button>',
                     page)
    assert re.search(r'<h2 id="leave">Leave</h2>.*<button type="submit" class="button danger">'
                     r"Unsubscribe from everything</button>", page, re.S)
