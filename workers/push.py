"""Push tasks (the ``push`` queue): WebSub verification, delivery, retries, lease expiry;
webhook messages.

Thin: each calls one domain function and is safe to run twice (claims and decided requests
live in the database). They wait on someone else's server, but a fan-out is CPU-bound: run
them on workers of their own with processes (``celery -A workers worker -Q push
--concurrency 8``), each child sending its batches on the sending threads of
``service.outbound.sending``.
"""

from __future__ import annotations

from celery import shared_task

from service.webhooks import delivery as webhooks
from service.websub import distribution, publish, subscriptions, verification


@shared_task(name="push.verify")
def verify_intent(request_id: int) -> str:
    return verification.verify(request_id)


@shared_task(name="push.deliver")
def deliver_document(row_ids: int | list[int]) -> dict[int, str]:
    return distribution.deliver(row_ids)


@shared_task(name="push.requeue_due")
def requeue_due_deliveries() -> int:
    return distribution.requeue_due()


@shared_task(name="push.purge_expired")
def purge_expired_subscriptions() -> int:
    return subscriptions.purge_expired()


@shared_task(name="push.ping_hubs")
def ping_hubs(topic_urls: list[str]) -> dict[str, int | str]:
    return publish.ping_hubs(topic_urls)


@shared_task(name="push.webhook")
def deliver_webhook(row_ids: int | list[int]) -> dict[int, str]:
    return webhooks.deliver(row_ids)


@shared_task(name="push.webhook_requeue_due")
def requeue_due_webhooks() -> int:
    return webhooks.requeue_due()
