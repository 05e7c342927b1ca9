"""VERP envelope senders: each copy's MAIL FROM names it, signed, short, case-proof."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask

from service.config import ConfigError, load_settings
from service.database import db
from service.mail import verp
from service.subscriptions.models import Delivery, Subscriber
from tests import factories
from tests.inbound.conftest import BOUNCE_ADDRESS
from tests.inbound.sending import publish_and_capture
from tests.mail.smtp import SmtpServer


def test_each_copy_has_its_own_signed_envelope_sender(bounce_app: Flask,
                                                      smtp_server: SmtpServer) -> None:
    for n in range(3):
        factories.subscriber(bounce_app, f"reader{n}@partner-agency.example", "instant")
    copies = publish_and_capture(bounce_app, smtp_server,
                                 [f"reader{n}@partner-agency.example" for n in range(3)])
    senders = {c.verp for c in copies.values()}
    assert len(senders) == 3  # one per copy
    with bounce_app.app_context():
        for rcpt, copy in copies.items():
            local, _, domain = copy.verp.partition("@")
            assert domain == "agency.example" and local.startswith("bounces+")
            assert len(local) <= 64 and copy.verp == copy.verp.lower()
            token = verp.token_of(copy.verp)
            assert token is not None
            named = verp.load(token.upper())  # an MTA that upper- or lower-cases loses nothing
            subscriber = db.session.scalars(sa.select(Subscriber)
                                            .where(Subscriber.email == rcpt)).one()
            delivery = db.session.get(Delivery, named.delivery_id)
            assert named.subscriber_id == subscriber.id and named.matches(rcpt)
            assert delivery is not None and delivery.subscriber_id == subscriber.id
            # The List-Unsubscribe mailto goes where the inbound reader looks.
            assert copy.mailto == "bounces+unsubscribe@agency.example"
        db.session.remove()


def test_forged_or_altered_tokens_are_refused(ctx: Flask) -> None:
    ctx.config["BOUNCE_ADDRESS"] = BOUNCE_ADDRESS
    try:
        address = verp.Senders("newsroom@localhost").make(7, 42, "reader@example.org")
        token = verp.token_of(address)
        assert token is not None and verp.load(token).delivery_id == 42
        payload, _, mac = token.partition(".")
        flipped = payload[:-1] + ("a" if payload[-1] != "a" else "b")
        for forged in (f"{flipped}.{mac}", f"{payload}.{'a' * 13}", token[:-1], "x" * 40):
            with pytest.raises(verp.InvalidEnvelope):
                verp.load(forged)
        ctx.config["SECRET_KEY"], key = "another-secret-key-" + "y" * 32, ctx.config["SECRET_KEY"]
        try:
            with pytest.raises(verp.InvalidEnvelope):
                verp.load(token)  # signed with someone else's key
        finally:
            ctx.config["SECRET_KEY"] = key
    finally:
        ctx.config.pop("BOUNCE_ADDRESS")


def test_without_bounce_address_the_envelope_is_mail_from(ctx: Flask) -> None:
    ctx.config["BOUNCE_ADDRESS"] = None
    try:
        senders = verp.Senders("newsroom@localhost")
        assert senders.make(1, 2, "reader@example.org") == "newsroom@localhost"
        assert senders.unsubscribe_address == "newsroom@localhost"
    finally:
        ctx.config.pop("BOUNCE_ADDRESS")


def test_confirmation_mail_names_the_subscriber(bounce_app: Flask, smtp_server: SmtpServer) -> None:
    with bounce_app.app_context():
        from service.subscriptions import lifecycle

        lifecycle.subscribe("new@partner-agency.example",
                            lifecycle.parse_preferences({"frequency": "daily"}))
        db.session.commit()
        subscriber_id = db.session.scalar(sa.select(Subscriber.id))
        db.session.remove()
    from tests.waiting import wait_for

    received = wait_for(lambda: smtp_server.to("new@partner-agency.example"), timeout=20)[0]
    with bounce_app.app_context():
        token = verp.token_of(received.sender)
        assert token is not None
        named = verp.load(token)
    assert named.subscriber_id == subscriber_id and named.delivery_id is None
    # That confirmation bounces: the address goes on the suppression list.
    from service.inbound import processing
    from service.subscriptions import suppression
    from tests.inbound.samples import sample

    with bounce_app.app_context():
        row, _ = processing.receive(sample("gmail_hard", verp=received.sender,
                                           rcpt="new@partner-agency.example"), "cli")
        processing.process(row)
        db.session.commit()
        assert row.outcome == "suppressed"
        assert suppression.is_suppressed(db.session, "new@partner-agency.example")
        db.session.remove()


@pytest.mark.parametrize(("value", "problem"), [
    ("Bounces <bounces@example.org>", "bare address"),
    ("a-very-long-bounce-mailbox-name@example.org", "at most"),
    ("bounces+x@example.org", "without '+'"),
    ("not an address", "not one address"),
])
def test_bounce_address_is_checked_at_start_up(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="BOUNCE_ADDRESS") as raised:
        load_settings({"BOUNCE_ADDRESS": value})
    assert problem in str(raised.value)


def test_imap_url_is_checked_at_start_up() -> None:
    settings = load_settings({"BOUNCE_ADDRESS": "bounces@example.org",
                              "INBOUND_IMAP_URL": "imap://u:p@127.0.0.1:1143/INBOX"})
    assert settings.bounce_address == "bounces@example.org"
    assert replace(settings).inbound_imap_url == "imap://u:p@127.0.0.1:1143/INBOX"
    for bad in ("http://u:p@host/", "imap://host/INBOX", "imap://u:p@host/?frobnicate=1"):
        with pytest.raises(ConfigError, match="INBOUND_IMAP_URL"):
            load_settings({"INBOUND_IMAP_URL": bad})
