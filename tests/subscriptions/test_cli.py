"""``flask --app service subscriptions unsubscribe``: what an operator runs for mail sent to the
List-Unsubscribe mailto, through Flask's CLI runner on the real database."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask

from service.database import db
from service.mail.messages import sender_address
from service.subscriptions import composing, tokens
from service.subscriptions.models import Subscriber, SubscriberStatus
from tests import factories


def _status(app: Flask, subscriber_id: int) -> SubscriberStatus:
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber is not None
        status = subscriber.status
        db.session.remove()
    return status


def _mailto_subject(app: Flask, subscriber_id: int, email: str) -> str:
    """The subject of the List-Unsubscribe mailto, as every email to ``email`` carries it."""
    with app.app_context():
        token = tokens.manage_token(subscriber_id, 0, email)
        sender = sender_address(app.config["SETTINGS"].mail_from)
        mailto = composing.subscriber_links(sender, token).unsubscribe_mailto
    return parse_qs(urlsplit(mailto).query)["subject"][0]


def test_unsubscribe_by_the_token_of_the_mailto_subject(clean_app: Flask, runner: Any) -> None:
    reader = factories.subscriber(clean_app, "reader@example.org")
    other = factories.subscriber(clean_app, "other@example.org")
    subject = _mailto_subject(clean_app, reader, "reader@example.org")
    assert subject.startswith("unsubscribe ")
    token = subject.split()[1]

    result = runner.invoke(args=["subscriptions", "unsubscribe", token])
    assert result.exit_code == 0, result.output
    assert "reader@example.org is now unsubscribed" in result.output
    assert _status(clean_app, reader) is SubscriberStatus.UNSUBSCRIBED
    assert _status(clean_app, other) is SubscriberStatus.CONFIRMED
    # Again, or with the whole subject pasted: harmless, as the one-click POST is.
    again = runner.invoke(args=["subscriptions", "unsubscribe", subject])
    assert again.exit_code == 0 and "was already unsubscribed" in again.output


def test_unsubscribe_by_address(clean_app: Flask, runner: Any) -> None:
    reader = factories.subscriber(clean_app, "reader@example.org")
    pending = factories.subscriber(clean_app, "pending@example.org",
                                   status=SubscriberStatus.PENDING)
    result = runner.invoke(args=["subscriptions", "unsubscribe", " Reader@Example.ORG "])
    assert result.exit_code == 0, result.output
    assert _status(clean_app, reader) is SubscriberStatus.UNSUBSCRIBED
    assert runner.invoke(args=["subscriptions", "unsubscribe", "pending@example.org"]
                         ).exit_code == 0
    assert _status(clean_app, pending) is SubscriberStatus.UNSUBSCRIBED


def test_unknown_address_and_bad_or_revoked_tokens_change_nothing(clean_app: Flask,
                                                                   runner: Any) -> None:
    reader = factories.subscriber(clean_app, "reader@example.org")
    token = _mailto_subject(clean_app, reader, "reader@example.org").split()[1]
    with clean_app.app_context():
        revoked = tokens.manage_token(reader, 7, "reader@example.org")  # an old version
        elsewhere = tokens.manage_token(reader, 0, "someone.else@example.org")
    cases = {
        "nobody@example.org": "no subscriber with the address nobody@example.org",
        "not an@address": "not an address",
        token[:-3]: "not a valid token",
        revoked: "no longer valid",
        elsewhere: "no longer valid",
    }
    for value, message in cases.items():
        result = runner.invoke(args=["subscriptions", "unsubscribe", value])
        assert result.exit_code == 1 and message in result.output, (value, result.output)
    assert _status(clean_app, reader) is SubscriberStatus.CONFIRMED
