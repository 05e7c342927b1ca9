"""Verification of intent against a real callback server on loopback, by the real worker:
success, failure (wrong answer, error status), re-subscription, unsubscription."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.extensions import get_redis
from service.outbound import limits
from service.websub import verification
from service.websub.models import HubRequest, RequestStatus, WebSubSubscription
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.websub.conftest import TOPIC


def _decided(app: Flask) -> list[RequestStatus]:
    with app.app_context():
        statuses = list(db.session.scalars(sa.select(HubRequest.status).order_by(HubRequest.id)))
        db.session.remove()
    return statuses if statuses and RequestStatus.PENDING not in statuses else []


def _subscriptions(app: Flask) -> list[tuple[str, str | None, int]]:
    with app.app_context():
        rows = [(s.callback, s.secret, s.lease_seconds)
                for s in db.session.scalars(sa.select(WebSubSubscription))]
        db.session.remove()
    return rows


def test_verified_subscription(clean_app: Flask, celery_worker: Any, receiver: Receiver,
                               hub_post: Callable[..., Any]) -> None:
    callback = receiver.url("/cb?subscriber=42")
    assert hub_post(mode="subscribe", topic=TOPIC, callback=callback, secret="k",
                    lease_seconds="600").status_code == 202
    assert wait_for(lambda: _decided(clean_app)) == [RequestStatus.VERIFIED]
    (get,) = receiver.received
    assert get.method == "GET" and get.path == "/cb"
    assert get.query["subscriber"] == ["42"]  # its own query string kept
    assert get.query["hub.mode"] == ["subscribe"] and get.query["hub.topic"] == [TOPIC]
    assert get.query["hub.lease_seconds"] == ["600"] and len(get.query["hub.challenge"][0]) > 20
    assert _subscriptions(clean_app) == [(callback, "k", 600)]


def test_wrong_answer_or_status_changes_nothing(clean_app: Flask, celery_worker: Any,
                                                receiver: Receiver,
                                                hub_post: Callable[..., Any]) -> None:
    receiver.behaviour.challenge_suffix = "x"  # almost the challenge
    hub_post(mode="subscribe", topic=TOPIC, callback=receiver.url())
    receiver.behaviour.challenge_suffix = ""
    receiver.behaviour.verify_status = 404
    hub_post(mode="subscribe", topic=TOPIC, callback=receiver.url())
    receiver.behaviour.verify_status = 200
    receiver.behaviour.echo_challenge = False
    hub_post(mode="subscribe", topic=TOPIC, callback=receiver.url())
    assert wait_for(lambda: _decided(clean_app)) == [RequestStatus.REFUSED] * 3
    assert _subscriptions(clean_app) == []


def test_resubscription_replaces_only_once_verified(ctx: Flask, receiver: Receiver,
                                                    hub_request: Callable[..., int]) -> None:
    first = hub_request("subscribe", receiver.url(), secret="old", lease_seconds=600)
    assert verification.verify(first) == "verified"
    assert verification.verify(first) == "skipped"  # a duplicate task changes nothing
    receiver.behaviour.echo_challenge = False
    second = hub_request("subscribe", receiver.url(), secret="new", lease_seconds=900)
    assert verification.verify(second) == "refused"
    assert _subscriptions(ctx) == [(receiver.url(), "old", 600)]  # failed: nothing changed
    receiver.behaviour.echo_challenge = True
    third = hub_request("subscribe", receiver.url(), secret="new", lease_seconds=900)
    assert verification.verify(third) == "verified"
    assert _subscriptions(ctx) == [(receiver.url(), "new", 900)]  # replaced, still one


def test_unsubscribe_is_verified_too(ctx: Flask, receiver: Receiver,
                                     hub_request: Callable[..., int]) -> None:
    verification.verify(hub_request("subscribe", receiver.url()))
    receiver.behaviour.echo_challenge = False
    assert verification.verify(hub_request("unsubscribe", receiver.url())) == "refused"
    assert len(_subscriptions(ctx)) == 1  # a forged unsubscribe does nothing
    receiver.behaviour.echo_challenge = True
    assert verification.verify(hub_request("unsubscribe", receiver.url())) == "verified"
    assert receiver.received[-1].query["hub.mode"] == ["unsubscribe"]
    assert "hub.lease_seconds" not in receiver.received[-1].query
    assert _subscriptions(ctx) == []


def test_private_callback_refused_without_traffic(ctx: Flask, receiver: Receiver,
                                                  hub_request: Callable[..., int],
                                                  outbound_settings: Callable[..., None]
                                                  ) -> None:
    outbound_settings(outbound_allow_private=False)
    request_id = hub_request("subscribe", receiver.url())
    assert verification.verify(request_id) == "refused"
    assert "loopback" in (db.session.get(HubRequest, request_id).reason or "")
    assert receiver.received == [] and _subscriptions(ctx) == []


def test_verification_waits_its_turn_at_a_full_host(ctx: Flask, receiver: Receiver,
                                                    hub_request: Callable[..., int],
                                                    outbound_settings: Callable[..., None]
                                                    ) -> None:
    """The per-destination cap covers verification GETs too: at a host with all its slots
    held, nothing is sent and nothing decided; the request is queued again."""
    outbound_settings(outbound_per_destination=1)
    held = limits.acquire(get_redis(), receiver.url("/elsewhere"), 1, 30)  # same host:port
    assert held is not None
    request_id = hub_request("subscribe", receiver.url())
    assert verification.verify(request_id) == "capped"
    assert receiver.received == []
    assert db.session.get(HubRequest, request_id, populate_existing=True).status \
        is RequestStatus.PENDING
    limits.release(get_redis(), receiver.url(), held)
    # A worker may have taken the requeued task meanwhile; either way it is decided once.
    assert verification.verify(request_id) in ("verified", "skipped")
    assert [r.method for r in receiver.received] == ["GET"]
    assert [callback for callback, _, _ in _subscriptions(ctx)] == [receiver.url()]
