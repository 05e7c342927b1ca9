"""Events are never lost: not on rollback, not when the broker is down, not when a worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.signals import before_task_publish
from flask import Flask
from flask_migrate import upgrade

from service import create_app, outbox
from service.announcements import publishing
from service.announcements.models import Status
from service.database import db
from service.feeds import store
from service.outbox.models import OutboxEvent
from tests.conftest import TEST_BASE_URL, PrivateRedis, make_settings, wait_for


@pytest.fixture
def published_messages() -> Iterator[list[str]]:
    """Names of the tasks actually handed to the broker (Celery's own signal, no mock)."""
    sent: list[str] = []

    def receiver(sender: str | None = None, **_: Any) -> None:
        sent.append(str(sender))

    before_task_publish.connect(receiver, weak=False)
    yield sent
    before_task_publish.disconnect(receiver)


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
    assert outbox.dispatch(event_id) is True
    assert outbox.dispatch(event_id) is False  # a redelivered task does nothing more
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


@pytest.fixture
def private_app(clean_app: Flask, database_url: str, private_redis: PrivateRedis,
                tmp_path: Path) -> Iterator[Flask]:
    """An app on the shared test database but with a Redis of its own, which tests may stop."""
    app = create_app(make_settings(tmp_path, database_url, private_redis.url), TESTING=True)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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
    # A worker process of its own: an in-process test worker shares Celery's module-level
    # state with the session's worker, and stopping it would stop that one too.
    with worker_process(_worker_env(database_url, private_redis, tmp_path), "threads"):
        # A restarted, empty Redis has lost its queue bindings until a worker declares them
        # again; a message sent before that is dropped, which is one more reason events stay
        # in the outbox until processed. Here: wait for the worker, then relay once.
        wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.2)
        assert not _feed_has(private_app, "Published while Redis was down")
        with private_app.app_context():
            assert outbox.relay_pending(older_than=timedelta(0)) == 1
        wait_for(lambda: _processed(private_app), timeout=30)
    assert _feed_has(private_app, "Published while Redis was down")


def _worker_env(database_url: str, private_redis: PrivateRedis, var_dir: Path) -> dict[str, str]:
    return dict(
        os.environ, NEWSROOM_ENV="testing", NEWSROOM_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url, REDIS_URL=private_redis.url, BASE_URL=TEST_BASE_URL,
        SECRET_KEY="test-secret-key-" + "x" * 32,
    )


@contextmanager
def worker_process(env: dict[str, str], pool: str) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A workers worker`` as its own process group, stopped (or killed) after."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", f"--pool={pool}",
         "--concurrency=1", "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.mark.slow
def test_worker_killed_mid_task_runs_it_again(
    private_app: Flask, private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL the pool process running the event's task: the broker hands it out again."""
    celery = private_app.extensions["celery"]
    conn = private_app.extensions["redis"]
    with worker_process(_worker_env(database_url, private_redis, tmp_path), "prefork"):
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
