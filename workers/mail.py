"""Mail tasks: send a batch, send a confirmation, start digests, resume stalled work, purge.

Each task takes ids, calls one domain function and is safe to run twice: exactly-once lives in
the database (see ``service.subscriptions.delivery``), not in the broker.
"""

from __future__ import annotations

import random
from typing import Any

from celery import Task, shared_task

from service.mail import mailer
from service.subscriptions import confirmations, delivery, digests, lifecycle, mailings, reaper
from service.subscriptions.models import MailingKind

MAX_RETRIES = 10


def backoff(retries: int) -> int:
    """Seconds before retry ``retries + 1``: 15 s doubling to 5 min, with jitter.

    Capped below the broker's visibility timeout, so a waiting retry is never handed out twice.
    """
    base: int = min(15 * 2**retries, 300)
    return base + random.randint(0, base // 4)  # noqa: S311 (jitter, not cryptography)


@shared_task(name="mail.send_batch", bind=True, max_retries=MAX_RETRIES)
def send_batch(self: Task[[int], dict[str, Any]], batch_id: int) -> dict[str, Any]:
    """Send one batch; copies the server deferred (4xx, down) are tried again with backoff."""
    result = delivery.run_batch(batch_id)
    if result.deferred and self.request.retries < MAX_RETRIES:
        raise self.retry(countdown=backoff(self.request.retries))
    return {"sent": result.sent, "deferred": result.deferred, "failed": result.failed,
            "uncertain": result.uncertain, "done": result.done}


@shared_task(name="subscriptions.send_confirmation", bind=True, max_retries=MAX_RETRIES)
def send_confirmation(
    self: Task[[int, dict[str, Any]], bool], subscriber_id: int, preferences: dict[str, Any]
) -> bool:
    try:
        return confirmations.send_confirmation(subscriber_id, preferences)
    except mailer.Deferred as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None


@shared_task(name="mail.start_instant")
def start_instant(announcement_id: int) -> int | None:
    """Create (once) the instant mailing of a published announcement and queue its batches."""
    mailing = mailings.start_instant(announcement_id)
    return mailing.id if mailing is not None else None


@shared_task(name="digests.send")
def send_digests(kind: str) -> int | None:
    """Start the digest of the period that ended last, unless it has started (beat: often)."""
    started = digests.send(MailingKind(kind))
    return started.mailing.id if started.created else None


@shared_task(name="mail.resume")
def resume_stalled() -> int:
    return reaper.resume_stalled()


@shared_task(name="subscriptions.purge_pending")
def purge_pending() -> int:
    return lifecycle.purge_pending()
