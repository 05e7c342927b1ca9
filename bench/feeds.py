"""Feed benchmark: publish -> visible-in-feed latency, and feed GET rates against a static file.

Builds its own world in a temporary directory (a fresh SQLite or PostgreSQL database, Redis
database 9 by default, feed files laid out as docker-compose.yml lays out its ``feeds``
volume), then starts the real processes: a Celery worker, gunicorn, and Debian's nginx with
``deploy/nginx.conf`` templated as the recipe at the top of that file says. A second server
block in the same nginx serves a copy of the same feed bytes as a plain static file: the
baseline every rate is divided by, measured in the same run, because the machine is shared
and noisy.

Phases:
1. latency: publish N announcements one after another (through the JSON API, or with the
   domain calls its view makes when the tree has no API) and poll /feeds/atom.xml through
   gunicorn and through the front door until each new item shows; publish -> visible time.
2. rates: wrk against the static file, the front door and gunicorn, each with and without
   ``If-None-Match``, for every gunicorn worker setup given.
3. load: wrk against the front door while a publish goes out every 200 ms; the front door's
   rate and the publish -> visible latency through it during the load.

Usage: ``python bench/feeds.py --help``; how to read the output: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip as gzip_module
import http.client
import itertools
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "feeds-latest.txt"
FEED_PATH = "/feeds/atom.xml"
STATIC_PATH = "/atom.xml"
# Announcement bodies come from the seed content, so feed items have a realistic size.
CONTENT_DIR = ROOT / "content"
TAG_CHOICES = ("partnerships", "launches", "science", "earth-observation", "education")
PARTNER_CHOICES = ("nasa", "esa", "roscosmos", "private-sector")
# gthread 2x4 is the Dockerfile's worker class on this machine's 2 cores; sync for comparison.
DEFAULT_GUNICORN = ("gthread:2x4", "sync:2")


# ----------------------------------------------------------------------------- options


@dataclass(frozen=True, repr=False)
class GunicornSetup:
    """One gunicorn worker setup: ``gthread:2x4`` (2 processes x 4 threads) or ``sync:4``."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> GunicornSetup:
        match = re.fullmatch(r"(gthread|sync):(\d+)(?:x(\d+))?", text.strip())
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected gthread:<workers>x<threads> or sync:<workers>"
            )
        kind, workers, threads = match.group(1), int(match.group(2)), match.group(3)
        if kind == "sync" and threads:
            raise argparse.ArgumentTypeError(f"{text!r}: sync workers have no threads")
        return cls(kind, workers, int(threads or (4 if kind == "gthread" else 1)))

    def __repr__(self) -> str:  # as given on the command line, for --help
        if self.worker_class == "gthread":
            return f"gthread:{self.workers}x{self.threads}"
        return f"sync:{self.workers}"

    @property
    def label(self) -> str:
        if self.worker_class == "gthread":
            return f"gthread {self.workers}x{self.threads}"
        return f"sync {self.workers}"

    def argv(self) -> list[str]:
        # gthread is the production image's class (the Dockerfile's CMD): gthread, plus
        # security headers on gunicorn's own errors and a frozen start-up heap.
        worker_class = ("service.gunicorn_worker.ThreadWorker" if self.worker_class == "gthread"
                        else self.worker_class)
        args = ["--worker-class", worker_class, "--workers", str(self.workers)]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Publish -> feed latency and feed request rates, against nginx serving the "
        "same bytes as a static file in the same run. See bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--publishes",
        type=int,
        default=200,
        help="announcements published one by one in the latency phase",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="repeat the rate phase; ratios are taken per round, medians shown",
    )
    parser.add_argument(
        "--gunicorn",
        type=GunicornSetup.parse,
        nargs="+",
        default=[GunicornSetup.parse(text) for text in DEFAULT_GUNICORN],
        metavar="SETUP",
        help="gunicorn setups to measure, e.g. gthread:2x4 sync:4; the first one serves the "
        "latency phase",
    )
    parser.add_argument(
        "--publish-via",
        choices=("auto", "api", "domain"),
        default="auto",
        help="publish through the JSON API (auto: when the tree has POST "
        "/api/v1/announcements), or with the same domain calls in this process",
    )
    parser.add_argument(
        "--load-interval",
        type=float,
        default=0.2,
        help="seconds between publishes during the front-door load run",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.005,
        help="seconds between feed polls while waiting for a publish",
    )
    parser.add_argument(
        "--visible-timeout",
        type=float,
        default=10.0,
        help="give up on one publish after this many seconds",
    )
    parser.add_argument(
        "--gzip",
        action="store_true",
        help="wrk sends Accept-Encoding: gzip, as feed readers do; the static baseline then "
        "serves a precompressed copy (gzip_static), the best nginx can do",
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgresql://postgres@127.0.0.1:5432/postgres",
        default=None,
        metavar="ADMIN_URL",
        help="use a fresh PostgreSQL database (created and dropped) instead of "
        "SQLite; ADMIN_URL is a database to connect to for CREATE DATABASE",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        help="Redis for the broker and the feed cache; only newsroom:* and "
        "Celery's keys in it are deleted, before and after",
    )
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where the report is saved as well as printed ('-' for nowhere)",
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=None, metavar="N",
        help="the Celery worker's --concurrency (default: the worker service's in "
             "docker-compose.yml)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 20 publishes, one round of 3-second wrk runs, one gunicorn setup",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.publishes, args.duration, args.rounds = 20, 3, 1
        args.gunicorn = args.gunicorn[:1]
    for name in ("publishes", "duration", "connections", "threads", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    for tool in (args.nginx, args.wrk):
        if not Path(tool).is_file():
            parser.error(f"{tool} not found: apt-get install -y nginx-light wrk")
    return args


# -------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Children:
    """Every process the benchmark starts, each in its own process group; all stopped at exit."""

    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, name: str, timeout: float = 15) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def wait_http(url_host: str, port: int, path: str, children: Children, timeout: float = 30) -> None:
    """Until ``path`` answers 200 (a child that dies meanwhile stops the wait with its log)."""
    deadline = time.monotonic() + timeout
    while True:
        children.check()
        try:
            conn = http.client.HTTPConnection(url_host, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"http://{url_host}:{port}{path} did not answer in {timeout}s")
        time.sleep(0.1)


def run_checked(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# ------------------------------------------------------------------------------ world


@dataclass(frozen=True)
class FeedPaths:
    """Where the worker writes feed files and where nginx reads them, as docker-compose.yml has
    it: each as a path inside the shared ``feeds`` volume ("." for the volume's top)."""

    worker_export_dir: str  # FEED_EXPORT_DIR in the worker's environment
    nginx_root: str  # the ``root`` on deploy/nginx.conf's KNOB 2 line
    worker: Path
    nginx: Path


@functools.cache
def compose_feed_paths() -> FeedPaths:
    import yaml  # PyYAML comes with python-frontmatter

    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    export_dir = services["worker"]["environment"]["FEED_EXPORT_DIR"]
    knob = re.search(r"^\s*root\s+(\S+);.*KNOB 2", NGINX_CONF.read_text(), re.MULTILINE)
    if knob is None:
        raise RuntimeError("deploy/nginx.conf: no `root ...;  # KNOB 2` line")

    def inside(service: str, path: str) -> Path:
        for volume in services[service].get("volumes", []):
            name, mount = volume.split(":")[:2]
            if name == "feeds" and (path == mount or path.startswith(mount.rstrip("/") + "/")):
                return Path(os.path.relpath(path, mount))
        raise RuntimeError(f"docker-compose.yml: {service} has no feeds volume holding {path}")

    return FeedPaths(
        export_dir, knob.group(1), inside("worker", export_dir), inside("nginx", knob.group(1))
    )


def compose_worker_concurrency() -> int:
    """The worker's ``--concurrency`` in docker-compose.yml, so the benchmark runs the worker
    as it is deployed."""
    import yaml

    command = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["worker"]["command"]
    for flag, value in zip(command, command[1:], strict=False):
        if flag == "--concurrency":
            return int(value)
    raise RuntimeError("docker-compose.yml: the worker's command has no --concurrency")


def worker_concurrency(args: argparse.Namespace) -> int:
    given: int | None = args.worker_concurrency
    return given if given is not None else compose_worker_concurrency()


@dataclass
class World:
    """The temporary directory, the environment every process shares, and the ports."""

    root: Path
    env: dict[str, str]
    app_port: int
    front_port: int
    static_port: int
    front_source: str = "?"  # "file" or "app": where the front door's feed answers come from

    @property
    def volume(self) -> Path:
        """Stands for the ``feeds`` volume that the worker and nginx share in compose."""
        return self.root / "feeds-volume"

    @property
    def export_dir(self) -> Path:
        return self.volume / compose_feed_paths().worker

    @property
    def nginx_root(self) -> Path:
        return self.volume / compose_feed_paths().nginx

    @property
    def static_dir(self) -> Path:
        return self.root / "static"


def make_world(root: Path, database_url: str, redis_url: str) -> World:
    app_port, front_port, static_port = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        NEWSROOM_ENV="development",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        NEWSROOM_VAR_DIR=str(root / "var"),
        FEED_EXPORT_DIR=str(root / "feeds-volume" / compose_feed_paths().worker),
        BASE_URL=f"http://127.0.0.1:{front_port}",
        PYTHONUNBUFFERED="1",
        # The tree this script sits in, also when another copy of it is installed editable.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.pop("SMTP_URL", None)
    return World(root, env, app_port, front_port, static_port)


def flask_cli(world: World, *args: str) -> str:
    return run_checked([sys.executable, "-m", "flask", "--app", "service", *args], world.env)


def prepare_database(world: World) -> None:
    flask_cli(world, "db", "upgrade")
    flask_cli(world, "content", "import")
    flask_cli(world, "feeds", "rebuild")


def check_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        raise SystemExit(
            f"no Redis at {redis_url} ({exc}): start one (apt-get install -y redis-server) "
            "or pass --redis-url"
        ) from None


def clean_redis(redis_url: str) -> int:
    """Delete this benchmark's keys: the app's ``newsroom:*`` and Celery's queue and bindings."""
    import redis

    conn = redis.Redis.from_url(redis_url)
    patterns = ("newsroom:*", "_kombu.binding*", "celery", "mail", "unacked*", "celery-task-meta-*")
    keys = [k for pattern in patterns for k in conn.scan_iter(match=pattern, count=1000)]
    if keys:
        conn.delete(*keys)
    conn.close()
    return len(keys)


@contextlib.contextmanager
def database(postgres_admin_url: str | None, root: Path) -> Iterator[str]:
    """A fresh database: a SQLite file under ``root``, or a PostgreSQL database dropped after."""
    if postgres_admin_url is None:
        yield f"sqlite:///{root / 'var' / 'bench.sqlite3'}"
        return
    import psycopg

    name = f"newsroom_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{postgres_admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------ nginx


def nginx_config(world: World, gzip: bool) -> Path:
    """deploy/nginx.conf with its three KNOBs replaced, plus the recipe's main file.

    The main file is the recipe's, with one more server block: the static baseline, serving
    a copy of the feed from a plain directory with the front door's file-serving settings.
    """
    prefix = world.root / "nginx"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    template = NGINX_CONF.read_text()
    knobs = {
        "server web:8000;": f"server 127.0.0.1:{world.app_port};",
        "root /srv/feeds;": f"root {world.nginx_root};",
        "listen 80 default_server;": f"listen 127.0.0.1:{world.front_port} default_server;",
    }
    _check_knobs(template, knobs)
    template = "".join(_sed(line, knobs) for line in template.splitlines(keepends=True))
    (prefix / "newsroom.conf").write_text(template)
    # With --gzip the baseline is nginx at its best: a precompressed copy, sent as it is.
    gzip_lines = (
        "gzip_static on; gzip on; gzip_comp_level 5; gzip_min_length 512; gzip_vary on;\n"
        "        gzip_types application/atom+xml;"
        if gzip
        else "gzip off;"
    )
    main = f"""worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path       {prefix}/tmp/proxy;
    fastcgi_temp_path     {prefix}/tmp/fastcgi;
    uwsgi_temp_path       {prefix}/tmp/uwsgi;
    scgi_temp_path        {prefix}/tmp/scgi;
    include {prefix}/newsroom.conf;

    # The baseline: the same bytes as a plain static file, same file-serving settings.
    server {{
        listen 127.0.0.1:{world.static_port};
        server_tokens off;
        sendfile on;
        tcp_nopush on;
        keepalive_timeout 65s;
        open_file_cache off;
        {gzip_lines}
        location / {{
            root {world.static_dir};
            types {{ }}
            default_type application/atom+xml;
            charset utf-8;
            charset_types application/atom+xml;
            add_header Cache-Control "public, max-age=0, must-revalidate";
        }}
    }}
}}
"""
    (prefix / "main.conf").write_text(main)
    return prefix


def _sed(line: str, knobs: dict[str, str]) -> str:
    """What the recipe's ``sed -e 's|old|new|' ...`` does to one line (comments included)."""
    for old, new in knobs.items():
        line = line.replace(old, new, 1)
    return line


def _check_knobs(template: str, knobs: dict[str, str]) -> None:
    """Each KNOB must sit on exactly one configuration line, or the recipe no longer fits."""
    for old in knobs:
        lines = [ln for ln in template.splitlines() if old in ln.split("#", 1)[0]]
        if len(lines) != 1 or "KNOB" not in lines[0]:
            raise RuntimeError(f"deploy/nginx.conf: expected one KNOB line with {old!r}")


def front_door_source(world: World) -> str:
    """``file`` when nginx answers the feed from the exported file, ``app`` when it proxies.

    nginx's own ETag is ``"<mtime hex>-<size hex>"``; the app's is a 32-digit hash.
    """
    status, headers, _ = probe(world.front_port, FEED_PATH)
    if status != 200:
        raise RuntimeError(f"the front door answered {FEED_PATH} with {status}")
    return "file" if re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers.get("etag", "")) else "app"


def export_layout_problem(world: World) -> str | None:
    """Why nginx finds no exported feed file, when it finds none (the front door then proxies)."""
    paths = compose_feed_paths()
    expected = world.nginx_root / "feeds" / "atom.xml"  # location = /feeds/atom.xml { root ...; }
    if expected.is_file():
        return None
    found = sorted(str(p.relative_to(world.volume)) for p in world.volume.rglob("atom.xml"))
    return (
        f"nginx looks for /feeds/atom.xml at {paths.nginx_root}/feeds/atom.xml, which is "
        f"<feeds volume>/{(paths.nginx / 'feeds' / 'atom.xml').as_posix()}, but the worker "
        f"(FEED_EXPORT_DIR={paths.worker_export_dir}) wrote "
        f"{', '.join('<feeds volume>/' + f for f in found[:2]) or 'no atom.xml at all'}; "
        f"so every feed request through the front door goes to the app (error_page 404 = @app)"
    )


def start_nginx(nginx: str, prefix: Path, world: World, children: Children) -> None:
    base = [nginx, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "main.conf")]
    run_checked([*base, "-t"], world.env)
    # daemon off keeps nginx a child of ours (its own process group), so it is always stopped.
    children.start("nginx", [*base, "-g", "daemon off;"], world.env)
    wait_http("127.0.0.1", world.front_port, "/nginx-health", children)


# ------------------------------------------------------------------------------- apps


def start_worker(world: World, children: Children, concurrency: int) -> None:
    argv = shlex.split(f"-m celery -A workers worker --concurrency={concurrency} -l WARNING")
    children.start("worker", [sys.executable, *argv, "-n", f"bench-{os.getpid()}@%h"], world.env)


def start_gunicorn(world: World, setup: GunicornSetup, children: Children) -> None:
    """The Dockerfile's gunicorn flags, on loopback and with the worker setup under test."""
    flags = "--keep-alive 75 --timeout 30 --graceful-timeout 5 --worker-tmp-dir /dev/shm"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{world.app_port}",
        *setup.argv(),
        *shlex.split(flags),
        "--error-logfile",
        "-",
        "service:create_app()",
    ]
    children.start("gunicorn", argv, world.env)
    wait_http("127.0.0.1", world.app_port, "/healthz", children)
    wait_http("127.0.0.1", world.app_port, FEED_PATH, children)


# ---------------------------------------------------------------------------- publish


class Publisher:
    """Publishes announcements: through the JSON API (``POST /api/v1/announcements`` to gunicorn
    with a bearer token) or, when the tree has no such API, in this process with the same domain
    calls the API view makes (``publishing.create`` + commit).

    ``publish`` returns the marker the new feed item shows and the clock reading it counts
    from: just before the request is sent (API), or just before the commit (domain).
    """

    API_PATH = "/api/v1/announcements"

    def __init__(self, world: World, via: str) -> None:
        from service import create_app
        from service.config import load_settings

        self.app = create_app(load_settings(world.env))
        self.app_port = world.app_port
        self.run_id = uuid.uuid4().hex[:8]
        self.bodies = _seed_bodies()
        self.counter = itertools.count(1)
        has_api = any(
            rule.rule == self.API_PATH and "POST" in (rule.methods or ())
            for rule in self.app.url_map.iter_rules()
        )
        if via == "api" and not has_api:
            raise SystemExit(f"--publish-via api: this tree has no POST {self.API_PATH}")
        self.via = "api" if via == "api" or (via == "auto" and has_api) else "domain"
        self.token = self._make_token() if self.via == "api" else ""
        self.conn: http.client.HTTPConnection | None = None

    @property
    def description(self) -> str:
        if self.via == "api":
            return f"POST {self.API_PATH} to gunicorn, timed from the request's start"
        return "publishing.create + commit in the benchmark process, timed from the commit's start"

    def _make_token(self) -> str:
        from service.database import db
        from service.editors.accounts import create_editor, create_token
        from service.editors.models import Role

        with self.app.app_context():
            editor = create_editor(
                f"bench-{self.run_id}@newsroom.example",
                Role.EDITOR,
                password=uuid.uuid4().hex,
                name="Benchmark",
            )
            token = create_token(editor, name="bench")
            db.session.commit()
        return token

    def _fields(self) -> tuple[str, dict[str, Any]]:
        n = next(self.counter)
        marker = f"Bench{self.run_id}n{n}"
        return marker, {
            "title": f"{marker} partnership update",
            "summary": f"Benchmark announcement {n} of run {self.run_id}.",
            "body": self.bodies[n % len(self.bodies)],
            "tags": [TAG_CHOICES[n % len(TAG_CHOICES)]],
            "partners": [PARTNER_CHOICES[n % len(PARTNER_CHOICES)]],
            "status": "published",
        }

    def publish(self) -> tuple[str, float]:
        marker, fields = self._fields()
        if self.via == "api":
            return marker, self._post(fields)
        from service.announcements import publishing
        from service.announcements.models import Status
        from service.database import db

        with self.app.app_context():
            publishing.create(**{**fields, "status": Status.PUBLISHED})
            started = time.perf_counter()
            db.session.commit()
        return marker, started

    def _post(self, fields: dict[str, Any]) -> float:
        body = json.dumps(fields).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):  # gunicorn may close an idle keep-alive connection: retry once
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.app_port, timeout=30)
            started = time.perf_counter()
            try:
                self.conn.request("POST", self.API_PATH, body=body, headers=headers)
                response = self.conn.getresponse()
                answer = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 201:
                raise RuntimeError(f"POST {self.API_PATH}: {response.status} {answer[:500]!r}")
            return started
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _seed_bodies() -> list[str]:
    import frontmatter

    bodies = [frontmatter.load(path).content for path in sorted(CONTENT_DIR.glob("*.md"))]
    return [b for b in bodies if b.strip()] or ["A benchmark announcement body."]


class FeedPoller:
    """Polls one feed URL over a keep-alive connection, with If-None-Match like a feed reader."""

    def __init__(self, port: int, path: str = FEED_PATH,
                 on_change: Callable[[bytes], None] | None = None) -> None:
        self.port, self.path = port, path
        self.on_change = on_change  # called with every full (200) answer's body
        self.conn: http.client.HTTPConnection | None = None
        self.etag: str | None = None
        self.polls = 0
        # Items that never showed to If-None-Match although a plain GET shows them: the
        # server answered 304 for changed content (a validator that did not move).
        self.stale_304 = 0
        self.sizes: list[int] = []  # bytes of every full (200) answer, as the feed grows

    def _get(self, conditional: bool = True) -> tuple[int, bytes]:
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                headers = {"If-None-Match": self.etag} if self.etag and conditional else {}
                self.conn.request("GET", self.path, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            self.polls += 1
            if response.status == 200:
                self.etag = response.getheader("ETag")
                self.sizes.append(len(body))
                if self.on_change is not None:
                    self.on_change(body)
            return response.status, body
        raise AssertionError("unreachable")

    def wait_for(
        self, marker: str, started: float, timeout: float, interval: float
    ) -> float | None:
        """Seconds from ``started`` until the feed shows ``marker``; None after ``timeout``."""
        needle = marker.encode()
        deadline = started + timeout
        while True:
            status, body = self._get()
            now = time.perf_counter()
            if status == 200 and needle in body:
                return now - started
            if now > deadline:
                if needle in self._get(conditional=False)[1]:
                    self.stale_304 += 1
                return None
            time.sleep(interval)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@dataclass
class Latencies:
    """Publish -> visible seconds per path; ``missed`` publishes never showed in time."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    calls: list[float] = field(default_factory=list)  # the publish request (or commit) alone
    stale_304: dict[str, int] = field(default_factory=dict)  # of the missed: see FeedPoller

    def add(self, path: str, value: float | None) -> None:
        self.seconds.setdefault(path, [])
        self.missed.setdefault(path, 0)
        if value is None:
            self.missed[path] += 1
        else:
            self.seconds[path].append(value)


def measure_publishes(
    publisher: Publisher,
    pollers: dict[str, FeedPoller],
    count: int,
    args: argparse.Namespace,
    children: Children,
    interval: float | None = None,
    stop: threading.Event | None = None,
) -> Latencies:
    """Publish ``count`` times, each waited for on every poller at once (one thread each).

    With ``interval``, publishes start on that cadence (or as soon as the previous one showed,
    when it took longer); ``stop`` ends the loop early.
    """
    result = Latencies()
    stale_before = {name: p.stale_304 for name, p in pollers.items()}
    with ThreadPoolExecutor(max_workers=len(pollers)) as pool:
        next_start = time.perf_counter()
        for _ in range(count):
            if stop is not None and stop.is_set():
                break
            children.check()
            marker, started = publisher.publish()
            result.calls.append(time.perf_counter() - started)
            futures = {
                name: pool.submit(
                    p.wait_for, marker, started, args.visible_timeout, args.poll_interval
                )
                for name, p in pollers.items()
            }
            for name, future in futures.items():
                result.add(name, future.result())
            if interval is not None:
                next_start += interval
                time.sleep(max(0.0, next_start - time.perf_counter()))
    result.stale_304 = {name: p.stale_304 - stale_before[name] for name, p in pollers.items()}
    return result


# -------------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # socket errors plus non-2xx/3xx answers
    requests: int


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]
    return float(match.group(1)) * scale


def run_wrk(args: argparse.Namespace, port: int, path: str, headers: dict[str, str]) -> WrkResult:
    options = f"-t{args.threads} -c{args.connections} -d{args.duration}s --latency --timeout 5s"
    argv = [args.wrk, *shlex.split(options)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if rps is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    bad = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(
        float(rps.group(1)),
        _ms(p50.group(1)) if p50 else float("nan"),
        _ms(p99.group(1)) if p99 else float("nan"),
        bad,
        int(total.group(1)),
    )


def probe(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@dataclass(frozen=True)
class Target:
    """One URL to load: its name, port and path; ``etag`` for the If-None-Match variant."""

    name: str
    port: int
    path: str
    etag: str


def make_target(name: str, port: int, path: str, gzip: bool) -> Target:
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    status, got, _ = probe(port, path, headers)
    if status != 200 or "etag" not in got:
        raise RuntimeError(f"{name}: GET {path} gave {status} without an ETag")
    conditional, _, _ = probe(port, path, {**headers, "If-None-Match": got["etag"]})
    if conditional != 304:
        raise RuntimeError(f"{name}: If-None-Match with its own ETag gave {conditional}, not 304")
    return Target(name, port, path, got["etag"])


def load_targets(
    targets: list[Target], args: argparse.Namespace, progress: Callable[[str], None]
) -> dict[tuple[str, bool], WrkResult]:
    base = {"Accept-Encoding": "gzip"} if args.gzip else {}
    results = {}
    for target in targets:
        for conditional in (False, True):
            headers = {**base, "If-None-Match": target.etag} if conditional else base
            progress(f"wrk {target.name}{' If-None-Match' if conditional else ''}")
            results[target.name, conditional] = run_wrk(args, target.port, target.path, headers)
    return results


# ------------------------------------------------------------------------------ report


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def latency_rows(title: str, latencies: Latencies) -> list[str]:
    rows = [title, f"  {'path':<34}{'n':>5}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'missed':>8}"]
    for path, values in latencies.seconds.items():
        missed = latencies.missed[path]
        if values:
            cells = "".join(f"{percentile(values, q) * 1000:>7.0f}ms" for q in (50, 90, 99, 100))
        else:
            cells = f"{'-':>9}" * 4
        rows.append(f"  {path:<34}{len(values):>5}{cells}{missed:>8}")
        if latencies.stale_304.get(path):
            rows.append(
                f"    !! {latencies.stale_304[path]} of the missed showed to a plain GET: this "
                "path answered 304 to If-None-Match for changed content (its ETag did not move)"
            )
    if latencies.calls:
        cells = "".join(
            f"{percentile(latencies.calls, q) * 1000:>7.0f}ms" for q in (50, 90, 99, 100)
        )
        rows.append(f"  {'(of which the publish call)':<34}{len(latencies.calls):>5}{cells}")
    return rows


def machine_lines(args: argparse.Namespace) -> list[str]:
    def version(argv: list[str]) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (done.stdout + done.stderr).strip().splitlines()[0]

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "service", "workers", "deploy"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"date:     {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"machine:  {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"tools:    {version([args.nginx, '-v'])}; {version([args.wrk, '-v'])}",
        f"commit:   {commit or 'unknown'}"
        + (" (with uncommitted changes in service/, workers/ or deploy/)" if dirty else ""),
        f"command:  {shlex.join([Path(sys.executable).name, *sys.argv])}",
        f"load:     {load_average()} at the start (other work on the machine skews absolute "
        "figures; ratios to the static file of the same round less so)",
    ]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------- main


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def rate_phase(
    world: World, args: argparse.Namespace, children: Children, report: Report
) -> dict[str, float]:
    """wrk against static, front door and each gunicorn setup; returns the key ratios."""
    static = make_target("static file (baseline)", world.static_port, STATIC_PATH, args.gzip)
    front = make_target(
        f"front door nginx ({world.front_source})", world.front_port, FEED_PATH, args.gzip
    )
    rounds: list[dict[tuple[str, bool], WrkResult]] = []
    app_names = []
    for n in range(args.rounds):
        results: dict[tuple[str, bool], WrkResult] = {}
        for i, setup in enumerate(args.gunicorn):
            if n or i:
                children.stop("gunicorn")
                start_gunicorn(world, setup, children)
            app = make_target(f"gunicorn {setup.label}", world.app_port, FEED_PATH, args.gzip)
            if app.name not in app_names:
                app_names.append(app.name)
            targets = [static, front, app] if i == 0 else [app]
            results |= load_targets(targets, args, progress)
        rounds.append(results)
    names = [static.name, front.name, *app_names]

    def ratio(name: str, conditional: bool) -> float:
        return statistics.median(
            r[name, conditional].rps / r[static.name, conditional].rps for r in rounds
        )

    def median(name: str, conditional: bool, attr: str) -> float:
        return statistics.median(getattr(r[name, conditional], attr) for r in rounds)

    report.add(
        "",
        f"Feed GET {FEED_PATH}: wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s, {args.rounds} round(s)"
        + (", Accept-Encoding: gzip" if args.gzip else ", identity encoding")
        + "; ratio = req/s / static req/s of the same round (median over rounds)",
    )
    report.add(
        f"  {'target':<30}{'If-None-Match':<15}{'req/s':>10}{'ratio':>8}"
        f"{'p50':>9}{'p99':>9}{'errors':>8}"
    )
    for name in names:
        for conditional in (False, True):
            report.add(
                f"  {name:<30}{'yes (304)' if conditional else 'no (200)':<15}"
                f"{median(name, conditional, 'rps'):>10.0f}{ratio(name, conditional):>8.2f}"
                f"{median(name, conditional, 'p50_ms'):>7.2f}ms"
                f"{median(name, conditional, 'p99_ms'):>7.2f}ms"
                f"{sum(r[name, conditional].bad for r in rounds):>8}"
            )
    ranked = sorted(args.gunicorn, key=lambda s: ratio(f"gunicorn {s.label}", False), reverse=True)
    best = ranked[0]
    note = ""
    if len(ranked) > 1:
        lead = ratio(f"gunicorn {best.label}", False) / ratio(f"gunicorn {ranked[1].label}", False)
        note = f", {lead:.2f}x {ranked[1].label}" + (" (within noise)" if lead < 1.15 else "")
    report.add(f"  fastest gunicorn setup (plain GET): {best.label}{note}")
    return {
        "front": ratio(front.name, False),
        "front_inm": ratio(front.name, True),
        "app": ratio(f"gunicorn {best.label}", False),
        "app_inm": ratio(f"gunicorn {best.label}", True),
        "app_label": best.label,
    }


def load_phase(
    world: World, args: argparse.Namespace, publisher: Publisher, children: Children, report: Report
) -> tuple[float, Latencies]:
    """wrk on the front door while publishing every ``--load-interval`` seconds.

    The ratio (the target) is to the static file measured just before, with no publishing.
    Then the static file gets the same publishing load, its file replaced by the front
    door's feed each time that changed (the same bytes, written by the export's own
    ``store.export``): that rate
    shows how much of the drop is the publishing itself (API, worker, Redis, the poller) and
    the feed growing, which any server on the machine would see, and how much is the front
    door's own.
    """
    static = make_target("static", world.static_port, STATIC_PATH, args.gzip)
    progress("wrk static file (baseline for the load run)")
    base_headers = {"Accept-Encoding": "gzip"} if args.gzip else {}
    baseline = run_wrk(args, static.port, static.path, base_headers)
    label = f"front door nginx ({world.front_source}, loaded)"
    front, latencies, sizes = _wrk_while_publishing(
        world, args, publisher, children, "front door", world.front_port, FEED_PATH, label
    )
    from service.feeds import store

    copy = world.static_dir / STATIC_PATH.lstrip("/")
    original = copy.read_bytes()
    try:
        static_loaded, _, _ = _wrk_while_publishing(
            world,
            args,
            publisher,
            children,
            "static file",
            static.port,
            static.path,
            "front door nginx (while wrk loads the static file)",
            mirror=lambda body: store.export(copy, body, int(time.time())),
        )
    finally:
        store.export(copy, original, int(time.time()))
    ratio = front.rps / baseline.rps
    report.add(
        "",
        f"Front door under publishes (one every {args.load_interval * 1000:.0f} ms "
        f"during a {args.duration}s wrk run, no If-None-Match)",
    )
    report.add(f"  static file just before:  {baseline.rps:>10.0f} req/s")
    report.add(
        f"  front door during load:   {front.rps:>10.0f} req/s   ratio {ratio:.2f}   "
        f"p99 {front.p99_ms:.2f}ms   errors {front.bad}"
    )
    report.add(
        f"  static file, same load:   {static_loaded.rps:>10.0f} req/s   ratio "
        f"{static_loaded.rps / baseline.rps:.2f}   (the same publishes, the front door's feed "
        f"copied in as it changed: what publishing and a growing feed take from any server;"
        f" front door / this: {front.rps / static_loaded.rps:.2f})"
    )
    if sizes:
        report.add(
            f"  the feed while the front door was loaded: {min(sizes)}-{max(sizes)} bytes, "
            f"median {statistics.median(sizes):.0f} (the static file just before: "
            f"{len(original)}; plain GETs of a bigger body are fewer per second)"
        )
    report.add(
        *latency_rows("  publish -> visible through the front door during the load:", latencies)
    )
    return ratio, latencies


def _wrk_while_publishing(
    world: World,
    args: argparse.Namespace,
    publisher: Publisher,
    children: Children,
    name: str,
    port: int,
    path: str,
    poller_label: str,
    mirror: Callable[[bytes], None] | None = None,
) -> tuple[WrkResult, Latencies, list[int]]:
    """One wrk run on ``port`` while publishing every ``--load-interval`` seconds, each publish
    waited for through the front door (so the publishing work is the same whatever wrk loads);
    ``mirror`` gets the front door's feed each time it changed."""
    base_headers = {"Accept-Encoding": "gzip"} if args.gzip else {}
    stop = threading.Event()
    box: dict[str, WrkResult] = {}

    def hammer() -> None:
        try:
            box["wrk"] = run_wrk(args, port, path, base_headers)
        finally:
            stop.set()

    progress(f"wrk {name} while publishing every {args.load_interval * 1000:.0f} ms")
    pollers = {poller_label: FeedPoller(world.front_port, on_change=mirror)}
    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    time.sleep(0.5)  # let wrk connect first
    cap = int(args.duration / args.load_interval) + 1
    latencies = measure_publishes(
        publisher, pollers, cap, args, children, interval=args.load_interval, stop=stop
    )
    thread.join(timeout=args.duration + 90)
    for poller in pollers.values():
        poller.close()
    if "wrk" not in box:
        raise RuntimeError(f"wrk on the {name} did not finish")
    return box["wrk"], latencies, pollers[poller_label].sizes


def verdict(
    report: Report, rates: dict[str, Any], quiet: Latencies, load_ratio: float, loaded: Latencies
) -> None:

    def p99(lat: Latencies) -> float:
        worst = max((percentile(v, 99) if v else float("inf")) for v in lat.seconds.values())
        return float("inf") if any(lat.missed.values()) else worst

    checks = [
        (
            "p99 publish -> feed <= 1 s (app and front door, quiet)",
            p99(quiet) <= 1.0,
            f"{p99(quiet) * 1000:.0f} ms",
        ),
        ("front door >= 50% of static (plain GET)", rates["front"] >= 0.5, f"{rates['front']:.0%}"),
        (
            "front door >= 50% of static (If-None-Match)",
            rates["front_inm"] >= 0.5,
            f"{rates['front_inm']:.0%}",
        ),
        ("front door >= 50% of static while publishing", load_ratio >= 0.5, f"{load_ratio:.0%}"),
        (
            "  ... and a publish still shows within 1 s (p99)",
            p99(loaded) <= 1.0,
            f"{p99(loaded) * 1000:.0f} ms",
        ),
    ]
    report.add("", "Targets")
    for name, ok, figure in checks:
        report.add(f"  [{'PASS' if ok else 'FAIL'}] {name:<52} {figure}")
    report.add(
        f"  [info] app alone (gunicorn {rates['app_label']}) vs static: "
        f"plain {rates['app']:.0%}, If-None-Match {rates['app_inm']:.0%}"
    )


def start_stack(world: World, args: argparse.Namespace, children: Children, report: Report) -> None:
    """Database, worker, gunicorn (the first setup) and nginx; notes how the front door serves."""
    progress("db upgrade, content import, feeds rebuild")
    prepare_database(world)
    start_worker(world, children, worker_concurrency(args))
    start_gunicorn(world, args.gunicorn[0], children)
    start_nginx(args.nginx, nginx_config(world, args.gzip), world, children)
    paths = compose_feed_paths()
    report.add(
        f"files:    as docker-compose.yml: the worker writes FEED_EXPORT_DIR="
        f"{paths.worker_export_dir} (<feeds volume>/{paths.worker.as_posix()}), nginx reads "
        f"root {paths.nginx_root} (<feeds volume>/{paths.nginx.as_posix()})"
    )
    world.front_source = front_door_source(world)
    problem = export_layout_problem(world)
    if world.front_source != "file":
        report.add(
            f"WARNING:  the front door serves {FEED_PATH} from the app, not from a file"
            + (f": {problem}" if problem else "")
        )


def latency_phase(
    world: World, args: argparse.Namespace, publisher: Publisher, children: Children, report: Report
) -> Latencies:
    """Publishes one after another, each polled through gunicorn and the front door at once."""
    pollers = {
        f"gunicorn {args.gunicorn[0].label} (app alone)": FeedPoller(world.app_port),
        f"front door nginx ({world.front_source})": FeedPoller(world.front_port),
    }
    progress("warm-up: 5 publishes (the worker is ready when they show)")
    warm_args = argparse.Namespace(**{**vars(args), "visible_timeout": 60.0})
    measure_publishes(publisher, pollers, 5, warm_args, children)
    progress(f"latency: {args.publishes} publishes, one after another")
    quiet = measure_publishes(publisher, pollers, args.publishes, args, children)
    for poller in pollers.values():
        poller.close()
    polls = sum(p.polls for p in pollers.values())
    title = (
        f"Publish -> visible in {FEED_PATH} (publish start -> first GET showing the item; "
        f"polled every {args.poll_interval * 1000:.0f} ms with If-None-Match, {polls} polls)"
    )
    report.add("", *latency_rows(title, quiet))
    return quiet


def copy_static(world: World, gzip: bool) -> Path:
    """The baseline's file: the very bytes the front door serves for the feed now (and, for
    --gzip, a gzip copy next to it for gzip_static)."""
    status, _, body = probe(world.front_port, FEED_PATH)
    if status != 200:
        raise RuntimeError(f"the front door answered {FEED_PATH} with {status}")
    target = world.static_dir / STATIC_PATH.lstrip("/")
    target.write_bytes(body)
    if gzip:
        target.with_name(target.name + ".gz").write_bytes(gzip_module.compress(body, 9, mtime=0))
    return target


def run(args: argparse.Namespace) -> Report:
    check_redis(args.redis_url)
    report = Report()
    report.add("Newsroom feed benchmark (bench/feeds.py)", *machine_lines(args))
    root = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    root.chmod(0o755)  # nginx workers run as another user when the benchmark runs as root
    for sub in ("var", "static", "feeds-volume"):
        (root / sub).mkdir(mode=0o755)
    children = Children(root)
    try:
        with database(args.postgres, root) as database_url:
            world = make_world(root, database_url, args.redis_url)
            report.add(
                f"world:    {'PostgreSQL' if args.postgres else 'SQLite'}, Redis "
                f"{args.redis_url}, Celery worker --concurrency={worker_concurrency(args)}"
                f"{' (as docker-compose.yml)' if args.worker_concurrency is None else ''}, "
                "nginx worker_processes 2"
            )
            clean_redis(args.redis_url)
            start_stack(world, args, children, report)
            publisher = Publisher(world, args.publish_via)
            report.add(f"publish:  {publisher.description}")
            quiet = latency_phase(world, args, publisher, children, report)
            static_file = copy_static(world, args.gzip)
            rates = rate_phase(world, args, children, report)
            if len(args.gunicorn) > 1:  # the load run publishes through the first setup again
                children.stop("gunicorn")
                start_gunicorn(world, args.gunicorn[0], children)
            load_ratio, loaded = load_phase(world, args, publisher, children, report)
            verdict(report, rates, quiet, load_ratio, loaded)
            report.add(f"load:     {load_average()} at the end")
            report.add(
                "",
                f"feed: {FEED_PATH}, {static_file.stat().st_size} bytes, "
                f"{static_file.read_bytes().count(b'<entry')} entries",
            )
    except BaseException:
        for name in children.procs:
            print(f"--- {name} log (tail) ---\n{children.tail(name, 15)}", file=sys.stderr)
        raise
    finally:
        children.stop_all()
        clean_redis(args.redis_url)
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _raise_on_sigterm(*_: Any) -> None:
    raise KeyboardInterrupt  # unwinds through run()'s finally: every child is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with it ignored
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted: every process the benchmark started is stopped", file=sys.stderr)
        return 130
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("\n".join(report.lines) + "\n")
        print(f"\nsaved to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
