"""/healthz answers while the process lives; /readyz only when the database and Redis answer."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from service import create_app
from service.database import db
from tests.fixtures.app import make_settings
from tests.fixtures.services import PrivateRedis


def test_ready_when_everything_answers(client: object) -> None:
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json == {"status": "ready"}


def test_not_ready_names_what_is_down(clean_app: Flask, database_url: str,
                                      private_redis: PrivateRedis, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, database_url, private_redis.url))
    with app.app_context():
        upgrade()
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    private_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"redis"}
    assert client.get("/healthz").status_code == 200  # alive, just not ready
    private_redis.start()
    assert client.get("/readyz").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_not_ready_without_the_database(redis_url: str, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"
    app = create_app(make_settings(tmp_path, missing, redis_url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"database"}
