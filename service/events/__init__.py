"""The dispatch table: which consumers each event type reaches, in one place.

The domain records facts (``service.announcements.events``, ``service.subscriptions``'s
sign-up); consumers derive their own work from them. A new consumer (WebSub, webhooks) is a
plain function ``(type, payload)`` added to the rows it cares about here, and nothing in the
domain changes. Consumers run in the order listed: feeds first, as readers poll them most.
Push (WebSub, webhooks) is handed to a task of its own after the feed rebuild
(``PUSH_CONSUMERS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app

from service import outbox
from service.announcements import events as announcement
from service.feeds import events as feeds
from service.jobs import send_now
from service.subscriptions import events as subscriptions
from service.subscriptions.lifecycle import SIGN_UP_EVENT
from service.webhooks import delivery as webhooks
from service.websub import distribution as websub

PUSH_TASK = "events.push"  # the default queue: short work, never behind a delivery backlog


class PushQueueUnavailable(RuntimeError):
    """The broker would not take the push hand-off; the event stays pending for the relay."""


def hand_off_to_push(kind: str, payload: dict[str, Any]) -> None:
    """Give WebSub's and webhooks' fan-out a task of its own (``events.push``), so the feed
    rebuild and the mail hand-off of this event never wait on scheduling thousands of
    deliveries. Both push consumers are idempotent, so a retried hand-off is harmless."""
    if not send_now(current_app.extensions["celery"], PUSH_TASK, kind, payload):
        raise PushQueueUnavailable(f"could not queue {PUSH_TASK}")


PUSH_CONSUMERS: Mapping[str, Sequence[outbox.Consumer]] = {
    announcement.PUBLISHED: (websub.distribute_changed_topics, webhooks.send_to_endpoints),
    announcement.UPDATED: (websub.distribute_changed_topics, webhooks.send_to_endpoints),
    announcement.RETRACTED: (websub.distribute_changed_topics, webhooks.send_to_endpoints),
    announcement.SCHEDULED: (webhooks.send_to_endpoints,),
}

CONSUMERS: Mapping[str, Sequence[outbox.Consumer]] = {
    announcement.PUBLISHED: (feeds.rebuild_touched_feeds, hand_off_to_push,
                             subscriptions.mail_instant_subscribers),
    announcement.UPDATED: (feeds.rebuild_touched_feeds, hand_off_to_push),
    announcement.RETRACTED: (feeds.rebuild_touched_feeds, hand_off_to_push),
    announcement.SCHEDULED: (hand_off_to_push,),
    announcement.UNSCHEDULED: (),
    SIGN_UP_EVENT: (subscriptions.handle_sign_up,),
}


def dispatch(event_id: int) -> bool:
    """Deliver one outbox event to its consumers (the ``events.dispatch`` task)."""
    return outbox.dispatch(event_id, CONSUMERS)


def push(kind: str, payload: dict[str, Any]) -> None:
    """The ``events.push`` task: the push consumers of one event, in order (WebSub after the
    feeds it sends were rebuilt: this task is queued only once they were)."""
    for consume in PUSH_CONSUMERS.get(kind, ()):
        consume(kind, payload)
