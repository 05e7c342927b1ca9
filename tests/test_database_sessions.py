"""Each PostgreSQL session runs in UTC (``database._postgres_sessions_in_utc``), whatever the
server's own zone, so times load as ``timezone.utc`` with nothing to convert."""

from __future__ import annotations

from datetime import UTC

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db


def test_a_postgresql_session_is_in_utc_and_loads_utc_times(ctx: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no session time zone")
    with db.engine.connect() as conn:
        conn.execute(sa.text("SET LOCAL TIME ZONE 'Asia/Tokyo'"))  # this transaction only
        assert conn.scalar(sa.text("SHOW TIME ZONE")) == "Asia/Tokyo"
    with db.engine.connect() as conn:  # the pooled connection, back in its own zone
        assert conn.scalar(sa.text("SHOW TIME ZONE")) == "UTC"
        now = conn.scalar(sa.select(sa.func.now()))
    assert now is not None and now.tzinfo is UTC
