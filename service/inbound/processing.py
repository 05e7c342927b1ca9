"""Recording an inbound message once, and acting on it once.

:func:`receive` stores the message under its key (its Message-ID, else a SHA-256 of its bytes)
and says whether it was new: the same DSN handed over twice, by the mailbox and the listener,
or by a reader that died before flagging it, is one row. :func:`process` classifies a row and
applies what it says in the caller's transaction, once: the row's ``processed_at`` is set with
a compare-and-set first, so a second run (a retried task, the sweep) finds it done.

What a message changes, when its token is valid, names the subscriber's current address and
was signed after their current subscription began (an older copy's report changes nothing):

- a permanent failure marks the subscriber bounced;
- a temporary failure counts once per copy; ``BOUNCE_SOFT_LIMIT`` copies failing within
  ``BOUNCE_SOFT_DAYS`` mark them bounced;
- a complaint unsubscribes them;
- a permanent failure, a subscriber bounced by temporary ones and a complaint also put the
  address on the suppression list (``subscriptions.suppression``);
- a request to the List-Unsubscribe mailto whose subject carries a valid signed link
  unsubscribes the subscriber it names, as the one-click link does.

Anything else changes nothing. What needs an operator's eye (unrecognised mail, reports that
are no complaint, forged tokens, bounces naming nobody) gets the outcome ``kept``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from service.database import db, utcnow
from service.inbound import classifying
from service.inbound.classifying import Classification
from service.inbound.models import MAX_RAW, InboundKind, InboundMessage
from service.subscriptions import lifecycle, suppression, tokens
from service.subscriptions.models import Subscriber, SubscriberStatus

KEPT = "kept"  # the outcome of everything an operator should read
FOR_OPERATOR = (KEPT, "forged")  # what the operator's listings show until resolved


def message_key(raw: bytes) -> str:
    msg = classifying.parse(raw)
    message_id = " ".join(str(msg.get("message-id", "")).split())
    if message_id and len(message_id) <= 240:
        return f"mid:{message_id}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def receive(raw: bytes, source: str, recipients: list[str] | None = None,
            imap_uid: str | None = None) -> tuple[InboundMessage, bool]:
    """The row for ``raw``, inserted now unless one has its key; ``(row, new)``."""
    key = message_key(raw)
    existing = db.session.scalars(
        sa.select(InboundMessage).where(InboundMessage.message_key == key)).first()
    if existing is not None:
        return existing, False
    msg = classifying.parse(raw)
    row = InboundMessage(
        message_key=key, source=source, recipients=list(recipients or []), imap_uid=imap_uid,
        sender=classifying.header_text(msg, "from")[:320] or None,
        subject=classifying.header_text(msg, "subject")[:255] or None,
        raw=raw[:MAX_RAW], raw_size=len(raw), received_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same message, recorded by a concurrent reader
        return db.session.scalars(
            sa.select(InboundMessage).where(InboundMessage.message_key == key)).one(), False
    return row, True


def _claim(row: InboundMessage, now: datetime) -> bool:
    claimed = db.session.execute(
        sa.update(InboundMessage)
        .where(InboundMessage.id == row.id, InboundMessage.processed_at.is_(None))
        .values(processed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def process(row: InboundMessage, now: datetime | None = None) -> bool:
    """Classify ``row`` and act on it in the caller's transaction; False if already done."""
    now = now or utcnow()
    if not _claim(row, now):
        return False
    db.session.refresh(row)
    found = classifying.classify(row.raw, row.recipients)
    row.kind = found.kind
    row.detail = found.detail[:2000] or None
    row.outcome = _act(row, found, now)
    return True


def _act(row: InboundMessage, found: Classification, now: datetime) -> str:
    if found.kind is InboundKind.AUTO_REPLY:
        return "nothing"
    if found.kind is InboundKind.UNSUBSCRIBE:
        return _unsubscribe_request(row, found, now)
    if found.kind in (InboundKind.UNRECOGNISED, InboundKind.REPORT):
        return KEPT
    subscriber, why = _named(row, found)
    if subscriber is None:
        return why
    if found.kind is InboundKind.COMPLAINT:
        return _complaint(subscriber, now)
    row.copy_ref = (f"delivery:{found.envelope.delivery_id}"
                    if found.envelope and found.envelope.delivery_id
                    else f"token:{found.token}")
    if found.kind is InboundKind.HARD_BOUNCE:
        return _bounce(subscriber, now)
    return _soft_bounce(row, subscriber, now)


def _named(row: InboundMessage, found: Classification) -> tuple[Subscriber | None, str]:
    """The subscriber a bounce or complaint names, or None and the outcome saying why not."""
    if found.envelope is None:
        if found.kind is InboundKind.COMPLAINT and found.manage_token:
            try:  # a feedback loop that dropped the envelope: the original's signed link
                linked = lifecycle.for_manage_token(found.manage_token)
            except (tokens.InvalidToken, lifecycle.LinkNotValid):
                return None, KEPT
            row.subscriber_id = linked.id
            return linked, ""
        return None, "forged" if found.forged else KEPT
    envelope = found.envelope
    subscriber = db.session.get(Subscriber, envelope.subscriber_id, with_for_update=True)
    if subscriber is None or not envelope.matches(subscriber.email):
        return None, "gone"  # deleted, or the id now holds another address
    row.subscriber_id = subscriber.id
    began = subscriber.confirmed_at
    if began is not None and envelope.sent_at < began.replace(microsecond=0):
        return None, "stale"  # a copy from before the current subscription
    return subscriber, ""


def _suppress(subscriber: Subscriber, reason: str, source: str) -> None:
    """Nothing is mailed to the address again, whatever becomes of the subscriber row, until
    an admin lifts it or a confirmation mailed after now is followed (``suppression``)."""
    suppression.suppress(db.session, subscriber.email, reason, source)


def _bounce(subscriber: Subscriber, now: datetime) -> str:
    """Bounced if confirmed; suppressed whatever the state (a pending sign-up whose
    confirmation bounced, an address that left meanwhile)."""
    was = subscriber.status
    lifecycle.mark_bounced([subscriber.id], now)
    _suppress(subscriber, "a permanent failure reported after sending", "bounce")
    return "bounced" if was is SubscriberStatus.CONFIRMED else "suppressed"


def _soft_bounce(row: InboundMessage, subscriber: Subscriber, now: datetime) -> str:
    settings = current_app.config["SETTINGS"]
    since = now - timedelta(days=settings.bounce_soft_days)
    if subscriber.confirmed_at is not None:
        since = max(since, subscriber.confirmed_at.replace(microsecond=0))
    db.session.flush()
    copies = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(InboundMessage.copy_ref)))
        .where(InboundMessage.subscriber_id == subscriber.id,
               InboundMessage.kind == InboundKind.SOFT_BOUNCE,
               InboundMessage.copy_ref.is_not(None),
               InboundMessage.received_at >= since)
    ) or 0
    if copies < settings.bounce_soft_limit or subscriber.status is not SubscriberStatus.CONFIRMED:
        return "counted"
    lifecycle.mark_bounced([subscriber.id], now)
    _suppress(subscriber, f"temporary failures of {copies} copies", "bounce")
    return "bounced"


def _complaint(subscriber: Subscriber, now: datetime) -> str:
    was = subscriber.status
    lifecycle.unsubscribe(subscriber, now)
    _suppress(subscriber, "a complaint (feedback-loop report)", "complaint")
    return "unsubscribed" if was is not SubscriberStatus.UNSUBSCRIBED else "suppressed"


def _unsubscribe_request(row: InboundMessage, found: Classification, now: datetime) -> str:
    if not found.manage_token:
        return KEPT  # to the mailto, but no token: an operator reads what they wanted
    try:
        subscriber = lifecycle.for_manage_token(found.manage_token)
    except tokens.InvalidToken:
        return "forged"
    except lifecycle.LinkNotValid:
        return "stale"  # revoked: they left and came back since, or are gone
    row.subscriber_id = subscriber.id
    was = subscriber.status
    lifecycle.unsubscribe(subscriber, now)
    return "unsubscribed" if was is not SubscriberStatus.UNSUBSCRIBED else "nothing"


def pending(older_than: timedelta, limit: int = 500) -> list[int]:
    """Rows received this long ago and still unprocessed (their task was lost)."""
    cutoff = utcnow() - older_than
    return list(db.session.scalars(
        sa.select(InboundMessage.id)
        .where(InboundMessage.processed_at.is_(None), InboundMessage.received_at < cutoff)
        .order_by(InboundMessage.id).limit(limit)))
