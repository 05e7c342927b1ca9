"""Mailings sent exactly once per subscriber, through crashes, retries and duplicate triggers.

:func:`start_mailing` creates a :class:`Mailing` (unique per kind and key, so a second beat or
a re-dispatched event finds it there and stops) and splits its subscribers into id ranges, one
:class:`MailBatch` and one ``mail.send_batch`` task each, in one transaction.

:func:`run_batch` sends one batch over one SMTP connection. Each copy moves through states in
the ``deliveries`` table, every move a compare-and-set on the run's claim token:

1. *claimed*: inserted under the unique (mailing, subscriber) pair and committed before any
   sending; a row another run holds is left alone until its lease runs out.
2. *sending*: committed after the server accepted the recipient and before the message data
   goes (in the same commit as the previous copy's *sent*: one commit per message). A row left
   *sending* may have been delivered, so nothing ever sends it again: the reaper makes it
   *uncertain*.
3. *sent*, or *deferred* (nothing delivered: 4xx, server down; any later run takes it over),
   *failed* (5xx: the subscriber is marked bounced) or *uncertain*.

A batch whose worker died leaves *claimed* rows; :func:`resume_stalled` (beat, every minute)
requeues batches with rows past their lease, and the new run claims them and carries on
where the dead one stopped. Batches hold at most ``MAIL_BATCH_SIZE`` subscribers and rows are
read as plain tuples, so memory does not grow with the number of subscribers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from service.announcements.models import Announcement, Status
from service.announcements.rendering import is_rtl
from service.database import db, utcnow
from service.jobs import enqueue_after_commit, send_now
from service.mail import mailer
from service.mail.messages import Links, Template, sender_address
from service.subscriptions import lifecycle
from service.subscriptions.models import (
    OPEN_STATUSES,
    Delivery,
    DeliveryStatus,
    Frequency,
    MailBatch,
    Mailing,
    MailingKind,
    Subscriber,
    SubscriberStatus,
)
from service.subscriptions.tokens import ManageTokens

log = logging.getLogger(__name__)

SEND_TASK = "mail.send_batch"
ROW_LEASE = timedelta(minutes=5)  # a claim not moved on for this long belongs to a dead run
HEARTBEAT = timedelta(seconds=60)  # a live run renews its claims this often
BATCH_LEASE = timedelta(minutes=15)  # a batch not done this long after queueing is queued again
MAX_ATTEMPTS = 12
INSTANT_MAX_AGE = timedelta(days=1)
DIGEST_MAX_ITEMS = 50


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


@dataclass(frozen=True)
class _Target:
    subscriber_id: int
    email: str
    token_version: int
    content: tuple[int, ...]  # announcement ids: the key of the rendered template


def _batch_size() -> int:
    return current_app.config["SETTINGS"].mail_batch_size


def _ranges(frequency: Frequency, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive id ranges of at most ``size`` confirmed subscribers (keyset pagination)."""
    last = 0
    while True:
        ids = db.session.scalars(
            sa.select(Subscriber.id)
            .where(Subscriber.status == SubscriberStatus.CONFIRMED,
                   Subscriber.frequency == frequency, Subscriber.id > last)
            .order_by(Subscriber.id)
            .limit(size)
        ).all()
        if not ids:
            return
        yield ids[0], ids[-1]
        last = ids[-1]


def start_mailing(kind: MailingKind, key: str, *, announcement_id: int | None = None,
                  window_end: datetime | None = None, queue: bool = True
                  ) -> tuple[Mailing, bool]:
    """Create a mailing and its batches, queued after commit; ``(mailing, created)``.

    Safe to call twice or concurrently: the unique (kind, key) lets one caller create it; the
    others get the existing mailing and queue nothing (the reaper finishes unfinished work).
    With ``queue=False`` the caller runs the batches itself (``digests send --here``).
    """
    db.session.rollback()  # start with the write, so SQLite takes its lock before any read
    try:
        with db.session.begin_nested():
            mailing = Mailing(kind=kind, key=key, announcement_id=announcement_id,
                              window_end=window_end, created_at=utcnow())
            db.session.add(mailing)
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalars(
            sa.select(Mailing).where(Mailing.kind == kind, Mailing.key == key)).one()
        db.session.commit()
        return existing, False
    now = utcnow()
    batches = [MailBatch(mailing_id=mailing.id, first_id=first, last_id=last, queued_at=now)
               for first, last in _ranges(Frequency(kind.value), _batch_size())]
    db.session.add_all(batches)
    db.session.flush()
    for batch in batches if queue else ():
        enqueue_after_commit(db.session(), SEND_TASK, batch.id)
    db.session.commit()
    log.info("mailing %s %s: %d batches", kind.value, key, len(batches))
    return mailing, True


def start_instant(announcement_id: int, now: datetime | None = None, *, queue: bool = True
                  ) -> Mailing | None:
    """Mail a just-published announcement to instant subscribers (once, whoever asks again).

    An announcement published with a date more than a day back (an import of old news) is
    not news to anyone's inbox: no instant mailing; digests skip it too.
    """
    now = now or utcnow()
    item = db.session.get(Announcement, announcement_id)
    due = (item is not None and item.status is Status.PUBLISHED
           and item.published_at is not None and item.published_at >= now - INSTANT_MAX_AGE)
    db.session.rollback()
    if not due:
        return None
    mailing, _ = start_mailing(MailingKind.INSTANT, str(announcement_id),
                               announcement_id=announcement_id, queue=queue)
    return mailing


def batch_ids(mailing_id: int) -> list[int]:
    ids = list(db.session.scalars(
        sa.select(MailBatch.id).where(MailBatch.mailing_id == mailing_id).order_by(MailBatch.id)))
    db.session.rollback()
    return ids


# -- what each subscriber of a batch gets ----------------------------------------------------


def _matches(item: Announcement, tags: list[str], partners: list[str],
             language: str | None) -> bool:
    if language and item.language != language:
        return False
    if not tags and not partners:
        return True
    return (any(t.slug in tags for t in item.tags)
            or any(p.slug in partners for p in item.partners))


def _subscribers(mailing: Mailing, batch: MailBatch) -> list[sa.Row[Any]]:
    return list(db.session.execute(
        sa.select(Subscriber.id, Subscriber.email, Subscriber.token_version, Subscriber.tags,
                  Subscriber.partners, Subscriber.language, Subscriber.since_at)
        .where(Subscriber.id.between(batch.first_id, batch.last_id),
               Subscriber.status == SubscriberStatus.CONFIRMED,
               Subscriber.frequency == Frequency(mailing.kind.value))
        .order_by(Subscriber.id)
    ))


def instant_item(announcement_id: int) -> Announcement | None:
    """The announcement an instant email is about, or None when it is not published.

    Retracted (or gone) before it reached everyone, scheduled or a draft: never mailed. The
    sender and the editors' preview both ask here, so they cannot disagree.
    """
    item = db.session.scalars(
        sa.select(Announcement).where(Announcement.id == announcement_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    ).first()
    return item if item is not None and item.status is Status.PUBLISHED else None


def digest_items(start: datetime, end: datetime) -> list[Announcement]:
    """Published announcements with ``start <= published_at < end``, newest first.

    Every item any digest of that window may hold (each subscriber's topics filter it
    further); retracted and scheduled ones are not published, so never among them.
    """
    return list(db.session.scalars(
        sa.select(Announcement)
        .where(Announcement.status == Status.PUBLISHED, Announcement.published_at >= start,
               Announcement.published_at < end)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
    ))


def _instant_targets(mailing: Mailing, batch: MailBatch
                     ) -> tuple[list[_Target], dict[int, Announcement]]:
    item = instant_item(mailing.announcement_id) if mailing.announcement_id else None
    if item is None:
        return [], {}
    targets = [_Target(row.id, row.email, row.token_version, (item.id,))
               for row in _subscribers(mailing, batch)
               if _matches(item, row.tags, row.partners, row.language)]
    return targets, {item.id: item}


def _previous_digest_ends(mailing: Mailing, batch: MailBatch) -> dict[int, datetime]:
    """Per subscriber, where their latest other digest ended (sent, or on its way)."""
    rows = db.session.execute(
        sa.select(Delivery.subscriber_id, sa.func.max(Mailing.window_end))
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .where(Delivery.subscriber_id.between(batch.first_id, batch.last_id),
               Mailing.kind.in_([MailingKind.DAILY, MailingKind.WEEKLY]),
               Mailing.id != mailing.id,
               Delivery.status.not_in([DeliveryStatus.CANCELLED, DeliveryStatus.FAILED]))
        .group_by(Delivery.subscriber_id)
    )
    return {subscriber_id: end for subscriber_id, end in rows if end is not None}


def _digest_targets(mailing: Mailing, batch: MailBatch
                    ) -> tuple[list[_Target], dict[int, Announcement]]:
    window_end = mailing.window_end
    assert window_end is not None
    subscribers = _subscribers(mailing, batch)
    previous = _previous_digest_ends(mailing, batch)
    starts = {row.id: max(filter(None, (row.since_at, previous.get(row.id))),
                          default=window_end) for row in subscribers}
    earliest = min(starts.values(), default=window_end)
    if earliest >= window_end:
        return [], {}
    items = digest_items(earliest, window_end)
    targets = []
    for row in subscribers:
        start = starts[row.id]
        chosen = tuple(item.id for item in items if item.published_at is not None
                       and item.published_at >= start
                       and _matches(item, row.tags, row.partners, row.language))
        if chosen:  # nothing new, nothing sent
            targets.append(_Target(row.id, row.email, row.token_version, chosen))
    return targets, {item.id: item for item in items}


def item_view(item: Announcement, base_url: str) -> dict[str, Any]:
    """What the email templates show of one announcement (plain values, no ORM object)."""
    return {
        "title": " ".join(item.title.split()),
        "summary": item.summary,
        "url": f"{base_url}/announcements/{item.slug}",
        "published_at": item.published_at,
        "language": item.language,
        "dir": "rtl" if is_rtl(item.language) else "ltr",
        "tags": [t.name for t in item.tags],
        "partners": [p.name for p in item.partners],
    }


# -- claiming ----------------------------------------------------------------------------


def _insert_claims(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(Delivery).on_conflict_do_nothing(
        index_elements=["mailing_id", "subscriber_id"]), rows)


def _claim(mailing: Mailing, batch: MailBatch, targets: list[_Target], token: str,
           now: datetime) -> dict[int, int]:
    """Claim this run's copies in one committed transaction; ``{delivery_id: subscriber_id}``."""
    ids = [t.subscriber_id for t in targets]
    stale = now - ROW_LEASE
    takeable = sa.or_(Delivery.status == DeliveryStatus.DEFERRED,
                      sa.and_(Delivery.status == DeliveryStatus.CLAIMED,
                              Delivery.updated_at < stale))
    in_batch = Delivery.batch_id == batch.id
    _insert_claims([{"mailing_id": mailing.id, "batch_id": batch.id, "subscriber_id": sid,
                     "status": DeliveryStatus.CLAIMED, "claim": token, "attempts": 1,
                     "updated_at": now} for sid in ids])
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
        .order_by(Delivery.subscriber_id)
    ).all())
    db.session.rollback()  # hand the connection back: the send loop uses one of its own
    return owned


# -- sending -------------------------------------------------------------------------------


_T = Delivery.__table__
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


class _Run:
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
    now = utcnow()
    if mailing.kind is MailingKind.INSTANT:
        targets, items = _instant_targets(mailing, batch)
    else:
        targets, items = _digest_targets(mailing, batch)
    settings = current_app.config["SETTINGS"]
    base_url = current_app.config["BASE_URL"]
    views = {item_id: item_view(item, base_url) for item_id, item in items.items()}
    kind, key = mailing.kind, mailing.key
    token = uuid.uuid4().hex
    owned = _claim(mailing, batch, targets, token, now)  # commits: ORM objects expire here
    by_subscriber = {t.subscriber_id: t for t in targets}

    sender = sender_address(settings.mail_from)
    manage_tokens = ManageTokens()
    templates: dict[tuple[int, ...], Template] = {}
    run = _Run(batch_id, token)
    bounced: list[int] = []
    try:
        with mailer.open_transport() as transport:
            for delivery_id, subscriber_id in owned.items():
                target = by_subscriber[subscriber_id]
                template = templates.get(target.content)
                if template is None:
                    template = templates[target.content] = build_template(
                        kind, [views[i] for i in target.content])
                manage = manage_tokens.make(subscriber_id, target.token_version, target.email)
                links = subscriber_links(base_url, sender, manage)
                message_id, data = template.personalise(target.email, links)
                try:
                    accepted = transport.send(
                        data, sender, target.email, eight_bit=template.eight_bit,
                        before_data=lambda d=delivery_id, m=message_id: run.begin_sending(d, m),
                    )
                except mailer.Rejected as exc:
                    run.finish(delivery_id, DeliveryStatus.FAILED, str(exc))
                    bounced.append(subscriber_id)
                    result.failed += 1
                    continue
                except mailer.Uncertain as exc:
                    run.finish(delivery_id, DeliveryStatus.UNCERTAIN, str(exc))
                    result.uncertain += 1
                    result.deferred += run.release_remaining(f"after an uncertain send: {exc}")
                    result.errors.append(str(exc))
                    break
                except mailer.Deferred as exc:
                    run.finish(delivery_id, DeliveryStatus.DEFERRED, str(exc))
                    result.deferred += 1
                    result.errors.append(str(exc))
                    if exc.connection:
                        result.deferred += run.release_remaining(str(exc))
                        break
                    continue
                if accepted:
                    run.sent_pending = delivery_id
                    result.sent += 1
                else:
                    result.skipped += 1
    except mailer.Deferred as exc:  # could not even connect
        result.deferred += run.release_remaining(str(exc))
        result.errors.append(str(exc))
    finally:
        run.close()
    if bounced:
        lifecycle.mark_bounced(bounced)
    open_rows = db.session.scalar(
        sa.select(sa.func.count()).select_from(Delivery)
        .where(Delivery.batch_id == batch_id, Delivery.status.in_(OPEN_STATUSES))
    ) or 0
    values: dict[str, Any] = {"runs": MailBatch.runs + 1}
    if open_rows == 0:
        values["done_at"] = utcnow()
        result.done = True
    db.session.execute(sa.update(MailBatch).where(MailBatch.id == batch_id).values(**values))
    db.session.commit()
    log.info("batch %d of mailing %s %s: %s", batch_id, kind.value, key, result)
    return result


def build_template(kind: MailingKind, items: list[dict[str, Any]]) -> Template:
    """The email of ``kind`` holding ``items`` (from :func:`item_view`), not yet personalised.

    A digest shows the newest ``DIGEST_MAX_ITEMS`` and counts the rest. The sender and the
    editors' preview (``previews``) both build their messages here.
    """
    base_url = current_app.config["BASE_URL"]
    mail_from = current_app.config["SETTINGS"].mail_from
    domain = urlsplit(base_url).hostname or "localhost"
    if kind is MailingKind.INSTANT:
        return Template("instant", {"item": items[0], "base_url": base_url},
                        mail_from=mail_from, domain=domain)
    shown = items[:DIGEST_MAX_ITEMS]
    return Template("digest", {"kind": kind.value, "items": shown,
                               "more": len(items) - len(shown), "base_url": base_url},
                    mail_from=mail_from, domain=domain)


def subscriber_links(base_url: str, sender: str, manage_token: str) -> Links:
    """The manage and unsubscribe links of the subscriber whose signed token is given."""
    return Links(
        manage=f"{base_url}/subscriptions/manage/{manage_token}",
        unsubscribe=f"{base_url}/subscriptions/unsubscribe/{manage_token}",
        unsubscribe_mailto=f"mailto:{sender}?subject=unsubscribe%20{manage_token}",
    )


# -- the reaper ----------------------------------------------------------------------------


def broker_started_at() -> datetime:
    """When the Redis that is the broker (re)started, by its own uptime (no clock shared)."""
    uptime = int(current_app.extensions["redis"].info("server")["uptime_in_seconds"])
    # Whole seconds: this errs late, so a batch queued in the new server's first second may
    # be counted as lost too, and run twice: harmless, where erring early would lose one.
    return utcnow() - timedelta(seconds=uptime)


def resume_stalled(now: datetime | None = None, row_lease: timedelta = ROW_LEASE,
                   batch_lease: timedelta = BATCH_LEASE) -> int:
    """Requeue batches a dead or lost run left unfinished; returns how many were queued.

    Copies left *sending* by a dead run become *uncertain* (never resent); copies left
    *claimed* or *deferred* past their lease are taken over by the requeued run.

    A Redis that restarted empty lost every task queued in it: an unfinished batch queued
    before the restart is requeued on this run, without waiting out the leases (five and
    fifteen minutes otherwise), and so are claims last touched before it (their run's task was
    in that Redis). Taking over a claim early cannot send a copy twice: every move of a copy is
    a compare-and-set on the claim token, so the old run, if it still lives, loses the copy at
    its next step; a copy already *sending* is never taken. With a Redis that kept its data
    over the restart (appendonly) the requeued batch runs twice, and the second run finds
    nothing to claim.
    """
    now = now or utcnow()
    restarted_at = broker_started_at()
    stale = now - row_lease
    claims_before = max(stale, restarted_at)
    lost = db.session.execute(
        sa.update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.updated_at < stale)
        .values(status=DeliveryStatus.UNCERTAIN, updated_at=now,
                error="the worker stopped while sending: possibly delivered, not resent")
    ).rowcount  # type: ignore[attr-defined]
    if lost:
        log.warning("%d deliveries are uncertain: their worker stopped mid-send", lost)
    with_stale_rows = sa.select(Delivery.batch_id).where(
        Delivery.status.in_([DeliveryStatus.CLAIMED, DeliveryStatus.DEFERRED]),
        Delivery.updated_at < stale)
    batch_ids = db.session.scalars(
        sa.select(MailBatch.id).where(sa.or_(
            sa.and_(MailBatch.queued_at <= stale,
                    sa.or_(MailBatch.id.in_(with_stale_rows),
                           sa.and_(MailBatch.done_at.is_(None),
                                   MailBatch.queued_at <= now - batch_lease))),
            # Its task was in a Redis that has restarted since: lost with it.
            sa.and_(MailBatch.done_at.is_(None), MailBatch.queued_at < restarted_at)))
        .order_by(MailBatch.id).limit(1000)
    ).all()
    # Claims past their lease (or older than the broker) are given back, so the requeued run
    # takes them at once.
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.status == DeliveryStatus.CLAIMED, Delivery.updated_at < claims_before)
        .values(status=DeliveryStatus.DEFERRED, error="claim expired: its worker stopped")
    )
    if batch_ids:
        db.session.execute(sa.update(MailBatch).where(MailBatch.id.in_(batch_ids))
                           .values(queued_at=now, done_at=None))
    db.session.commit()
    celery = current_app.extensions["celery"]
    for batch_id in batch_ids:
        send_now(celery, SEND_TASK, batch_id)
    if batch_ids:
        log.info("requeued %d stalled mail batches", len(batch_ids))
    return len(batch_ids)


def summary(mailing_id: int) -> dict[str, int]:
    """Copies of one mailing by status, for the CLI and the benchmark."""
    rows = db.session.execute(
        sa.select(Delivery.status, sa.func.count())
        .where(Delivery.mailing_id == mailing_id).group_by(Delivery.status)
    )
    counts = {status.value: n for status, n in rows}
    db.session.rollback()
    return counts
