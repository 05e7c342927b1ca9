"""Extensions created unbound and attached to the app in ``create_app``."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()  # every HTML form; the token-authenticated JSON API is exempted
# Limits live in Redis so they hold across gunicorn workers and hosts. Views add their own
# limits with ``@limiter.limit(...)``; there is no global default.
limiter = Limiter(get_remote_address, key_prefix="newsroom:rl", headers_enabled=True)


def limiter_storage_uri(redis_url: str) -> str:
    """The ``limits`` library spells a Unix-socket Redis ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        parts = urlsplit(redis_url)
        return f"redis+unix://{parts.path}" + (f"?{parts.query}" if parts.query else "")
    return redis_url


def redis_init_app(app: Flask) -> None:
    """One connection pool per app; the feed path does a single round trip on it."""
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]
