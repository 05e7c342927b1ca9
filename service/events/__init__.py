"""The dispatch table: which consumers each event type reaches, in one place.

The domain records facts (``service.announcements.events``, ``service.subscriptions``'s
sign-up); consumers derive their own work from them. A new consumer (WebSub, webhooks) is a
plain function ``(type, payload)`` added to the rows it cares about here, and nothing in the
domain changes. Consumers run in the order listed: feeds first, as readers poll them most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service import outbox
from service.announcements import events as announcement
from service.feeds import events as feeds
from service.subscriptions import events as subscriptions
from service.subscriptions.lifecycle import SIGN_UP_EVENT
from service.webhooks import delivery as webhooks
from service.websub import distribution as websub

CONSUMERS: Mapping[str, Sequence[outbox.Consumer]] = {
    announcement.PUBLISHED: (feeds.rebuild_touched_feeds, websub.distribute_changed_topics,
                             webhooks.send_to_endpoints, subscriptions.mail_instant_subscribers),
    announcement.UPDATED: (feeds.rebuild_touched_feeds, websub.distribute_changed_topics,
                           webhooks.send_to_endpoints),
    announcement.RETRACTED: (feeds.rebuild_touched_feeds, websub.distribute_changed_topics,
                             webhooks.send_to_endpoints),
    announcement.SCHEDULED: (webhooks.send_to_endpoints,),
    announcement.UNSCHEDULED: (),
    SIGN_UP_EVENT: (subscriptions.handle_sign_up,),
}


def dispatch(event_id: int) -> bool:
    """Deliver one outbox event to its consumers (the ``events.dispatch`` task)."""
    return outbox.dispatch(event_id, CONSUMERS)
