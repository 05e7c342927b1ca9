"""Outbox tasks: deliver one event, and re-send those whose delivery was lost."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from service import events, outbox


@shared_task(name="events.dispatch")
def dispatch_event(event_id: int) -> bool:
    try:
        return events.dispatch(event_id)
    except Exception as exc:
        outbox.record_failure(event_id, exc)
        raise  # the task fails visibly; the relay sends it again later


@shared_task(name="events.push", autoretry_for=(Exception,), retry_backoff=1,
             retry_backoff_max=300, max_retries=None)
def push_event(name: str, kind: str, payload: dict[str, Any]) -> None:
    """WebSub's and webhooks' fan-out of one event, retried until it succeeds (its consumers
    are idempotent: a WebSub row moves forward, a webhook message is made once per event)."""
    events.push(name, kind, payload)


@shared_task(name="events.relay")
def relay_events() -> int:
    return outbox.relay_pending()


@shared_task(name="events.purge")
def purge_events() -> int:
    return outbox.purge_processed()
