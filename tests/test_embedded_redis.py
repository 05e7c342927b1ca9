"""The embedded Redis of `make dev`: one server shared by every process, and the whole
pipeline (after-commit queueing, a worker, feeds) running on it."""

from __future__ import annotations

from pathlib import Path

from celery.contrib.testing.worker import start_worker
from flask_migrate import upgrade

from service import create_app, embedded_redis
from service.announcements import publishing
from service.announcements.models import Status
from service.config import load_settings
from service.database import db
from service.feeds import store
from tests.waiting import wait_for


def test_pipeline_runs_on_the_embedded_redis(tmp_path: Path) -> None:
    settings = load_settings({"NEWSROOM_ENV": "testing", "NEWSROOM_VAR_DIR": str(tmp_path)})
    assert settings.redis_url is None
    app = create_app(settings)
    try:
        url = app.config["REDIS_URL"]
        assert url == f"unix://{tmp_path}/redis/redis.sock"
        assert embedded_redis.ensure_running(tmp_path) == url  # a second process reuses it
        with app.app_context():
            upgrade()
            publishing.create(title="Hello from the embedded Redis", status=Status.PUBLISHED)
            db.session.commit()
        with start_worker(app.extensions["celery"], pool="threads", concurrency=1,
                          perform_ping_check=False, loglevel="WARNING"):
            def built() -> bool:
                feed = store.get(app.extensions["redis"], "all", "rss")
                return feed is not None and b"Hello from the embedded Redis" in feed.body

            wait_for(built, timeout=30)
    finally:
        with app.app_context():
            db.engine.dispose()
        embedded_redis.stop(tmp_path)
    assert not (tmp_path / "redis" / "redis.sock").exists() or not embedded_redis._answers(
        tmp_path / "redis" / "redis.sock")
