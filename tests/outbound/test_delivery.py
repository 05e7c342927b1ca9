"""Durable deliveries against a real receiver on loopback: success, retry after a 5xx and
after a timeout, 410, giving up, the per-destination cap, superseding, and a lapsed claim
taken over. The handler here is a caller of the mechanism, as WebSub is; nothing is mocked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.extensions import get_redis
from service.outbound import delivery, limits, sending
from service.outbound.delivery import Outcome, Outgoing
from service.outbound.models import OutboundDelivery, OutboundStatus
from tests.outbound.receiver import Receiver


@dataclass
class TestHandler:
    """Sends ``bodies[version]``; 2xx ok, 410 gone, else retry (WebSub's mapping)."""

    __test__ = False
    bodies: dict[str, bytes] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)
    kind: str = "test"
    task: str = "outbound.test-nobody-consumes"

    def prepare_many(self, rows: Sequence[OutboundDelivery]) -> dict[int, Outgoing | None]:
        return {row.id: Outgoing(row.url, self.bodies[row.version], row.version,
                                 {"Content-Type": "text/plain"})
                if row.version in self.bodies else None for row in rows}

    def classify(self, status: int) -> Outcome:
        return delivery.classify(status)

    def on_gone(self, row: OutboundDelivery) -> None:
        self.gone.append(row.owner_id)

    def on_recorded(self, results: dict[int, str]) -> None:
        pass


@pytest.fixture
def handler() -> TestHandler:
    return TestHandler(bodies={"v1": b"first", "v2": b"second"})


def _due(url: str, version: str = "v1", owner: int = 1) -> int:
    row = delivery.schedule("test", owner, url, version)
    db.session.commit()
    return row.id


def _row(row_id: int) -> OutboundDelivery:
    db.session.expire_all()
    row = db.session.get(OutboundDelivery, row_id)
    assert row is not None
    return row


def _make_due_now(row_id: int) -> None:
    db.session.execute(sa.update(OutboundDelivery).where(OutboundDelivery.id == row_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=5)))
    db.session.commit()


def test_delivered_once(ctx: Flask, receiver: Receiver, handler: TestHandler) -> None:
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "delivered"
    assert sending.send(row_id, handler) == "not-due"  # a duplicate task sends nothing
    assert [p.body for p in receiver.posts()] == [b"first"]
    row = _row(row_id)
    assert (row.status, row.sent_version, row.last_status) == (OutboundStatus.DELIVERED, "v1", 200)


def test_retried_after_5xx_with_backoff(ctx: Flask, receiver: Receiver,
                                        handler: TestHandler) -> None:
    receiver.behaviour.statuses = [503, 500]
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "retrying"
    row = _row(row_id)
    first_wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
    assert 0 < first_wait <= 30  # the first retry comes within 30 s
    assert sending.send(row_id, handler) == "not-due"  # not before its time
    _make_due_now(row_id)
    assert sending.send(row_id, handler) == "retrying"
    assert _row(row_id).attempts == 2
    _make_due_now(row_id)
    assert sending.send(row_id, handler) == "delivered"
    assert len(receiver.posts()) == 3


def test_backoff_grows_and_is_capped() -> None:
    assert all(1 <= delivery.backoff(1) <= 2 for _ in range(50))
    assert all(4 <= delivery.backoff(3) <= 8 for _ in range(50))
    assert all(delivery.backoff(30) <= delivery.BACKOFF_MAX for _ in range(50))


def test_timeout_is_retried(ctx: Flask, receiver: Receiver, handler: TestHandler,
                            outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_timeout=1)
    receiver.behaviour.delay = 2.5
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "retrying"
    assert "Timeout" in (_row(row_id).last_error or "")
    receiver.behaviour.delay = 0
    _make_due_now(row_id)
    assert sending.send(row_id, handler) == "delivered"


def test_410_ends_the_owner(ctx: Flask, receiver: Receiver, handler: TestHandler) -> None:
    receiver.behaviour.default = 410
    row_id = _due(receiver.url(), owner=7)
    assert sending.send(row_id, handler) == "gone"
    assert handler.gone == [7] and _row(row_id).status is OutboundStatus.GONE


def test_gives_up_after_the_configured_time(ctx: Flask, receiver: Receiver,
                                            handler: TestHandler,
                                            outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_give_up=60)
    receiver.behaviour.default = 500
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "retrying"
    db.session.execute(sa.update(OutboundDelivery).values(
        first_failed_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    _make_due_now(row_id)
    assert sending.send(row_id, handler) == "failed"
    assert delivery.due("test") == []


def test_refused_address_is_never_sent(ctx: Flask, receiver: Receiver, handler: TestHandler,
                                       outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_allow_private=False)
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "retrying"
    assert "refused" in (_row(row_id).last_error or "") and receiver.received == []


def test_per_destination_cap(ctx: Flask, receiver: Receiver, handler: TestHandler,
                             outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_per_destination=1)
    held = limits.acquire(get_redis(), receiver.url("/other"), 1, 30)  # same host and port
    assert held is not None
    row_id = _due(receiver.url())
    assert sending.send(row_id, handler) == "capped"
    assert _row(row_id).status is OutboundStatus.PENDING and receiver.received == []
    limits.release(get_redis(), receiver.url(), held)
    assert sending.send(row_id, handler) == "delivered"
    assert limits.in_flight(get_redis(), receiver.url()) == 0


def test_newer_version_supersedes_an_undelivered_one(ctx: Flask, receiver: Receiver,
                                                     handler: TestHandler) -> None:
    first = _due(receiver.url(), "v1")
    second = _due(receiver.url(), "v2")
    assert first == second  # one row per owner, moved forward
    assert sending.send(first, handler) == "delivered"
    assert [p.body for p in receiver.posts()] == [b"second"]


def test_a_lapsed_claim_is_taken_over(ctx: Flask, receiver: Receiver,
                                      handler: TestHandler) -> None:
    row_id = _due(receiver.url())
    db.session.execute(sa.update(OutboundDelivery).values(
        status=OutboundStatus.SENDING, claim_token="dead-worker",
        lease_until=utcnow() + timedelta(seconds=60)))
    db.session.commit()
    assert delivery.due("test") == [] and sending.send(row_id, handler) == "not-due"
    db.session.execute(sa.update(OutboundDelivery).values(
        lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert delivery.due("test") == [row_id]
    assert sending.send(row_id, handler) == "delivered"


def test_nothing_due_is_cancelled(ctx: Flask, receiver: Receiver, handler: TestHandler) -> None:
    row_id = _due(receiver.url(), "v9")
    assert sending.send(row_id, handler) == "cancelled" and receiver.received == []


def test_a_batch_records_each_row_its_own_way(ctx: Flask, receiver: Receiver,
                                              handler: TestHandler,
                                              outbound_settings: Callable[..., None]) -> None:
    """One batch: delivered, retried (a 500), gone (410), cancelled (nothing to send), not
    due (claimed by a live worker elsewhere), all recorded in their own rows."""
    ok = [_due(receiver.url(f"/ok/{n}"), owner=n) for n in range(10)]
    cancelled = _due(receiver.url("/nothing"), "v9", owner=20)
    busy = _due(receiver.url("/busy"), owner=21)
    db.session.execute(sa.update(OutboundDelivery).where(OutboundDelivery.id == busy).values(
        status=OutboundStatus.SENDING, claim_token="alive",
        lease_until=utcnow() + timedelta(seconds=60)))
    db.session.commit()
    results = sending.send_many([*ok, cancelled, busy], handler)
    assert results == {**dict.fromkeys(ok, "delivered"), cancelled: "cancelled",
                       busy: "not-due"}
    assert sorted(p.path for p in receiver.posts()) == sorted(f"/ok/{n}" for n in range(10))
    assert all(_row(r).status is OutboundStatus.DELIVERED and _row(r).sent_version == "v1"
               for r in ok)
    assert _row(busy).claim_token == "alive"  # untouched
    receiver.behaviour.default = 500
    failing = [_due(receiver.url(f"/fail/{n}"), owner=30 + n) for n in range(3)]
    assert set(sending.send_many(failing, handler).values()) == {"retrying"}
    assert all(_row(r).attempts == 1 for r in failing)
    receiver.behaviour.default = 410
    gone = _due(receiver.url("/gone"), owner=40)
    assert sending.send_many([gone], handler) == {gone: "gone"} and handler.gone == [40]


def test_a_full_destination_puts_the_row_back_untouched(
        ctx: Flask, receiver: Receiver, handler: TestHandler,
        outbound_settings: Callable[..., None]) -> None:
    outbound_settings(outbound_per_destination=1)
    held = limits.acquire(get_redis(), receiver.url(), 1, 30)
    rows = [_due(receiver.url(f"/{n}"), owner=n) for n in range(3)]
    assert set(sending.send_many(rows, handler).values()) == {"capped"}  # after SLOT_WAIT
    assert all(_row(r).status is OutboundStatus.PENDING and _row(r).attempts == 0
               and _row(r).claim_token is None for r in rows)
    assert receiver.received == []
    assert held is not None
    limits.release(get_redis(), receiver.url(), held)
    assert set(sending.send_many(rows, handler).values()) == {"delivered"}
