"""The hub endpoint's rules: validate a subscription request, record it, queue verification.

Nothing here waits on the subscriber's server: verification of intent runs in a worker
(``verification``). Bad input is a :class:`HubError` with a 4xx status and a plain-text
reason; unknown parameters are ignored, as the spec says.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import current_app

from service.database import db
from service.jobs import enqueue_after_commit
from service.websub import topics
from service.websub.models import HubRequest

VERIFY_TASK = "push.verify"
MODES = ("subscribe", "unsubscribe")
MAX_CALLBACK = 2000  # characters; longer URLs are not callbacks anyone means
MAX_SECRET_BYTES = 199  # "less than 200 bytes" (WebSub section 5.1)


class HubError(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _callback(value: str | None) -> str:
    if not value:
        raise HubError(400, "hub.callback is required")
    if len(value) > MAX_CALLBACK:
        raise HubError(400, f"hub.callback is longer than {MAX_CALLBACK} characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise HubError(400, "hub.callback is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubError(400, "hub.callback must be an absolute http or https URL")
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise HubError(400, "hub.callback must not contain spaces or control characters")
    return value


def lease_for(requested: str | None) -> int:
    """The lease granted: what was asked for, within 1 s .. WEBSUB_LEASE_MAX; the default
    when nothing (or nonsense) was asked for. Never perpetual."""
    settings = current_app.config["SETTINGS"]
    try:
        asked = int(requested) if requested else 0
    except ValueError:
        asked = 0
    if asked <= 0:
        return int(settings.websub_lease_default)
    return min(asked, int(settings.websub_lease_max))


def accept(form: Mapping[str, str]) -> HubRequest:
    """Record a valid request and queue its verification after commit (the caller commits)."""
    mode = form.get("hub.mode")
    if mode not in MODES:
        raise HubError(400, "hub.mode must be subscribe or unsubscribe")
    topic = form.get("hub.topic")
    if not topic:
        raise HubError(400, "hub.topic is required")
    parsed = topics.parse(topic)
    if parsed is None:
        raise HubError(404, "hub.topic is not a feed of this hub")
    callback = _callback(form.get("hub.callback"))
    secret = form.get("hub.secret") or None
    if secret is not None and len(secret.encode()) > MAX_SECRET_BYTES:
        raise HubError(400, "hub.secret must be less than 200 bytes")
    scope, fmt = parsed
    row = HubRequest(mode=mode, topic=topic, scope=scope, fmt=fmt, callback=callback,
                     secret=secret if mode == "subscribe" else None,
                     lease_seconds=lease_for(form.get("hub.lease_seconds"))
                     if mode == "subscribe" else 0)
    db.session.add(row)
    db.session.flush()
    enqueue_after_commit(db.session, VERIFY_TASK, row.id)
    return row
