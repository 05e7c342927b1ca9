"""One run of one mail batch in the ledger: the claim token, and one commit per message.

Every move is a compare-and-set on the run's claim (see ``delivery`` for the states): a copy
becomes *sending* just before its data goes, in the same statement that marks the previous
copy *sent*, on one autocommit connection of the run's own.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa

from service.database import db, utcnow
from service.subscriptions.models import Delivery, DeliveryStatus

HEARTBEAT = timedelta(seconds=60)  # a live run renews its claims this often


_T = cast(sa.Table, Delivery.__table__)  # declarative models' tables are Tables
_IS_CURRENT = _T.c.id == sa.bindparam("current")
# The one statement (and commit) per message: the previous copy becomes *sent*, this one
# *sending*, each only if this run still owns it. Core, built once: this is the hot path.
_ADVANCE = (
    sa.update(_T)
    .where(_T.c.claim == sa.bindparam("run_claim"),
           sa.or_(sa.and_(_IS_CURRENT, _T.c.status == DeliveryStatus.CLAIMED),
                  sa.and_(_T.c.id == sa.bindparam("previous"),
                          _T.c.status.in_([DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN]))))
    .values(
        status=sa.case((_IS_CURRENT, sa.literal_column("'sending'")),
                       else_=sa.literal_column("'sent'")),
        message_id=sa.case((_IS_CURRENT, sa.bindparam("new_message_id", type_=sa.String)),
                           else_=_T.c.message_id),
        sent_at=sa.case((_IS_CURRENT, _T.c.sent_at),
                        else_=sa.bindparam("now", type_=_T.c.updated_at.type)),
        error=sa.case((_IS_CURRENT, _T.c.error), else_=sa.null()),
        updated_at=sa.bindparam("now", type_=_T.c.updated_at.type),
    )
    .returning(_T.c.id)
)


class Run:
    """One run of one batch: the claim token, and one commit per message.

    The run keeps one autocommit connection of its own for its whole send loop (no pool
    check-out, no session bookkeeping, one round trip per message): the durable commit per
    message is the price of exactly-once, and nothing else should add to it.
    """

    def __init__(self, batch_id: int, token: str) -> None:
        self.batch_id = batch_id
        self.token = token
        self.sent_pending: int | None = None  # sent, its mark rides on the next commit
        self.heartbeat_at = time.monotonic()
        # Autocommit: each statement is one state change, committed in its own round trip.
        self.conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _mine(self, delivery_id: int, *statuses: DeliveryStatus) -> sa.ColumnElement[bool]:
        return sa.and_(_T.c.id == delivery_id, _T.c.claim == self.token,
                       _T.c.status.in_(statuses))

    def _flush_sent(self, now: datetime) -> None:
        if self.sent_pending is not None:
            self.conn.execute(
                sa.update(_T)
                .where(self._mine(self.sent_pending, DeliveryStatus.SENDING,
                                  DeliveryStatus.UNCERTAIN))
                .values(status=DeliveryStatus.SENT, sent_at=now, updated_at=now, error=None)
            )
            self.sent_pending = None

    def begin_sending(self, delivery_id: int, message_id: str) -> bool:
        """Commit this copy as *sending* (and the previous one as *sent*); False: not ours."""
        now = utcnow()
        moved = self.conn.execute(_ADVANCE, {
            "run_claim": self.token, "current": delivery_id, "previous": self.sent_pending,
            "new_message_id": message_id, "now": now,
        }).scalars().all()
        self.sent_pending = None
        if time.monotonic() - self.heartbeat_at > HEARTBEAT.total_seconds():
            self.conn.execute(
                sa.update(_T)
                .where(_T.c.batch_id == self.batch_id, _T.c.claim == self.token,
                       _T.c.status == DeliveryStatus.CLAIMED)
                .values(updated_at=now)
            )
            self.heartbeat_at = time.monotonic()
        self.conn.commit()
        return delivery_id in moved

    def finish(self, delivery_id: int, status: DeliveryStatus, error: str | None = None) -> None:
        now = utcnow()
        self._flush_sent(now)
        self.conn.execute(
            sa.update(_T)
            .where(self._mine(delivery_id, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING))
            .values(status=status, updated_at=now, error=error[:2000] if error else None)
        )
        self.conn.commit()

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
        return released or 0

    def close(self) -> None:
        """Record the last copy sent (even after an unexpected error), then let go."""
        try:
            if self.sent_pending is not None:
                self.conn.rollback()
                self._flush_sent(utcnow())
                self.conn.commit()
        finally:
            self.conn.close()
