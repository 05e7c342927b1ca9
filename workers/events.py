"""Outbox tasks: deliver one event, and re-send those whose delivery was lost."""

from __future__ import annotations

from celery import shared_task

from service import events, outbox


@shared_task(name="events.dispatch")
def dispatch_event(event_id: int) -> bool:
    try:
        return events.dispatch(event_id)
    except Exception as exc:
        outbox.record_failure(event_id, exc)
        raise  # the task fails visibly; the relay sends it again later


@shared_task(name="events.relay")
def relay_events() -> int:
    return outbox.relay_pending()


@shared_task(name="events.purge")
def purge_events() -> int:
    return outbox.purge_processed()
