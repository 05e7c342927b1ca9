"""Signed links: confirm a sign-up, and manage or leave a subscription.

Each purpose has its own salt, so a token made for one can never be used for another. Both
kinds carry a short hash of the address they were mailed to (:func:`address_tag`), and a link
works only while its subscriber row still has that address: subscriber ids can be reused (on
SQLite a purged sign-up's id goes to the next one), and an old link must never reach the new
person. The token is signed, so a plain hash is enough; it only keeps the address itself out
of URLs and server logs.

A confirmation token expires, carries the preferences asked for (so confirming applies exactly
what that request asked, whoever asked since) and its signing time, which the caller compares
with when the address left. A manage token never expires (it sits in every email ever sent) but
names one subscriber and their ``token_version``: bumping the version revokes every manage and
unsubscribe link mailed so far.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

CONFIRM_MAX_AGE = timedelta(hours=48)
_CONFIRM_SALT = "newsroom.subscriptions.confirm"
_MANAGE_SALT = "newsroom.subscriptions.manage"


class InvalidToken(Exception):
    """Forged, altered, truncated or meant for another purpose."""


class ExpiredToken(InvalidToken):
    """Genuine but too old (only confirmation tokens expire)."""


@dataclass(frozen=True)
class ConfirmRequest:
    subscriber_id: int
    address: str  # :func:`address_tag` of the address the link was mailed to
    preferences: dict[str, Any]
    issued_at: datetime  # when it was signed, to the second (rounded down), in UTC


@dataclass(frozen=True)
class ManageRequest:
    subscriber_id: int
    version: int  # the subscriber's ``token_version`` when it was signed
    address: str  # :func:`address_tag` of the address the link was mailed to


def address_tag(email: str) -> str:
    """What a token holds of an address: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def confirm_token(subscriber_id: int, email: str, preferences: dict[str, Any]) -> str:
    return _serializer(_CONFIRM_SALT).dumps(
        {"s": subscriber_id, "a": address_tag(email), "p": preferences})


def load_confirm_token(token: str) -> ConfirmRequest:
    try:
        data, issued_at = _serializer(_CONFIRM_SALT).loads(
            token, max_age=int(CONFIRM_MAX_AGE.total_seconds()), return_timestamp=True)
    except SignatureExpired:
        raise ExpiredToken(token) from None
    except BadSignature:
        raise InvalidToken(token) from None
    if (not isinstance(data, dict) or not isinstance(data.get("s"), int)
            or not isinstance(data.get("a"), str) or not isinstance(data.get("p"), dict)):
        raise InvalidToken(token)  # signed by us but not in this shape: never trust it
    return ConfirmRequest(data["s"], data["a"], data["p"], issued_at)


class _Uncompressed(URLSafeTimedSerializer):
    """Never tries zlib on the payload: a manage token's (two ids and 16 hex digits) never
    comes out shorter, so the token is the same one, and the attempt was half of its cost
    (every copy of a mailing signs one). Loading is the library's own."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


class ManageTokens:
    """Manage tokens for many subscribers; one serializer, as a batch signs hundreds."""

    def __init__(self) -> None:
        self._serializer = _Uncompressed(current_app.config["SECRET_KEY"], salt=_MANAGE_SALT)

    def make(self, subscriber_id: int, version: int, email: str) -> str:
        return self._serializer.dumps([subscriber_id, version, address_tag(email)])


def manage_token(subscriber_id: int, version: int, email: str) -> str:
    return ManageTokens().make(subscriber_id, version, email)


def load_manage_token(token: str) -> ManageRequest:
    """What the token names; the caller checks the version and the address are still current."""
    try:
        data = _serializer(_MANAGE_SALT).loads(token)
    except BadSignature:
        raise InvalidToken(token) from None
    if (not isinstance(data, list) or len(data) != 3 or not isinstance(data[0], int)
            or not isinstance(data[1], int) or not isinstance(data[2], str)):
        raise InvalidToken(token)  # also the two-part tokens made before addresses were bound
    return ManageRequest(data[0], data[1], data[2])
