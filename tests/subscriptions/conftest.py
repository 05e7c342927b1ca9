from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.fixtures.processes import wait_for_idle_worker
from tests.mail.smtp import smtp_server  # noqa: F401 (the fixture)


@pytest.fixture(autouse=True)
def _isolated(clean_app: Flask, celery_worker: Any) -> Iterator[None]:
    """No queued mail work carries over from one test to the next.

    Sign-ups queue confirmation tasks and publishing queues events; the session's worker runs
    them before the tables are emptied, instead of during a later test.
    """
    yield
    wait_for_idle_worker(clean_app)
