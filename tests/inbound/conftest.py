from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.fixtures.processes import wait_for_idle_worker
from tests.inbound.dovecot import dovecot  # noqa: F401 (the fixture)
from tests.mail.smtp import smtp_server  # noqa: F401 (the fixture)

BOUNCE_ADDRESS = "bounces@agency.example"


@pytest.fixture
def bounce_app(clean_app: Flask, celery_worker: Any) -> Iterator[Flask]:
    """The clean app sending with VERP envelope senders under ``BOUNCE_ADDRESS``."""
    clean_app.config["BOUNCE_ADDRESS"] = BOUNCE_ADDRESS
    yield clean_app
    wait_for_idle_worker(clean_app)
    clean_app.config.pop("BOUNCE_ADDRESS", None)
    clean_app.config.pop("INBOUND_IMAP_URL", None)
