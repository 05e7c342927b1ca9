"""What leaves the service about subscribers: every subscriber as CSV (for admins), one
subscriber's own data as JSON (from their manage page), and erasing one.

Erasing keeps the counts and nothing that names the person: the row stays (so every mailing's
copies are still counted, by status) with status ``erased``, no address (a placeholder that
is not one), no preferences and no consent record; the errors the mail server gave for their
copies, which can quote the address, are removed; their processed sign-up events in the
outbox are deleted. If the address was suppressed it stays suppressed (only its hash is kept).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.database import db, utcnow
from service.outbox.models import OutboxEvent
from service.subscriptions import lifecycle, suppression
from service.subscriptions.models import Delivery, Mailing, Subscriber, SubscriberStatus

FIELDS = ("email", "status", "frequency", "tags", "partners", "language", "consent_at",
          "consent_source", "created_at", "confirmed_at", "unsubscribed_at", "bounced_at")
_FORMULA = ("=", "+", "-", "@")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(getattr(value, "value", value))
    # A spreadsheet would run "=..." as a formula: an apostrophe keeps it text (the import
    # takes it off again).
    return "'" + text if text.startswith(_FORMULA) else text


def csv_chunks(batch: int = 1000) -> Iterator[str]:
    """Every subscriber but the erased, as CSV text in chunks (streamed, flat memory)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    columns = [getattr(Subscriber, f) for f in FIELDS]
    rows = db.session.execute(
        sa.select(*columns).where(Subscriber.status != SubscriberStatus.ERASED)
        .order_by(Subscriber.id).execution_options(yield_per=batch))
    for n, row in enumerate(rows, start=1):
        writer.writerow([_cell(v) for v in row])
        if n % batch == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def own_data(subscriber: Subscriber) -> dict[str, Any]:
    """Everything kept about one subscriber, for them (GDPR art. 15 / 20)."""
    copies = db.session.execute(
        sa.select(Mailing.kind, Mailing.key, Delivery.status, Delivery.sent_at)
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .where(Delivery.subscriber_id == subscriber.id).order_by(Delivery.id))
    entry = suppression.entry_for(db.session, subscriber.email)
    return {
        "email": subscriber.email,
        "status": subscriber.status.value,
        "preferences": subscriber.preferences,
        "created_at": _iso(subscriber.created_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        "bounced_at": _iso(subscriber.bounced_at),
        "consent": ({"at": _iso(subscriber.consent_at), "source": subscriber.consent_source}
                    if subscriber.consent_at else None),
        "suppressed": ({"since": _iso(entry.suppressed_at), "reason": entry.reason,
                        "source": entry.source} if entry else None),
        "emails": [{"mailing": f"{kind.value} {key}", "status": status.value,
                    "sent_at": _iso(sent_at)} for kind, key, status, sent_at in copies],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def erase(subscriber: Subscriber, now: datetime | None = None) -> None:
    """Erase the subscriber's address and everything personal; keep the counts. The caller
    commits. Erasing twice changes nothing."""
    if subscriber.status is SubscriberStatus.ERASED:
        return
    address = subscriber.email
    # Their processed sign-up requests (JSON_EXTRACT on SQLite, ->> on PostgreSQL).
    db.session.execute(sa.delete(OutboxEvent).where(
        OutboxEvent.kind == lifecycle.SIGN_UP_EVENT, OutboxEvent.processed_at.is_not(None),
        OutboxEvent.payload["email"].as_string() == address))
    db.session.execute(sa.update(Delivery).where(Delivery.subscriber_id == subscriber.id)
                       .values(error=None))
    subscriber.email = f"erased-{subscriber.id}"  # unique, and not an address: never mailed
    subscriber.status = SubscriberStatus.ERASED
    subscriber.erased_at = now or utcnow()
    subscriber.token_version += 1  # every link mailed to them stops working
    subscriber.tags, subscriber.partners, subscriber.language = [], [], None
    subscriber.consent_at = subscriber.consent_source = None
