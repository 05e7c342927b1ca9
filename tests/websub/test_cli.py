"""``flask --app service websub list|purge-expired`` through Flask's CLI runner, on the real
database: what operators see, and that purging removes exactly the subscriptions whose lease
is over (with anything still due to them) and week-old decided requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.database import db, utcnow
from service.outbound import delivery
from service.outbound.models import OutboundDelivery
from service.websub import subscriptions, verification
from service.websub.models import HubRequest, RequestStatus, WebSubSubscription
from tests.outbound.receiver import Receiver
from tests.websub.conftest import TOPIC


def _subscribe(hub_request: Callable[..., int], callback: str, **terms: Any) -> int:
    request_id = hub_request("subscribe", callback, **terms)
    assert verification.verify(request_id) == "verified"
    sub = db.session.scalar(sa.select(WebSubSubscription).filter_by(callback=callback))
    assert sub is not None
    return sub.id


def _expire(subscription_id: int) -> None:
    db.session.execute(sa.update(WebSubSubscription).where(
        WebSubSubscription.id == subscription_id).values(expires_at=utcnow()
                                                           - timedelta(seconds=1)))
    db.session.commit()


def test_list_shows_every_subscription(ctx: Flask, runner: Any, receiver: Receiver,
                                       hub_request: Callable[..., int]) -> None:
    empty = runner.invoke(args=["websub", "list"])
    assert empty.exit_code == 0 and "0 subscriptions" in empty.output
    signed = _subscribe(hub_request, receiver.url("/a"), secret="k", lease_seconds=3600)
    _subscribe(hub_request, receiver.url("/b"))
    _expire(signed)
    result = runner.invoke(args=["websub", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "2 subscriptions"
    assert lines[0].startswith(f"{TOPIC}  {receiver.url('/a')}  signed  expired")
    assert lines[1].startswith(f"{TOPIC}  {receiver.url('/b')}  unsigned  until 20")


def test_purge_expired_removes_only_ended_leases(ctx: Flask, runner: Any, receiver: Receiver,
                                                 hub_request: Callable[..., int]) -> None:
    ended = _subscribe(hub_request, receiver.url("/ended"))
    kept = _subscribe(hub_request, receiver.url("/kept"))
    for owner in (ended, kept):  # a delivery still due to each
        delivery.schedule(subscriptions.KIND, owner, receiver.url(), "v1")
    old = hub_request("subscribe", receiver.url("/refused"))
    db.session.execute(sa.update(HubRequest).where(HubRequest.id == old).values(
        status=RequestStatus.REFUSED, decided_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    _expire(ended)
    assert [cb for _, cb in db.session.execute(subscriptions.active("all", "atom"))] == [
        receiver.url("/kept")]  # expired means gone at once, before any purge

    result = runner.invoke(args=["websub", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "purged 1 expired subscriptions" in result.output
    db.session.expire_all()
    assert list(db.session.scalars(sa.select(WebSubSubscription.id))) == [kept]
    assert list(db.session.scalars(sa.select(OutboundDelivery.owner_id))) == [kept]
    assert db.session.get(HubRequest, old) is None  # decided over a week ago
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HubRequest)) == 2
    again = runner.invoke(args=["websub", "purge-expired"])
    assert again.exit_code == 0 and "purged 0 expired subscriptions" in again.output
