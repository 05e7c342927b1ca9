"""What the outbox tests read of the broker: the tasks a test handed to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import before_task_publish


@pytest.fixture
def published_messages() -> Iterator[list[str]]:
    """Names of the tasks this test's thread handed to the broker (Celery's own signal). The
    session's worker runs in this process too, on threads of its own: what it queues for
    events of earlier tests is not this test's."""
    sent: list[str] = []
    me = threading.get_ident()

    def receiver(sender: str | None = None, **_: Any) -> None:
        if threading.get_ident() == me:
            sent.append(str(sender))

    before_task_publish.connect(receiver, weak=False)
    yield sent
    before_task_publish.disconnect(receiver)
