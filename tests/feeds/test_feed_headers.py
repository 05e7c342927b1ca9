"""Security headers on feed responses, whichever layer answers: the WSGI fast path (200, 304,
HEAD) and the Flask view (a feed built on demand), in development and in production (HSTS)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from service import create_app, security
from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.outbox.models import OutboxEvent
from tests.fixtures.app import make_settings

FEEDS = ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json",
         "/feeds/tags/observatory/atom.xml", "/feeds/partners/esa/feed.json"]


@pytest.fixture
def published(ctx: Flask) -> Flask:
    publishing.create(title="Headers everywhere", tags=["observatory"], partners=["esa"],
                      status=Status.PUBLISHED)
    db.session.execute(sa.update(OutboxEvent).values(processed_at=utcnow()))
    db.session.commit()
    return ctx


@pytest.fixture
def production_app(published: Flask, database_url: str, redis_url: str, tmp_path: Path
                   ) -> Iterator[Flask]:
    settings = replace(make_settings(tmp_path, database_url, redis_url), env="production")
    app = create_app(settings, TESTING=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def _forget_built_feeds(app: Flask) -> None:
    conn = app.extensions["redis"]
    keys = list(conn.scan_iter("newsroom:feed:*"))
    if keys:
        conn.delete(*keys)


def _assert_feed_headers(headers: Headers, production: bool) -> None:
    assert headers.getlist("Content-Security-Policy") == [
        security.DOCUMENT_CONTENT_SECURITY_POLICY]
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]
    if production:
        assert headers.getlist("Strict-Transport-Security") == [security.HSTS]
    else:
        assert "Strict-Transport-Security" not in headers


def _check_every_layer(app: Flask, client: FlaskClient, production: bool) -> None:
    for path in FEEDS:
        _forget_built_feeds(app)
        on_demand = client.get(path)  # the Flask view builds it
        assert on_demand.status_code == 200, path
        _assert_feed_headers(on_demand.headers, production)
        etag = on_demand.headers["ETag"]
        _forget_built_feeds(app)
        flask_304 = client.get(path, headers={"If-None-Match": etag})
        assert flask_304.status_code == 304
        _assert_feed_headers(flask_304.headers, production)
        fast = client.get(path)  # built now: the WSGI layer answers
        assert fast.status_code == 200 and fast.headers["ETag"] == etag
        _assert_feed_headers(fast.headers, production)
        fast_304 = client.get(path, headers={"If-None-Match": etag})
        assert fast_304.status_code == 304
        _assert_feed_headers(fast_304.headers, production)
        head = client.head(path)
        assert head.status_code == 200
        _assert_feed_headers(head.headers, production)


def test_feed_security_headers(published: Flask, client: FlaskClient) -> None:
    _check_every_layer(published, client, production=False)


def test_feed_security_headers_in_production(production_app: Flask) -> None:
    _check_every_layer(production_app, production_app.test_client(), production=True)


def test_the_feed_policy_runs_and_loads_nothing() -> None:
    directives = dict((d.strip().split(" ", 1) + [""])[:2]
                      for d in security.DOCUMENT_CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "sandbox" in directives
