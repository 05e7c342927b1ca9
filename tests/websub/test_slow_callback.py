"""One slow callback never delays the others, on the pusher as docker-compose.yml runs it.

The pusher is a prefork worker: a batch waiting on a callback that holds its POST open holds
one child, and the next change's batch goes to another. Here a real worker with the compose
pusher's pool and concurrency delivers two publishes to a fast subscriber, each within
seconds, while a slow subscriber of the same topic still holds the first POST open.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from flask import Flask

from service.config import PROJECT_ROOT
from service.database import db
from service.websub import verification
from service.websub.models import HubRequest
from tests import factories
from tests.fixtures.processes import worker_env, worker_process
from tests.fixtures.services import PrivateRedis
from tests.outbound.receiver import Receiver
from tests.waiting import wait_for
from tests.websub.conftest import TOPIC

HOLD = 20  # seconds the slow callback keeps a POST open (below OUTBOUND_TIMEOUT)


def _pusher() -> tuple[str, int]:
    """The compose pusher's pool and concurrency."""
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    command = [str(part) for part in services["pusher"]["command"]]
    flags = dict(zip(command, command[1:], strict=False))
    return flags.get("--pool", "prefork"), int(flags.get("--concurrency", "1"))


def _subscribe(app: Flask, callback: str) -> str:
    with app.app_context():
        row = HubRequest(mode="subscribe", topic=TOPIC, scope="all", fmt="atom",
                         callback=callback, lease_seconds=3600)
        db.session.add(row)
        db.session.commit()
        outcome = verification.verify(row.id)
        db.session.remove()
    return outcome


def test_the_pusher_runs_more_than_one_batch_at_once() -> None:
    pool, concurrency = _pusher()
    assert pool in {"prefork", "threads"} and concurrency >= 2


@pytest.mark.slow
def test_a_slow_callback_never_delays_the_others(
    private_app: Flask, private_redis: PrivateRedis, receiver: Receiver, database_url: str,
    tmp_path: Path,
) -> None:
    slow = Receiver().start()
    try:
        assert _subscribe(private_app, receiver.url("/fast")) == "verified"
        assert _subscribe(private_app, slow.url("/slow")) == "verified"
        slow.behaviour.delay = HOLD
        pool, concurrency = _pusher()
        env = worker_env(database_url, private_redis.url, tmp_path,
                         OUTBOUND_TIMEOUT=str(HOLD + 10))
        celery = private_app.extensions["celery"]
        with worker_process(env, pool=pool, concurrency=concurrency):
            wait_for(lambda: celery.control.ping(timeout=0.5), timeout=60, interval=0.5)
            started = time.monotonic()
            for number, title in enumerate(("First of two", "Second of two"), start=1):
                factories.announcement(private_app, title=title)
                post = receiver.wait_posts(number, timeout=10)[-1]
                assert title.encode() in post.body
            assert time.monotonic() - started < HOLD / 2  # not after the slow one's answer
            assert len(slow.posts()) == 1  # still holding the first POST open
            assert b"First of two" in slow.posts()[0].body
    finally:
        slow.stop()
