"""Verification of intent (WebSub section 5.3): a GET to the callback, in a worker.

The callback's own query string is kept and ``hub.mode``, ``hub.topic``, ``hub.challenge``
(and on subscribe ``hub.lease_seconds``) are added. Only a 2xx whose body is exactly the
challenge verifies; then, and only then, the request takes effect: a subscription is created
or its terms replaced, or it is removed. A refusal (any other answer, a timeout, an address
the SSRF guard refuses) changes nothing. Safe to run twice: a decided request is skipped.
"""

from __future__ import annotations

import logging
import random
import secrets
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import sqlalchemy as sa
from flask import current_app

from service.database import db, utcnow
from service.extensions import get_redis
from service.outbound import delivery as outbound
from service.outbound import limits, sending
from service.outbound.client import make_client, request
from service.outbound.guard import RefusedAddress
from service.websub import subscriptions
from service.websub.hub import VERIFY_TASK
from service.websub.models import HubRequest, RequestStatus, WebSubSubscription

log = logging.getLogger(__name__)


def challenge_url(callback: str, params: dict[str, str]) -> str:
    """``callback`` with ``params`` added after its own query string."""
    parts = urlsplit(callback)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _ask(callback: str, params: dict[str, str]) -> tuple[bool, str]:
    settings = current_app.config["SETTINGS"]
    try:
        with make_client(timeout=settings.outbound_timeout,
                         allow_private=settings.outbound_allow_private) as client:
            answer = request(client, "GET", challenge_url(callback, params))
    except RefusedAddress as exc:
        return False, f"refused: {exc}"
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"[:500]
    if not 200 <= answer.status < 300:
        return False, f"HTTP {answer.status}"
    if answer.body != params["hub.challenge"].encode():
        return False, "the answer was not the challenge"
    return True, "verified"


def verify(request_id: int) -> str:
    """Verify one request and apply it; returns ``verified``, ``refused``, ``skipped`` or
    ``capped`` (the callback's host is at its cap: queued again shortly, nothing decided)."""
    row = db.session.get(HubRequest, request_id)
    if row is None or row.status is not RequestStatus.PENDING:
        return "skipped"
    params = {"hub.mode": row.mode, "hub.topic": row.topic,
              "hub.challenge": secrets.token_urlsafe(24)}
    if row.mode == "subscribe":
        params["hub.lease_seconds"] = str(row.lease_seconds)
    db.session.commit()  # hold no transaction while waiting on someone else's server
    settings = current_app.config["SETTINGS"]
    conn = get_redis()
    slot = limits.acquire_many(conn, row.callback, settings.outbound_per_destination,
                               settings.outbound_timeout * 4 + 5, 1, sending.SLOT_WAIT)
    if not slot:  # the callback's host has its share in flight: wait in the queue
        wait = random.uniform(*outbound.CAP_WAIT)  # noqa: S311 (jitter)
        outbound.queue(VERIFY_TASK, request_id, wait)
        return "capped"
    try:
        ok, reason = _ask(row.callback, params)
    finally:
        limits.release(conn, row.callback, *slot)
    decided = cast(sa.CursorResult[Any], db.session.execute(  # an UPDATE's result
        sa.update(HubRequest).where(HubRequest.id == request_id,
                                    HubRequest.status == RequestStatus.PENDING)
        .values(status=RequestStatus.VERIFIED if ok else RequestStatus.REFUSED,
                reason=reason, decided_at=utcnow())
        .execution_options(synchronize_session=False))).rowcount
    if decided and ok:
        row = db.session.get(HubRequest, request_id, populate_existing=True)
        assert row is not None
        if row.mode == "subscribe":
            _subscribe(row)
        else:
            subscriptions.end(row.topic, row.callback)
    db.session.commit()
    if not ok:
        log.info("websub %s of %s for %s refused: %s", row.mode, row.callback, row.topic,
                 reason)
    return "verified" if ok else "refused"


def _subscribe(row: HubRequest) -> None:
    now = utcnow()
    current = db.session.scalar(sa.select(WebSubSubscription).filter_by(
        topic=row.topic, callback=row.callback).with_for_update())
    if current is None:
        current = WebSubSubscription(topic=row.topic, callback=row.callback, created_at=now)
        db.session.add(current)
    current.scope, current.fmt, current.secret = row.scope, row.fmt, row.secret
    current.lease_seconds, current.verified_at = row.lease_seconds, now
    current.expires_at = now + timedelta(seconds=row.lease_seconds)
