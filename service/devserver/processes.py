"""The processes of ``make dev``: started each in a session of its own, recorded in a state
file while they run, stopped together; and what a previous run left behind, found and stopped.

Children get their own sessions so a terminal's hang-up or Ctrl-C reaches only the dev command,
which then stops each child's whole process group (a prefork worker's pool included) itself.
The state file (``var/dev.json``) exists only while a run is up: found at start-up, it names the
processes of a run that did not end cleanly (killed with SIGKILL, a crash).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from service import embedded_redis

STATE_FILE = "dev.json"
_STOP_SECONDS = 15.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command_line(pid: int) -> str:
    """The command line of ``pid`` ('' when unknown), to tell a reused pid from ours."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def _ours(pid: int, marker: str) -> bool:
    if not _alive(pid):
        return False
    if not Path("/proc").is_dir():
        return True  # no way to check on this system: trust the recorded pid
    return marker in _command_line(pid)


def stop_groups(pids: list[int], timeout: float = _STOP_SECONDS) -> None:
    """SIGTERM the process groups ``pids`` lead, then SIGKILL what is left after ``timeout``."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_group_alive(pid) for pid in pids) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap our own children as they end
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc").is_dir():
        return True
    # A zombie leader still counts for killpg: look for a member that is not one.
    for status in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


@dataclass
class DevState:
    """What runs now: the dev command's pid, each child's pid, the embedded Redis' pid."""

    path: Path
    parent: int = field(default_factory=os.getpid)
    children: dict[str, int] = field(default_factory=dict)
    redis: int | None = None

    def save(self) -> None:
        data = {"parent": self.parent, "children": self.children, "redis": self.redis}
        self.path.write_text(json.dumps(data))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> DevState | None:
        try:
            data = json.loads(path.read_text())
            return cls(path, int(data["parent"]), {str(k): int(v) for k, v in
                                                   data["children"].items()},
                       int(data["redis"]) if data.get("redis") else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


class AlreadyRunning(Exception):
    """Another ``make dev`` is up on this var directory."""


def stop_leftovers(var_dir: Path) -> list[str]:
    """Stop what a run that did not end cleanly left; return one phrase per process stopped.

    Raises ``AlreadyRunning`` when that run's dev command itself is still alive.
    """
    previous = DevState.load(var_dir / STATE_FILE)
    if previous is None:
        return []
    if (previous.parent != os.getpid() and _ours(previous.parent, "flask")
            and "dev" in _command_line(previous.parent).split()):
        raise AlreadyRunning(f"make dev is already running (pid {previous.parent}) on "
                             f"{var_dir}: stop it first")
    found = {name: pid for name, pid in previous.children.items()
             if _ours(pid, "flask" if name == "web" else "celery")}
    stop_groups(list(found.values()))
    stopped = [f"{name} (pid {pid})" for name, pid in found.items()]
    if previous.redis and _ours(previous.redis, "redis"):
        # Web, worker and beat would reuse it as it is: start a fresh one on the same data.
        embedded_redis.stop(var_dir)
        embedded_redis.ensure_running(var_dir)
        stopped.append(f"embedded Redis (pid {previous.redis}; started again)")
    previous.remove()
    return stopped


def embedded_redis_pid(var_dir: Path) -> int | None:
    try:
        return int((var_dir / "redis" / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def port_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why web could not listen on ``port`` (None when it can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} is in use by another program: stop it, or choose "
                        f"another port (make dev PORT={port + 1})")
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def start(commands: dict[str, list[str]], env: dict[str, str]
          ) -> dict[str, subprocess.Popen[bytes]]:
    return {name: subprocess.Popen(cmd, env=env, start_new_session=True)  # noqa: S603
            for name, cmd in commands.items()}


def wait_until_listening(port: int, web: subprocess.Popen[bytes], timeout: float = 60.0
                         ) -> bool:
    """True once something answers on ``port``; False if web exited or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False
