"""Messages: made by the dispatch-table consumer, sent through ``service.outbound``.

:func:`send_to_endpoints` (after feeds in the dispatch table) makes one message per enabled
endpoint subscribed to the event's type, keyed by the event (type, announcement, time) so a
relayed or redelivered event makes none twice, and schedules each message's outbound row;
the ``push.webhook`` task is queued after commit. The payload's ``data`` is the announcement as
the API shows it: the API registers its representation in ``app.extensions`` (this layer may
not import the API), so a webhook and ``GET /api/v1/announcements/<id>`` never disagree.
Subscribers are never part of it.

:class:`WebhookHandler` is webhooks' side of the outbound contract: the stored body, signed
per attempt (fresh ``webhook-timestamp``, same ``webhook-id``); 2xx ok, 410 disables the
endpoint, anything else (429, 5xx, a redirect, a timeout) retries with outbound's backoff
until ``OUTBOUND_GIVE_UP``. :func:`deliver` records each attempt for the admin page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from service.announcements import queries
from service.announcements.models import Announcement
from service.database import db, utcnow
from service.jobs import enqueue_after_commit
from service.outbound import delivery as outbound
from service.outbound import sending
from service.outbound.models import OutboundDelivery
from service.webhooks import endpoints, signing
from service.webhooks.endpoints import KIND
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage

TASK = "push.webhook"
REPRESENTATION = "webhooks.announcement_representation"  # key in app.extensions
Representation = Callable[[Announcement], dict[str, Any]]


def body(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    return json.dumps({"type": event_type, "timestamp": at.isoformat(), "data": data},
                      separators=(",", ":"), ensure_ascii=False)


def wanted(kind: str, payload: dict[str, Any]) -> bool:
    """Whether any enabled endpoint takes this event type (one small query), so a publish
    that no endpoint listens for queues no push task at all."""
    if kind not in endpoints.EVENT_TYPES:
        return False
    types = db.session.scalars(
        sa.select(WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))).all()
    db.session.rollback()
    return any(kind in events for events in types)


def send_to_endpoints(kind: str, payload: dict[str, Any]) -> None:
    """The push consumer: one message per subscribed, enabled endpoint, queued in batches."""
    if kind not in endpoints.EVENT_TYPES:
        return
    item = queries.get(int(payload["announcement_id"]))
    if item is None:
        db.session.rollback()
        return
    represent: Representation = current_app.extensions[REPRESENTATION]
    at = datetime.fromisoformat(payload["at"]) if payload.get("at") else utcnow()
    key = f"{kind}:{item.id}:{payload.get('at')}"
    text = body(kind, at, represent(item))
    targets = [e for e in db.session.scalars(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)) if kind in e.events]
    made = set(db.session.scalars(sa.select(WebhookMessage.endpoint_id).where(  # the unique
        WebhookMessage.endpoint_id.in_([e.id for e in targets]),  # (endpoint, key) index
        WebhookMessage.event_key == key)))
    fresh = [e for e in targets if e.id not in made]  # a relayed event makes none twice
    if not fresh:
        db.session.rollback()
        return
    now = utcnow()
    msg_ids = [signing.new_message_id() for _ in fresh]
    values = [{"msg_id": msg_id, "endpoint_id": e.id, "event_key": key, "type": kind,
               "body": text, "status": MessageStatus.PENDING, "created_at": now}
              for msg_id, e in zip(msg_ids, fresh, strict=True)]
    ids = db.session.scalars(  # one INSERT for all, no unit of work; the ids the rows need
        sa.insert(WebhookMessage).returning(WebhookMessage.id, sort_by_parameter_order=True),
        values).all()
    row_ids = outbound.create_many(KIND, [
        (i, e.url, msg_id) for i, e, msg_id in zip(ids, fresh, msg_ids, strict=True)])
    outbound.queue_many(db.session, TASK, row_ids)
    db.session.commit()


def _new_message(endpoint: WebhookEndpoint, kind: str, key: str, text: str
                 ) -> OutboundDelivery:
    """A message and its outbound row (the caller queues the row after commit)."""
    message = WebhookMessage(msg_id=signing.new_message_id(), endpoint_id=endpoint.id,
                             event_key=key, type=kind, body=text, status=MessageStatus.PENDING)
    db.session.add(message)
    db.session.flush()
    return outbound.schedule(KIND, message.id, endpoint.url, message.msg_id)


def make_message(endpoint: WebhookEndpoint, kind: str, key: str, text: str
                 ) -> WebhookMessage | None:
    """A message and its outbound row, queued after commit; None if the key made one."""
    exists = db.session.scalar(sa.select(WebhookMessage.id).filter_by(
        endpoint_id=endpoint.id, event_key=key))
    if exists is not None:
        return None
    row = _new_message(endpoint, kind, key, text)
    enqueue_after_commit(db.session, TASK, row.id)
    return db.session.get(WebhookMessage, row.owner_id)


def schedule(message: WebhookMessage, endpoint: WebhookEndpoint) -> None:
    """(Re)schedule a message: an admin's redelivery of a finished one."""
    message.status = MessageStatus.PENDING
    row = outbound.schedule(KIND, message.id, endpoint.url, message.msg_id)
    enqueue_after_commit(db.session, TASK, row.id)


def send_test(endpoint: WebhookEndpoint) -> WebhookMessage:
    """A ``webhook.test`` message to one endpoint, whatever it subscribes to."""
    text = body(endpoints.TEST, utcnow(),
                {"endpoint_id": endpoint.id, "description": endpoint.description})
    key = f"{endpoints.TEST}:{signing.new_message_id()}"  # each request its own message
    message = make_message(endpoint, endpoints.TEST, key, text)
    assert message is not None  # a fresh key
    return message


class WebhookHandler:
    """Webhooks' side of the outbound contract."""

    kind = KIND
    task = TASK

    def prepare_many(self, rows: Sequence[OutboundDelivery]
                     ) -> dict[int, outbound.Outgoing | None]:
        messages = {m.id: m for m in db.session.scalars(sa.select(WebhookMessage).where(
            WebhookMessage.id.in_([row.owner_id for row in rows])))}
        hooks = {e.id: e for e in db.session.scalars(sa.select(WebhookEndpoint).where(
            WebhookEndpoint.id.in_({m.endpoint_id for m in messages.values()})))}
        now = int(time.time())
        prepared: dict[int, outbound.Outgoing | None] = {}
        for row in rows:
            message = messages.get(row.owner_id)
            endpoint = hooks.get(message.endpoint_id) if message else None
            if message is None or endpoint is None or not endpoint.enabled:
                if message is not None:
                    message.status = MessageStatus.CANCELLED
                prepared[row.id] = None
                continue
            data = message.body.encode()
            keys = signing.live_secrets(endpoint.secret, endpoint.previous_secret,
                                        endpoint.previous_secret_expires_at)
            headers = signing.headers(message.msg_id, data, keys, now)
            prepared[row.id] = outbound.Outgoing(endpoint.url, data, message.msg_id, headers)
        return prepared

    def classify(self, status: int) -> outbound.Outcome:
        return outbound.classify(status)

    def on_recorded(self, results: dict[int, str]) -> None:
        record_attempts(results)

    def on_gone(self, row: OutboundDelivery) -> None:
        message = db.session.get(WebhookMessage, row.owner_id)
        if message is None:
            return
        message.status = MessageStatus.GONE
        endpoint = db.session.get(WebhookEndpoint, message.endpoint_id)
        if endpoint is not None:
            endpoints.disable(endpoint, f"the endpoint answered 410 Gone on "
                                        f"{utcnow():%Y-%m-%d %H:%M:%S} UTC ({message.msg_id})")


HANDLER = WebhookHandler()
_STATUS_AFTER = {"delivered": MessageStatus.DELIVERED, "failed": MessageStatus.FAILED,
                 "gone": MessageStatus.GONE, "retrying": MessageStatus.PENDING}


def deliver(row_ids: int | list[int], handler: WebhookHandler = HANDLER) -> dict[int, str]:
    """The ``push.webhook`` task: one attempt at each message's row (the rows of a fan-out
    come in batches); ``handler`` is for tests that drive attempts by hand: theirs queues its
    retries where no worker listens."""
    return sending.send_many(row_ids, handler)


def record_attempts(results: dict[int, str]) -> None:
    """The attempts outbound has just recorded, for the admin page, in its transaction (so
    a retry that runs before a slow batch ends finds them numbered): a few statements for
    the whole batch, one INSERT of the attempts, one UPDATE per resulting message status,
    one for the endpoints a success cleared."""
    sent = [row_id for row_id, result in results.items() if result in _STATUS_AFTER]
    if not sent:
        return
    o, m, a = OutboundDelivery, WebhookMessage, WebhookAttempt
    rows = db.session.execute(
        sa.select(o.id, o.owner_id, o.last_status, o.last_error, o.last_attempt_at,
                  m.endpoint_id).join(m, m.id == o.owner_id)
        .where(o.id.in_(sent)).order_by(m.id)).all()
    done: dict[int, int] = {message_id: count for message_id, count in db.session.execute(
        sa.select(a.message_id, sa.func.count()).where(  # attempts so far
            a.message_id.in_([row.owner_id for row in rows])).group_by(a.message_id))}
    now = utcnow()
    attempts: list[dict[str, Any]] = []
    by_status: dict[MessageStatus, list[int]] = {}
    cleared: set[int] = set()
    failing: list[tuple[int, str, str | None]] = []
    for row in rows:
        result = results[row.id]
        attempts.append({"message_id": row.owner_id, "attempt": done.get(row.owner_id, 0) + 1,
                         "status_code": row.last_status,
                         "error": None if result == "delivered" else row.last_error,
                         "at": row.last_attempt_at or now})
        by_status.setdefault(_STATUS_AFTER[result], []).append(row.owner_id)
        if result == "delivered":
            cleared.add(row.endpoint_id)
        else:
            failing.append((row.endpoint_id, result, row.last_error))
    if attempts:
        db.session.execute(sa.insert(a), attempts)
    for status, ids in by_status.items():  # a message the 410 made gone stays gone
        db.session.execute(sa.update(m).where(m.id.in_(ids), m.status != MessageStatus.GONE)
                           .values(status=status).execution_options(synchronize_session=False))
    if cleared:
        e = WebhookEndpoint
        db.session.execute(sa.update(e).where(e.id.in_(cleared), e.failing_since.is_not(None))
                           .values(failing_since=None)
                           .execution_options(synchronize_session=False))
    if failing:
        hooks = {e.id: e for e in db.session.scalars(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_({f[0] for f in failing}))
            .execution_options(populate_existing=True))}
        for endpoint_id, result, error in failing:
            if (endpoint := hooks.get(endpoint_id)) is not None:
                _note_health(endpoint, result, error)


def _note_health(endpoint: WebhookEndpoint, result: str, error: str | None) -> None:
    """Start, reset or act on the endpoint's failing clock: a success resets it; an endpoint
    whose every attempt has failed for ``WEBHOOK_DISABLE_AFTER`` is disabled, saying why."""
    now = utcnow()
    if result == "delivered":
        endpoint.failing_since = None
        return
    if result not in ("retrying", "failed") or not endpoint.enabled:
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    period = current_app.config["SETTINGS"].webhook_disable_after
    if (now - endpoint.failing_since).total_seconds() >= period:
        endpoints.disable(endpoint, f"every delivery failed from "
                                    f"{endpoint.failing_since:%Y-%m-%d %H:%M:%S} UTC to "
                                    f"{now:%Y-%m-%d %H:%M:%S} UTC; last: {error or 'no answer'}")


def requeue_due() -> int:
    """Beat: queue again the rows whose task may have been lost (see ``outbound.due``)."""
    return outbound.requeue_due(KIND, TASK)
