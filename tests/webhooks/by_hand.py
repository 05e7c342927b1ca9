"""Webhook attempts driven by hand: a handler whose retries go to a task no worker consumes
(no worker races the test for a row), and an endpoint and a message made as the app makes them."""

from __future__ import annotations

from service.database import db, utcnow
from service.webhooks import delivery, endpoints
from service.webhooks.models import WebhookEndpoint


class ByHand(delivery.WebhookHandler):
    task = "push.test-nobody-consumes"


HANDLER = ByHand()


def endpoint(url: str) -> WebhookEndpoint:
    endpoint = endpoints.create(url, list(endpoints.EVENT_TYPES), "partner")
    db.session.commit()
    return endpoint


def message(endpoint: WebhookEndpoint, key: str = "announcement.published:1:t") -> int:
    """A message and its outbound row, as the consumer makes them (not queued: by hand)."""
    message = delivery.WebhookMessage(msg_id=f"msg_{key.replace(':', '_')}",
                                      endpoint_id=endpoint.id, event_key=key,
                                      type="announcement.published",
                                      body=delivery.body("announcement.published", utcnow(),
                                                         {"id": 1, "title": "Moon"}))
    db.session.add(message)
    db.session.flush()
    row = delivery.outbound.schedule(endpoints.KIND, message.id, endpoint.url, message.msg_id)
    db.session.commit()
    return row.id
