"""Sending one durable delivery: claim, cap, request, record, and schedule what comes next.

The caller (WebSub now, webhooks later) supplies a :class:`Handler`: what to send for a row
(read at send time, so the newest version goes) and what an HTTP status means (``classify``:
WebSub says 2xx ok, 410 gone, else retry). Everything else lives here once:

- **Claim** by compare-and-set (pending or retrying and due, or sending with a lapsed lease),
  committed before the request goes, as the mail ledger does. A worker killed mid-request
  leaves a ``sending`` row whose lease lapses; :func:`due` hands it to the next run (beat's
  ``push.requeue_due``), so a killed worker's delivery is done by another. A receiver may get
  a document twice that way, never none: WebSub delivery is at-least-once.
- **Cap**: a slot per destination host in Redis (``limits``) is taken first; when all are
  held the row is re-queued shortly without counting an attempt, so one slow host never holds
  more than its share of workers.
- **Retry** with exponential backoff and full jitter (``backoff``), until ``OUTBOUND_GIVE_UP``
  seconds after the first failure; then ``failed``.
"""

from __future__ import annotations

import enum
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, cast

import httpx
import sqlalchemy as sa
from flask import current_app

from service.config import Settings
from service.database import db, utcnow
from service.extensions import get_redis
from service.outbound import limits
from service.outbound.client import make_client, request
from service.outbound.guard import RefusedAddress
from service.outbound.models import OutboundDelivery, OutboundStatus

log = logging.getLogger(__name__)

LEASE_MARGIN = 5  # seconds past the request timeout before a claim counts as abandoned
CAP_WAIT = (0.2, 1.0)  # seconds before a capped delivery tries again (uniform)
BACKOFF_BASE = 2.0  # the first retry comes 1-2 s after the failure, well within 30 s
BACKOFF_MAX = 900.0


class Outcome(enum.Enum):
    OK = "ok"
    GONE = "gone"
    RETRY = "retry"


@dataclass(frozen=True)
class Outgoing:
    """One request to make for a row; ``version`` is what delivering it delivers."""

    url: str
    body: bytes
    version: str | None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


class Handler(Protocol):
    kind: str
    task: str  # the Celery task that sends one row of this kind (takes the row id)

    def prepare(self, row: OutboundDelivery) -> Outgoing | None:
        """What to send now, or None when nothing is due any more (the row is cancelled)."""

    def classify(self, status: int) -> Outcome: ...

    def on_gone(self, row: OutboundDelivery) -> None:
        """The receiver answered that it is gone for good: end the owner (same transaction)."""


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): doubling, capped, jittered."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not cryptography)


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def queue(task: str, row_id: int, countdown: float = 0.0) -> None:
    """Hand one row to the broker now or after ``countdown`` seconds. A broker that cannot
    take it loses nothing: the row is durable and :func:`due` finds it."""
    try:
        current_app.extensions["celery"].send_task(task, args=(row_id,),
                                                   countdown=countdown or None)
    except OSError as exc:
        log.warning("could not queue %s(%s); beat will requeue it: %s", task, row_id, exc)


def schedule(kind: str, owner_id: int, url: str, version: str | None) -> OutboundDelivery:
    """Make ``owner`` due ``version`` (in the caller's transaction; queue after commit).

    The one row per owner moves forward: a delivered, failed or cancelled row becomes pending
    again; a pending or retrying one keeps its schedule and just gets the newer version; one
    being sent finishes its request and then, seeing a newer version due, goes again.
    """
    row = db.session.scalar(sa.select(OutboundDelivery).filter_by(kind=kind, owner_id=owner_id)
                            .with_for_update())
    if row is None:
        row = OutboundDelivery(kind=kind, owner_id=owner_id, url=url, version=version,
                               status=OutboundStatus.PENDING, next_attempt_at=utcnow())
        db.session.add(row)
        db.session.flush()
        return row
    _move_forward(row, url, version)
    return row


def _move_forward(row: OutboundDelivery, url: str, version: str | None) -> None:
    row.url, row.version = url, version
    if row.status not in (OutboundStatus.PENDING, OutboundStatus.RETRYING,
                          OutboundStatus.SENDING):
        row.status, row.attempts, row.first_failed_at = OutboundStatus.PENDING, 0, None
        row.next_attempt_at = utcnow()


def schedule_many(kind: str, targets: list[tuple[int, str]], version: str | None
                  ) -> list[int]:
    """:func:`schedule` for many ``(owner_id, url)`` at once, in a few queries (a fan-out to
    thousands of callbacks is one event); returns the row ids, to queue after commit."""
    ids: list[int] = []
    for start in range(0, len(targets), 500):
        chunk = dict(targets[start:start + 500])
        existing = {row.owner_id: row for row in db.session.scalars(
            sa.select(OutboundDelivery).where(OutboundDelivery.kind == kind,
                                              OutboundDelivery.owner_id.in_(chunk))
            .with_for_update())}
        for owner_id, url in chunk.items():
            if owner_id in existing:
                _move_forward(existing[owner_id], url, version)
            else:
                row = OutboundDelivery(kind=kind, owner_id=owner_id, url=url, version=version,
                                       status=OutboundStatus.PENDING, next_attempt_at=utcnow())
                db.session.add(row)
                existing[owner_id] = row
        db.session.flush()
        ids.extend(existing[o].id for o in chunk)
    return ids


def _claim(row_id: int, lease: timedelta) -> str | None:
    now = utcnow()
    token = uuid.uuid4().hex
    t = OutboundDelivery
    claimed = cast(sa.CursorResult[Any], db.session.execute(  # an UPDATE's result
        sa.update(t).where(t.id == row_id, sa.or_(
            sa.and_(t.status.in_([OutboundStatus.PENDING, OutboundStatus.RETRYING]),
                    t.next_attempt_at <= now),
            sa.and_(t.status == OutboundStatus.SENDING, t.lease_until < now),
        )).values(status=OutboundStatus.SENDING, claim_token=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )).rowcount
    db.session.commit()
    return token if claimed else None


def send(row_id: int, handler: Handler) -> str:
    """Attempt one row; returns what happened (for logs and tests): ``delivered``,
    ``retrying``, ``failed``, ``gone``, ``cancelled``, ``capped`` or ``not-due``."""
    settings = _settings()
    lease = timedelta(seconds=settings.outbound_timeout * 4 + LEASE_MARGIN)
    row = db.session.get(OutboundDelivery, row_id)
    if row is None:
        return "not-due"
    conn = get_redis()
    slot = limits.acquire(conn, row.url, settings.outbound_per_destination,
                          lease.total_seconds())
    if slot is None:
        db.session.rollback()
        queue(handler.task, row_id, random.uniform(*CAP_WAIT))  # noqa: S311
        return "capped"
    try:
        token = _claim(row_id, lease)
        if token is None:
            return "not-due"
        return _attempt(row_id, token, handler, settings)
    finally:
        limits.release(conn, row.url, slot)


def _attempt(row_id: int, token: str, handler: Handler, settings: Settings) -> str:
    row = db.session.get(OutboundDelivery, row_id, populate_existing=True)
    assert row is not None and row.claim_token == token
    outgoing = handler.prepare(row)
    if outgoing is None:
        row.status, row.claim_token = OutboundStatus.CANCELLED, None
        db.session.commit()
        return "cancelled"
    db.session.commit()  # end the read transaction: no lock or snapshot held over the request
    status: int | None = None
    error: str | None = None
    try:
        with make_client(timeout=settings.outbound_timeout,
                         allow_private=settings.outbound_allow_private) as client:
            answer = request(client, outgoing.method, outgoing.url, content=outgoing.body,
                             headers=outgoing.headers)
        status = answer.status
        outcome = handler.classify(status)
    except RefusedAddress as exc:
        error, outcome = f"refused: {exc}", Outcome.RETRY
    except httpx.HTTPError as exc:
        error, outcome = f"{type(exc).__name__}: {exc}"[:500], Outcome.RETRY
    return _record(row_id, token, handler, outgoing, outcome, status, error,
                   settings.outbound_give_up)


def _record(row_id: int, token: str, handler: Handler, outgoing: Outgoing, outcome: Outcome,
            status: int | None, error: str | None, give_up: int) -> str:
    row = db.session.scalar(sa.select(OutboundDelivery).filter_by(id=row_id)
                            .with_for_update().execution_options(populate_existing=True))
    if row is None or row.claim_token != token:
        db.session.rollback()
        return "not-due"  # taken over after our lease lapsed; the new owner records
    now = utcnow()
    row.claim_token, row.lease_until = None, None
    row.last_status, row.last_attempt_at = status, now
    row.last_error = error or (None if outcome is Outcome.OK else f"HTTP {status}")
    result: str
    if outcome is Outcome.OK:
        row.sent_version, row.delivered_at = outgoing.version, now
        row.attempts, row.first_failed_at = 0, None
        if row.version is not None and row.version != outgoing.version:
            row.status, row.next_attempt_at, result = OutboundStatus.PENDING, now, "delivered"
        else:
            row.status, result = OutboundStatus.DELIVERED, "delivered"
    elif outcome is Outcome.GONE:
        row.status, result = OutboundStatus.GONE, "gone"
        handler.on_gone(row)
    else:
        row.attempts += 1
        row.first_failed_at = row.first_failed_at or now
        if (now - row.first_failed_at).total_seconds() >= give_up:
            row.status, result = OutboundStatus.FAILED, "failed"
        else:
            row.status, result = OutboundStatus.RETRYING, "retrying"
            row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
    pending_again = row.status is OutboundStatus.PENDING
    delay = (row.next_attempt_at - now).total_seconds() if result == "retrying" else 0.0
    db.session.commit()
    if pending_again or result == "retrying":
        queue(handler.task, row_id, max(delay, 0.0))
    return result


def due(kind: str, limit: int = 1000) -> list[int]:
    """Rows of ``kind`` whose time has come and whose task may have been lost: pending or
    retrying past their time (a broker down when queueing, an eta lost with its worker), or
    sending past their lease (a killed worker). For beat to queue again; claims keep a row
    queued twice from being sent twice at once."""
    now = utcnow()
    t = OutboundDelivery
    return list(db.session.scalars(
        sa.select(t.id).where(t.kind == kind, sa.or_(
            sa.and_(t.status.in_([OutboundStatus.PENDING, OutboundStatus.RETRYING]),
                    t.next_attempt_at <= now - timedelta(seconds=2)),
            sa.and_(t.status == OutboundStatus.SENDING, t.lease_until < now),
        )).order_by(t.next_attempt_at).limit(limit)))
