"""Small helpers for subscription tests: read links out of received mail, make subscribers."""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask import Flask

from service.database import db
from service.subscriptions import lifecycle
from service.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import TEST_BASE_URL

LINK = re.compile(re.escape(TEST_BASE_URL) + r"(/subscriptions/(?:confirm|manage|unsubscribe)/"
                  r"[A-Za-z0-9_.-]+)")


def links(msg: EmailMessage, part: str = "plain") -> dict[str, str]:
    """``{"confirm"|"manage"|"unsubscribe": path}`` from one part of a message."""
    body = msg.get_body((part,))
    assert body is not None
    found = {}
    for path in LINK.findall(body.get_content()):
        found[path.split("/")[2]] = path
    return found


def add_subscriber(app: Flask, email: str, frequency: str = "daily", *,
                   status: SubscriberStatus = SubscriberStatus.CONFIRMED,
                   **preferences: object) -> int:
    """A subscriber row as a confirmation would leave it (committed, in its own context)."""
    with app.app_context():
        prefs = lifecycle.parse_preferences({"frequency": frequency, **preferences})
        subscriber = Subscriber(email=email, status=status, frequency=prefs.frequency,
                                tags=list(prefs.tags), partners=list(prefs.partners),
                                language=prefs.language)
        db.session.add(subscriber)
        db.session.flush()
        if status is SubscriberStatus.CONFIRMED:
            subscriber.confirmed_at = subscriber.since_at = subscriber.created_at
        db.session.commit()
        subscriber_id = subscriber.id
        db.session.remove()
    return subscriber_id
