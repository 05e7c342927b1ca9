"""End to end with a subscriber we did not write: flask-websub's (PyPI), on loopback.

Our app and the subscriber each run in a real HTTP server (werkzeug) on 127.0.0.1. The
subscriber discovers hub and topic from /feeds/atom.xml with its own ``discover``, subscribes
with a secret, verifies the challenge with its own code, and checks our X-Hub-Signature
itself (its listeners only hear bodies whose signature is valid).

Two adjustments, both outside the protocol: the feed names ``http://newsroom.test`` (the
tests' BASE_URL), which no resolver knows, so the hub URL it discovered is pointed at the
loopback server that serves it; and flask-websub sends a secret only to https hubs (the spec's
advice), so its ``is_secure`` check is told this loopback hub counts as secure.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_websub.subscriber as websub_subscriber
import pytest
from flask import Flask
from flask_websub.subscriber import (
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
    discover,
)
from werkzeug.serving import make_server

from tests import factories
from tests.waiting import wait_for


@pytest.fixture
def served(clean_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, clean_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_flask_websub_subscriber(clean_app: Flask, celery_worker: Any, served: str,
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(websub_subscriber, "is_secure", lambda url: True)
    factories.announcement(clean_app, title="First light")
    wait_for(lambda: b"First light" in __import__("httpx").get(
        f"{served}/feeds/atom.xml").content)

    sub_app = Flask("subscriber")
    subscriber = Subscriber(SQLite3SubscriberStorage(str(tmp_path / "s.db")),
                            SQLite3TempSubscriberStorage(str(tmp_path / "t.db")))
    sub_app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
    received: list[bytes] = []
    verified: list[str] = []
    subscriber.add_listener(lambda topic, callback_id, body: received.append(body))
    subscriber.add_success_handler(lambda topic, callback_id, mode: verified.append(mode))
    server = make_server("127.0.0.1", 0, sub_app, threaded=True)
    sub_app.config["SERVER_NAME"] = f"127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        found = discover(f"{served}/feeds/atom.xml")
        assert found == {"hub_url": "http://newsroom.test/websub",
                         "topic_url": "http://newsroom.test/feeds/atom.xml"}
        with sub_app.app_context():
            subscriber.subscribe(topic_url=found["topic_url"],
                                 hub_url=found["hub_url"].replace("http://newsroom.test",
                                                                  served),
                                 secret="third-party secret", lease_seconds=3600)
        wait_for(lambda: verified == ["subscribe"], timeout=10)
        factories.announcement(clean_app, title="Second light")
        wait_for(lambda: any(b"Second light" in body for body in received), timeout=5)
    finally:
        server.shutdown()
