"""The bounce mailbox over IMAP (IMAPClient): beat's ``inbound.read_mailbox`` runs :func:`read`.

Each run takes up to ``batch`` messages not yet marked processed, oldest first. For each: fetch
it without setting ``\\Seen`` (``BODY.PEEK[]``), record and act on it in one committed
transaction (``processing``), and only then mark it on the server: the ``$NewsroomProcessed``
keyword (and ``\\Seen``), or a move to ``move_to``. A reader killed between the commit and the
mark leaves one message unmarked; the next run finds its key recorded, changes nothing and
marks it. So a crash mid-mailbox reprocesses nothing, and nothing is lost before it is
recorded. Two runs at once (a slow run and beat's next) are kept apart by a Redis lock, and
would be harmless anyway: the key is unique.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass, field

from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from redis.exceptions import LockError

from service.database import db
from service.inbound import processing
from service.mail.imap_url import ImapSettings

log = logging.getLogger(__name__)

PROCESSED = "$NewsroomProcessed"
LOCK_KEY = "newsroom:inbound:mailbox-lock"


class MailboxError(Exception):
    """The mailbox cannot be read now (server down, login refused); the next run tries again."""


@dataclass
class ReadResult:
    new: int = 0  # recorded and acted on in this run
    already: int = 0  # recorded before (a run that died before marking them)
    marked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def imap_url() -> str | None:
    """``INBOUND_IMAP_URL``; ``app.config["INBOUND_IMAP_URL"]`` overrides it (tests do)."""
    url: str | None = current_app.config.get(
        "INBOUND_IMAP_URL", current_app.config["SETTINGS"].inbound_imap_url)
    return url


def connect(settings: ImapSettings) -> IMAPClient:
    context = ssl.create_default_context() if settings.ssl or settings.starttls else None
    try:
        client = IMAPClient(settings.host, port=settings.port, ssl=settings.ssl,
                            ssl_context=context, timeout=settings.timeout)
        if settings.starttls:
            client.starttls(context)
        client.login(settings.username, settings.password)
    except (IMAPClientError, OSError) as exc:
        raise MailboxError(f"cannot open {settings.host}:{settings.port}: {exc}") from exc
    return client


def _mark(client: IMAPClient, uid: int, settings: ImapSettings) -> None:
    if settings.move_to:
        if client.has_capability("MOVE"):
            client.move([uid], settings.move_to)
            return
        client.copy([uid], settings.move_to)
        client.add_flags([uid], [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()
        return
    client.add_flags([uid], [b"\\Seen", PROCESSED.encode()], silent=True)


def _unmarked(client: IMAPClient, settings: ImapSettings) -> list[int]:
    if settings.move_to:
        uids = client.search(["UNDELETED"])
    else:
        uids = client.search(["NOT", "KEYWORD", PROCESSED, "UNDELETED"])
    return sorted(uids)[: settings.batch]


def read(url: str | None = None) -> ReadResult:
    """Read what is new in the bounce mailbox; ``MailboxError`` when it cannot be opened."""
    result = ReadResult()
    url = url or imap_url()
    if not url:
        return result
    settings = ImapSettings.from_url(url)
    redis = current_app.extensions["redis"]
    # Renewed before each message, which takes at most a fetch and a store (each within the
    # timeout) and a commit; a dead reader's lock lapses this long after its last renewal.
    lease = int(settings.timeout * 3) + 10
    lock = redis.lock(LOCK_KEY, timeout=lease, blocking_timeout=0)
    if not lock.acquire(blocking=False):
        log.info("another reader holds the bounce mailbox; this run does nothing")
        return result
    try:
        client = connect(settings)
        try:
            if settings.move_to and not client.folder_exists(settings.move_to):
                client.create_folder(settings.move_to)
            selected = client.select_folder(settings.mailbox)
            validity = selected.get(b"UIDVALIDITY", 0)
            for uid in _unmarked(client, settings):
                try:
                    lock.extend(lease, replace_ttl=True)
                except LockError:  # this run stalled past its lease: another may be reading
                    log.warning("the bounce mailbox lock lapsed; stopping this run")
                    break
                fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
                if not fetched or b"BODY[]" not in fetched:
                    continue  # expunged by someone else meanwhile
                _record(bytes(fetched[b"BODY[]"]), f"{validity}:{uid}", result)
                _mark(client, uid, settings)
                result.marked += 1
        finally:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()
    except (IMAPClientError, OSError) as exc:
        db.session.rollback()
        raise MailboxError(f"reading {settings.mailbox} failed: {exc}") from exc
    finally:
        with contextlib.suppress(LockError):  # it lapsed: nothing to release
            lock.release()
    return result


def _record(raw: bytes, uid: str, result: ReadResult) -> None:
    row, new = processing.receive(raw, "imap", imap_uid=uid)
    acted = processing.process(row)
    db.session.commit()
    if new or acted:
        result.new += 1
        outcome = row.outcome or "?"
        result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
    else:
        result.already += 1
