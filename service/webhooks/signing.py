"""Standard Webhooks signatures: ``whsec_`` secrets and the ``webhook-*`` headers.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``, HMAC-SHA256 keyed with
the base64-decoded secret after ``whsec_``; the header is ``v1,<base64>``, one per live
secret, space-separated (the spec's way to rotate without a gap). Receivers check the
timestamp against replay, so it is the time of each attempt, not of the event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from service.database import utcnow

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes: what the API shows once."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """A ``webhook-id``: unique per message, the same on every retry of it."""
    return "msg_" + secrets.token_hex(16)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def live_secrets(current: str, previous: str | None, previous_until: datetime | None,
                 now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous while its overlap lasts."""
    now = now or utcnow()
    if previous and previous_until is not None and previous_until > now:
        return [current, previous]
    return [current]


def headers(msg_id: str, body: bytes, keys: list[str], timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(k, msg_id, timestamp, body) for k in keys),
        "content-type": "application/json",
    }
