"""One run of one mail batch in the ledger: the claim token, one commit per group of copies,
and a progress mark in Redis per copy.

Every move is a compare-and-set on the run's claim (see ``delivery`` for the states). A run
sends its copies one after another, in ascending delivery id, over one SMTP connection, a
*group* (at most :data:`GROUP_SIZE`) at a time:

1. one commit makes the whole group *sending* (and the previous group's delivered copies
   *sent*): durable before any of its data goes, so no copy of it is ever sent twice;
2. before each copy's data, the run records in Redis which copy that is (:data:`PROGRESS`,
   one ``SET`` per copy, keyed by the claim): the copy in flight;
3. after its 250 the copy is remembered as sent; its mark rides on the next group's commit.

A run that dies mid-group leaves its group *sending*; the reaper reads the progress mark:
copies before the one in flight got their 250 (*sent*), the one in flight may have been
delivered (*uncertain*, never resent), the ones after it never started (*deferred*: sent by
the next run, not lost). Without a mark it can trust (none, or Redis restarted since the
group's commit, so the mark may be older than the truth) every copy of the group becomes
*uncertain*, as any *sending* copy did before groups: never twice, at worst not at all.

A group older than :data:`GROUP_MAX_AGE` when its next copy starts (a slow rate, a pause) is
renewed first, a compare-and-set that also tells which copies are still the run's: the reaper
(which waits ``ROW_LEASE``, minutes) never takes a copy from a run that is only slow.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import Any, cast

import redis
import sqlalchemy as sa

from service.database import db, utcnow
from service.subscriptions.models import Delivery, DeliveryStatus

HEARTBEAT = timedelta(seconds=60)  # a live run renews its claims this often
GROUP_SIZE = 64  # copies made *sending* by one commit
GROUP_MAX_AGE = 10.0  # seconds a group may wait before its next copy starts
PROGRESS = "newsroom:mail:progress:"  # + claim token: the copy whose data is going (its id)
PROGRESS_TTL = timedelta(days=7)  # longer than any reaper outage we would still trust

_T = cast(sa.Table, Delivery.__table__)  # declarative models' tables are Tables
_MINE = _T.c.claim == sa.bindparam("run_claim")
# Core statements built once: this is the hot path (one group per GROUP_SIZE copies).
_MARK_SENT = (  # executemany: each copy's own time of its 250
    sa.update(_T)
    .where(_MINE, _T.c.id == sa.bindparam("sent_id"),
           sa.or_(_T.c.status == DeliveryStatus.SENDING,  # no IN: executemany takes none
                  _T.c.status == DeliveryStatus.UNCERTAIN))
    .values(status=DeliveryStatus.SENT, sent_at=sa.bindparam("at", type_=_T.c.sent_at.type),
            updated_at=sa.bindparam("now"), error=None)
)
_BEGIN = (
    sa.update(_T)
    .where(_MINE, _T.c.id == sa.bindparam("delivery_id"), _T.c.status == DeliveryStatus.CLAIMED)
    .values(status=DeliveryStatus.SENDING, message_id=sa.bindparam("new_message_id"),
            updated_at=sa.bindparam("now"))
)
# PostgreSQL: the previous group's *sent* and this group's *sending* in one statement (arrays,
# so one round trip and one plan whatever the group's size).
_GROUP_PG = sa.text("""
WITH sent AS (
  UPDATE deliveries SET status = 'sent', sent_at = s.at, updated_at = :now, error = NULL
  FROM unnest(CAST(:sent_ids AS integer[]), CAST(:sent_at AS timestamptz[])) AS s(id, at)
  WHERE deliveries.id = s.id AND deliveries.claim = :run_claim
    AND deliveries.status IN ('sending', 'uncertain'))
UPDATE deliveries SET status = 'sending', message_id = v.message_id, updated_at = :now
FROM unnest(CAST(:ids AS integer[]), CAST(:message_ids AS varchar[])) AS v(id, message_id)
WHERE deliveries.id = v.id AND deliveries.claim = :run_claim AND deliveries.status = 'claimed'
RETURNING deliveries.id
""").bindparams(sa.bindparam("now", type_=_T.c.updated_at.type)).columns(id=sa.Integer)
_STARTED = (
    sa.select(_T.c.id)
    .where(_MINE, _T.c.id.in_(sa.bindparam("ids", expanding=True)),
           _T.c.status == DeliveryStatus.SENDING)
)


def progress_key(token: str) -> str:
    return PROGRESS + token


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _set_command(key: str, ttl: timedelta) -> tuple[bytes, bytes]:
    """``SET key <value> EX ttl`` in RESP, but the value: what every mark of a run shares,
    encoded once (redis-py's packing was a fifth of a mark's cost; its reply parser is used)."""
    return (b"*5\r\n" + _bulk(b"SET") + _bulk(key.encode()),
            _bulk(b"EX") + _bulk(str(int(ttl.total_seconds())).encode()))


class Run:
    """One run of one batch: the claim token, a commit per group, a Redis mark per copy.

    The run keeps one autocommit-off connection of its own for its whole send loop (no pool
    check-out, no session bookkeeping): the durable commit before the data is the price of
    exactly-once, paid once per group instead of once per copy.
    """

    def __init__(self, batch_id: int, token: str, conn: redis.Redis) -> None:
        self.batch_id = batch_id
        self.token = token
        self.redis = conn
        # Got their 250 (when): the mark rides on the next commit, with that time.
        self.sent_pending: list[tuple[int, datetime]] = []
        self.group: list[int] = []  # *sending* by the last group commit, not finished yet
        self.group_at = 0.0
        self.in_flight: int | None = None  # its data may have gone: never given back
        self.heartbeat_at = time.monotonic()
        self.conn = db.engine.connect()
        self._marks: redis.connection.Connection | None = None
        self._set_mark = _set_command(progress_key(self.token), PROGRESS_TTL)

    def start(self) -> None:
        """Before any group: a mark saying "nothing in flight" (a missing one is not trusted
        by the reaper); raises ``redis.RedisError``."""
        # A connection of the run's own for its marks: no pool round per copy.
        self._marks = self.redis.connection_pool.get_connection()
        self._mark(0)

    def _mark(self, delivery_id: int) -> None:
        assert self._marks is not None, "start() first"
        marks: Any = self._marks  # redis-py leaves its Connection's methods untyped
        head, tail = self._set_mark
        marks.send_packed_command([head + _bulk(b"%d" % delivery_id) + tail],
                                  check_health=False)
        marks.read_response()  # an error reply raises; the mark is in Redis after it

    def _params(self, now: datetime) -> dict[str, object]:
        return {"run_claim": self.token, "now": now}

    def _flush_sent(self, now: datetime) -> None:
        if self.sent_pending:
            self.conn.execute(_MARK_SENT, [{**self._params(now), "sent_id": delivery_id,
                                            "at": at} for delivery_id, at in self.sent_pending])
            self.sent_pending = []

    def begin_group(self, copies: list[tuple[int, str]]) -> set[int]:
        """Commit these copies (delivery id, Message-ID) as *sending*, and the copies sent
        since the last commit as *sent*, in one transaction; returns the ids still ours."""
        now = utcnow()
        ids = [delivery_id for delivery_id, _ in copies]
        if self.conn.dialect.name == "postgresql":
            ours = set(self.conn.execute(_GROUP_PG, {
                **self._params(now), "ids": ids,
                "sent_ids": [delivery_id for delivery_id, _ in self.sent_pending],
                "sent_at": [at for _, at in self.sent_pending],
                "message_ids": [message_id for _, message_id in copies]}).scalars())
            self.sent_pending = []
        else:
            self._flush_sent(now)
            self.conn.execute(_BEGIN, [{**self._params(now), "delivery_id": delivery_id,
                                        "new_message_id": message_id}
                                       for delivery_id, message_id in copies])
            ours = set(self.conn.execute(_STARTED, {**self._params(now), "ids": ids}).scalars())
        if time.monotonic() - self.heartbeat_at > HEARTBEAT.total_seconds():
            self.conn.execute(
                sa.update(_T)
                .where(_T.c.batch_id == self.batch_id, _T.c.claim == self.token,
                       _T.c.status == DeliveryStatus.CLAIMED)
                .values(updated_at=now)
            )
            self.heartbeat_at = time.monotonic()
        self.conn.commit()
        self.group = [d for d, _ in copies if d in ours]
        self.group_at = time.monotonic()
        return ours

    def keep_alive(self) -> set[int]:
        """Before a copy starts: the group's copies still ours. A group older than
        :data:`GROUP_MAX_AGE` is renewed first (a compare-and-set), so the reaper never
        takes a copy from a run that is only slow."""
        if time.monotonic() - self.group_at <= GROUP_MAX_AGE or not self.group:
            return set(self.group)
        now = utcnow()
        self._flush_sent(now)
        ours = set(self.conn.execute(
            sa.update(_T)
            .where(_T.c.claim == self.token, _T.c.id.in_(self.group),
                   _T.c.status == DeliveryStatus.SENDING)
            .values(updated_at=now)
            .returning(_T.c.id)
        ).scalars().all())
        self.conn.commit()
        self.group = [d for d in self.group if d in ours]
        self.group_at = time.monotonic()
        return ours

    def _give_back_group(self) -> None:
        """The group's copies not started go back to *claimed* (the one in flight stays)."""
        now = utcnow()
        self._flush_sent(now)
        rest = [d for d in self.group if d != self.in_flight]
        if rest:
            self.conn.execute(
                sa.update(_T)
                .where(_T.c.claim == self.token, _T.c.id.in_(rest),
                       _T.c.status == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.CLAIMED, updated_at=now)
            )
        self.conn.commit()
        self.group = []

    def starting(self, delivery_id: int) -> None:
        """Record that this copy's data is about to go (raises ``redis.RedisError``: then
        the caller must not send it)."""
        self.in_flight = delivery_id
        self._mark(delivery_id)

    def sent(self, delivery_id: int) -> None:
        self.sent_pending.append((delivery_id, utcnow()))
        self._done(delivery_id)

    def _done(self, delivery_id: int) -> None:
        if delivery_id == self.in_flight:
            self.in_flight = None
        if delivery_id in self.group:
            self.group.remove(delivery_id)

    def finish(self, delivery_id: int, status: DeliveryStatus, error: str | None = None) -> None:
        now = utcnow()
        self._flush_sent(now)
        self.conn.execute(
            sa.update(_T)
            .where(_T.c.id == delivery_id, _T.c.claim == self.token,
                   _T.c.status.in_([DeliveryStatus.CLAIMED, DeliveryStatus.SENDING]))
            .values(status=status, updated_at=now, error=error[:2000] if error else None)
        )
        self.conn.commit()
        self._done(delivery_id)

    def release_remaining(self, error: str) -> int:
        """Give back every copy not started (the connection is gone): deferred, not lost."""
        now = utcnow()
        self._flush_sent(now)
        released = self.conn.execute(
            sa.update(_T)
            .where(_T.c.batch_id == self.batch_id, _T.c.claim == self.token,
                   _T.c.status.in_([DeliveryStatus.CLAIMED, DeliveryStatus.SENDING]))
            .values(status=DeliveryStatus.DEFERRED, updated_at=now, error=error[:2000])
        ).rowcount
        self.conn.commit()
        self.group = []
        return released or 0

    def close(self) -> None:
        """Record the copies sent and give back the group's copies not started (even after
        an unexpected error; a copy in flight then stays *sending*, for the reaper), then
        let go."""
        try:
            self.conn.rollback()
            self._give_back_group()
            if self.in_flight is None:
                # If Redis cannot say, the mark expires: no copy of this run is left
                # *sending* to read it.
                with contextlib.suppress(redis.RedisError):
                    self.redis.delete(progress_key(self.token))
        finally:
            self.conn.close()
            if self._marks is not None:
                self.redis.connection_pool.release(self._marks)
