"""Fixtures for outbound HTTP: a loopback receiver, and the session app's outbound settings
changed for one test (the session worker shares the app, so it sees them too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from tests.outbound.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture
def outbound_settings(clean_app: Flask) -> Iterator[Callable[..., None]]:
    original = clean_app.config["SETTINGS"]

    def change(**changes: Any) -> None:
        clean_app.config["SETTINGS"] = replace(original, **changes)

    yield change
    clean_app.config["SETTINGS"] = original
