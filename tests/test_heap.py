"""The long-lived processes' start-up heap is frozen out of the collector (``service.heap``)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from celery import signals
from flask import Flask

from service.heap import freeze_start_up_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the session keeps its usual collector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_what_exists_is_frozen_and_what_comes_after_is_still_collected(
        app: Flask, unfrozen: None) -> None:
    before = Cycle()
    frozen = freeze_start_up_heap(app)
    assert frozen > 1000
    assert gc.get_freeze_count() <= frozen  # frozen objects may still be freed, none added
    later = Cycle()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None  # garbage made after the freeze is still collected
    assert before.me is before


def test_templates_are_compiled_before_the_freeze(app: Flask, unfrozen: None) -> None:
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    freeze_start_up_heap(app)
    names = set(app.jinja_env.list_templates(extensions=("html", "txt", "xml")))
    assert names and len(app.jinja_env.cache) >= len(names)  # type: ignore[arg-type]


def test_a_worker_freezes_its_heap_once_ready(app: Flask, unfrozen: None) -> None:
    """The app connected the signal (``celery_app``); a threads worker fires it when ready."""
    assert gc.get_freeze_count() == 0
    signals.worker_ready.send(sender=None)
    assert gc.get_freeze_count() > 1000
