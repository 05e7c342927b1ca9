"""Counting the SQL statements a request runs: how the tests prove a page has no N+1 queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.database import db


@contextmanager
def count_statements(app: Flask) -> Iterator[list[str]]:
    """Collect the statements this thread sends on the app's engine inside the ``with`` block.

    Only this thread's: the session's Celery worker shares the engine and may be rebuilding
    feeds at the same moment.
    """
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    me = threading.get_ident()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() != me:
            return
        if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
