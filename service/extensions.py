"""Extensions created unbound and attached to the app in ``create_app``.

Redis down, by design (see README, Security):

- **Rate limits fall back to memory.** The limiter keeps its counters in Redis so they hold
  across gunicorn workers and hosts. When Redis cannot be reached, Flask-Limiter's in-memory
  fallback (``in_memory_fallback_enabled``) counts the very same limits in each process
  instead, and goes back to Redis once it answers again (checked with a growing back-off).
  So a limiter without its store neither locks everyone out (a 429 or 503 for every sign-in)
  nor lets everyone through unlimited: each process still allows only its limit, so the whole
  deployment at most (number of processes) x the limit. That covers every ``@limiter.limit``:
  sign-in per account and per client (``service.editor.views``), sign-up per client and per
  address (``service.subscriptions.ratelimits``).
- **Anything else that needs Redis is a 503, never a 500**: :func:`redis_init_app` registers
  one handler for Redis connection errors: ``Retry-After`` and a short "try again shortly",
  as RFC 9457 problem details under ``/api/`` and as the site's page elsewhere. Feeds answer
  their own 503 before Flask (``service.feeds.serving``); the dashboard shows what it can.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import redis
from flask import Flask, Response, current_app, make_response, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from service.wtf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()  # every HTML form; the token-authenticated JSON API is exempted
# Limits live in Redis so they hold across gunicorn workers and hosts; per process in memory
# while Redis is away (see the module docstring). Views add their own limits with
# ``@limiter.limit(...)``; there is no global default. Short socket timeouts: a hung Redis
# must cost a sign-in a second, not the request's whole budget.
limiter = Limiter(get_remote_address, key_prefix="newsroom:rl", headers_enabled=True,
                  in_memory_fallback_enabled=True,
                  storage_options={"socket_connect_timeout": 1, "socket_timeout": 1})

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER = "5"  # seconds: about what a Redis restart or failover takes
TRY_AGAIN = "The service is briefly unavailable (a component is restarting); try again shortly."


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
    for error in REDIS_DOWN:  # the API registers its own, answering /api/ as problem details
        app.register_error_handler(error, redis_down_page)


def redis_down_page(exc: Exception) -> Response:
    """A clear 503 with ``Retry-After`` instead of a 500 while Redis cannot be reached."""
    log.warning("Redis unreachable during %s %s: %s", request.method, request.path, exc)
    response = make_response(render_template("unavailable.html", message=TRY_AGAIN), 503)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def get_redis() -> redis.Redis:
    conn: redis.Redis = current_app.extensions["redis"]  # set by redis_init_app
    return conn
