"""The Celery application: one per Flask app, configured from the same settings.

It lives in the app package, as in Flask's own Celery example (``celery_init_app``); the tasks
are the ``workers`` package's, named here by module (a string, not an import), so nothing under
``service/`` imports ``workers/``.

This follows Flask's Celery pattern: every task runs inside the Flask app context, so tasks
use the same ``db.session`` and settings as views. Delivery guarantees: ``acks_late`` with
``reject_on_worker_lost`` means a task whose worker dies mid-run is delivered again; tasks are
idempotent, so running twice is safe. The outbox relay covers the rest (broker down at commit).

Three queues: ``push`` (WebSub verification and deliveries: wait on subscribers' servers),
``celery`` (events, feed builds, embargoes: short, and a feed must follow a publish
within a second) and ``mail`` (confirmations, digests, sending batches: long and I/O-bound). A
worker started without ``-Q`` consumes both (``make dev``); in production a worker per queue
keeps a 100,000-subscriber digest from delaying a feed build (see docker-compose.yml).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery, Task, signals
from flask import Flask
from kombu import Queue

from service.heap import freeze_start_up_heap

TASK_MODULES = ["workers.events", "workers.announcements", "workers.feeds", "workers.mail",
                "workers.push", "workers.inbound"]

DEFAULT_QUEUE = "celery"
MAIL_QUEUE = "mail"
PUSH_QUEUE = "push"  # WebSub verification and delivery: waits on other people's servers
TASK_ROUTES = {
    "mail.*": {"queue": MAIL_QUEUE},
    "digests.*": {"queue": MAIL_QUEUE},
    "subscriptions.*": {"queue": MAIL_QUEUE},
    "inbound.*": {"queue": MAIL_QUEUE},
    "push.*": {"queue": PUSH_QUEUE},
}

# Periodic jobs, all in one place; beat runs exactly once per deployment.
BEAT_SCHEDULE = {
    "publish-due-announcements": {
        "task": "announcements.publish_due",
        "schedule": timedelta(seconds=2),
        "options": {"expires": 10},
    },
    "relay-outbox": {
        "task": "events.relay",
        "schedule": timedelta(seconds=10),
        "options": {"expires": 30},
    },
    # Digests: each run starts the period that ended last (DIGEST_HOUR, DIGEST_WEEKDAY), once.
    "send-daily-digest": {
        "task": "digests.send",
        "schedule": timedelta(minutes=5),
        "args": ("daily",),
        "options": {"expires": 240},
    },
    "send-weekly-digest": {
        "task": "digests.send",
        "schedule": timedelta(minutes=5),
        "args": ("weekly",),
        "options": {"expires": 240},
    },
    "resume-stalled-mail": {
        "task": "mail.resume",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "purge-pending-subscriptions": {
        "task": "subscriptions.purge_pending",
        "schedule": timedelta(hours=1),
        "options": {"expires": 1800},
    },
    # WebSub: deliveries whose task was lost (broker down, a killed worker's claim) go again;
    # subscriptions past their lease are removed (they already get nothing once expired).
    "requeue-due-deliveries": {
        "task": "push.requeue_due",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 20},
    },
    # Webhooks: messages whose task was lost go again (claims keep one from going twice).
    "requeue-due-webhooks": {
        "task": "push.webhook_requeue_due",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 20},
    },
    "purge-expired-websub": {
        "task": "push.purge_expired",
        "schedule": timedelta(minutes=10),
        "options": {"expires": 300},
    },
    # Feeds: a tombstone leaves its feeds when TOMBSTONE_DAYS are over, not at a later publish.
    "expire-tombstones": {
        "task": "feeds.expire_tombstones",
        "schedule": timedelta(hours=1),
        "options": {"expires": 1800},
    },
    # Inbound mail: the bounce mailbox (INBOUND_IMAP_URL; nothing when unset), and messages
    # the listener recorded whose task was lost.
    "read-bounce-mailbox": {
        "task": "inbound.read_mailbox",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "process-pending-inbound": {
        "task": "inbound.process_pending",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "purge-processed-events": {
        "task": "events.purge",
        "schedule": timedelta(hours=1),
        "options": {"expires": 600},
    },
}


def broker_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis (the embedded one) ``redis+socket://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app`` and store it in ``app.extensions["celery"]``."""

    class FlaskTask(Task[..., object]):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = app.config["SETTINGS"]
    celery: Celery = Celery(app.name, task_cls=FlaskTask, include=TASK_MODULES)
    celery.conf.update(
        broker_url=broker_url(app.config["REDIS_URL"]),
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # A message taken by a worker that vanished without a trace comes back after this;
            # the outbox relay usually gets there first.
            "visibility_timeout": 600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        # The web tier must never hang on a dead broker: fail fast, the relay resends later.
        task_publish_retry_policy={
            "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
        },
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(DEFAULT_QUEUE), Queue(MAIL_QUEUE), Queue(PUSH_QUEUE)],
        task_routes=TASK_ROUTES,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task running when the broker connection drops cannot be acknowledged anyway: stop
        # it and let the broker deliver it again (Celery 6's default; tasks are idempotent).
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        beat_schedule=BEAT_SCHEDULE,
        beat_schedule_filename=str(settings.var_dir / "celerybeat-schedule"),
        timezone="UTC",
        enable_utc=True,
    )
    app.extensions["celery"] = celery
    _freeze_heap_when_started(app)
    return celery


def _freeze_heap_when_started(app: Flask) -> None:
    """A worker's start-up heap is frozen (``service.heap``): in a prefork parent before its
    children fork (``worker_init``), in each child (``worker_process_init``) and in a threads
    or solo worker once it is ready. One process makes one app; a test process that makes
    many connects the first only (``dispatch_uid``), and only a worker started in it fires."""

    def freeze(**_: Any) -> None:
        freeze_start_up_heap(app)

    for name, signal in (("init", signals.worker_init),
                         ("process-init", signals.worker_process_init),
                         ("ready", signals.worker_ready)):
        signal.connect(freeze, weak=False, dispatch_uid=f"newsroom-freeze-heap-{name}")
