"""The dispatch table: which consumers each event type reaches, in one place.

The domain records facts (``service.announcements.events``, ``service.subscriptions``'s
sign-up); consumers derive their own work from them. A new consumer (WebSub, webhooks) is a
plain function ``(type, payload)`` added to the rows it cares about here, and nothing in the
domain changes. Consumers run in the order listed. Push is handed to tasks of its own
(``PUSH_CONSUMERS``): webhooks first (a queue send; they need nothing from the feeds), then
the feed rebuild, as readers poll feeds most, then WebSub, which sends the rebuilt documents
(handed off between the subscription feeds and the archive pages).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from flask import current_app

from service import outbox
from service.announcements import events as announcement
from service.feeds import events as feeds
from service.jobs import send_now
from service.subscriptions import events as subscriptions
from service.subscriptions import proof_emails
from service.subscriptions.lifecycle import SIGN_UP_EVENT
from service.webhooks import delivery as webhooks
from service.websub import distribution as websub

PUSH_TASK = "events.push"  # the default queue: short work, never behind a delivery backlog


class PushQueueUnavailable(RuntimeError):
    """The broker would not take the push hand-off; the event stays pending for the relay."""


class PushConsumer(NamedTuple):
    """A push consumer, run in an ``events.push`` task of its own, and whether it has anyone
    to send an event to (no task for nobody)."""

    consume: outbox.Consumer
    wanted: Callable[[str, dict[str, Any]], bool]


# Webhooks need nothing from the feeds, so they are handed off before the rebuild; WebSub
# sends the rebuilt documents, so it is handed off after it.
PUSH_CONSUMERS: Mapping[str, PushConsumer] = {
    "webhooks": PushConsumer(webhooks.send_to_endpoints, webhooks.wanted),
    "websub": PushConsumer(websub.distribute_changed_topics, websub.wanted),
}


def hand_off(name: str) -> outbox.Consumer:
    """A consumer that queues ``events.push`` for push consumer ``name``, so neither the feed
    rebuild nor the mail hand-off of this event waits on scheduling thousands of deliveries.
    Both push consumers are idempotent, so a retried hand-off is harmless. When nobody would
    get anything (no endpoint, no subscriber, no external hub) nothing is queued: the task
    would only take a worker's slot from the next event."""

    def queue_push(kind: str, payload: dict[str, Any]) -> None:
        if not PUSH_CONSUMERS[name].wanted(kind, payload):
            return
        if not send_now(current_app.extensions["celery"], PUSH_TASK, name, kind, payload):
            raise PushQueueUnavailable(f"could not queue {PUSH_TASK} for {name}")

    queue_push.__name__ = f"hand_off_{name}"
    return queue_push


_WEBHOOKS, _WEBSUB = hand_off("webhooks"), hand_off("websub")

# WebSub's hand-off runs inside the feeds consumer, once the subscription feeds are stored
# and before any archive page (a page cut builds two pages per scope).
_FEEDS_THEN_WEBSUB = feeds.rebuild_touched_feeds_then(_WEBSUB)

CONSUMERS: Mapping[str, Sequence[outbox.Consumer]] = {
    announcement.PUBLISHED: (_WEBHOOKS, _FEEDS_THEN_WEBSUB,
                             subscriptions.mail_instant_subscribers),
    announcement.UPDATED: (_WEBHOOKS, _FEEDS_THEN_WEBSUB),
    announcement.RETRACTED: (_WEBHOOKS, _FEEDS_THEN_WEBSUB),
    announcement.SCHEDULED: (_WEBHOOKS,),
    announcement.UNSCHEDULED: (),
    SIGN_UP_EVENT: (subscriptions.handle_sign_up,),
    proof_emails.TEST_EMAIL_EVENT: (proof_emails.send,),
}


def dispatch(event_id: int) -> bool:
    """Deliver one outbox event to its consumers (the ``events.dispatch`` task)."""
    return outbox.dispatch(event_id, CONSUMERS)


def push(name: str, kind: str, payload: dict[str, Any]) -> None:
    """The ``events.push`` task: push consumer ``name`` on one event."""
    PUSH_CONSUMERS[name].consume(kind, payload)
