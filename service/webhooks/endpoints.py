"""Endpoints as admins manage them: create, change, delete, rotate the secret.

Functions work in the caller's transaction (the API commits). URL checks here are about form
(absolute http(s) with a host); whether the address may be reached is decided when connecting
(``service.outbound.guard``), so a name that later resolves somewhere private gets nowhere.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from service.announcements import events
from service.database import db, utcnow
from service.outbound.models import OutboundDelivery
from service.webhooks import signing
from service.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

KIND = "webhook"  # the outbound kind of webhook messages (owner: a message id)
TEST = "webhook.test"
# The event types an endpoint may subscribe to (webhook.test is sent on request only).
EVENT_TYPES = (events.PUBLISHED, events.UPDATED, events.RETRACTED, events.SCHEDULED)
SUBSCRIBABLE = (*EVENT_TYPES, TEST)
MAX_URL = 2000


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, or None."""
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        return f"is not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL"
    if parts.username is not None or parts.password is not None:
        return "must not hold credentials"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "must not hold spaces or control characters"
    return None


def create(url: str, event_types: list[str], description: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, events=sorted(set(event_types)),
                               description=description, enabled=True,
                               secret=signing.new_secret())
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def get(endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint | None:
    query = sa.select(WebhookEndpoint).filter_by(id=endpoint_id)
    return db.session.scalar(query.with_for_update() if for_update else query)


def listing() -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def change(endpoint: WebhookEndpoint, *, url: str | None = None,
           event_types: list[str] | None = None, description: str | None = None,
           enabled: bool | None = None) -> None:
    if url is not None:
        endpoint.url = url
    if event_types is not None:
        endpoint.events = sorted(set(event_types))
    if description is not None:
        endpoint.description = description
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = None  # an admin turned it back on: a fresh start
            endpoint.failing_since = None
        elif endpoint.disabled_reason is None:
            endpoint.disabled_reason = "disabled by an admin"
    endpoint.updated_at = utcnow()


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = False, reason, utcnow()


def rotate(endpoint: WebhookEndpoint) -> str:
    """A new current secret; the old one signs beside it for ``WEBHOOK_SECRET_OVERLAP``."""
    overlap = current_app.config["SETTINGS"].webhook_secret_overlap
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + timedelta(seconds=overlap)
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = utcnow()
    return endpoint.secret


def delete(endpoint: WebhookEndpoint) -> None:
    """The endpoint, its messages, their attempts and outbound rows (nothing left to send)."""
    message_ids = sa.select(WebhookMessage.id).where(WebhookMessage.endpoint_id == endpoint.id)
    db.session.execute(sa.delete(OutboundDelivery).where(
        OutboundDelivery.kind == KIND, OutboundDelivery.owner_id.in_(message_ids)))
    db.session.execute(sa.delete(WebhookAttempt).where(
        WebhookAttempt.message_id.in_(message_ids)))
    db.session.execute(sa.delete(WebhookMessage).where(
        WebhookMessage.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
