"""Subscribers and translations: who chose a language gets that version; who chose none gets
one version of each announcement (the first published), not one per language."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from service.announcements import publishing, queries, translations
from service.announcements.models import Status
from service.database import db, utcnow
from service.subscriptions import delivery, digests, mailings
from service.subscriptions.models import MailingKind, Subscriber
from tests import factories
from tests.fixtures.processes import wait_for_idle_worker
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

ENGLISH = "Ground station agreement signed"
ARABIC = "توقيع اتفاقية المحطة الأرضية"


def _subjects(server: SmtpServer, address: str) -> list[str]:
    return [str(r.message["Subject"]) for r in server.to(address)]


def _link_and_publish(app: Flask, english_id: int, arabic_id: int) -> None:
    with app.app_context():
        english, arabic = queries.get(english_id), queries.get(arabic_id)
        assert english is not None and arabic is not None
        translations.link(arabic, english)
        publishing.publish(arabic)
        db.session.commit()
        db.session.remove()


def test_instant_mail_sends_each_subscriber_their_version_once(
        clean_app: Flask, smtp_server: SmtpServer) -> None:
    factories.subscriber(clean_app, "any@example.org", "instant")
    factories.subscriber(clean_app, "en@example.org", "instant", language="en")
    factories.subscriber(clean_app, "ar@example.org", "instant", language="ar")
    english = factories.announcement(clean_app, ENGLISH)
    wait_for(lambda: len(smtp_server.received) == 2)
    arabic = factories.announcement(clean_app, ARABIC, language="ar", status=Status.DRAFT)
    _link_and_publish(clean_app, english, arabic)
    wait_for(lambda: len(smtp_server.to("ar@example.org")) == 1)
    wait_for_idle_worker(clean_app)
    assert _subjects(smtp_server, "any@example.org") == [ENGLISH]  # not the Arabic copy too
    assert _subjects(smtp_server, "en@example.org") == [ENGLISH]
    assert _subjects(smtp_server, "ar@example.org") == [ARABIC]


def test_digests_hold_the_version_in_the_subscribers_language(
        clean_app: Flask, smtp_server: SmtpServer) -> None:
    end = digests.period(MailingKind.DAILY, utcnow(), 7, 0)[1]
    for address, language in (("any@example.org", None), ("en@example.org", "en"),
                              ("ar@example.org", "ar")):
        factories.subscriber(clean_app, address, "daily", language=language)
    with clean_app.app_context():
        english = publishing.create(title=ENGLISH, status=Status.PUBLISHED,
                                    published_at=end - timedelta(hours=5))
        arabic = publishing.create(title=ARABIC, language="ar", status=Status.PUBLISHED,
                                   published_at=end - timedelta(hours=4))
        publishing.create(title="Other news", status=Status.PUBLISHED,
                                  published_at=end - timedelta(hours=3))
        translations.link(arabic, english)
        db.session.execute(sa.update(Subscriber).values(since_at=end - timedelta(days=1)))
        db.session.commit()
        mailing = digests.send(MailingKind.DAILY, now=end + timedelta(minutes=1), queue=False)
        for batch_id in mailings.batch_ids(mailing.mailing.id):
            delivery.run_batch(batch_id)
        db.session.remove()

    def body(address: str) -> str:
        [received] = smtp_server.to(address)
        return str(received.message.get_body(("plain",)).get_content())

    assert ENGLISH in body("any@example.org") and ARABIC not in body("any@example.org")
    assert "Other news" in body("any@example.org")
    assert ENGLISH in body("en@example.org") and ARABIC not in body("en@example.org")
    assert ARABIC in body("ar@example.org") and ENGLISH not in body("ar@example.org")

