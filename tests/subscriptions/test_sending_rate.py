"""The sending rate shared by every worker (``MAIL_RATE``), and a relay's "slow down" pausing
all of them: real worker processes, a real Redis, a real SMTP server (aiosmtpd) that records
when each message arrived."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.extensions import get_redis
from service.mail import throttle
from service.subscriptions import delivery, digests, mailings
from service.subscriptions.models import MailingKind, Subscriber
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.mail.smtp import Received, SmtpServer
from tests.waiting import wait_for


def _digest_ready(app: Flask, count: int, domains: tuple[str, ...] = ("example.org",)) -> None:
    end = digests.period(MailingKind.DAILY, utcnow(), 7, 0)[1]
    for n in range(count):
        factories.subscriber(app, f"reader{n}@{domains[n % len(domains)]}", "daily")
    with app.app_context():
        db.session.execute(sa.update(Subscriber).values(since_at=end - timedelta(days=2)))
        publishing.create(title="Joint observatory first light", status=Status.PUBLISHED,
                          published_at=end - timedelta(hours=3))
        db.session.commit()
        db.session.remove()


def _rate(received: list[Received]) -> float:
    times = sorted(r.at for r in received)
    return (len(times) - 1) / (times[-1] - times[0])


def _busiest_second(received: list[Received]) -> int:
    times = sorted(r.at for r in received)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


@pytest.fixture
def workers(private_app: Flask, private_redis: PrivateRedis, smtp_server: SmtpServer,
            database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Start ``n`` worker processes with these settings; stopped after the test."""
    with ExitStack() as stack:
        def start(n: int, **env: str) -> None:
            environment = worker_env(database_url, private_redis.url, tmp_path,
                                     SMTP_URL=smtp_server.url, **env)
            for _ in range(n):
                stack.enter_context(worker_process(environment))
            celery = private_app.extensions["celery"]
            wait_for(lambda: len(celery.control.ping(timeout=0.5)) >= n, timeout=60,
                     interval=0.5)
        yield start


@pytest.mark.slow
def test_three_worker_processes_together_stay_under_mail_rate(
    private_app: Flask, smtp_server: SmtpServer, workers: Any
) -> None:
    rate, subscribers = 15.0, 80  # well under what three workers manage on a loaded machine
    _digest_ready(private_app, subscribers)
    workers(3, MAIL_RATE=str(rate))
    settings = private_app.config["SETTINGS"]
    private_app.config["SETTINGS"] = dataclasses.replace(settings, mail_batch_size=10)
    try:
        with private_app.app_context():
            mailing_id = digests.send(MailingKind.DAILY).mailing.id  # 8 batches, queued
            db.session.remove()
    finally:
        private_app.config["SETTINGS"] = settings
    try:
        wait_for(lambda: len(smtp_server.received) == subscribers, timeout=60, interval=0.2)
    except AssertionError:
        with private_app.app_context():  # what the ledger says, for whoever reads the failure
            state = mailings.summary(mailing_id)
            db.session.remove()
        got = [r.recipients[0] for r in smtp_server.received]
        twice = sorted({address for address in got if got.count(address) > 1})
        raise AssertionError(f"{len(got)} of {subscribers} received in 60 s; ledger: {state}; "
                             f"received more than once: {twice}") from None
    received = smtp_server.received
    measured = _rate(received)
    # Never above the rate (a little slack for when the server, not Redis, notes the time),
    # and hardly under it though three processes share it: slots are reserved ahead, so only
    # the last copy's lateness counts (15.00-15.02/s in three runs at load 2-3 on two cores;
    # 10% is half a second late, the margin for a loaded suite; the benchmark checks 5%).
    assert measured <= rate * 1.03, measured
    assert measured >= rate * 0.9, measured
    # Per second at the server: what Redis spaced evenly arrives with the machine's jitter; a
    # sender that woke late can bunch its one slot with the next, one per worker at most.
    assert _busiest_second(received) <= rate + 3, _busiest_second(received)
    with private_app.app_context():
        assert mailings.summary(mailing_id) == {"sent": subscribers}
        db.session.remove()


@pytest.mark.slow
def test_a_slow_down_at_one_worker_pauses_every_worker(
    private_app: Flask, smtp_server: SmtpServer, workers: Any
) -> None:
    pause, subscribers = 2, 120
    _digest_ready(private_app, subscribers)
    workers(2, MAIL_RATE="40", MAIL_SLOWDOWN_PAUSE=str(pause))
    settings = private_app.config["SETTINGS"]
    private_app.config["SETTINGS"] = dataclasses.replace(settings, mail_batch_size=20)
    try:
        with private_app.app_context():
            mailing_id = digests.send(MailingKind.DAILY).mailing.id
            db.session.remove()
    finally:
        private_app.config["SETTINGS"] = settings

    def done() -> bool:
        with private_app.app_context():
            counts = mailings.summary(mailing_id)
            db.session.remove()
        return counts == {"sent": subscribers}

    def batch_of(received: Received) -> int:  # readers 0-19: batch 0, 20-39: batch 1...
        return int(received.recipients[0].removeprefix("reader").split("@")[0]) // 20

    # Once both workers are sending (the first two batches side by side), the relay tells
    # one of them to slow down, at the last copy of the second batch.
    wait_for(lambda: {batch_of(r) for r in smtp_server.received} >= {0, 1}, timeout=60)
    smtp_server.handler.rcpt_once["reader39@example.org"] = "451 4.7.1 rate limited, slow down"
    wait_for(done, timeout=90, interval=0.5)  # the deferred copy goes with the task's retry
    [refused_at] = smtp_server.handler.refused_at
    before = [r for r in smtp_server.received if r.at < refused_at]
    after = sorted(r.at for r in smtp_server.received if r.at > refused_at)
    assert before and after
    # Nothing reached the server from either worker during the pause but what the other
    # worker already had on its way (its token taken before the pause was set)...
    in_flight = [t - refused_at for t in after if t < refused_at + pause * 0.9]
    assert len(in_flight) <= 2 and all(t < 0.3 for t in in_flight), in_flight
    resumed = [t for t in after if t >= refused_at + 0.3]
    assert resumed and resumed[0] - refused_at >= pause * 0.9, resumed[0] - refused_at
    # ...and both were sending before it.
    assert {batch_of(r) for r in before} >= {0, 1}


def test_a_421_at_mail_from_pauses_other_senders(clean_app: Flask,
                                                 smtp_server: SmtpServer) -> None:
    """In one process: the batch that got the 421 stops (its copies deferred); another
    sender's next message waits out the shared pause."""
    clean_app.config["MAIL_SLOWDOWN_PAUSE"] = 2
    _digest_ready(clean_app, 6)
    smtp_server.handler.refuse_mail_after = 2  # the third MAIL FROM: 421 (the server closes)
    with clean_app.app_context():
        started = digests.send(MailingKind.DAILY, queue=False)
        [batch_id] = mailings.batch_ids(started.mailing.id)
        result = delivery.run_batch(batch_id)
        assert (result.sent, result.deferred) == (2, 4)
        conn = get_redis()
        assert 1.0 < throttle.paused_for(conn) <= 2.0
        waited: list[float] = []

        def other_sender() -> None:
            begun = time.monotonic()
            throttle.Throttle(conn, throttle.Rates()).wait_turn("someone@example.net")
            waited.append(time.monotonic() - begun)

        thread = threading.Thread(target=other_sender)
        thread.start()
        thread.join(5)
        assert waited and waited[0] >= 1.0
        smtp_server.handler.refuse_mail_after = None
        assert delivery.run_batch(batch_id).sent == 4
        db.session.remove()
    clean_app.config.pop("MAIL_SLOWDOWN_PAUSE")


def test_the_bucket_is_shared_and_per_domain(clean_app: Flask) -> None:
    """Threads on one Redis: at 20/s overall and 5/s per domain, two seconds of greedy
    senders get about 40 tokens, at most 11 of them for one domain."""
    with clean_app.app_context():
        conn = get_redis()
    rates = throttle.Rates(per_second=20, per_domain=5)
    taken: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = time.monotonic() + 2.0

    def greedy(domain: str) -> None:
        limits = throttle.Throttle(conn, rates)
        while True:
            limits.wait_turn(f"x@{domain}")
            now = time.monotonic()
            if now >= stop:
                return
            with lock:
                taken.append((now, domain))

    threads = [threading.Thread(target=greedy, args=(d,))
               for d in ("a.example", "a.example", "b.example", "c.example", "d.example",
                         "e.example")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert 34 <= len(taken) <= 41, len(taken)
    per_domain = {d: sum(1 for _, x in taken if x == d) for d in {x for _, x in taken}}
    assert max(per_domain.values()) <= 11, per_domain
