"""Content distribution: a changed feed document goes to every verified subscriber.

:func:`distribute_changed_topics` runs in an ``events.push`` task that the feeds consumer
hands off once it has stored the event's subscription feeds. For each topic the event touches
it compares the stored document's ETag with the one last distributed (:class:`TopicState`):
unchanged bytes push nothing, and a second dispatch of the same event finds nothing new
(idempotent). A changed one moves every active subscription's outbound row to that ETag and
queues ``push.deliver`` after commit: no HTTP here, so feed builds never wait on callbacks.

:func:`deliver` sends one row through ``service.outbound`` with WebSub's rules (the
:class:`WebSubHandler`): the body is the document stored *now* (so an undelivered older one is
superseded), with the topic's Content-Type, the ``Link`` header and, with a secret,
``X-Hub-Signature: sha256=<hmac>``; 2xx is success, 410 ends the subscription, the rest retry.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from service.announcements import events
from service.database import db, utcnow
from service.extensions import get_redis
from service.feeds import discovery, store
from service.feeds.events import scopes_of
from service.jobs import enqueue_after_commit
from service.outbound import delivery as outbound
from service.outbound import sending
from service.outbound.models import OutboundDelivery
from service.websub import subscriptions, topics
from service.websub.models import TopicState, WebSubSubscription

log = logging.getLogger(__name__)

DELIVER_TASK = "push.deliver"
PING_TASK = "push.ping_hubs"
_VISIBLE = frozenset({events.PUBLISHED, events.UPDATED, events.RETRACTED})


def distribute_changed_topics(kind: str, payload: dict[str, Any]) -> None:
    """WebSub's push consumer (handed off by the feeds consumer once the event's
    subscription feeds are stored)."""
    if kind in _VISIBLE:
        distribute(scopes_of(events.AnnouncementEvent.from_outbox(kind, payload)))


def wanted(kind: str, payload: dict[str, Any]) -> bool:
    """Whether this event could send anything: external hubs are pinged, or someone follows
    one of its topics (one query), so a publish nobody follows queues no push task."""
    if kind not in _VISIBLE:
        return False
    found = bool(_watched(scopes_of(events.AnnouncementEvent.from_outbox(kind, payload))))
    db.session.rollback()
    return found


def distribute(scope_list: set[str] | list[str]) -> list[str]:
    """Schedule deliveries for every topic of these scopes whose document changed; returns
    the changed topics' URLs. Retries once when a concurrent run created the same state."""
    try:
        return _distribute(scope_list)
    except IntegrityError:
        db.session.rollback()
        return _distribute(scope_list)


def _watched(scope_list: set[str] | list[str]) -> list[topics.Topic]:
    """The topics of these scopes anyone is told about: all of them when external hubs are
    pinged, else only those with an active subscription (one query). A topic nobody follows
    keeps its last distributed state, so its next change after someone subscribes still
    compares with what was last sent."""
    every = topics.of_scopes(scope_list)
    if current_app.config["SETTINGS"].websub_hubs:
        return every
    s = WebSubSubscription
    followed = {(scope, fmt) for scope, fmt in db.session.execute(
        sa.select(s.scope, s.fmt).distinct()
        .where(s.scope.in_({scope for scope, _ in every}), s.expires_at > utcnow()))}
    return [topic for topic in every if topic in followed]


def _distribute(scope_list: set[str] | list[str]) -> list[str]:
    conn = get_redis()
    changed: list[str] = []
    for scope, fmt in _watched(scope_list):
        stored = cast(bytes | None, conn.hget(store.key(scope, fmt), "etag"))  # a sync reply
        if stored is None:
            continue  # no document (an unknown or no longer public tag): nothing to send
        state = db.session.scalar(sa.select(TopicState).filter_by(scope=scope, fmt=fmt)
                                  .with_for_update())
        etag = stored.decode()
        if state is not None and state.etag == etag:
            continue
        if state is None:
            state = TopicState(scope=scope, fmt=fmt)
            db.session.add(state)
        state.etag, state.distributed_at = etag, utcnow()
        targets = [(sid, callback) for sid, callback in db.session.execute(
            subscriptions.active(scope, fmt))]
        outbound.queue_many(db.session, DELIVER_TASK,
                            outbound.schedule_many(subscriptions.KIND, targets, state.etag))
        changed.append(topics.url(scope, fmt))
    if changed and current_app.config["SETTINGS"].websub_hubs:
        enqueue_after_commit(db.session, PING_TASK, changed)
    db.session.commit()
    return changed


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebSubHandler:
    """WebSub's side of the outbound contract."""

    kind = subscriptions.KIND
    task = DELIVER_TASK

    def prepare_many(self, rows: Sequence[OutboundDelivery]
                     ) -> dict[int, outbound.Outgoing | None]:
        subs = {sub.id: sub for sub in db.session.scalars(sa.select(WebSubSubscription).where(
            WebSubSubscription.id.in_([row.owner_id for row in rows])))}
        feeds: dict[tuple[str, str], store.StoredFeed | None] = {}
        now = utcnow()
        prepared: dict[int, outbound.Outgoing | None] = {}
        for row in rows:
            sub = subs.get(row.owner_id)
            if sub is None or sub.expires_at <= now:
                prepared[row.id] = None  # unsubscribed, gone or expired: never delivered to
                continue
            if (sub.scope, sub.fmt) not in feeds:  # one read per topic, not per callback
                feeds[sub.scope, sub.fmt] = store.get(get_redis(), sub.scope, sub.fmt)
            feed = feeds[sub.scope, sub.fmt]
            if feed is None:
                prepared[row.id] = None
                continue
            headers = {"Content-Type": feed.content_type,
                       "Link": discovery.link_header(sub.scope, sub.fmt)}
            if sub.secret:
                headers["X-Hub-Signature"] = signature(sub.secret, feed.body)
            prepared[row.id] = outbound.Outgoing(sub.callback, feed.body, feed.etag, headers)
        return prepared

    def classify(self, status: int) -> outbound.Outcome:
        return outbound.classify(status)

    def on_gone(self, row: OutboundDelivery) -> None:
        db.session.execute(sa.delete(WebSubSubscription).where(
            WebSubSubscription.id == row.owner_id))

    def on_recorded(self, results: dict[int, str]) -> None:
        """Nothing: a subscription keeps no history of attempts (the rows say the last)."""


HANDLER = WebSubHandler()


def deliver(row_ids: int | list[int]) -> dict[int, str]:
    """The ``push.deliver`` task: one attempt at one subscription's row, or at a batch."""
    return sending.send_many(row_ids, HANDLER)


def requeue_due() -> int:
    """Beat: queue again the rows whose task may have been lost (see ``outbound.due``)."""
    return outbound.requeue_due(subscriptions.KIND, DELIVER_TASK)
