"""`flask --app service dev` (what `make dev` runs) as real processes on embedded defaults:
stopped by a hang-up, restarted after a SIGKILL without reusing leftovers, an editor's work
and the dev credentials kept across restarts, a busy port refused before anything starts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.waiting import wait_for

FLASK = str(Path(sys.executable).parent / "flask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


class DevRun:
    """One `flask --app service dev` in a session of its own, as a terminal would run it."""

    def __init__(self, var_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "DATABASE_URL", "SMTP_URL", "BASE_URL", "PORT")}
        env.update(NEWSROOM_ENV="development", NEWSROOM_VAR_DIR=str(var_dir),
                   SECRET_KEY="dev-test-secret-" + "x" * 32, PYTHONUNBUFFERED="1",
                   PORT=str(port))
        self.var_dir, self.port = var_dir, port
        self.proc = subprocess.Popen([FLASK, "--app", "service", "dev"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # EOF once every process holding the pipe has ended
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_running(self) -> None:
        wait_for(lambda: "Ctrl-C stops everything." in self.output or self.proc.poll() is not None,
                 timeout=120)
        assert "Ctrl-C stops everything." in self.output, self.output

    def state(self) -> dict[str, object]:
        return dict(json.loads((self.var_dir / "dev.json").read_text()))

    def pids(self) -> list[int]:
        state = self.state()
        children = state["children"]
        assert isinstance(children, dict)
        return [*children.values(), int(str(state["redis"]))]

    def value(self, label: str) -> str:
        for number, line in enumerate(self.lines):
            if label == "password" and "password:" in line:
                return line.split("password:", 1)[1].split()[0]
            if label == "token" and line.startswith("  API token (Authorization"):
                return self.lines[number + 1].strip()
        raise AssertionError(f"no {label} in:\n{self.output}")

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # Whatever a failed test left: no process outlives it.
    state = tmp_path / "dev.json"
    if state.exists():
        data = json.loads(state.read_text())
        for pid in [data["parent"], *data["children"].values()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    pid_file = tmp_path / "redis" / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _redis_answers(var_dir: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(var_dir / "redis" / "redis.sock"),
                                socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@pytest.mark.slow
@pytest.mark.timeout(480)  # three full starts, on a loaded machine
def test_hang_up_kill_and_restart_keep_work_and_stop_everything(var_dir: Path) -> None:
    port = _free_port()
    first = DevRun(var_dir, port)
    first.wait_running()
    assert "content: " in first.output and " created" in first.output
    password, token = first.value("password"), first.value("token")
    pids = first.pids()
    assert all(_alive(pid) for pid in pids)
    # Beat ticks every 2 s: its log (and the worker's per task) must not scroll the
    # credentials away.
    time.sleep(5)
    tail = "\n".join(first.lines[first.lines.index("  Ctrl-C stops everything."):])
    assert "Sending due task" not in tail and "succeeded in" not in tail, tail

    # An editor changes a seed item while it runs.
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                       headers={"Authorization": f"Bearer {token}"})
    items = api.get("/api/v1/announcements").json()["items"]
    seed = items[0]
    changed = api.patch(f"/api/v1/announcements/{seed['id']}",
                        json={"title": "Edited by an editor"})
    assert changed.status_code == 200, changed.text

    # The terminal closes: SIGHUP to the foreground process group.
    os.killpg(first.proc.pid, signal.SIGHUP)
    first.finish()
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=30)
    assert not _redis_answers(var_dir)
    assert not (var_dir / "dev.json").exists()

    second = DevRun(var_dir, port)
    second.wait_running()
    assert "already in the database, left as they are" in second.output
    assert "0 created" in second.output
    assert second.value("password") == password and second.value("token") == token
    assert "a previous make dev did not stop cleanly" not in second.output
    with sqlite3.connect(var_dir / "newsroom.sqlite3") as conn:
        assert conn.execute("SELECT title FROM announcements WHERE id = ?",
                            (seed["id"],)).fetchone() == ("Edited by an editor",)
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone() == (1,)
        assert conn.execute("SELECT session_epoch FROM editors").fetchone() == (0,)
    assert api.get("/api/v1/announcements?status=draft").status_code == 200  # token still good
    api.close()

    # Killed outright: nothing can stop the children then; the next start must.
    left = second.pids()
    os.kill(second.proc.pid, signal.SIGKILL)
    second.finish()
    assert all(_alive(pid) for pid in left)
    third = DevRun(var_dir, port)
    third.wait_running()
    assert "a previous make dev did not stop cleanly; stopped what it left: " in third.output
    assert "worker (pid" in third.output and "embedded Redis (pid" in third.output
    assert not any(_alive(pid) for pid in left)
    new = third.pids()
    assert all(_alive(pid) for pid in new) and not set(new) & set(left)

    # A second dev on the same var/ while one runs: refused, the running one untouched.
    fourth = DevRun(var_dir, _free_port())
    assert fourth.finish() != 0
    assert "make dev is already running" in fourth.output
    assert all(_alive(pid) for pid in new)

    os.killpg(third.proc.pid, signal.SIGINT)  # Ctrl-C
    assert third.finish() == 0
    wait_for(lambda: not any(_alive(pid) for pid in new), timeout=30)
    assert not _redis_answers(var_dir)


@pytest.mark.slow
def test_a_busy_port_stops_start_up_with_one_line(var_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = DevRun(var_dir, port)
        assert run.finish() != 0
    problems = [line for line in run.lines if "Error" in line or "port" in line]
    assert problems == [f"Error: port {port} is in use by another program: stop it, or choose "
                        f"another port (make dev PORT={port + 1})"], run.output
    assert "running at" not in run.output
    assert not (var_dir / "dev.json").exists()
    assert not (var_dir / "newsroom.sqlite3").exists()  # nothing started, nothing migrated
    assert not _redis_answers(var_dir)
