"""Extensions created unbound and attached to the app in ``create_app``."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_migrate import Migrate

migrate = Migrate()


def redis_init_app(app: Flask) -> None:
    """One connection pool per app; the feed path does a single round trip on it."""
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]
