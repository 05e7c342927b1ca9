"""Bounces, complaints and unsubscribe mail, in the common shapes, acted on once.

Each test sends real copies through aiosmtpd (so the envelope senders are the ones the service
really signs), fills a sample report under ``fixtures/`` in for one of them, and hands it to
the classifier the mailbox reader and the listener both use.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.inbound import processing
from service.inbound.models import InboundKind, InboundMessage
from service.subscriptions import suppression
from service.subscriptions.models import Subscriber, SubscriberStatus
from tests import factories
from tests.inbound.samples import sample
from tests.inbound.sending import Copy, publish_and_capture
from tests.mail.smtp import SmtpServer

READER = "reader@partner-agency.example"


def _feed(app: Flask, raw: bytes, recipients: list[str] | None = None) -> InboundMessage:
    with app.app_context():
        row, _ = processing.receive(raw, "cli", recipients)
        processing.process(row)
        db.session.commit()
        db.session.refresh(row)
        db.session.expunge(row)
        db.session.remove()
    return row


def _status(app: Flask, email: str = READER) -> SubscriberStatus:
    with app.app_context():
        status = db.session.scalar(sa.select(Subscriber.status).where(Subscriber.email == email))
        db.session.remove()
    assert status is not None
    return status


def _suppressed(app: Flask, email: str = READER) -> str | None:
    """The suppression list's reason for ``email``, None when it is not on the list."""
    with app.app_context():
        entry = suppression.entry_for(db.session, email)
        reason = f"{entry.source}: {entry.reason}" if entry else None
        db.session.remove()
    return reason


def _sent(app: Flask, server: SmtpServer, rcpts: tuple[str, ...] = (READER,)) -> dict[str, Copy]:
    for rcpt in rcpts:
        factories.subscriber(app, rcpt, "instant")
    return publish_and_capture(app, server, list(rcpts))


HARD = ["postfix_hard", "exim_hard", "exchange_ndr", "exchange_online", "gmail_hard",
        "ses_bounce"]


@pytest.mark.parametrize("shape", HARD)
def test_a_permanent_failure_stops_all_mail_to_the_address(
    bounce_app: Flask, smtp_server: SmtpServer, shape: str
) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    row = _feed(bounce_app, sample(shape, verp=copy.verp, rcpt=READER))
    assert (row.kind, row.outcome) == (InboundKind.HARD_BOUNCE, "bounced"), row.detail
    assert READER in (row.detail or "")
    assert _status(bounce_app) is SubscriberStatus.BOUNCED
    assert _suppressed(bounce_app) == "bounce: a permanent failure reported after sending"
    # The next announcement goes to the others only.
    factories.subscriber(bounce_app, "other@partner-agency.example", "instant")
    publish_and_capture(bounce_app, smtp_server, ["other@partner-agency.example"], "Next")
    assert len(smtp_server.to(READER)) == 1


def test_the_same_report_twice_changes_nothing_the_second_time(
    bounce_app: Flask, smtp_server: SmtpServer
) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    raw = sample("postfix_delayed", verp=copy.verp, rcpt=READER)
    first, second = _feed(bounce_app, raw), _feed(bounce_app, raw)
    assert first.id == second.id and first.outcome == "counted"
    # Another report (another Message-ID) about the same copy counts once too.
    again = _feed(bounce_app, sample("gmail_over_quota", verp=copy.verp, rcpt=READER))
    assert (again.kind, again.outcome) == (InboundKind.SOFT_BOUNCE, "counted")
    with bounce_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 2
        db.session.remove()
    assert _status(bounce_app) is SubscriberStatus.CONFIRMED
    assert _suppressed(bounce_app) is None


def test_temporary_failures_of_enough_copies_mark_the_subscriber_bounced(
    bounce_app: Flask, smtp_server: SmtpServer
) -> None:
    factories.subscriber(bounce_app, READER, "instant")
    outcomes = []
    for n in range(3):  # BOUNCE_SOFT_LIMIT is 3 by default
        copy = publish_and_capture(bounce_app, smtp_server, [READER], f"Announcement {n}")[READER]
        shape = "postfix_delayed" if n % 2 == 0 else "gmail_over_quota"
        row = _feed(bounce_app, sample(shape, verp=copy.verp, rcpt=READER,
                                       message_id=f"delay-{n}@mx.example"))
        outcomes.append(row.outcome)
    assert outcomes == ["counted", "counted", "bounced"]
    assert _status(bounce_app) is SubscriberStatus.BOUNCED
    assert _suppressed(bounce_app) == "bounce: temporary failures of 3 copies"


@pytest.mark.parametrize("shape", ["ses_complaint", "yahoo_arf_redacted"])
def test_a_complaint_unsubscribes(bounce_app: Flask, smtp_server: SmtpServer, shape: str) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    row = _feed(bounce_app, sample(shape, verp=copy.verp, rcpt=READER, manage=copy.manage))
    assert (row.kind, row.outcome) == (InboundKind.COMPLAINT, "unsubscribed"), row.detail
    assert "feedback-type abuse" in (row.detail or "")
    assert _status(bounce_app) is SubscriberStatus.UNSUBSCRIBED
    assert _suppressed(bounce_app) == "complaint: a complaint (feedback-loop report)"


def test_mail_to_the_unsubscribe_mailto_unsubscribes_without_an_operator(
    bounce_app: Flask, smtp_server: SmtpServer
) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    row = _feed(bounce_app, sample("unsubscribe_request", verp=copy.verp, rcpt=READER,
                                   manage=copy.manage), [copy.mailto])
    assert (row.kind, row.outcome) == (InboundKind.UNSUBSCRIBE, "unsubscribed")
    assert _status(bounce_app) is SubscriberStatus.UNSUBSCRIBED
    assert _suppressed(bounce_app) is None  # leaving is no reason to refuse a new sign-up


def test_forged_tokens_change_nothing_and_are_kept(bounce_app: Flask,
                                                   smtp_server: SmtpServer) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    local, _, domain = copy.verp.partition("@")
    payload, _, mac = local.partition("+")[2].partition(".")
    forged_mac = f"{local.partition('+')[0]}+{payload}.{'a' * 13}@{domain}"
    forged = _feed(bounce_app, sample("postfix_hard", verp=forged_mac, rcpt=READER))
    assert (forged.kind, forged.outcome) == (InboundKind.HARD_BOUNCE, "forged")
    bad_link = copy.manage[:-3] + ("xyz" if not copy.manage.endswith("xyz") else "abc")
    request = _feed(bounce_app, sample("unsubscribe_request", verp="", rcpt=READER,
                                       manage=bad_link), [copy.mailto])
    assert (request.kind, request.outcome) == (InboundKind.UNSUBSCRIBE, "forged")
    assert _status(bounce_app) is SubscriberStatus.CONFIRMED
    assert _suppressed(bounce_app) is None


def test_a_report_on_a_copy_older_than_the_subscription_changes_nothing(
    bounce_app: Flask, smtp_server: SmtpServer
) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    with bounce_app.app_context():  # they left and confirmed again since that copy
        from datetime import timedelta

        from service.database import utcnow

        db.session.execute(sa.update(Subscriber).values(confirmed_at=utcnow()
                                                        + timedelta(seconds=2)))
        db.session.commit()
        db.session.remove()
    row = _feed(bounce_app, sample("gmail_hard", verp=copy.verp, rcpt=READER))
    assert (row.kind, row.outcome) == (InboundKind.HARD_BOUNCE, "stale")
    assert _status(bounce_app) is SubscriberStatus.CONFIRMED
    assert _suppressed(bounce_app) is None


@pytest.mark.parametrize(("shape", "kind", "outcome"), [
    ("human_question", InboundKind.UNRECOGNISED, "kept"),
    ("arf_not_spam", InboundKind.REPORT, "kept"),
    ("out_of_office", InboundKind.AUTO_REPLY, "nothing"),
])
def test_what_is_no_bounce_changes_nothing(bounce_app: Flask, smtp_server: SmtpServer,
                                           shape: str, kind: InboundKind, outcome: str) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    row = _feed(bounce_app, sample(shape, verp=copy.verp, rcpt=READER))
    assert (row.kind, row.outcome) == (kind, outcome)
    assert _status(bounce_app) is SubscriberStatus.CONFIRMED


def test_the_operator_lists_and_reads_what_was_kept(bounce_app: Flask,
                                                    smtp_server: SmtpServer) -> None:
    copy = _sent(bounce_app, smtp_server)[READER]
    kept = _feed(bounce_app, sample("human_question", verp=copy.verp, rcpt=READER))
    _feed(bounce_app, sample("out_of_office", verp=copy.verp, rcpt=READER))
    runner = bounce_app.test_cli_runner()
    listing = runner.invoke(args=["inbound", "list"])
    assert listing.exit_code == 0, listing.output
    assert "press contact" not in listing.output and "Re: ESA ground station" in listing.output
    assert "Automatic reply" not in listing.output  # nothing to do for an operator
    assert "Automatic reply" in runner.invoke(args=["inbound", "list", "--all"]).output
    shown = runner.invoke(args=["inbound", "show", str(kept.id)])
    assert "Is there a press contact" in shown.output
    assert runner.invoke(args=["inbound", "resolve", str(kept.id)]).output.startswith("resolved 1")
    assert "nothing waiting" in runner.invoke(args=["inbound", "list"]).output
