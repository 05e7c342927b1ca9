"""Sending durable deliveries: claim a batch, prepare it, send side by side, record, follow up.

The rules (claims, the per-destination cap, backoff, giving up) are described in
``service.outbound.delivery``; this module carries them out for a batch of rows at once:

1. **claim** every due row of the batch in one compare-and-set UPDATE, committed;
2. **prepare** the claimed rows in one go (``Handler.prepare_many``), committed, so no lock
   or snapshot is held over the requests;
3. **send** each request on its own thread (at most ``PARALLEL``), one client for the batch,
   each inside a slot of its destination's cap (waiting up to ``SLOT_WAIT`` for one); a row
   whose destination stays full is put back untouched (no attempt counted) and queued again
   shortly;
4. **record** every outcome under one ``SELECT ... FOR UPDATE`` and one commit; rows whose
   claim was taken over (our lease lapsed) are left to their new owner.
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import sqlalchemy as sa

from service.database import db, utcnow
from service.extensions import get_redis
from service.outbound import limits
from service.outbound.client import make_client, request
from service.outbound.contract import Handler, Outcome, Outgoing
from service.outbound.delivery import CAP_WAIT, backoff, queue, settings
from service.outbound.guard import RefusedAddress
from service.outbound.models import OutboundDelivery, OutboundStatus

PARALLEL = 8  # requests in flight per batch (measured best of 4, 8, 16 in bench/webhooks.py)
SLOT_WAIT = 1.0  # seconds a request waits for a slot of its destination before giving up
LEASE_MARGIN = 5  # seconds past the batch's longest possible run before a claim is abandoned


@dataclass(frozen=True)
class _Answer:
    outcome: Outcome | None  # None: capped, never sent
    status: int | None = None
    error: str | None = None


def send(row_id: int, handler: Handler) -> str:
    """Attempt one row; returns what happened (for logs and tests): ``delivered``,
    ``retrying``, ``failed``, ``gone``, ``cancelled``, ``capped`` or ``not-due``."""
    return send_many([row_id], handler)[row_id]


def send_many(row_ids: int | Sequence[int], handler: Handler) -> dict[int, str]:
    """Attempt each of ``row_ids`` (a task's one id or batch) once; what happened to each
    (see :func:`send`)."""
    if isinstance(row_ids, int):
        row_ids = [row_ids]
    config = settings()
    rounds = math.ceil(len(row_ids) / PARALLEL) or 1
    lease = timedelta(seconds=config.outbound_timeout * 4 * rounds + LEASE_MARGIN)
    results = {row_id: "not-due" for row_id in row_ids}
    token, claimed = _claim(list(row_ids), lease)
    if not claimed:
        return results
    rows = list(db.session.scalars(sa.select(OutboundDelivery).where(
        OutboundDelivery.id.in_(claimed)).execution_options(populate_existing=True)))
    prepared = handler.prepare_many(rows)
    outgoing: dict[int, Outgoing] = {}
    for row in rows:
        if (item := prepared.get(row.id)) is None:
            row.status, row.claim_token, row.lease_until = OutboundStatus.CANCELLED, None, None
            results[row.id] = "cancelled"
        else:
            outgoing[row.id] = item
    db.session.commit()  # end the read transaction: nothing held over the requests
    if outgoing:
        answers = _send_all(outgoing, handler, lease.total_seconds())
        results.update(_record(token, handler, outgoing, answers))
    return results


def _claim(row_ids: list[int], lease: timedelta) -> tuple[str, list[int]]:
    now = utcnow()
    token = uuid.uuid4().hex
    t = OutboundDelivery
    claimed = cast(sa.CursorResult[Any], db.session.execute(  # an UPDATE's result
        sa.update(t).where(t.id.in_(row_ids), sa.or_(
            sa.and_(t.status.in_([OutboundStatus.PENDING, OutboundStatus.RETRYING]),
                    t.next_attempt_at <= now),
            sa.and_(t.status == OutboundStatus.SENDING, t.lease_until < now),
        )).values(status=OutboundStatus.SENDING, claim_token=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )).rowcount
    ids = list(db.session.scalars(sa.select(t.id).where(t.claim_token == token))) if claimed \
        else []
    db.session.commit()
    return token, ids


def _send_all(outgoing: dict[int, Outgoing], handler: Handler,
              slot_seconds: float) -> dict[int, _Answer]:
    """Every request of the batch, side by side; each destination's share of the batch runs
    within the slots it got (one Redis round trip per destination, not two per request)."""
    config = settings()
    conn = get_redis()
    by_destination: dict[str, list[int]] = {}
    for row_id, item in outgoing.items():
        by_destination.setdefault(limits.destination(item.url), []).append(row_id)
    held: list[tuple[str, list[str]]] = []
    turns: dict[int, threading.Semaphore | None] = {}
    for rows in by_destination.values():
        url = outgoing[rows[0]].url
        tokens = limits.acquire_many(conn, url, config.outbound_per_destination,
                                     slot_seconds, min(PARALLEL, len(rows)), SLOT_WAIT)
        held.append((url, tokens))
        turn = threading.Semaphore(len(tokens)) if tokens else None
        turns.update(dict.fromkeys(rows, turn))

    def one(row_id: int) -> _Answer:
        turn, item = turns[row_id], outgoing[row_id]
        if turn is None:
            return _Answer(None)  # its destination stayed full
        with turn:
            try:
                answer = request(client, item.method, item.url, content=item.body,
                                 headers=item.headers)
                return _Answer(handler.classify(answer.status), answer.status)
            except RefusedAddress as exc:
                return _Answer(Outcome.RETRY, error=f"refused: {exc}")
            except httpx.HTTPError as exc:
                return _Answer(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:500])

    try:
        with make_client(timeout=config.outbound_timeout,
                         allow_private=config.outbound_allow_private) as client:
            if len(outgoing) == 1:
                return {row_id: one(row_id) for row_id in outgoing}
            with ThreadPoolExecutor(min(PARALLEL, len(outgoing))) as pool:
                return dict(zip(outgoing, pool.map(one, outgoing), strict=True))
    finally:
        for url, tokens in held:
            limits.release(conn, url, *tokens)


def _record(token: str, handler: Handler, outgoing: dict[int, Outgoing],
            answers: dict[int, _Answer]) -> dict[int, str]:
    give_up = settings().outbound_give_up
    rows = db.session.scalars(sa.select(OutboundDelivery).where(
        OutboundDelivery.id.in_(list(outgoing))).order_by(OutboundDelivery.id)
        .with_for_update().execution_options(populate_existing=True))
    results: dict[int, str] = {row_id: "not-due" for row_id in outgoing}
    follow_up: list[tuple[int, float]] = []
    now = utcnow()
    for row in rows:
        if row.claim_token != token:
            continue  # taken over after our lease lapsed; the new owner records
        result, again = _apply(row, handler, outgoing[row.id], answers[row.id], give_up, now)
        results[row.id] = result
        if again is not None:
            follow_up.append((row.id, again))
    db.session.commit()
    for row_id, countdown in follow_up:
        queue(handler.task, row_id, max(countdown, 0.0))
    return results


def _apply(row: OutboundDelivery, handler: Handler, item: Outgoing, answer: _Answer,
           give_up: int, now: datetime) -> tuple[str, float | None]:
    """One row's outcome; and when to queue it again (seconds), if at all."""
    row.claim_token, row.lease_until = None, None
    if answer.outcome is None:  # capped: back as it was (still due), no attempt counted
        row.status = OutboundStatus.RETRYING if row.attempts else OutboundStatus.PENDING
        return "capped", random.uniform(*CAP_WAIT)  # noqa: S311 (jitter)
    row.last_status, row.last_attempt_at = answer.status, now
    ok = answer.outcome is Outcome.OK
    row.last_error = answer.error or (None if ok else f"HTTP {answer.status}")
    if ok:
        row.sent_version, row.delivered_at = item.version, now
        row.attempts, row.first_failed_at = 0, None
        if row.version is not None and row.version != item.version:
            row.status, row.next_attempt_at = OutboundStatus.PENDING, now  # newer one due
            return "delivered", 0.0
        row.status = OutboundStatus.DELIVERED
        return "delivered", None
    if answer.outcome is Outcome.GONE:
        row.status = OutboundStatus.GONE
        handler.on_gone(row)
        return "gone", None
    row.attempts += 1
    row.first_failed_at = row.first_failed_at or now
    if (now - row.first_failed_at).total_seconds() >= give_up:
        row.status = OutboundStatus.FAILED
        return "failed", None
    row.status = OutboundStatus.RETRYING
    delay = backoff(row.attempts)
    row.next_attempt_at = now + timedelta(seconds=delay)
    return "retrying", delay
