"""A slow endpoint in a batch never holds back the others' history.

Outbound records a batch's answers while a slower request is still out (``sending.PATIENCE``),
and webhooks write each attempt in that same transaction (``WebhookHandler.on_recorded``). So
the admin page shows the fast endpoint's attempt, and its message as delivered, while the slow
endpoint still holds its POST open; in the end each endpoint has exactly one attempt, numbered
1. Driven by hand (``by_hand``: no worker races the test for a row).
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.outbound import sending
from service.outbound.models import OutboundDelivery
from service.webhooks import delivery
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.webhooks import by_hand

HOLD = 4.0  # seconds the slow endpoint waits before answering


def _history(app: Flask) -> dict[int, tuple[MessageStatus, list[tuple[int, int | None]]]]:
    """Each message's status and its attempts (number, HTTP status), read in a session of
    its own, as the admin page would: in one statement, so one snapshot (on PostgreSQL two
    statements could see the message before and its attempt after the commit writing both)."""
    m, a = WebhookMessage, WebhookAttempt
    history: dict[int, tuple[MessageStatus, list[tuple[int, int | None]]]] = {}
    with app.app_context():
        for message_id, status, number, code in db.session.execute(
                sa.select(m.id, m.status, a.attempt, a.status_code)
                .outerjoin(a, a.message_id == m.id).order_by(m.id, a.id)):
            attempts = history.setdefault(message_id, (status, []))[1]
            if number is not None:
                attempts.append((number, code))
        db.session.remove()
    return history


def test_a_slow_endpoint_does_not_hold_back_the_others_attempts(ctx: Flask,
                                                                receiver: Receiver) -> None:
    assert sending.PATIENCE < HOLD / 4
    slow = Receiver().start()
    try:
        slow.behaviour.delay = HOLD
        fast_row, slow_row = (
            by_hand.message(by_hand.endpoint(url), f"announcement.published:1:{n}")
            for n, url in enumerate((receiver.url("/fast"), slow.url("/slow"))))
        o = OutboundDelivery
        owners = dict(db.session.execute(sa.select(o.id, o.owner_id).where(
            o.id.in_([fast_row, slow_row]))).all())
        fast_message, slow_message = owners[fast_row], owners[slow_row]
        db.session.commit()
        results: dict[int, str] = {}

        def one_batch() -> None:
            with ctx.app_context():
                results.update(delivery.deliver([fast_row, slow_row], by_hand.HANDLER))
                db.session.remove()

        batch = threading.Thread(target=one_batch)
        started = time.monotonic()
        batch.start()

        def fast_one_recorded() -> dict[int, tuple[MessageStatus, list[tuple[int, int | None]]]]:
            history = _history(ctx)
            return history if history[fast_message][1] else {}

        try:
            early = wait_for(fast_one_recorded, timeout=HOLD / 2)
            assert time.monotonic() - started < HOLD  # before the slow endpoint answered
            assert early[fast_message] == (MessageStatus.DELIVERED, [(1, 200)])
            assert early[slow_message][1] == []  # its POST is still out
            assert slow.posts() and len(receiver.posts()) == 1
        finally:
            batch.join(HOLD + 15)
        assert results == {fast_row: "delivered", slow_row: "delivered"}
        assert _history(ctx) == {fast_message: (MessageStatus.DELIVERED, [(1, 200)]),
                                 slow_message: (MessageStatus.DELIVERED, [(1, 200)])}
    finally:
        slow.stop()
