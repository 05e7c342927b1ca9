"""Webhook fixtures: a loopback receiver, editors by role, and registering an endpoint.

Signatures are checked with the ``standardwebhooks`` package from PyPI (the specification's
own reference library), never with our code: a test passing means a stranger's receiver
would accept our messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook

from tests.factories import EditorInfo
from tests.outbound.receiver import Received

ALL_EVENTS = ["announcement.published", "announcement.updated", "announcement.retracted",
              "announcement.scheduled"]


@pytest.fixture
def register(client: FlaskClient, admin: EditorInfo) -> Callable[..., dict[str, Any]]:
    """POST /api/v1/webhooks as an admin; the created endpoint (with its secret)."""

    def make(url: str, events: list[str] | None = None, description: str = "") -> dict[str, Any]:
        answer = client.post("/api/v1/webhooks", headers=admin.auth, json={
            "url": url, "events": events or ALL_EVENTS, "description": description})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    return make


def verified(secret: str, post: Received) -> Any:
    """The payload, if the reference library accepts the signature (else it raises)."""
    return Webhook(secret).verify(post.body, post.headers)


@pytest.fixture
def no_worker_leftovers(clean_app: Flask) -> Iterator[None]:
    """Let the session worker finish what a test queued before tables are emptied."""
    from tests.fixtures.processes import wait_for_idle_worker

    yield
    wait_for_idle_worker(clean_app)
