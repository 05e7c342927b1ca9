"""Events are never lost: not on rollback, not when the broker is down, not when a worker dies."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from service import events, outbox
from service.announcements import publishing
from service.announcements.models import Status
from service.database import db
from service.feeds import store
from service.outbox.models import OutboxEvent
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.waiting import wait_for


def test_rolled_back_write_sends_nothing(ctx: Flask, published_messages: list[str]) -> None:
    publishing.create(title="Never happened", status=Status.PUBLISHED)
    db.session.flush()
    db.session.rollback()
    assert published_messages == []
    assert db.session.query(OutboxEvent).count() == 0
    # The next, committed, transaction sends only its own task.
    publishing.create(title="Happened", status=Status.PUBLISHED)
    db.session.commit()
    assert published_messages == [outbox.DISPATCH_TASK]


def test_dispatch_is_idempotent(ctx: Flask) -> None:
    item = publishing.create(title="Once", status=Status.PUBLISHED)
    db.session.commit()
    event_id = db.session.query(OutboxEvent.id).scalar()
    assert events.dispatch(event_id) is True
    assert events.dispatch(event_id) is False  # a redelivered task does nothing more
    feed = store.get(ctx.extensions["redis"], "all", "atom")
    assert feed is not None and item.title.encode() in feed.body


def _feed_has(app: Flask, text: str) -> bool:
    feed = store.get(app.extensions["redis"], "all", "atom")
    return feed is not None and text.encode() in feed.body


def _processed(app: Flask) -> bool:
    with app.app_context():
        try:
            return outbox.pending_count() == 0
        finally:
            db.session.remove()


@pytest.mark.slow
def test_broker_down_at_commit_then_relay_delivers(
    private_app: Flask, private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    private_redis.stop()  # the broker is gone when the transaction commits
    with private_app.app_context():
        publishing.create(title="Published while Redis was down", status=Status.PUBLISHED)
        started = time.monotonic()
        db.session.commit()  # the write is safe; queueing fails fast and is logged
        commit_seconds = time.monotonic() - started
        assert outbox.pending_count() == 1
        db.session.remove()
    assert commit_seconds < 10, "a dead broker must not hang the request"

    private_redis.start()  # Redis is back, empty: the message was never delivered
    celery = private_app.extensions["celery"]
    with worker_process(worker_env(database_url, private_redis.url, tmp_path), "threads"):
        # A restarted, empty Redis has lost its queue bindings until a worker declares them
        # again; a message sent before that is dropped, which is one more reason events stay
        # in the outbox until processed. Here: wait for the worker, then relay once.
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.2)
        assert not _feed_has(private_app, "Published while Redis was down")
        with private_app.app_context():
            assert outbox.relay_pending(older_than=timedelta(0)) == 1
        wait_for(lambda: _processed(private_app), timeout=30)
    assert _feed_has(private_app, "Published while Redis was down")


@pytest.mark.slow
def test_worker_killed_mid_task_runs_it_again(
    private_app: Flask, private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL the pool process running the event's task: the broker hands it out again."""
    celery = private_app.extensions["celery"]
    conn = private_app.extensions["redis"]
    with worker_process(worker_env(database_url, private_redis.url, tmp_path)):
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
        # Hold the feed's build lock so the task is caught mid-run, as a slow build would be.
        lock = conn.lock("newsroom:lock:feed:all", timeout=120)
        assert lock.acquire(blocking=False)

        with private_app.app_context():
            publishing.create(title="Survives a dead worker", status=Status.PUBLISHED)
            db.session.commit()
            db.session.remove()

        def running_pid() -> int | None:
            active = celery.control.inspect(timeout=1).active() or {}
            pids = [task["worker_pid"] for tasks in active.values() for task in tasks
                    if task["name"] == outbox.DISPATCH_TASK]
            return pids[0] if pids else None

        killed = wait_for(running_pid, timeout=30, interval=0.2)
        os.kill(killed, signal.SIGKILL)
        # The pool starts a new process and the broker delivers the same task to it.
        wait_for(lambda: (pid := running_pid()) is not None and pid != killed, timeout=30,
                 interval=0.2)
        assert not _processed(private_app)
        lock.release()
        wait_for(lambda: _processed(private_app), timeout=30)
        assert _feed_has(private_app, "Survives a dead worker")


def test_purge_keeps_unprocessed_events(ctx: Flask) -> None:
    from service.database import utcnow

    publishing.create(title="Old and done", status=Status.PUBLISHED)
    publishing.create(title="Old, never processed", status=Status.PUBLISHED)
    db.session.commit()
    done, pending = db.session.query(OutboxEvent).order_by(OutboxEvent.id).all()
    done.processed_at = utcnow() - timedelta(days=8)
    pending.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    assert outbox.purge_processed(timedelta(days=7)) == 1
    assert [e.id for e in db.session.query(OutboxEvent)] == [pending.id]
