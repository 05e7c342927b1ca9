"""WebSub fixtures: loopback receivers (subscribers' callbacks) and a subscribe helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

TOPIC = "http://newsroom.test/feeds/atom.xml"


@pytest.fixture
def hub_request(ctx: Flask) -> Callable[..., int]:
    """Factory: a recorded request as the hub endpoint leaves it, with no verification task
    queued, so a test calls ``verification.verify`` itself, in its own order."""
    from service.database import db
    from service.websub.models import HubRequest

    def make(mode: str, callback: str, topic: str = TOPIC, secret: str | None = None,
             lease_seconds: int = 600, scope: str = "all", fmt: str = "atom") -> int:
        row = HubRequest(mode=mode, topic=topic, scope=scope, fmt=fmt, callback=callback,
                         secret=secret, lease_seconds=lease_seconds if mode == "subscribe" else 0)
        db.session.add(row)
        db.session.commit()
        return row.id

    return make


@pytest.fixture
def hub_post(client: FlaskClient) -> Callable[..., Any]:
    """POST form fields to the hub; ``hub.`` is added to each name."""

    def post(**fields: str) -> Any:
        return client.post("/websub", data={f"hub.{k}": v for k, v in fields.items()})

    return post
