"""Instant mail and digests against a real SMTP server: content, headers, links, and exactly once.

Each duplicate and crash scenario runs the real code against aiosmtpd and counts what the
server received: sending twice, two beats at once, a retried (or concurrent) batch, the server
going away mid-batch or refusing, a reply that never comes, and a worker that died holding
claims. The true kill (SIGKILL of a Celery pool process) is in ``test_worker_killed``.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.subscriptions import delivery, digests, mailings, reaper, runs
from service.subscriptions.models import (
    Delivery,
    DeliveryStatus,
    MailBatch,
    Mailing,
    MailingKind,
    Subscriber,
    SubscriberStatus,
)
from tests import factories
from tests.mail.smtp import SmtpServer
from tests.subscriptions.helpers import links
from tests.waiting import wait_for

DAILY = MailingKind.DAILY


def _period_end() -> datetime:
    return digests.period(DAILY, utcnow(), 7, 0)[1]


def _subscribers(app: Flask, count: int, frequency: str = "daily", since: datetime | None = None,
                 prefix: str = "reader") -> list[str]:
    addresses = [f"{prefix}{n}@example.org" for n in range(count)]
    for address in addresses:
        factories.subscriber(app, address, frequency)
    if since is not None:
        with app.app_context():
            db.session.execute(sa.update(Subscriber).values(since_at=since))
            db.session.commit()
            db.session.remove()
    return addresses


def _start_digest(app: Flask) -> int:
    with app.app_context():
        started = digests.send(DAILY, queue=False)
        mailing_id = started.mailing.id
        db.session.remove()
    return mailing_id


def _run(app: Flask, mailing_id: int) -> list[delivery.BatchResult]:
    with app.app_context():
        results = [delivery.run_batch(b) for b in mailings.batch_ids(mailing_id)]
        db.session.remove()
    return results


def _statuses(app: Flask, mailing_id: int) -> dict[str, int]:
    with app.app_context():
        counts = mailings.summary(mailing_id)
        db.session.remove()
    return counts


def _copies(server: SmtpServer) -> Counter[str]:
    return Counter(r for received in server.received for r in received.recipients)


def _daily_digest_with_items(app: Flask, subscribers: int) -> tuple[list[str], int]:
    end = _period_end()
    addresses = _subscribers(app, subscribers, since=end - timedelta(days=3))
    factories.announcement(app, "Joint observatory mirror", published_at=end - timedelta(hours=5),
                           tags=["observatory"])
    return addresses, _start_digest(app)


# -- content -------------------------------------------------------------------------------


def test_instant_mail_reaches_matching_confirmed_subscribers_only(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer
) -> None:
    factories.subscriber(clean_app, "all@example.org", "instant")
    factories.subscriber(clean_app, "esa@example.org", "instant", partners=["esa"])
    factories.subscriber(clean_app, "nasa@example.org", "instant", partners=["nasa"])
    factories.subscriber(clean_app, "arabic@example.org", "instant", language="ar")
    factories.subscriber(clean_app, "daily@example.org", "daily")
    factories.subscriber(clean_app, "pending@example.org", "instant",
                         status=SubscriberStatus.PENDING)
    factories.announcement(clean_app, "ESA & the agency sign a data annex", partners=["esa"],
                           summary="An annex on Earth-observation data.")

    received = wait_for(lambda: len(smtp_server.received) == 2 and smtp_server.received)
    assert sorted(r.recipients[0] for r in received) == ["all@example.org", "esa@example.org"]
    msg = smtp_server.to("esa@example.org")[0].message
    assert msg["Subject"] == "ESA & the agency sign a data annex"
    assert msg["From"] == "Newsroom <newsroom@localhost>"
    assert msg["Message-ID"] and msg["Date"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = links(msg)["unsubscribe"]
    assert msg["List-Unsubscribe"].startswith(f"<http://newsroom.test{unsubscribe}>, <mailto:")
    html = msg.get_body(("html",)).get_content()
    assert "An annex on Earth-observation data." in html and "<style" not in html
    assert links(msg, "html") == links(msg)
    assert client.get(links(msg)["manage"]).status_code == 200
    assert clean_app.test_client(use_cookies=False).post(
        unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with clean_app.app_context():
        status = db.session.scalar(sa.select(Subscriber.status)
                                   .where(Subscriber.email == "esa@example.org"))
    assert status is SubscriberStatus.UNSUBSCRIBED


def test_retracted_before_it_went_out_is_never_mailed(clean_app: Flask,
                                                      smtp_server: SmtpServer) -> None:
    factories.subscriber(clean_app, "all@example.org", "instant")
    with clean_app.app_context():
        item = publishing.create(title="Withdrawn", status=Status.PUBLISHED)
        db.session.commit()
        mailing = mailings.start_instant(item.id, queue=False)
        assert mailing is not None
        publishing.retract(db.session.get(Announcement, item.id))
        db.session.commit()
        mailing_id = mailing.id
        db.session.remove()
    _run(clean_app, mailing_id)
    assert smtp_server.received == []
    assert _statuses(clean_app, mailing_id) == {}


def test_digest_holds_what_is_new_and_matches(clean_app: Flask, smtp_server: SmtpServer) -> None:
    end = _period_end()
    since = end - timedelta(days=1)
    factories.subscriber(clean_app, "all@example.org", "daily")
    factories.subscriber(clean_app, "obs@example.org", "daily", tags=["observatory"])
    factories.subscriber(clean_app, "none@example.org", "daily", tags=["no-such-topic"])
    factories.subscriber(clean_app, "weekly@example.org", "weekly")
    factories.subscriber(clean_app, "pending@example.org", "daily", status=SubscriberStatus.PENDING)
    with clean_app.app_context():
        db.session.execute(sa.update(Subscriber).values(since_at=since))
        db.session.commit()
    factories.announcement(clean_app, "Too old", published_at=since - timedelta(hours=1))
    factories.announcement(clean_app, "Mirror polished", published_at=end - timedelta(hours=3),
                           tags=["observatory"])
    factories.announcement(clean_app, "مشروع رصد المياه", published_at=end - timedelta(hours=2),
                           language="ar", summary="ملخص")
    withdrawn = factories.announcement(clean_app, "Withdrawn",
                                       published_at=end - timedelta(hours=1))
    factories.announcement(clean_app, "After the period", published_at=end + timedelta(minutes=1))
    with clean_app.app_context():
        publishing.retract(db.session.get(Announcement, withdrawn))
        db.session.commit()

    mailing_id = _start_digest(clean_app)
    _run(clean_app, mailing_id)
    assert _copies(smtp_server) == {"all@example.org": 1, "obs@example.org": 1}
    everything = smtp_server.to("all@example.org")[0].message
    assert everything["Subject"] == "Daily digest: مشروع رصد المياه (and 1 more)"
    text = everything.get_body(("plain",)).get_content()
    assert "مشروع رصد المياه" in text and "Mirror polished" in text
    for absent in ("Too old", "Withdrawn", "After the period"):
        assert absent not in text
    assert 'dir="rtl"' in everything.get_body(("html",)).get_content()
    obs = smtp_server.to("obs@example.org")[0].message.get_body(("plain",)).get_content()
    assert "Mirror polished" in obs and "مشروع" not in obs

    # The next period holds only what came after; the one after that has nothing: no email.
    with clean_app.app_context():
        for days in (1, 2):
            later = digests.send(DAILY, now=end + timedelta(days=days, hours=1), queue=False)
            assert later.created
            for batch_id in mailings.batch_ids(later.mailing.id):
                delivery.run_batch(batch_id)
    assert _copies(smtp_server) == {"all@example.org": 2, "obs@example.org": 1}
    second = smtp_server.to("all@example.org")[1].message
    assert second["Subject"] == "Daily digest: After the period"


# -- exactly once --------------------------------------------------------------------------


def test_sending_twice_sends_one_copy(clean_app: Flask, smtp_server: SmtpServer) -> None:
    addresses, mailing_id = _daily_digest_with_items(clean_app, 5)
    assert _start_digest(clean_app) == mailing_id  # the same period: the same mailing
    with clean_app.app_context():
        assert digests.send(DAILY, queue=False).created is False
    _run(clean_app, mailing_id)
    _run(clean_app, mailing_id)  # a retried task
    assert _copies(smtp_server) == dict.fromkeys(addresses, 1)
    assert _statuses(clean_app, mailing_id) == {"sent": 5}


def test_two_beats_at_once_start_one_mailing(clean_app: Flask, smtp_server: SmtpServer) -> None:
    end = _period_end()
    _subscribers(clean_app, 3, since=end - timedelta(days=3))
    factories.announcement(clean_app, "Payload selection", published_at=end - timedelta(hours=5))
    barrier = threading.Barrier(2)
    started: list[tuple[int, bool]] = []

    def beat() -> None:
        with clean_app.app_context():
            barrier.wait()
            result = digests.send(DAILY, queue=False)
            started.append((result.mailing.id, result.created))
            db.session.remove()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len({mailing_id for mailing_id, _ in started}) == 1
    assert sorted(created for _, created in started) == [False, True]
    with clean_app.app_context():
        # (Publishing also starts an instant mailing, in the worker: only digests count here.)
        digests_started = sa.select(sa.func.count()).select_from(Mailing).where(
            Mailing.kind == MailingKind.DAILY)
        assert db.session.scalar(digests_started) == 1


def test_concurrent_runs_of_one_batch_send_one_copy(clean_app: Flask,
                                                    smtp_server: SmtpServer) -> None:
    smtp_server.handler.delay_all = 0.01  # keep the runs busy at the same time
    smtp_server.handler.pipelining = True
    addresses, mailing_id = _daily_digest_with_items(clean_app, 30)

    def run() -> None:
        _run(clean_app, mailing_id)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert _copies(smtp_server) == dict.fromkeys(addresses, 1)
    assert _statuses(clean_app, mailing_id) == {"sent": 30}


def test_server_gone_mid_batch_resumes_where_it_stopped(clean_app: Flask,
                                                        smtp_server: SmtpServer) -> None:
    smtp_server.handler.pipelining = True  # MAIL and RCPT go out together
    addresses, mailing_id = _daily_digest_with_items(clean_app, 20)
    smtp_server.handler.drop_mail_after = 7
    [result] = _run(clean_app, mailing_id)
    assert (result.sent, result.deferred, result.done) == (7, 13, False)
    assert _statuses(clean_app, mailing_id) == {"sent": 7, "deferred": 13}
    smtp_server.handler.drop_mail_after = None
    [result] = _run(clean_app, mailing_id)  # the task's retry
    assert (result.sent, result.done) == (13, True)
    assert _copies(smtp_server) == dict.fromkeys(addresses, 1)


def test_server_down_loses_nothing(clean_app: Flask, smtp_server: SmtpServer) -> None:
    addresses, mailing_id = _daily_digest_with_items(clean_app, 4)
    smtp_server.stop()
    [result] = _run(clean_app, mailing_id)
    assert result.deferred == 4 and result.sent == 0
    smtp_server.start()
    _run(clean_app, mailing_id)
    assert _copies(smtp_server) == dict.fromkeys(addresses, 1)


def test_no_reply_after_the_data_is_recorded_and_never_resent(
    clean_app: Flask, smtp_server: SmtpServer
) -> None:
    clean_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_server.port}/?timeout=0.5"
    addresses, mailing_id = _daily_digest_with_items(clean_app, 6)
    smtp_server.handler.data_delay["reader2@example.org"] = 2
    [first] = _run(clean_app, mailing_id)
    assert (first.sent, first.uncertain, first.deferred) == (2, 1, 3)
    smtp_server.handler.data_delay.clear()
    _run(clean_app, mailing_id)
    _run(clean_app, mailing_id)
    assert _copies(smtp_server) == dict.fromkeys(addresses, 1)  # the server did get it, once
    assert _statuses(clean_app, mailing_id) == {"sent": 5, "uncertain": 1}


@pytest.mark.parametrize("pipelining", [False, True])
def test_temporary_refusal_retries_and_permanent_refusal_bounces(
    clean_app: Flask, smtp_server: SmtpServer, pipelining: bool
) -> None:
    # With PIPELINING the "sending" mark is committed before the RCPT reply is read: a
    # refusal then turns that mark into deferred or failed, and nothing is lost or doubled.
    smtp_server.handler.pipelining = pipelining
    addresses, mailing_id = _daily_digest_with_items(clean_app, 4)
    smtp_server.handler.rcpt_replies["reader1@example.org"] = "450 4.2.1 try later"
    smtp_server.handler.rcpt_replies["reader2@example.org"] = "550 5.1.1 no such user"
    [result] = _run(clean_app, mailing_id)
    assert (result.sent, result.deferred, result.failed) == (2, 1, 1)
    del smtp_server.handler.rcpt_replies["reader1@example.org"]
    _run(clean_app, mailing_id)
    assert _copies(smtp_server) == {a: 1 for a in addresses if a != "reader2@example.org"}
    with clean_app.app_context():
        bounced = db.session.scalar(sa.select(Subscriber.status)
                                    .where(Subscriber.email == "reader2@example.org"))
        assert bounced is SubscriberStatus.BOUNCED
        # Bounced addresses are left out of the next mailing altogether.
        factories.announcement(clean_app, "Later news",
                               published_at=utcnow() - timedelta(minutes=1))
        later = digests.send(DAILY, manual=True, queue=False)
        for batch_id in mailings.batch_ids(later.mailing.id):
            delivery.run_batch(batch_id)
    assert "reader2@example.org" not in _copies(smtp_server)
    assert _copies(smtp_server)["reader1@example.org"] == 2


def test_claims_of_a_dead_worker_are_resumed_by_the_reaper(
    clean_app: Flask, smtp_server: SmtpServer
) -> None:
    """A worker claimed the batch, got one message under way and died (nothing more sent)."""
    addresses, mailing_id = _daily_digest_with_items(clean_app, 8)
    with clean_app.app_context():
        [batch_id] = mailings.batch_ids(mailing_id)
        ids = db.session.scalars(sa.select(Subscriber.id).order_by(Subscriber.id)).all()
        db.session.add_all(
            Delivery(mailing_id=mailing_id, batch_id=batch_id, subscriber_id=sid,
                     status=DeliveryStatus.SENDING if n == 0 else DeliveryStatus.CLAIMED,
                     claim="dead", updated_at=utcnow() - timedelta(minutes=1))
            for n, sid in enumerate(ids))
        db.session.commit()
        # A redelivered task finds the claims within their lease, and leaves them alone.
        early = delivery.run_batch(batch_id)
        assert early.sent == 0 and not early.done
        assert reaper.resume_stalled() == 0
        # Time passes: the dead worker's leases run out.
        long_ago = utcnow() - timedelta(minutes=30)
        db.session.execute(sa.update(Delivery).values(updated_at=long_ago))
        db.session.execute(sa.update(MailBatch).values(queued_at=long_ago))
        db.session.commit()
        assert reaper.resume_stalled() == 1  # the beat job requeues the batch
        db.session.remove()
    wait_for(lambda: _statuses(clean_app, mailing_id) == {"sent": 7, "uncertain": 1},
             timeout=30)
    assert _copies(smtp_server) == {a: 1 for a in addresses[1:]}


@pytest.mark.parametrize("marked", [True, False])
def test_a_dead_runs_group_is_settled_by_its_progress_mark(
    clean_app: Flask, smtp_server: SmtpServer, marked: bool
) -> None:
    """A run committed 8 copies *sending* as one group, got 3 delivered and died during the
    4th: by its progress mark the 3 are sent, the 4th uncertain, the last 4 sent by the next
    run. Without a mark to trust, the whole group is uncertain and nothing goes twice."""
    addresses, mailing_id = _daily_digest_with_items(clean_app, 8)
    with clean_app.app_context():
        [batch_id] = mailings.batch_ids(mailing_id)
        ids = db.session.scalars(sa.select(Subscriber.id).order_by(Subscriber.id)).all()
        # The death must come after the broker's start (else no mark is trusted) and be older
        # than the lease: on a machine whose Redis is younger than ROW_LEASE, a shorter lease.
        wait_for(lambda: utcnow() - reaper.broker_started_at() >= timedelta(seconds=8),
                 timeout=10)
        lease = min(delivery.ROW_LEASE, (utcnow() - reaper.broker_started_at()) / 2)
        dead_at = utcnow() - lease - lease / 2  # after the start: now - 0.75 x uptime at most
        rows = [Delivery(mailing_id=mailing_id, batch_id=batch_id, subscriber_id=sid,
                         status=DeliveryStatus.SENDING, claim="dead", updated_at=dead_at)
                for sid in ids]
        db.session.add_all(rows)
        db.session.execute(sa.update(MailBatch).values(queued_at=dead_at))
        db.session.commit()
        in_flight = sorted(row.id for row in rows)[3]
        if marked:
            clean_app.extensions["redis"].set(runs.progress_key("dead"), in_flight)
        assert reaper.resume_stalled(row_lease=lease) == (1 if marked else 0)
        db.session.remove()
    if marked:
        wait_for(lambda: _statuses(clean_app, mailing_id) == {"sent": 7, "uncertain": 1},
                 timeout=30)
        assert _copies(smtp_server) == {a: 1 for a in addresses[4:]}
    else:
        assert _statuses(clean_app, mailing_id) == {"uncertain": 8}
        assert not _copies(smtp_server)


def test_a_slow_group_is_renewed_and_still_sent_once(
    clean_app: Flask, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every copy finds its group past GROUP_MAX_AGE: renewed each time (a compare-and-set),
    every copy sent once; a copy taken from the run meanwhile is skipped, not sent."""
    monkeypatch.setattr(runs, "GROUP_MAX_AGE", 0.0)
    addresses, mailing_id = _daily_digest_with_items(clean_app, 6)
    renew = runs.Run.keep_alive
    calls: list[int] = []

    def taken_before_the_third(run: runs.Run) -> set[int]:
        calls.append(1)
        if len(calls) == 3:  # another run took the next copy (as after a reaper's pass)
            with run.conn.engine.begin() as other:
                other.execute(sa.update(Delivery).where(Delivery.id == run.group[0])
                              .values(claim="other", status=DeliveryStatus.CLAIMED))
        return renew(run)

    monkeypatch.setattr(runs.Run, "keep_alive", taken_before_the_third)
    [result] = _run(clean_app, mailing_id)
    assert (result.sent, result.skipped) == (5, 1)
    assert _copies(smtp_server) == {a: 1 for a in addresses if a != addresses[2]}
    assert _statuses(clean_app, mailing_id) == {"sent": 5, "claimed": 1}
