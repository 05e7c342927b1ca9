"""The bounce mailbox on a real Dovecot: read by the beat task's code, marked only once
recorded, never acted on twice."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.inbound import mailbox, processing
from service.inbound.mailbox import PROCESSED
from service.inbound.models import InboundMessage
from service.subscriptions.models import Subscriber, SubscriberStatus
from tests import factories
from tests.inbound.dovecot import Dovecot
from tests.inbound.samples import sample
from tests.inbound.sending import publish_and_capture
from tests.mail.smtp import SmtpServer

READERS = [f"reader{n}@partner-agency.example" for n in range(3)]


def _statuses(app: Flask) -> dict[str, SubscriberStatus]:
    with app.app_context():
        rows = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.status)).all())
        db.session.remove()
    return {k: SubscriberStatus(v) for k, v in rows.items()}


def _read(app: Flask) -> mailbox.ReadResult:
    with app.app_context():
        result = mailbox.read()
        db.session.remove()
    return result


def _reports(app: Flask, server: SmtpServer) -> list[bytes]:
    for rcpt in READERS:
        factories.subscriber(app, rcpt, "instant")
    copies = publish_and_capture(app, server, READERS)
    return [
        sample("postfix_hard", verp=copies[READERS[0]].verp, rcpt=READERS[0]),
        sample("ses_complaint", verp=copies[READERS[1]].verp, rcpt=READERS[1],
               manage=copies[READERS[1]].manage),
        sample("human_question", verp=copies[READERS[2]].verp, rcpt=READERS[2]),
    ]


def test_the_reader_acts_once_and_flags_what_it_recorded(
    bounce_app: Flask, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    dovecot.append(*_reports(bounce_app, smtp_server))
    bounce_app.config["INBOUND_IMAP_URL"] = dovecot.url
    result = _read(bounce_app)
    assert (result.new, result.already, result.marked) == (3, 0, 3)
    assert result.outcomes == {"bounced": 1, "unsubscribed": 1, "kept": 1}
    assert _statuses(bounce_app) == {READERS[0]: SubscriberStatus.BOUNCED,
                                     READERS[1]: SubscriberStatus.UNSUBSCRIBED,
                                     READERS[2]: SubscriberStatus.CONFIRMED}
    assert all({PROCESSED.encode(), b"\\Seen"} <= f for f in dovecot.flags().values())
    again = _read(bounce_app)
    assert (again.new, again.already, again.marked) == (0, 0, 0)  # nothing unmarked is left
    # What needs an operator is kept whole.
    with bounce_app.app_context():
        kept = db.session.scalars(sa.select(InboundMessage).where(
            InboundMessage.outcome == "kept")).one()
        assert b"press contact" in kept.raw and kept.imap_uid
        db.session.remove()


def test_a_message_recorded_before_a_crash_is_marked_and_not_acted_on_again(
    bounce_app: Flask, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    reports = _reports(bounce_app, smtp_server)
    dovecot.append(*reports)
    # A reader died after committing the first message, before flagging it on the server.
    with bounce_app.app_context():
        row, _ = processing.receive(reports[0], "imap")
        processing.process(row)
        db.session.commit()
        db.session.remove()
    bounce_app.config["INBOUND_IMAP_URL"] = dovecot.url
    result = _read(bounce_app)
    assert (result.new, result.already, result.marked) == (2, 1, 3)
    with bounce_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 3
        db.session.remove()


def test_processed_messages_can_be_moved_to_a_folder(
    bounce_app: Flask, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    dovecot.append(*_reports(bounce_app, smtp_server))
    bounce_app.config["INBOUND_IMAP_URL"] = dovecot.url + "&move_to=Processed"
    assert _read(bounce_app).marked == 3
    assert dovecot.flags() == {} and len(dovecot.flags("Processed")) == 3
    assert _read(bounce_app).new == 0


def test_an_unreachable_mailbox_is_a_clear_error(bounce_app: Flask) -> None:
    import pytest

    bounce_app.config["INBOUND_IMAP_URL"] = "imap://u:p@127.0.0.1:1/INBOX?timeout=2"
    with pytest.raises(mailbox.MailboxError, match="cannot open 127.0.0.1:1"):
        _read(bounce_app)
