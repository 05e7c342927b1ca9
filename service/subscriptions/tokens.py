"""Signed links: confirm a sign-up, and manage or leave a subscription.

Each purpose has its own salt, so a token made for one can never be used for another. A
confirmation token expires and carries the preferences asked for, so confirming applies exactly
what that request asked, whoever asked since. A manage token never expires (it sits in every
email ever sent) but names one subscriber and their ``token_version``: bumping the version
revokes every manage and unsubscribe link mailed so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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
    preferences: dict[str, Any]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def confirm_token(subscriber_id: int, preferences: dict[str, Any]) -> str:
    return _serializer(_CONFIRM_SALT).dumps({"s": subscriber_id, "p": preferences})


def load_confirm_token(token: str) -> ConfirmRequest:
    try:
        data = _serializer(_CONFIRM_SALT).loads(token, max_age=CONFIRM_MAX_AGE.total_seconds())
    except SignatureExpired:
        raise ExpiredToken(token) from None
    except BadSignature:
        raise InvalidToken(token) from None
    if (not isinstance(data, dict) or not isinstance(data.get("s"), int)
            or not isinstance(data.get("p"), dict)):
        raise InvalidToken(token)  # signed by us but not in this shape: never trust it
    return ConfirmRequest(data["s"], data["p"])


class ManageTokens:
    """Manage tokens for many subscribers; one serializer, as a batch signs hundreds."""

    def __init__(self) -> None:
        self._serializer = _serializer(_MANAGE_SALT)

    def make(self, subscriber_id: int, version: int) -> str:
        return self._serializer.dumps([subscriber_id, version])


def manage_token(subscriber_id: int, version: int) -> str:
    return ManageTokens().make(subscriber_id, version)


def load_manage_token(token: str) -> tuple[int, int]:
    """``(subscriber_id, token_version)``; the caller checks the version is still current."""
    try:
        data = _serializer(_MANAGE_SALT).loads(token)
    except BadSignature:
        raise InvalidToken(token) from None
    if (not isinstance(data, list) or len(data) != 2
            or not all(isinstance(part, int) for part in data)):
        raise InvalidToken(token)
    return data[0], data[1]
