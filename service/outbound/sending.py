"""Sending durable deliveries: claim a batch, prepare it, send side by side, record, follow up.

The rules (claims, the per-destination cap, backoff, giving up) are described in
``service.outbound.delivery``; this module carries them out for a batch of rows at once:

1. **claim** every due row of the batch in one compare-and-set ``UPDATE ... RETURNING``;
2. **prepare** the claimed rows in one go (``Handler.prepare_many``) in the same transaction,
   committed with the claim before any request goes, so no lock or snapshot is held over
   the requests;
3. **send** the requests on the process's sending threads (``SENDERS``, shared by every
   batch, on the process's one client), at most ``PARALLEL`` of a batch at once and each
   inside a slot of its destination's cap (waiting up to ``SLOT_WAIT`` for one); a row whose
   destination stays full, or that could not start before the claim's lease runs out, is put
   back untouched (no attempt counted) and queued again shortly;
4. **record** the outcomes under one ``SELECT ... FOR UPDATE`` and one commit; rows whose
   claim was taken over (our lease lapsed) are left to their new owner. A batch still waiting
   on a slow callback after ``PATIENCE`` records what has answered so far (and again at
   doubling intervals), so a row that was delivered is free for the next change at once
   instead of staying claimed until the slowest callback of its batch answers.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from service.database import db, utcnow
from service.extensions import get_redis
from service.outbound import limits
from service.outbound.client import request, shared_client
from service.outbound.contract import Handler, Outcome, Outgoing
from service.outbound.delivery import CAP_WAIT, backoff, queue, settings
from service.outbound.guard import RefusedAddress
from service.outbound.models import OutboundDelivery, OutboundStatus

SENDERS = 16  # sending threads per process, shared by every batch (the baseline's 16)
PARALLEL = 16  # requests of one batch in flight at most (all the sending threads)
SLOT_WAIT = 1.0  # seconds a request waits for a slot of its destination before giving up
LEASE_MARGIN = 5  # seconds past the batch's longest possible run before a claim is abandoned
PATIENCE = 0.5  # seconds a batch waits before recording the answers it has (then doubling)


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
    deadline = time.monotonic() + lease.total_seconds() - 1.0  # before the claim: sooner
    token, rows = _claim(list(row_ids), lease)
    if not rows:
        db.session.commit()
        return results
    prepared = handler.prepare_many(rows)
    outgoing: dict[int, Outgoing] = {}
    for row in rows:
        if (item := prepared.get(row.id)) is None:
            row.status, row.claim_token, row.lease_until = OutboundStatus.CANCELLED, None, None
            results[row.id] = "cancelled"
        else:
            outgoing[row.id] = item
    db.session.commit()  # the claim and the cancellations; nothing held over the requests
    if outgoing:
        recorded: set[int] = set()

        def record_early(answered: dict[int, _Answer]) -> None:
            results.update(_record(token, handler, {i: outgoing[i] for i in answered},
                                   answered))
            recorded.update(answered)

        answers = _send_all(outgoing, handler, lease.total_seconds(), deadline, record_early)
        rest = {row_id: item for row_id, item in outgoing.items() if row_id not in recorded}
        if rest:
            results.update(_record(token, handler, rest, answers))
    return results


def _claim(row_ids: list[int], lease: timedelta) -> tuple[str, list[OutboundDelivery]]:
    """Claim the due rows among ``row_ids`` in one compare-and-set UPDATE that returns them
    (not committed: the caller prepares them in the same transaction, then commits)."""
    now = utcnow()
    token = uuid.uuid4().hex
    t = OutboundDelivery
    rows = db.session.scalars(
        sa.update(t).where(t.id.in_(row_ids), sa.or_(
            sa.and_(t.status.in_([OutboundStatus.PENDING, OutboundStatus.RETRYING]),
                    t.next_attempt_at <= now),
            sa.and_(t.status == OutboundStatus.SENDING, t.lease_until < now),
        )).values(status=OutboundStatus.SENDING, claim_token=token, lease_until=now + lease)
        .returning(t).execution_options(synchronize_session=False, populate_existing=True))
    return token, sorted(rows, key=lambda row: row.id)


def _send_all(outgoing: dict[int, Outgoing], handler: Handler, slot_seconds: float,
              deadline: float, record_early: Callable[[dict[int, _Answer]], None]
              ) -> dict[int, _Answer]:
    """Every request of the batch on the process's sending threads; each destination's share
    of the batch runs in as many lanes as it got slots (one Redis round trip per destination,
    not two per request). A request that could not finish before ``deadline`` (monotonic:
    the claim's lease, less a second to record) is not started: its row is put back.
    ``record_early`` gets the answers that came in while slower requests are still out."""
    config = settings()
    conn = get_redis()
    client = shared_client(timeout=config.outbound_timeout,
                           allow_private=config.outbound_allow_private)
    per_request = config.outbound_timeout * 4  # connect, write, read, pool: each may take it

    def one(row_id: int) -> _Answer:
        item = outgoing[row_id]
        if time.monotonic() + per_request > deadline:
            return _Answer(None)  # waited too long for a thread: back, still due
        try:
            answer = request(client, item.method, item.url, content=item.body,
                             headers=item.headers)
            return _Answer(handler.classify(answer.status), answer.status)
        except RefusedAddress as exc:
            return _Answer(Outcome.RETRY, error=f"refused: {exc}")
        except Exception as exc:  # noqa: BLE001 (httpx's errors, or anything: the row retries)
            return _Answer(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:500])

    by_destination: dict[str, list[int]] = {}
    for row_id, item in outgoing.items():
        by_destination.setdefault(limits.destination(item.url), []).append(row_id)
    held: list[tuple[str, list[str]]] = []
    answers: dict[int, _Answer] = {}
    lanes: list[tuple[deque[int], int]] = []
    try:
        for destination, rows in by_destination.items():
            url = outgoing[rows[0]].url
            tokens = limits.acquire_many(conn, url, config.outbound_per_destination,
                                         slot_seconds, _wanted(destination, len(rows)),
                                         SLOT_WAIT)
            held.append((url, tokens))
            _note_held(destination, len(tokens))
            if tokens:
                lanes.append((deque(rows), len(tokens)))
            else:
                answers.update(dict.fromkeys(rows, _Answer(None)))  # its destination is full
        answers.update(_run_lanes(lanes, one, max(deadline - time.monotonic(), 0.0) + 1.0,
                                  record_early))
    finally:
        for url, tokens in held:
            limits.release(conn, url, *tokens)
            _note_held(limits.destination(url), -len(tokens))
    return {row_id: answers.get(row_id, _Answer(None)) for row_id in outgoing}


def _run_lanes(lanes: list[tuple[deque[int], int]], one: Callable[[int], _Answer],
               wait: float, record_early: Callable[[dict[int, _Answer]], None]
               ) -> dict[int, _Answer]:
    """Run ``one`` for every row of every lane on the sending threads, each destination at
    most its slot count at a time: a finished request queues its destination's next row at
    the back of the threads' queue, so batches sharing the threads take turns. While some
    are still out after ``PATIENCE`` (then twice as long, and so on), the answers that came
    in are handed to ``record_early``; the rest are returned, all at the end."""
    answers: dict[int, _Answer] = {}
    expected = sum(len(rows) for rows, _ in lanes)
    if not expected:
        return answers
    if expected == 1:  # one request: no hand-over to another thread
        row_id = lanes[0][0][0]
        return {row_id: one(row_id)}
    done = threading.Event()
    lock = threading.Lock()
    pool = _senders()

    def lane(rows: deque[int]) -> None:
        try:
            row_id = rows.popleft()
        except IndexError:
            return
        answer = one(row_id)
        with lock:
            answers[row_id] = answer
            if len(answers) == expected:
                done.set()
        if rows:
            pool.submit(lane, rows)

    for rows, width in lanes:
        for _ in range(min(width, len(rows))):
            pool.submit(lane, rows)
    until, patience, handed = time.monotonic() + wait, PATIENCE, 0
    while not done.wait(max(min(patience, until - time.monotonic()), 0.0)):
        if time.monotonic() >= until:
            break
        with lock:
            fresh = dict(list(answers.items())[handed:])  # in the order they came in
            handed = len(answers)
        if fresh:
            record_early(fresh)
        patience *= 2
    with lock:
        return dict(answers)


_held: dict[str, int] = {}  # slots this process holds per destination, all batches
_held_lock = threading.Lock()


def _wanted(destination: str, rows: int) -> int:
    """Slots to ask for: no more than the sending threads can use beside the slots this
    process already holds for the destination (at least one). Slots beyond that would only
    wait in the threads' queue while batches elsewhere wait for them (a 1,000-callback
    fan-out to one host held its cap in idle lanes and sent batches back as capped)."""
    with _held_lock:
        return max(1, min(PARALLEL, rows, SENDERS - _held.get(destination, 0)))


def _note_held(destination: str, change: int) -> None:
    with _held_lock:
        _held[destination] = _held.get(destination, 0) + change
        if _held[destination] <= 0:
            del _held[destination]


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The process's sending threads (made on first use, never inherited across a fork).

    One pool for every batch, not one per batch: 16 worker threads each starting 8 request
    threads put ~130 threads on one GIL, and each switch costs; ``SENDERS`` threads keep as
    many requests in flight as the plain httpx baseline does, at its CPU per request."""
    with _pools_lock:
        if (pool := _pools.get(os.getpid())) is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(SENDERS,
                                                            thread_name_prefix="outbound")
        return pool


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
    handler.on_recorded({row_id: result for row_id, result in results.items()
                         if result != "not-due"})
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
