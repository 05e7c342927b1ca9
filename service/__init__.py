"""Newsroom: the web application (API, editor UI, public pages, feed serving).

``create_app`` is the only place an app is built; gunicorn calls ``service:create_app()``,
``flask --app service`` finds it, and ``celery -A workers`` builds one through it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import Flask

from service.config import PROJECT_ROOT, ConfigError, Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from ``settings`` (default: the environment) plus Flask config overrides."""
    settings = settings or load_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    redis_url = settings.redis_url or _embedded_redis_url(settings.var_dir)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        REDIS_URL=redis_url,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        BASE_URL=settings.base_url,
        FEED_SIZE=settings.feed_size,
        ARCHIVE_PAGE_SIZE=settings.archive_page_size or settings.feed_size,
        JSON_SORT_KEYS=False,
        RATELIMIT_STORAGE_URI=None,  # set below from REDIS_URL
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
    )
    from service.extensions import csrf, limiter, limiter_storage_uri, migrate, redis_init_app

    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(redis_url)
    app.config.update(overrides)

    import service.models  # noqa: F401 (the whole schema, for Alembic and relationships)
    from service.celery_app import celery_init_app
    from service.database import db, ping_when_idle

    db.init_app(app)
    if not settings.database_url.startswith("sqlite"):
        with app.app_context():
            ping_when_idle(db.engine)
    # Batch mode lets Alembic alter tables on SQLite too (it rebuilds them).
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    redis_init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    celery_init_app(app)
    _check_redis(app)

    from service import cli, request_guards, request_limits, security
    from service.api import bp as api_bp
    from service.editor.views import bp as editor_bp
    from service.feeds.views import bp as feeds_bp
    from service.health.views import bp as health_bp
    from service.media.views import bp as media_bp
    from service.public import findability  # noqa: F401 (sitemap, robots.txt, favicon)
    from service.public.views import bp as public_bp
    from service.subscriptions.views import bp as subscriptions_bp
    from service.url_numbers import BoundedIntConverter
    from service.websub.views import bp as websub_bp

    # Before any route is added: ``<int:...>`` stops at what an integer column holds.
    app.url_map.converters["int"] = BoundedIntConverter
    request_guards.init_app(app)  # before the extensions' own checks run on a request
    request_limits.init_app(app)  # before that: upload paths take larger bodies
    csrf.exempt(api_bp)  # bearer tokens, not cookies: no cross-site request can carry one
    app.register_blueprint(api_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(subscriptions_bp)
    csrf.exempt(websub_bp)  # subscribers POST form-encoded requests with no session
    app.register_blueprint(websub_bp)
    app.register_blueprint(editor_bp)
    security.init_app(app)
    cli.register(app)

    from service.feeds.serving import FeedServer
    from service.request_limits import ChunkedBodyLimit

    # A chunked body over MAX_CONTENT_LENGTH is a 413 too, not cut at the limit and accepted.
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, app.config)  # type: ignore[method-assign]

    # Built feeds are answered before Flask's request machinery: the hot path stays tiny.
    app.extensions["feed_server"] = FeedServer(
        app.extensions["redis"], app.wsgi_app, security.document_headers(settings.production))
    app.wsgi_app = app.extensions["feed_server"]  # type: ignore[method-assign]
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind nginx the socket peer is nginx: without this every reader would share one
        # per-client rate limit. Only as many hops as configured are believed (no spoofing).
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app


def _embedded_redis_url(var_dir: Path) -> str:
    from service import embedded_redis

    try:
        return embedded_redis.ensure_running(var_dir)
    except (OSError, RuntimeError) as exc:
        raise ConfigError(
            "REDIS_URL", f"unset, and the embedded redis would not start: {exc}"
        ) from None


def _engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Web, worker and beat share the file: wait for a lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    # No pool_pre_ping: database.ping_when_idle pings only connections that sat idle.
    return {"pool_size": 5, "max_overflow": 10}


def _check_redis(app: Flask) -> None:
    try:
        app.extensions["redis"].ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise ConfigError("REDIS_URL", f"cannot reach {app.config['REDIS_URL']}: {exc}") from None
