"""The long-lived processes' heap: what was loaded at start-up is frozen out of the collector.

A worker or web process imports SQLAlchemy, Celery, lxml, feedgen, Jinja and the app's
templates, some hundreds of thousands of objects that live as long as the process. CPython's
full (generation 2) collection walks every tracked object, so on this heap each one paused
the process for 100-140 ms (measured with ``gc.callbacks`` on a worker under the WebSub
benchmark: two or three such pauses in 20 seconds of publishing, and they were the p99 of
publish -> POST). ``gc.freeze()`` moves what exists at that moment to a permanent
generation the collector never scans (the remedy CPython documents for pre-fork servers,
where it also keeps the pages shared with the parent); later collections walk only what the
process made since. Start-up garbage is collected first, so nothing unreachable is kept.
"""

from __future__ import annotations

import gc

from flask import Flask
from sqlalchemy.orm import configure_mappers


def freeze_start_up_heap(app: Flask | None = None) -> int:
    """Collect, then freeze every object now tracked; returns how many are frozen.

    ``app``: a Flask app whose lazily made parts (the ORM's mapper configuration, the Jinja
    environment and its compiled templates) are made first, so they are frozen too rather
    than made by the first request or task and walked by every full collection after it."""
    configure_mappers()
    if app is not None:
        env = app.jinja_env
        for name in env.list_templates(extensions=("html", "txt", "xml")):
            env.get_template(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
