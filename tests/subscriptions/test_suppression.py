"""The suppression list: sending skips it, a sign-up cannot get around it without a fresh
confirmation, and admins see why an address is on it and can lift it. Real database, real
worker, real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.database import db, utcnow
from service.subscriptions import digests, mailings, suppression
from service.subscriptions.delivery import run_batch
from service.subscriptions.models import (
    Delivery,
    MailingKind,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from tests import factories
from tests.editor.conftest import csrf, sign_in
from tests.factories import EditorInfo
from tests.mail.smtp import SmtpServer
from tests.subscriptions.helpers import csrf_token, follow_confirm_link, links
from tests.waiting import wait_for


def _suppress(app: Flask, email: str, reason: str = "550 5.1.1 no such user",
              source: str = "bounce") -> None:
    with app.app_context():
        suppression.suppress(db.session, email, reason, source)
        db.session.commit()
        db.session.remove()


def _suppressed(app: Flask, email: str) -> bool:
    with app.app_context():
        found = suppression.is_suppressed(db.session, email)
        db.session.remove()
    return found


def _daily_digest(app: Flask) -> list[Any]:
    end = digests.period(MailingKind.DAILY, utcnow(), 7, 0)[1]
    with app.app_context():
        db.session.execute(sa.update(Subscriber).values(since_at=end - timedelta(days=3)))
        db.session.commit()
        db.session.remove()
    factories.announcement(app, "Remote sensing annex", published_at=end - timedelta(hours=5))
    with app.app_context():
        started = digests.send(MailingKind.DAILY, queue=False)
        results = [run_batch(b) for b in mailings.batch_ids(started.mailing.id)]
        db.session.remove()
    return results


def test_suppress_is_lift_by_normalised_hash_only(clean_app: Flask) -> None:
    with clean_app.app_context():
        first = suppression.suppress(db.session, " Reader@Example.ORG ", "hard\r\nbounce", "bounce")
        db.session.commit()
        assert first.address_hash == suppression.address_hash("reader@example.org")
        assert first.reason == "hard bounce"  # one line
        assert suppression.is_suppressed(db.session, "<READER@example.org>")
        assert not suppression.is_suppressed(db.session, "other@example.org")
        # Again: one entry, the latest reason and source.
        suppression.suppress(db.session, "reader@example.org", "complaint (ARF)", "complaint")
        db.session.commit()
        rows = list(db.session.scalars(sa.select(Suppression)))
        assert [(r.reason, r.source) for r in rows] == [("complaint (ARF)", "complaint")]
        # Only the hash is stored, never the address.
        raw = db.session.execute(sa.text("SELECT * FROM suppressions")).all()
        assert "reader" not in repr(raw)
        assert suppression.lift(db.session, "READER@example.org") is True
        assert suppression.lift(db.session, "reader@example.org") is False
        db.session.commit()
        assert not suppression.is_suppressed(db.session, "reader@example.org")
        db.session.remove()


def test_sending_skips_a_suppressed_address_whatever_its_status(
    clean_app: Flask, smtp_server: SmtpServer
) -> None:
    factories.subscriber(clean_app, "kept@example.org", "daily")
    bounced = factories.subscriber(clean_app, "gone@example.org", "daily")
    _suppress(clean_app, "GONE@example.org")
    results = _daily_digest(clean_app)
    assert sum(r.sent for r in results) == 1
    assert sorted(r for m in smtp_server.received for r in m.recipients) == ["kept@example.org"]
    with clean_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                 .where(Delivery.subscriber_id == bounced)) == 0
        status = db.session.get(Subscriber, bounced).status  # type: ignore[union-attr]
        assert status is SubscriberStatus.CONFIRMED  # still subscribed, yet mailed nothing
        db.session.remove()


def test_signing_up_again_needs_a_fresh_confirmation(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    address = "back@example.org"
    assert client.post("/api/v1/subscriptions",
                       json={"email": address, "frequency": "daily"}).status_code == 202
    old = wait_for(lambda: smtp_server.to(address))[0].message
    time.sleep(1.1)  # links are signed to the second: the suppression comes after this one
    _suppress(clean_app, address, "complaint from the mailbox provider", "complaint")

    # The link mailed before the suppression does not lift it.
    page = client.get(links(old)["confirm"])
    assert page.status_code == 404
    assert _suppressed(clean_app, address)

    # Signing up again mails a fresh link; signing up alone lifts nothing.
    time.sleep(1.1)
    assert client.post("/api/v1/subscriptions",
                       json={"email": address, "frequency": "daily"}).status_code == 202
    fresh = wait_for(lambda: len(smtp_server.to(address)) == 2 and smtp_server.to(address))
    assert _suppressed(clean_app, address)
    _daily_digest(clean_app)
    assert len(smtp_server.to(address)) == 2  # the two confirmations, no digest

    # Following the fresh one confirms and lifts the suppression.
    assert follow_confirm_link(client, links(fresh[1].message)["confirm"]).status_code == 200
    assert not _suppressed(clean_app, address)
    with clean_app.app_context():
        subscriber = db.session.scalars(
            sa.select(Subscriber).where(Subscriber.email == address)).one()
        assert subscriber.status is SubscriberStatus.CONFIRMED
        db.session.remove()


def test_resubscribing_from_an_old_manage_link_mails_a_confirmation_instead(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    address = "manage@example.org"
    factories.subscriber(clean_app, address, "weekly")
    with clean_app.app_context():
        from service.subscriptions import tokens

        row = db.session.scalars(sa.select(Subscriber).where(Subscriber.email == address)).one()
        manage = "/subscriptions/manage/" + tokens.manage_token(row.id, row.token_version, address)
        db.session.remove()
    _suppress(clean_app, address)
    time.sleep(1.1)  # links are signed to the second: the link must come after the suppression
    page = client.get(manage)
    assert page.status_code == 200 and b"paused" in page.data
    response = client.post(manage, data={"csrf_token": csrf_token(page.data),
                                         "action": "resubscribe", "frequency": "weekly"})
    assert response.status_code == 200, response.text
    assert b"We sent a confirmation link" in response.data
    assert _suppressed(clean_app, address)
    confirmation = wait_for(lambda: smtp_server.to(address))[0].message
    assert follow_confirm_link(client, links(confirmation)["confirm"]).status_code == 200
    assert not _suppressed(clean_app, address)


PAGE = "/editor/admin/suppressions"


def test_admins_see_why_and_lift_editors_cannot(
    clean_app: Flask, client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    _suppress(clean_app, "bounced@example.org", "550 5.1.1 user unknown", "bounce")
    editor = make_editor("editor")
    assert sign_in(client, editor.email).status_code == 302
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE + "/1/lift").status_code in (400, 403)  # CSRF or role: never lifted
    assert _suppressed(clean_app, "bounced@example.org")

    admin_client = clean_app.test_client()
    admin = make_editor("admin")
    assert sign_in(admin_client, admin.email).status_code == 302
    listing = admin_client.get(PAGE)
    assert listing.status_code == 200
    assert "550 5.1.1 user unknown" in listing.text and "bounce" in listing.text
    assert "bounced@example.org" not in listing.text  # only hashes are kept

    token = csrf(admin_client, PAGE)
    found = admin_client.post(PAGE, data={"lookup-csrf_token": token,
                                          "lookup-email": "Bounced@Example.org"})
    assert found.status_code == 200
    assert "bounced@example.org is suppressed" in found.text
    assert "550 5.1.1 user unknown" in found.text
    bad = admin_client.post(PAGE, data={"lookup-csrf_token": token, "lookup-email": "nope"})
    assert bad.status_code == 200 and "not suppressed" not in bad.text  # an error, no 500

    added = admin_client.post(PAGE, data={"add-csrf_token": token, "add-email": "ask@example.org",
                                          "add-reason": "asked us by phone"})
    assert added.status_code == 303
    assert _suppressed(clean_app, "ask@example.org")
    with clean_app.app_context():
        entry = suppression.entry_for(db.session, "ask@example.org")
        assert entry is not None and entry.source == "admin"
        entry_id = entry.id
        db.session.remove()
    lift = re.search(rf'action="({PAGE}/{entry_id}/lift)"', admin_client.get(PAGE).text)
    assert lift
    assert admin_client.post(lift.group(1), data={"csrf_token": token}).status_code == 303
    assert not _suppressed(clean_app, "ask@example.org")
    assert _suppressed(clean_app, "bounced@example.org")
    assert admin_client.post(lift.group(1), data={"csrf_token": token}).status_code == 404


def test_plain_addresses_skip_the_validator_and_hash_the_same() -> None:
    """The fast path for plain ASCII addresses gives what the validator's normal form does,
    valid or not (a batch hashes every address it plans)."""
    from email_validator import EmailNotValidError, validate_email

    samples = ["Reader0@Example.ORG", "a.b+news@agency.example", "a..b@x.org", "x@-y.org",
               "x@y.org.", ".x@y.org", "x@y", "X@localhost", "x-@y--z.example", "_@a.b",
               "a@b.c", "x@" + "a" * 64 + ".org", "a" * 65 + "@x.org", "x@1.2.3.4"]
    for address in samples:
        try:
            result = validate_email(address, check_deliverability=False, allow_smtputf8=False)
            slow = (result.ascii_email or address).lower()
        except EmailNotValidError:
            slow = address.lower()
        assert suppression.normal_form(f" <{address}> ") == slow, address
