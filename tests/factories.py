"""Factories for rows tests need: announcements, subscribers, editors, webhook endpoints and
their messages.

Each makes its row through the same domain functions the app uses (so events, revisions and
tags come along), commits it in an app context of its own and returns its id, so a test can
hand the id to the client or a worker; keyword arguments override the defaults.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.outbound.models import OutboundDelivery, OutboundStatus
from service.subscriptions import lifecycle
from service.subscriptions.models import Subscriber, SubscriberStatus
from service.webhooks import delivery, endpoints, signing
from service.webhooks.models import (
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)

PASSWORD = "correct horse battery"  # every factory-made editor's


def announcement(app: Flask, title: str = "Joint observatory first light", *,
                 status: Status = Status.PUBLISHED, published_at: datetime | None = None,
                 **fields: Any) -> int:
    """An announcement, published unless ``status`` says otherwise (scheduled: a day ahead)."""
    if status is Status.SCHEDULED:
        fields.setdefault("publish_at", utcnow() + timedelta(days=1))
    with app.app_context():
        item = publishing.create(title=title, status=status, published_at=published_at,
                                 **fields)
        db.session.commit()
        item_id = item.id
        db.session.remove()
    return item_id


def subscriber(app: Flask, email: str, frequency: str = "daily", *,
               status: SubscriberStatus = SubscriberStatus.CONFIRMED,
               **preferences: object) -> int:
    """A subscriber row as a confirmation would leave it (or pending, unsubscribed, ...)."""
    with app.app_context():
        prefs = lifecycle.parse_preferences({"frequency": frequency, **preferences})
        row = Subscriber(email=email, status=status, frequency=prefs.frequency,
                         tags=list(prefs.tags), partners=list(prefs.partners),
                         language=prefs.language)
        db.session.add(row)
        db.session.flush()
        if status is SubscriberStatus.CONFIRMED:
            row.confirmed_at = row.since_at = row.created_at
        db.session.commit()
        row_id = row.id
        db.session.remove()
    return row_id


@dataclass(frozen=True)
class EditorInfo:
    id: int
    email: str
    role: str
    token: str  # a live API token of theirs

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def editor(app: Flask, role: str = "editor", email: str | None = None) -> EditorInfo:
    """An editor account (password :data:`PASSWORD`) with an API token."""
    from service.editors.accounts import create_editor, create_token
    from service.editors.models import Role

    with app.app_context():
        row = create_editor(email or f"{uuid.uuid4().hex[:8]}@example.org", Role(role),
                            password=PASSWORD)
        token = create_token(row)
        db.session.commit()
        info = EditorInfo(row.id, row.email, role, token)
        db.session.remove()
    return info


def webhook_endpoint(app: Flask, url: str = "https://hooks.example.org/newsroom",
                     events: list[str] | None = None, description: str = "",
                     **fields: Any) -> int:
    """An endpoint as ``endpoints.create`` makes it (every announcement event by default);
    ``fields`` are then set as given, e.g. ``enabled=False, disabled_reason=...`` as a 410
    leaves it."""
    with app.app_context():
        row = endpoints.create(url, events or list(endpoints.EVENT_TYPES), description)
        for name, value in fields.items():
            setattr(row, name, value)
        db.session.commit()
        row_id = row.id
        db.session.remove()
    return row_id


def webhook_message(app: Flask, endpoint_id: int,
                    status: MessageStatus = MessageStatus.DELIVERED, *,
                    kind: str = "announcement.published",
                    attempts: Sequence[tuple[int | None, str | None]] = (),
                    created_at: datetime | None = None) -> int:
    """A message as delivery leaves it: its outbound row in the same state, and one attempt
    per ``(status_code, error)`` of ``attempts``, oldest first. Nothing is queued."""
    now = utcnow()
    with app.app_context():
        message = WebhookMessage(
            msg_id=signing.new_message_id(), endpoint_id=endpoint_id,
            event_key=f"{kind}:{uuid.uuid4().hex}", type=kind, status=status,
            body=delivery.body(kind, now, {"endpoint_id": endpoint_id}),
            created_at=created_at or now)
        db.session.add(message)
        db.session.flush()
        endpoint_url = db.session.get(WebhookEndpoint, endpoint_id).url  # type: ignore[union-attr]
        db.session.add(OutboundDelivery(
            kind=endpoints.KIND, owner_id=message.id, url=endpoint_url, version=message.msg_id,
            status=OutboundStatus(status.value), attempts=len(attempts),
            last_status=attempts[-1][0] if attempts else None,
            last_error=attempts[-1][1] if attempts else None))
        for number, (code, error) in enumerate(attempts, start=1):
            db.session.add(WebhookAttempt(message_id=message.id, attempt=number,
                                          status_code=code, error=error,
                                          at=now - timedelta(seconds=len(attempts) - number)))
        db.session.commit()
        message_id = message.id
        db.session.remove()
    return message_id
