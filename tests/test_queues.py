"""Mail and feeds go to different queues, so a worker of each keeps the other unblocked."""

from __future__ import annotations

import pytest
from flask import Flask

from service.celery_app import BEAT_SCHEDULE


@pytest.mark.parametrize(("task", "queue"), [
    ("events.dispatch", "celery"),
    ("events.push", "celery"),
    ("events.relay", "celery"),
    ("feeds.rebuild", "celery"),
    ("feeds.expire_tombstones", "celery"),
    ("announcements.publish_due", "celery"),
    ("mail.send_batch", "mail"),
    ("mail.start_instant", "mail"),
    ("mail.resume", "mail"),
    ("subscriptions.send_confirmation", "mail"),
    ("subscriptions.purge_pending", "mail"),
    ("digests.send", "mail"),
    ("push.verify", "push"),
    ("push.deliver", "push"),
    ("push.requeue_due", "push"),
    ("push.purge_expired", "push"),
    ("push.ping_hubs", "push"),
    ("push.webhook", "push"),
    ("push.webhook_requeue_due", "push"),
])
def test_routes(app: Flask, task: str, queue: str) -> None:
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()  # what a worker does at start: the task modules
    assert task in celery.tasks  # a route for a task that does not exist would prove nothing
    assert celery.amqp.router.route({}, task)["queue"].name == queue


def test_every_scheduled_task_is_routed_to_a_known_queue(app: Flask) -> None:
    celery = app.extensions["celery"]
    queues = {queue.name for queue in celery.conf.task_queues}
    for entry in BEAT_SCHEDULE.values():
        assert celery.amqp.router.route({}, entry["task"])["queue"].name in queues
