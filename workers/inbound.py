"""Inbound mail tasks: read the bounce mailbox, process what the listener recorded.

Each is safe to run twice: a message is recorded once under its key and acted on once (see
``service.inbound.processing``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from service.inbound import mailbox, sweeping

log = logging.getLogger(__name__)


@shared_task(name="inbound.read_mailbox")
def read_mailbox() -> dict[str, Any]:
    """Beat, every minute: what is new in ``INBOUND_IMAP_URL`` (nothing when unset)."""
    try:
        result = mailbox.read()
    except mailbox.MailboxError as exc:  # down or refused: the next run (a minute on) tries
        log.warning("bounce mailbox: %s", exc)
        return {"error": str(exc)}
    return {"new": result.new, "already": result.already, "marked": result.marked,
            "outcomes": result.outcomes}


@shared_task(name="inbound.process")
def process(message_id: int) -> str | None:
    """Classify and act on one message the listener recorded."""
    return sweeping.process_one(message_id)


@shared_task(name="inbound.process_pending")
def process_pending() -> int:
    """Beat: queue again the recorded messages whose task was lost."""
    return sweeping.requeue_pending()
