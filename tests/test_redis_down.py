"""Redis stopped under a running app: feeds, sign-in, sign-up and the dashboard degrade (a
clear 503 with ``Retry-After``, or the page without its Redis figures) instead of a 500, and
the rate limits still hold, per process, from Flask-Limiter's in-memory fallback.

A private redis-server of the test's own (``private_redis``) is stopped; never the shared one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import security
from service.extensions import get_redis, limiter
from service.feeds import build
from tests import factories
from tests.fixtures.services import PrivateRedis
from tests.subscriptions.helpers import csrf_token


@pytest.fixture
def down_app(private_app: Flask, private_redis: PrivateRedis) -> Iterator[Flask]:
    """The private app, with two probe routes that need Redis, and its Redis stopped."""
    private_app.add_url_rule("/probe", "probe", lambda: str(get_redis().ping()))
    private_app.add_url_rule("/api/v1/probe", "api_probe", lambda: str(get_redis().ping()))
    factories.announcement(private_app, "Built before the outage")
    with private_app.app_context():
        build.rebuild(["all"])
    private_redis.stop()
    yield private_app
    # The limiter is one module-level object: leave it on Redis for the tests after this one.
    limiter._storage_dead = False
    if limiter._fallback_storage is not None:
        limiter._fallback_storage.reset()


def _login(client: FlaskClient, email: str, password: str) -> int:
    token = csrf_token(client.get("/editor/login").data)
    return client.post("/editor/login", data={"csrf_token": token, "email": email,
                                              "password": password}).status_code


@pytest.mark.parametrize("path", ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/tags/x/feed.json"])
def test_feeds_are_a_clear_503_with_retry_after(down_app: Flask, path: str) -> None:
    client = down_app.test_client()
    for response in (client.get(path), client.head(path)):
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.headers["Content-Security-Policy"] == \
            security.DOCUMENT_CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert b"try again" in client.get(path).data


def test_sign_in_works_and_stays_limited_per_account(down_app: Flask) -> None:
    alice = factories.editor(down_app)
    bob = factories.editor(down_app)
    client = down_app.test_client()
    assert _login(client, bob.email, factories.PASSWORD) == 302  # not locked out
    for n in range(5):  # ACCOUNT_LIMIT: 5 failures a minute, counted in memory now
        assert _login(down_app.test_client(), alice.email, "wrong") == 200, n
    assert _login(down_app.test_client(), alice.email, factories.PASSWORD) == 429
    # Signed in, the dashboard shows what it can, and its health line says Redis is down;
    # the pipeline page's Redis figures are "unavailable".
    page = client.get("/editor/")
    assert page.status_code == 200
    assert "Redis cannot be reached right now" in page.get_data(as_text=True)
    details = client.get("/editor/pipeline")
    assert details.status_code == 200
    text = details.get_data(as_text=True)
    assert "unavailable" in text and "Unavailable" in text


def test_sign_up_works_and_stays_limited_per_address(down_app: Flask) -> None:
    client = down_app.test_client()
    for n in range(5):
        response = client.post("/api/v1/subscriptions", json={"email": "box@example.org"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"})
        assert response.status_code == 202, n
    refused = client.post("/api/v1/subscriptions", json={"email": "box@example.org"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    token = csrf_token(client.get("/subscribe").data)
    form = client.post("/subscribe", data={"csrf_token": token, "email": "box@example.org",
                                           "frequency": "daily"})
    assert form.status_code == 429


def test_whatever_else_needs_redis_is_a_503_not_a_500(down_app: Flask) -> None:
    client = down_app.test_client()
    api = client.get("/api/v1/probe")
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 503 and "try again shortly" in api.get_json()["detail"]
    assert api.headers["Retry-After"].isdigit()
    page = client.get("/probe")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "Try again shortly" in page.get_data(as_text=True)
    assert page.headers["Retry-After"].isdigit()
    assert page.headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
