"""VERP envelope senders: ``bounces+<signed token>@example.org`` names one copy and its recipient.

With ``BOUNCE_ADDRESS`` set, every message goes out with an envelope sender (``MAIL FROM``, the
``Return-Path`` a receiver records) of its own. A delivery status notification goes back to that
address, and complaint reports quote it, so the token says which copy failed, to whom, and when
it was sent, whatever the bounce's format makes hard to read.

The token is 16 bytes (subscriber id, delivery id, 4 bytes of the address's SHA-256, the
sending time in seconds) signed with an 8-byte HMAC by itsdangerous (the app's ``SECRET_KEY``,
a salt of its own), both written in lower-case base32: ``<26 characters>.<13 characters>``.
Some MTAs lower-case local parts; nothing is lost when they do. With the ``+`` and the local
part of ``BOUNCE_ADDRESS`` the local part stays within RFC 5321's 64 characters (the config
refuses a local part longer than :data:`MAX_BASE_LOCAL`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import want_bytes

TOKEN_LENGTH = 26 + 1 + 13
MAX_BASE_LOCAL = 64 - 1 - TOKEN_LENGTH  # "bounces" + "+" + token fits 64 characters
_SALT = "newsroom.mail.verp"
UNSUBSCRIBE_TAG = "unsubscribe"
_MAC_BYTES = 8
_PAYLOAD = struct.Struct(">IIII")  # subscriber id, delivery id (0: none), address tag, time
_TOKEN = re.compile(r"(?<![a-z2-7.])[a-z2-7]{26}\.[a-z2-7]{13}(?![a-z2-7])")


class InvalidEnvelope(ValueError):
    """Not one of our envelope senders, or its signature does not match (forged, altered)."""


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


class _Base32Signer(Signer):
    """itsdangerous' signer with a short lower-case base32 signature (safe in a local part)."""

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self.algorithm.get_signature(self.derive_key(), want_bytes(value))
        return _b32(mac[:_MAC_BYTES]).encode("ascii")

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        value = want_bytes(value)
        for secret_key in reversed(self.secret_keys):
            mac = self.algorithm.get_signature(self.derive_key(secret_key), value)
            if hmac.compare_digest(_b32(mac[:_MAC_BYTES]).encode("ascii"), want_bytes(sig)):
                return True
        return False


@dataclass(frozen=True)
class Envelope:
    """What one envelope sender names."""

    subscriber_id: int
    delivery_id: int | None  # None: a message outside any mailing (a confirmation)
    address_tag: bytes  # the first 4 bytes of the SHA-256 of the recipient's address
    sent_at: datetime  # to the second, rounded down

    def matches(self, email: str) -> bool:
        return hmac.compare_digest(self.address_tag, address_tag(email))


def address_tag(email: str) -> bytes:
    return hashlib.sha256(email.strip().lower().encode()).digest()[:4]


def _signer() -> _Base32Signer:
    return _Base32Signer(current_app.config["SECRET_KEY"], salt=_SALT)


def bounce_address() -> str | None:
    """``BOUNCE_ADDRESS`` from the settings; ``app.config["BOUNCE_ADDRESS"]`` overrides it."""
    address: str | None = current_app.config.get(
        "BOUNCE_ADDRESS", current_app.config["SETTINGS"].bounce_address)
    return address


class Senders:
    """Envelope senders for many copies; one signer, as a batch signs hundreds."""

    def __init__(self, fallback: str) -> None:
        self.fallback = fallback  # MAIL_FROM's address, used when BOUNCE_ADDRESS is unset
        base = bounce_address()
        self._signer = _signer() if base else None
        self._local, _, self._domain = (base or "").rpartition("@")

    @property
    def unsubscribe_address(self) -> str:
        """Where the ``List-Unsubscribe`` mailto goes: ``bounces+unsubscribe@...`` with VERP,
        so the inbound reader sees it with the bounces; else MAIL_FROM's address."""
        if self._signer is None:
            return self.fallback
        return f"{self._local}+{UNSUBSCRIBE_TAG}@{self._domain}"

    def make(self, subscriber_id: int, delivery_id: int | None, email: str,
             now: datetime | None = None) -> str:
        if self._signer is None:
            return self.fallback
        when = int((now or datetime.now(UTC)).timestamp())
        payload = _PAYLOAD.pack(subscriber_id, delivery_id or 0,
                                int.from_bytes(address_tag(email), "big"), when)
        token = self._signer.sign(_b32(payload)).decode("ascii")
        return f"{self._local}+{token}@{self._domain}"


def find_tokens(text: str) -> list[str]:
    """Every string in ``text`` shaped like a token (lower-cased first), in order, once each."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text.lower()):
        seen.setdefault(match.group(0))
    return list(seen)


def load(token: str) -> Envelope:
    """What a token names; :class:`InvalidEnvelope` unless we signed exactly this."""
    token = token.strip().lower()
    if not _TOKEN.fullmatch(token) or len(token) != TOKEN_LENGTH:
        raise InvalidEnvelope("not an envelope token")
    try:
        payload = _signer().unsign(token).decode("ascii")
    except BadSignature:
        raise InvalidEnvelope("the signature does not match") from None
    subscriber_id, delivery_id, tag, when = _PAYLOAD.unpack(_unb32(payload))
    return Envelope(subscriber_id, delivery_id or None, tag.to_bytes(4, "big"),
                    datetime.fromtimestamp(when, UTC))


def token_of(address: str) -> str | None:
    """The token in ``bounces+<token>@domain`` when the address is one of ours, else None."""
    base = bounce_address()
    if not base:
        return None
    local, _, domain = base.lower().rpartition("@")
    their_local, _, their_domain = address.strip().strip("<>").lower().rpartition("@")
    if their_domain != domain or not their_local.startswith(local + "+"):
        return None
    return their_local[len(local) + 1:]
