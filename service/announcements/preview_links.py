"""Private preview links: a signed, expiring address that shows a draft or a scheduled
announcement to someone without an account (a partner agency signing it off).

The link carries the announcement's id and the time it was signed, under ``SECRET_KEY``
(itsdangerous); nothing is stored. It expires after ``VALID_DAYS`` and shows nothing once the
announcement is published (the public page then) or retracted.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VALID_DAYS = 7
_SALT = "newsroom.announcements.preview"


class LinkExpired(Exception):
    """A genuine link, past its validity."""


class LinkInvalid(Exception):
    """Not a link we signed (altered, forged, truncated)."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(announcement_id: int) -> str:
    return _serializer().dumps(announcement_id)


def announcement_id(token: str) -> int:
    """The announcement a token names; raises ``LinkExpired`` or ``LinkInvalid``."""
    try:
        value = _serializer().loads(token, max_age=VALID_DAYS * 86400)
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LinkInvalid
    return value
