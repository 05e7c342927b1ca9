"""Pooled PostgreSQL connections are pinged only after idling (``database.ping_when_idle``).

On a real server: a connection's backend is ended from another connection, as a server
restart or an idle-timeout proxy would, while the connection waits in the pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from service.database import ping_when_idle
from tests.fixtures.services import POSTGRES_ADMIN_URL, _postgres_reachable

pytestmark = pytest.mark.skipif(not _postgres_reachable(), reason="no PostgreSQL")


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                              pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT pg_backend_pid()")))


def _end(pid: int) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)  # the backend is gone before the pool hands its connection out again


def test_a_connection_that_idled_is_checked_and_replaced_before_use(engine: sa.Engine) -> None:
    ping_when_idle(engine, idle=0.1)
    first = _backend(engine)
    _end(first)  # it idles in the pool past 0.1 s meanwhile
    assert _backend(engine) != first  # a new connection, and no error on the way


def test_a_connection_returned_a_moment_ago_is_handed_out_without_a_ping(
        engine: sa.Engine) -> None:
    """The trade (documented): no round trip for a connection just used; if the server
    dropped it in between, its first statement fails and the pool is renewed."""
    ping_when_idle(engine, idle=60)
    first = _backend(engine)
    _end(first)
    with pytest.raises(sa.exc.OperationalError):  # handed out unchecked
        _backend(engine)
    assert _backend(engine) != first  # the pool renewed itself after the disconnect
