"""Copies sent exactly once per subscriber, through crashes, retries and duplicate triggers.

:func:`run_batch` sends one batch (see ``mailings``) over one SMTP connection. Each copy moves
through states in the ``deliveries`` table, every move a compare-and-set on the run's claim
token:

1. *claimed*: inserted under the unique (mailing, subscriber) pair and committed before any
   sending; a row another run holds is left alone until its lease runs out.
2. *sending*: committed before the message data goes, a group of copies per commit (see
   ``runs``: a progress mark in Redis per copy says which one is in flight). A copy left
   *sending* by a dead run may have been delivered, so nothing ever sends it again: the
   reaper makes it *uncertain*, or, by the mark, *sent* or *deferred* (never started).
3. *sent*, or *deferred* (nothing delivered: 4xx, server down; any later run takes it over),
   *failed* (5xx: the subscriber is marked bounced) or *uncertain*.

What each copy holds is ``contents``'; how it is built, ``composing``; a run's statements on
the ledger, ``runs``; a dead run's leftovers, ``reaper``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.dialects import postgresql, sqlite

from service.database import db, utcnow
from service.extensions import get_redis
from service.mail import mailer, throttle, verp
from service.mail.messages import Template, sender_address
from service.subscriptions import composing, contents, lifecycle, runs
from service.subscriptions.contents import Target
from service.subscriptions.models import (
    OPEN_STATUSES,
    Delivery,
    DeliveryStatus,
    MailBatch,
    Mailing,
    MailingKind,
)
from service.subscriptions.tokens import ManageTokens

log = logging.getLogger(__name__)

ROW_LEASE = timedelta(minutes=5)  # a claim not moved on for this long belongs to a dead run
BATCH_LEASE = timedelta(minutes=15)  # a batch not done this long after queueing is queued again
MAX_ATTEMPTS = 12


@dataclass
class BatchResult:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    uncertain: int = 0
    skipped: int = 0  # owned by another run by the time we got to it
    cancelled: int = 0
    done: bool = False
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: _Outcome) -> None:
        setattr(self, outcome.kind, getattr(self, outcome.kind) + 1)
        self.deferred += outcome.released
        if outcome.error and outcome.kind != "failed":
            self.errors.append(outcome.error)


def _insert_claims(mailing_id: int, batch_id: int, subscriber_ids: list[int], token: str,
                   now: datetime) -> dict[int, int]:
    """Insert the claims no other run holds; ``{delivery_id: subscriber_id}`` of those."""
    if not subscriber_ids:
        return {}
    table = cast(sa.Table, Delivery.__table__)  # Core: none of the ORM's bulk bookkeeping
    values = {"mailing_id": mailing_id, "batch_id": batch_id, "status": DeliveryStatus.CLAIMED,
              "claim": token, "attempts": 1, "updated_at": now}
    if db.session.get_bind().dialect.name == "postgresql":
        # One row per element of one array parameter: a multi-row VALUES of hundreds of
        # rows has thousands of parameters, and psycopg parses such a query anew each time
        # (a tenth of a worker's CPU went to that).
        rows = sa.select(*(sa.literal(value, table.c[name].type) for name, value in values.items()),
                         sa.func.unnest(sa.literal(subscriber_ids, postgresql.ARRAY(sa.Integer))))
        statement = (postgresql.insert(table).from_select([*values, "subscriber_id"], rows)
                     .on_conflict_do_nothing(index_elements=["mailing_id", "subscriber_id"])
                     .returning(table.c.id, table.c.subscriber_id))
        inserted = db.session.execute(statement)
    else:
        inserted = db.session.execute(
            sqlite.insert(table).on_conflict_do_nothing(
                index_elements=["mailing_id", "subscriber_id"])
            .returning(table.c.id, table.c.subscriber_id),
            [{**values, "subscriber_id": sid} for sid in subscriber_ids])
    return {delivery_id: subscriber_id for delivery_id, subscriber_id in inserted}


def _claim(mailing: Mailing, batch: MailBatch, targets: list[Target], token: str,
           now: datetime) -> dict[int, int]:
    """Claim this run's copies in one committed transaction; ``{delivery_id: subscriber_id}``."""
    ids = [t.subscriber_id for t in targets]
    stale = now - ROW_LEASE
    takeable = sa.or_(Delivery.status == DeliveryStatus.DEFERRED,
                      sa.and_(Delivery.status == DeliveryStatus.CLAIMED,
                              Delivery.updated_at < stale))
    in_batch = Delivery.batch_id == batch.id
    first_run = not db.session.scalar(sa.select(sa.exists().where(in_batch)))
    inserted = _insert_claims(mailing.id, batch.id, ids, token, now)
    if first_run:
        # No copy of this batch existed: nothing to cancel, give up or take over, and what
        # this run inserted is all it owns (a concurrent first run inserted the others).
        db.session.commit()
        return dict(sorted(inserted.items()))
    # Copies no longer due (unsubscribed, retracted, nothing left) are not sent later either.
    db.session.execute(sa.update(Delivery).where(in_batch, takeable,
                                                 Delivery.subscriber_id.not_in(ids))
                       .values(status=DeliveryStatus.CANCELLED, updated_at=now))
    db.session.execute(sa.update(Delivery).where(in_batch, takeable,
                                                 Delivery.attempts >= MAX_ATTEMPTS)
                       .values(status=DeliveryStatus.FAILED, updated_at=now,
                               error=sa.func.coalesce(Delivery.error, "") + " (gave up)"))
    db.session.execute(sa.update(Delivery).where(in_batch, takeable)
                       .values(status=DeliveryStatus.CLAIMED, claim=token, updated_at=now,
                               attempts=Delivery.attempts + 1))
    db.session.commit()
    owned = dict(db.session.execute(
        sa.select(Delivery.id, Delivery.subscriber_id)
        .where(in_batch, Delivery.claim == token, Delivery.status == DeliveryStatus.CLAIMED)
        .order_by(Delivery.id)
    ).all())
    db.session.rollback()  # hand the connection back: the send loop uses one of its own
    return owned


class _Sender:
    """Sends one copy at a time for a run and says what became of it."""

    def __init__(self, run: runs.Run, kind: MailingKind, views: dict[int, dict[str, Any]],
                 limits: throttle.Throttle) -> None:
        self.run = run
        self.throttle = limits
        self.kind = kind
        self.views = views
        self.senders = verp.Senders(sender_address(current_app.config["SETTINGS"].mail_from))
        self.manage_tokens = ManageTokens()
        self.templates: dict[tuple[int, ...], Template] = {}

    def _template(self, target: Target) -> Template:
        template = self.templates.get(target.content)
        if template is None:
            template = self.templates[target.content] = composing.shared_template(
                self.kind, [self.views[i] for i in target.content])
        return template

    def prepare(self, delivery_id: int, target: Target) -> _Copy:
        """The copy's bytes, rendered before its group is committed (its Message-ID is)."""
        template = self._template(target)
        manage = self.manage_tokens.make(target.subscriber_id, target.token_version,
                                         target.email)
        links = composing.subscriber_links(self.senders.unsubscribe_address, manage)
        message_id, data = template.personalise(target.email, links)
        return _Copy(delivery_id, target.subscriber_id, target.email, message_id, data,
                     self.senders.make(target.subscriber_id, delivery_id, target.email),
                     template.eight_bit)

    def send_one(self, transport: mailer.Transport, copy: _Copy) -> _Outcome:
        """Send one copy of the run's group; a failure is committed before this returns, a
        success rides on the next commit (see ``runs``)."""
        run, delivery_id = self.run, copy.delivery_id
        try:
            self.throttle.wait_turn(copy.email)
        except RedisError as exc:  # cannot tell whether we may send: send nothing now
            return self._stop_deferred(
                delivery_id, f"the sending rate cannot be checked (Redis): {exc}")
        if delivery_id not in run.keep_alive():
            return _Outcome("skipped")  # another run owns it by now
        marked: list[RedisError] = []

        def before_data() -> bool:
            try:
                run.starting(delivery_id)
            except RedisError as exc:  # no progress mark: its data must not go
                marked.append(exc)
                return False
            return True

        try:
            accepted = transport.send(copy.data, copy.envelope_sender, copy.email,
                                      eight_bit=copy.eight_bit, before_data=before_data)
        except mailer.Rejected as exc:
            run.finish(delivery_id, DeliveryStatus.FAILED, str(exc))
            return _Outcome("failed", bounced=copy.subscriber_id)
        except mailer.Uncertain as exc:
            run.finish(delivery_id, DeliveryStatus.UNCERTAIN, str(exc))
            released = run.release_remaining(f"after an uncertain send: {exc}")
            return _Outcome("uncertain", error=str(exc), released=released, stop=True)
        except mailer.Deferred as exc:
            if exc.slow_down:  # first: the other senders stop now, not after our commit
                slow_down(self.throttle, str(exc))
            run.finish(delivery_id, DeliveryStatus.DEFERRED, str(exc))
            if exc.connection:  # the connection is gone: give back what is left, stop
                released = run.release_remaining(str(exc))
                return _Outcome("deferred", error=str(exc), released=released, stop=True)
            return _Outcome("deferred", error=str(exc))
        if not accepted:  # the progress mark could not be written: nothing went
            return self._stop_deferred(
                delivery_id, f"the progress of the run cannot be recorded (Redis): {marked[0]}")
        run.sent(delivery_id)
        return _Outcome("sent")

    def _stop_deferred(self, delivery_id: int, error: str) -> _Outcome:
        self.run.finish(delivery_id, DeliveryStatus.DEFERRED, error)
        return _Outcome("deferred", error=error, released=self.run.release_remaining(error),
                        stop=True)


@dataclass(frozen=True)
class _Copy:
    """One copy, rendered: what the group commit records and the transport sends."""

    delivery_id: int
    subscriber_id: int
    email: str
    message_id: str
    data: bytes
    envelope_sender: str
    eight_bit: bool


def slow_down(limits: throttle.Throttle, reason: str) -> None:
    """The relay said "slow down": every sender pauses (``throttle``); logged either way."""
    log.warning("the mail relay asked us to slow down: every sender pauses for %d s (%s)",
                limits.rates.pause_seconds, reason)
    try:
        limits.slow_down()
    except RedisError as exc:
        log.warning("could not set the shared pause (Redis): %s", exc)


@dataclass(frozen=True)
class _Outcome:
    """What became of one copy: ``kind`` is a :class:`BatchResult` counter."""

    kind: str
    error: str | None = None
    released: int = 0  # copies given back (deferred) after this one
    stop: bool = False  # the connection cannot carry more
    bounced: int | None = None  # the subscriber the server refused for good


def run_batch(batch_id: int) -> BatchResult:
    """Send one batch; safe to run twice, concurrently, or after a run that died."""
    result = BatchResult()
    batch = db.session.get(MailBatch, batch_id)
    if batch is None:
        db.session.rollback()
        result.done = True
        return result
    mailing = db.session.get(Mailing, batch.mailing_id)
    assert mailing is not None
    targets, items = contents.targets(mailing, batch)
    views = {item_id: contents.item_view(item) for item_id, item in items.items()}
    kind, key = mailing.kind, mailing.key
    token = uuid.uuid4().hex
    owned = _claim(mailing, batch, targets, token, utcnow())  # commits: ORM objects expire
    by_subscriber = {t.subscriber_id: t for t in targets}
    redis_conn = get_redis()
    run = runs.Run(batch_id, token, redis_conn)
    limits = throttle.Throttle(redis_conn, throttle.configured_rates())
    sender = _Sender(run, kind, views, limits)
    bounced: list[int] = []
    copies = list(owned.items())  # in delivery id order: the reaper relies on it (``runs``)
    try:
        run.start()
        with mailer.open_transport() as transport:
            for start in range(0, len(copies), runs.GROUP_SIZE):
                group = [sender.prepare(delivery_id, by_subscriber[subscriber_id])
                         for delivery_id, subscriber_id in copies[start:start + runs.GROUP_SIZE]]
                ours = run.begin_group([(c.delivery_id, c.message_id) for c in group])
                result.skipped += sum(1 for c in group if c.delivery_id not in ours)
                outcome = None
                for copy in (c for c in group if c.delivery_id in ours):
                    outcome = sender.send_one(transport, copy)
                    result.count(outcome)
                    if outcome.bounced is not None:
                        bounced.append(outcome.bounced)
                    if outcome.stop:
                        break
                if outcome is not None and outcome.stop:
                    break
    except mailer.Deferred as exc:  # could not even connect
        if exc.slow_down:
            slow_down(limits, str(exc))
        result.deferred += run.release_remaining(str(exc))
        result.errors.append(str(exc))
    except RedisError as exc:  # no progress mark can be kept: nothing is sent now
        error = f"the progress of the run cannot be recorded (Redis): {exc}"
        result.deferred += run.release_remaining(error)
        result.errors.append(error)
    finally:
        run.close()
    if bounced:
        lifecycle.mark_bounced(bounced)
    result.done = _close_batch(batch_id)
    log.info("batch %d of mailing %s %s: %s", batch_id, kind.value, key, result)
    return result


def _close_batch(batch_id: int) -> bool:
    """Count the run, and mark the batch done when no copy is left open; True if done."""
    open_rows = db.session.scalar(
        sa.select(sa.func.count()).select_from(Delivery)
        .where(Delivery.batch_id == batch_id, Delivery.status.in_(OPEN_STATUSES))
    ) or 0
    values: dict[str, Any] = {"runs": MailBatch.runs + 1}
    if open_rows == 0:
        values["done_at"] = utcnow()
    db.session.execute(sa.update(MailBatch).where(MailBatch.id == batch_id).values(**values))
    db.session.commit()
    return open_rows == 0
