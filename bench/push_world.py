"""What the push benchmarks (``websub.py``, ``webhooks.py``) share: a receiver process on
127.0.0.1 that reports each POST's arrival, the environment and the workers they run (the
compose file's ``worker`` and ``pusher``), and a publish made with the domain calls the API's
view makes.

The receiver is a threaded http.server in a process of its own, answering 204 and putting
``(path, highest "bench-N-" mark in the body, CLOCK_MONOTONIC arrival time)`` on a queue for
the benchmark process (both processes read the same monotonic clock).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "http://newsroom.bench"
SECRET = "bench-secret-key-" + "x" * 32
THREADS = 16
MARK = re.compile(rb"bench-(\d+)-")
Arrival = tuple[str, int, float]  # path, highest publish number in the body, time
APP_SETTINGS = ("NEWSROOM_ENV", "NEWSROOM_VAR_DIR", "DATABASE_URL", "REDIS_URL", "BASE_URL",
                "SECRET_KEY", "OUTBOUND_ALLOW_PRIVATE", "OUTBOUND_PER_DESTINATION")


def _receive(port: int, arrivals: Any) -> None:
    """The receivers' side (its own process): 204 to every POST, its arrival reported."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.monotonic()
            marks = [int(n) for n in MARK.findall(body)]
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrivals.put((self.path, max(marks, default=-1), at))

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # listen()'s backlog: read when binding, so set on the class

    Server(("127.0.0.1", port), Handler).serve_forever()


class Receiver:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = harness.free_port()
        self.arrivals: Any = ctx.Queue()
        self.process = ctx.Process(target=_receive, args=(self.port, self.arrivals), daemon=True)
        self.process.start()
        harness.wait(lambda: harness.answers(self.port), 10, "the receiver")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def take(self, count: int, timeout: float) -> list[Arrival]:
        got: list[Arrival] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            try:
                got.append(self.arrivals.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                raise SystemExit(f"{count - len(got)} of {count} POSTs not received") from None
        return got

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


def environment(database_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    """The worker's environment, also copied into this process for its own app. All
    receivers share one host:port, so the per-host cap is at its maximum (100): it would
    otherwise hold 4 in flight, its purpose for a real host, not a measure of throughput."""
    env = dict(os.environ, NEWSROOM_ENV="production", NEWSROOM_VAR_DIR=str(workdir),
               DATABASE_URL=database_url, REDIS_URL=redis_url, BASE_URL=BASE_URL,
               SECRET_KEY=SECRET, OUTBOUND_ALLOW_PRIVATE="1", OUTBOUND_PER_DESTINATION="100",
               PYTHONUNBUFFERED="1")
    os.environ.update({k: env[k] for k in APP_SETTINGS})
    return env


COMPOSE_FILE = ROOT / "docker-compose.yml"
ROLES = ("worker", "pusher")  # events and feed builds; push (WebSub, webhooks)


def compose_commands(one_worker: bool = False) -> dict[str, list[str]]:
    """The ``worker`` and ``pusher`` commands of docker-compose.yml, so the benchmark runs
    the roles as they are deployed (their pools, concurrency and queues). ``one_worker``
    (the benchmarks' ``--one-worker``, for the issue's "with one worker"): the pusher's
    command taking both roles' queues, a single Celery worker, the smallest deployment."""
    import yaml  # PyYAML comes with python-frontmatter

    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    commands = {role: [str(part) for part in services[role]["command"]] for role in ROLES}
    for role, command in commands.items():
        if command[:4] != ["celery", "-A", "workers", "worker"] or "-Q" not in command:
            raise RuntimeError(f"docker-compose.yml: {role} is not a celery worker of one "
                               f"queue list: {command}")
    if not one_worker:
        return commands
    queues = ",".join(command[command.index("-Q") + 1] for command in commands.values())
    pusher = commands["pusher"]
    at = pusher.index("-Q") + 1
    return {"worker": [*pusher[:at], queues, *pusher[at + 1:]]}


def describe_roles(one_worker: bool = False) -> str:
    """The roles as the report names them: ``worker -Q celery --concurrency 3, ...``."""
    return ", ".join(
        f"{role} " + " ".join(part for part in command[4:] if not part.startswith("--log"))
        for role, command in compose_commands(one_worker).items())


def start_workers(env: dict[str, str], workdir: Path, one_worker: bool = False
                  ) -> list[subprocess.Popen[bytes]]:
    """The compose file's ``worker`` and ``pusher``, one of each. To trace a run:
    ``BENCH_LOGLEVEL=INFO`` logs every task received and finished (with times), to
    ``BENCH_WORKER_LOG`` (default: ``worker.log`` in the scratch directory, removed after)."""
    loglevel = os.environ.get("BENCH_LOGLEVEL", "WARNING")
    log = open(os.environ.get("BENCH_WORKER_LOG", workdir / "worker.log"), "ab")  # noqa: SIM115
    started = []
    for role, command in compose_commands(one_worker).items():
        argv = [sys.executable, "-m", *(part for part in command
                                        if not part.startswith("--loglevel")),
                f"--loglevel={loglevel}", "--without-mingle", "--without-gossip",
                f"--hostname={role}@%h"]
        started.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=log))
    return started


@contextlib.contextmanager
def running(label: str, use_sqlite: bool, one_worker: bool = False
            ) -> Iterator[tuple[Any, Receiver, str]]:
    """The whole world of a push benchmark, started and (whatever happens) torn down: a
    scratch directory, a private redis-server, the receiver, a fresh database, migrated, and
    the compose file's worker and pusher answering pings. Yields
    ``(app, receiver, database_url)``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    redis_server = harness.Redis(workdir)
    receiver = Receiver()
    database_url, db_name = harness.database(use_sqlite, workdir, label)
    env = environment(database_url, redis_server.url, workdir)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        from flask_migrate import upgrade

        from service import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        workers = start_workers(env, workdir, one_worker)
        celery = app.extensions["celery"]
        harness.wait(lambda: len(celery.control.ping(timeout=0.5)) == len(workers), 60,
                     "the workers", 0.5)
        yield app, receiver, database_url
    finally:
        for worker in workers:
            stop_worker(worker)
        receiver.stop()
        redis_server.stop()
        harness.drop_database(db_name)
        shutil.rmtree(workdir, ignore_errors=True)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        worker.kill()


def publish(app: Any, number: int, tags: list[str] | None = None) -> float:
    """One announcement, as the API's create view makes it; the time just before."""
    from service.announcements import publishing
    from service.announcements.models import Status
    from service.database import db

    with app.app_context():
        started = time.monotonic()
        publishing.create(title=f"bench-{number}-{uuid.uuid4().hex[:8]}", tags=tags or [],
                          body=f"Benchmark announcement bench-{number}-.",
                          status=Status.PUBLISHED)
        db.session.commit()  # dispatch goes to the broker after the commit
        db.session.remove()
    return started


def latency(app: Any, receiver: Receiver, receivers: int, publishes: int,
            first_number: int) -> dict[str, float]:
    """Publish ``publishes`` times, one after another, each waiting for all ``receivers``
    POSTs (so no document supersedes another); publish -> arrival times in ms."""
    each: list[float] = []
    last: list[float] = []
    for number in range(first_number, first_number + publishes):
        started = publish(app, number)
        got = receiver.take(receivers, timeout=30)
        stale = [a for a in got if a[1] != number]
        if stale:
            raise SystemExit(f"publish {number}: {len(stale)} POSTs of another document")
        times = [(at - started) * 1000 for _, _, at in got]
        each.extend(times)
        last.append(max(times))
        if os.environ.get("BENCH_VERBOSE"):
            print(f"publish {number}: first {min(times):.0f} ms, last {max(times):.0f} ms")
    pct = harness.percentile
    return {"p50": pct(each, 50), "p99": pct(each, 99), "max": max(each),
            "last_p50": pct(last, 50), "last_p99": pct(last, 99), "n": len(each)}
