"""``INBOUND_IMAP_URL``: where the bounce mailbox is, and what to do with processed messages.

Forms: ``imap://user:password@host:143/INBOX?starttls=1``, ``imaps://user:password@host/INBOX``;
the path is the mailbox (default ``INBOX``). Options: ``starttls=1``; ``move_to=Processed``
(processed messages are moved there, else they keep the ``$NewsroomProcessed`` keyword and
``\\Seen``); ``timeout=SECONDS`` (default 30); ``batch=N`` messages per run (default 200).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

_OPTIONS = {"starttls", "move_to", "timeout", "batch"}


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str
    password: str
    mailbox: str
    move_to: str | None
    timeout: float
    batch: int

    @classmethod
    def from_url(cls, url: str) -> ImapSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("must look like imap://user:password@host:port/INBOX")
        if not parts.username:
            raise ValueError("needs a user name and password (imap://user:password@host/...)")
        query = parse_qs(parts.query)
        unknown = set(query) - _OPTIONS
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        try:
            timeout = float(query.get("timeout", ["30"])[0])
            batch = int(query.get("batch", ["200"])[0])
        except ValueError:
            raise ValueError("timeout and batch must be numbers") from None
        if not 0 < timeout <= 600 or not 1 <= batch <= 10000:
            raise ValueError("timeout must be 0..600 s, batch 1..10000")
        secure = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if secure else 143),
            ssl=secure,
            starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
            username=unquote(parts.username),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            move_to=query.get("move_to", [""])[0] or None,
            timeout=timeout,
            batch=batch,
        )
