"""`make deploy-test`: the production image and stack, built and run for real.

Why: docker-compose.yml and the Dockerfile were never built or run by the project's checks, so
an operator's first `docker compose up` was their first test. This script builds the image from
the Dockerfile and runs every role of docker-compose.yml from it (migrate, web, worker, pusher,
mailer, beat, nginx with deploy/nginx.conf) against PostgreSQL, Redis and an SMTP catcher, then
uses the stack the way an operator and its users would, through nginx only.

It runs on a machine of CI's kind: no registry for images, no bridge networks. So it
  * installs docker.io and debootstrap when missing (as root, from Debian),
  * starts dockerd without bridge, iptables or forwarding when none answers (and stops it
    again at the end if it started it),
  * makes stand-in images once, cached by tag: a Debian bookworm base from debootstrap, a
    python:3.11-slim stand-in on it (Debian's python3 is 3.11), and one image with Debian's
    nginx-light, postgresql-15, redis-server and aiosmtpd for the service containers,
  * runs every container on host networking, listening on 127.0.0.1 only, on ports from the
    environment (DEPLOY_TEST_*_PORT, defaults far from the host's own 5432/6379/5000),
  * reads each role's command and environment from docker-compose.yml, so the test follows the
    file operators run.

Every step prints one line, the last line sums up; any failure stops the run with the reason
and the logs of the containers involved, and every container and volume it started is removed
on the way out (also after a failure or Ctrl-C). Run it again and it starts clean.
"""

# This script starts docker, debootstrap and apt-get by design, with fixed argument lists.
# ruff: noqa: S603, S607

from __future__ import annotations

import email
import http.client
import json
import mailbox
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LABEL = "newsroom.deploy-test=1"
PREFIX = "newsroom-dt-"
FEEDS_VOLUME = f"{PREFIX}feeds"
BASE_TAG = "newsroom-standin/debian:bookworm"
PYTHON_TAG = "newsroom-standin/python:3.11-slim"
SERVICES_TAG = "newsroom-standin/services:bookworm"
APP_TAG = os.environ.get("DEPLOY_TEST_IMAGE", "newsroom:deploy-test")
DOCKERD_LOG = Path("/var/log/newsroom-deploy-test-dockerd.log")


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"DEPLOY_TEST_{name}_PORT", default))


PORTS = {"postgres": _port("POSTGRES", 25432), "redis": _port("REDIS", 26379),
         "smtp": _port("SMTP", 21025), "web1": _port("WEB1", 28001),
         "web2": _port("WEB2", 28002), "nginx": _port("NGINX", 28080)}
FRONT = f"http://127.0.0.1:{PORTS['nginx']}"
WORKERS = 3  # feed/event workers: the scale-out check needs more than one
PUBLISHES = 12  # items published in a loop for the scale-out check


class StepFailed(Exception):
    pass


# --------------------------------------------------------------------------- plumbing
def docker_bin() -> str:
    # Debian's client matches Debian's daemon; a newer client elsewhere on the PATH is fine too.
    return "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


def run(*args: str, check: bool = True, timeout: float = 600, quiet: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=quiet, text=True, check=False,
                            timeout=timeout, input=stdin,
                            stdin=None if stdin is not None else subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise StepFailed(f"{' '.join(args[:6])}... exited {result.returncode}:\n"
                         f"{(result.stdout or '')[-3000:]}{(result.stderr or '')[-3000:]}")
    return result


def docker(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run(docker_bin(), *args, **kwargs)  # type: ignore[arg-type]


def wait_until(what: str, probe: Callable[[], object], timeout: float,
               interval: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, http.client.HTTPException) as exc:
            last = exc
            value = None
        else:
            value = last
        if value:
            return value
        time.sleep(interval)
    raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def http_request(method: str, path: str, body: object = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", PORTS["nginx"], timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if data else {}
        all_headers.update(headers or {})
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
    finally:
        conn.close()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Report:
    """One line per step; the failure, if any, says which step and why."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps = 0

    def step(self, title: str, action: Callable[[], str | None]) -> None:
        self.steps += 1
        began = time.monotonic()
        detail = action()
        took = time.monotonic() - began
        print(f"deploy-test [{self.steps:02d}] ok   {title}"
              f"{': ' + detail if detail else ''} ({took:.1f}s)", flush=True)


# --------------------------------------------------------------------------- the machine
def ensure_tools() -> str | None:
    missing = [pkg for binary, pkg in [("/usr/sbin/dockerd", "docker.io"),
                                       ("/usr/sbin/debootstrap", "debootstrap")]
               if not Path(binary).exists() and shutil.which(Path(binary).name) is None]
    if not missing:
        return "docker.io and debootstrap present"
    if os.geteuid() != 0:
        raise StepFailed(f"missing {missing}; run as root or install them first")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                   capture_output=True)
    return f"installed {' '.join(missing)}"


class Daemon:
    """dockerd as the issue describes it: no bridge, no iptables; stopped again if ours."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        return docker("info", "--format", "{{.ServerVersion}}", check=False,
                      timeout=30).returncode == 0

    def ensure(self) -> str:
        if self.answers():
            return "dockerd already running"
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        log = DOCKERD_LOG.open("ab")
        self.process = subprocess.Popen(
            [dockerd, "--bridge=none", "--iptables=false", "--ip-forward=false",
             "--ip-masq=false"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        wait_until("dockerd to answer", self.answers, timeout=60, interval=0.5)
        return f"started dockerd (pid {self.process.pid}, log {DOCKERD_LOG})"

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        print(f"deploy-test: stopped the dockerd it started (exit {self.process.returncode})",
              flush=True)


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"),
                 *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        text = path.read_text() if path.exists() else ""
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or \
            re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+bookworm\b", text, re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def standin_images() -> str:
    made = []
    if not image_exists(BASE_TAG):
        with tempfile.TemporaryDirectory(prefix="newsroom-rootfs-", dir="/var/tmp") as tmp:
            rootfs = Path(tmp) / "rootfs"
            run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror(),
                timeout=1200)
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."],
                                   stdout=subprocess.PIPE)
            imported = subprocess.run([docker_bin(), "import", "-", BASE_TAG],
                                      stdin=tar.stdout, capture_output=True, text=True,
                                      check=False)
            tar.wait()
            if imported.returncode != 0 or tar.returncode != 0:
                raise StepFailed(f"docker import failed: {imported.stderr}")
        made.append(BASE_TAG)
    for tag, dockerfile, base in [(PYTHON_TAG, "python.Dockerfile", BASE_TAG),
                                  (SERVICES_TAG, "services.Dockerfile", PYTHON_TAG)]:
        if image_exists(tag):
            continue
        with tempfile.TemporaryDirectory(prefix="newsroom-standin-") as tmp:
            context = Path(tmp)
            shutil.copy(HERE / dockerfile, context / "Dockerfile")
            (context / "extra-ca").mkdir()
            for cert in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
                shutil.copy(cert, context / "extra-ca" / cert.name)
            docker("build", "--network", "host", "--build-arg", f"BASE={base}", "-t", tag,
                   str(context), timeout=1200)
        made.append(tag)
    return f"built {', '.join(made)}" if made else "cached (by tag)"


def build_app_image() -> str:
    python_image = os.environ.get("DEPLOY_TEST_PYTHON_IMAGE", PYTHON_TAG)
    began = time.monotonic()
    docker("build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={python_image}",
           "--label", LABEL, "-t", APP_TAG, str(ROOT), timeout=1800)
    # The image a rebuild replaced (untagged now): only ours, never anyone else's.
    docker("image", "prune", "-f", "--filter", f"label={LABEL}", check=False)
    installed = docker("run", "--rm", "--network", "host", APP_TAG, "pip", "freeze",
                       "--exclude-editable").stdout
    locked = set(re.findall(r"^([A-Za-z0-9_.-]+==[^\s\\;]+)", (ROOT / "requirements.lock")
                            .read_text(), re.M))
    frozen = {line.strip() for line in installed.splitlines()
              if "==" in line and not line.lower().startswith("newsroom")}
    normalize = lambda items: {re.sub(r"[-_.]+", "-", i.lower()) for i in items}  # noqa: E731
    extra = normalize(frozen) - normalize(locked)
    if extra:
        raise StepFailed(f"the image has packages the lock file does not pin: {sorted(extra)}")
    return f"{APP_TAG} from {python_image} in {time.monotonic() - began:.0f}s; " \
           f"{len(frozen)} packages, all as requirements.lock pins them"


# --------------------------------------------------------------------------- the stack
class Stack:
    def __init__(self) -> None:
        self.compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        self.services = self.compose["services"]
        self.scratch = Path(tempfile.mkdtemp(prefix="newsroom-deploy-test-"))
        self.scratch.chmod(0o755)
        self.maildir = self.scratch / "mail"
        self.secret = secrets.token_urlsafe(48)
        self.containers: list[str] = []

    # -- containers
    def start(self, role: str, image: str, command: list[str], *,
              env: dict[str, str] | None = None, volumes: Sequence[str] = (),
              user: str | None = None, extra: Sequence[str] = ()) -> str:
        name = PREFIX + role
        args = ["run", "-d", "--name", name, "--label", LABEL, "--network", "host", "--init"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        for volume in volumes:
            args += ["-v", volume]
        if user:
            args += ["--user", user]
        docker(*args, *extra, image, *command)
        self.containers.append(name)
        return name

    def logs(self, name: str) -> str:
        result = docker("logs", name, check=False)
        return (result.stdout or "") + (result.stderr or "")

    def exit_code(self, name: str) -> int:
        return int(docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout)

    def running(self, name: str) -> bool:
        return docker("inspect", "--format", "{{.State.Running}}", name,
                      check=False).stdout.strip() == "true"

    def cleanup(self) -> None:
        leftovers = docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
        if leftovers:
            docker("rm", "-f", *leftovers, check=False)
        docker("volume", "rm", "-f", FEEDS_VOLUME, check=False)
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- what docker-compose.yml says
    def app_env(self, service: str) -> dict[str, str]:
        env = {k: str(v) for k, v in self.compose["x-app-environment"].items()}
        env.update({k: str(v) for k, v in self.services[service].get("environment", {}).items()})
        for key, value in env.items():  # ${VAR:-default} -> default; ${VAR:?...} set below
            env[key] = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
        env.update({
            "DATABASE_URL": f"postgresql://newsroom:newsroom@127.0.0.1:{PORTS['postgres']}"
                            "/newsroom",
            "REDIS_URL": f"redis://127.0.0.1:{PORTS['redis']}/0",
            "SMTP_URL": f"smtp://127.0.0.1:{PORTS['smtp']}",
            "BASE_URL": FRONT,
            "SECRET_KEY": self.secret,
        })
        return env

    def command(self, service: str) -> list[str]:
        command = self.services[service]["command"]
        return [str(part) for part in command] if isinstance(command, list) else \
            ["sh", "-c", command]

    def app(self, role: str, service: str, command: list[str] | None = None,
            env: dict[str, str] | None = None, **kwargs: object) -> str:
        return self.start(role, APP_TAG, command or self.command(service),
                          env={**self.app_env(service), **(env or {})}, **kwargs)  # type: ignore[arg-type]

    def one_off(self, *command: str) -> str:
        """A command from the image, as `docker compose run --rm migrate ...` would run it."""
        env = self.app_env("migrate")
        args = ["run", "--rm", "--network", "host", "--label", LABEL]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        return docker(*args, APP_TAG, *command, timeout=120).stdout

    # -- steps
    def preflight(self) -> str:
        self.cleanup()  # a run killed before its trap leaves nothing behind for this one
        self.scratch.mkdir(exist_ok=True)
        taken = [f"{role}:{port}" for role, port in PORTS.items() if not port_is_free(port)]
        if taken:
            raise StepFailed(f"ports in use on 127.0.0.1: {taken}; set DEPLOY_TEST_<ROLE>_PORT")
        return " ".join(f"{role}={port}" for role, port in PORTS.items())

    def backing_services(self) -> str:
        self.start("postgres", SERVICES_TAG, ["sh", "-ec", (
            "initdb --auth=trust --username=newsroom -D /var/lib/postgresql/tmp/data >/dev/null; "
            f"exec postgres -D /var/lib/postgresql/tmp/data -p {PORTS['postgres']} "
            "-c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off")],
            user="postgres", extra=["--tmpfs", "/var/lib/postgresql/tmp:mode=1777"])
        self.start("redis", SERVICES_TAG, [
            "redis-server", "--port", str(PORTS["redis"]), "--bind", "127.0.0.1",
            "--appendonly", "yes", "--dir", "/var/lib/redis", "--save", ""], user="redis")
        self.maildir.mkdir()
        self.maildir.chmod(0o777)
        self.start("mailcatcher", SERVICES_TAG, [
            "python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{PORTS['smtp']}",
            "-c", "aiosmtpd.handlers.Mailbox", "/srv/mail/inbox"],
            volumes=[f"{self.maildir}:/srv/mail"])

        def database_up() -> bool:
            ready = docker("exec", PREFIX + "postgres", "psql", "-h", "127.0.0.1", "-p",
                           str(PORTS["postgres"]), "-U", "newsroom", "-d", "postgres", "-Atc",
                           "SELECT 1", check=False)
            if ready.returncode != 0:
                return False
            docker("exec", PREFIX + "postgres", "psql", "-h", "127.0.0.1", "-p",
                   str(PORTS["postgres"]), "-U", "newsroom", "-d", "postgres", "-c",
                   "CREATE DATABASE newsroom")
            return True

        wait_until("PostgreSQL", database_up, timeout=60, interval=0.5)
        wait_until("Redis", lambda: docker("exec", PREFIX + "redis", "redis-cli", "-p",
                                           str(PORTS["redis"]), "ping", check=False)
                   .stdout.strip() == "PONG", timeout=30)
        wait_until("the SMTP catcher", lambda: socket.create_connection(
            ("127.0.0.1", PORTS["smtp"]), timeout=1).close() or True, timeout=30)
        return f"PostgreSQL 15 :{PORTS['postgres']}, Redis :{PORTS['redis']}, " \
               f"SMTP catcher :{PORTS['smtp']}"

    def migrate(self) -> str:
        name = self.app("migrate", "migrate")
        wait_until("migrate to finish", lambda: not self.running(name), timeout=120,
                   interval=0.5)
        if self.exit_code(name) != 0:
            raise StepFailed(f"migrate exited {self.exit_code(name)}:\n{self.logs(name)[-3000:]}")
        return f"`{' '.join(self.command('migrate'))}`".replace("\n", " ") + " exited 0"

    def web_command(self, port: int) -> list[str]:
        """The image's own CMD (gunicorn, ThreadWorker), bound to loopback on the host network."""
        cmd = json.loads(docker("image", "inspect", "--format", "{{json .Config.Cmd}}",
                                APP_TAG).stdout)
        cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
        return cmd

    def app_roles(self) -> str:
        feeds = f"{FEEDS_VOLUME}:/srv/feeds"
        # Two webs of two gunicorn processes each: behind one nginx; small for a 2-core box.
        for role in ("web1", "web2"):
            self.app(role, "web", self.web_command(PORTS[role]), env={"WEB_CONCURRENCY": "2"})
        worker = self.command("worker")
        for number in range(1, WORKERS + 1):
            self.app(f"worker{number}", "worker", [*worker, "-n", f"worker{number}@%h"],
                     volumes=[feeds])
        started = ["web1", "web2", *[f"worker{n}" for n in range(1, WORKERS + 1)]]
        for role in ("mailer", "pusher", "beat"):
            if role in self.services:
                self.app(role, role, [*self.command(role),
                                      *(["-n", f"{role}@%h"] if role != "beat" else [])])
                started.append(role)
        return " ".join(started)

    def nginx(self) -> str:
        lines = (ROOT / "deploy" / "nginx.conf").read_text().splitlines()
        knobs = {"server web:8000;": f"server 127.0.0.1:{PORTS['web1']}; "
                                     f"server 127.0.0.1:{PORTS['web2']};",
                 "listen 80 default_server;": f"listen 127.0.0.1:{PORTS['nginx']} "
                                              "default_server;"}
        for number, line in enumerate(lines):
            for knob, value in knobs.items():
                if "# KNOB" in line and knob in line:
                    lines[number] = line.replace(knob, value)
        conf = self.scratch / "nginx"
        conf.mkdir()
        (conf / "newsroom.conf").write_text("\n".join(lines) + "\n")
        # What the nginx image's own main file supplies (pid, logs, worker user), plus the
        # upstream in the access log so the spread over the two webs can be counted.
        (conf / "nginx.conf").write_text("""\
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log /dev/stdout upstream;
    include /etc/nginx/conf.d/*.conf;
}
""")
        name = self.start("nginx", SERVICES_TAG, ["nginx", "-g", "daemon off;"], volumes=[
            f"{conf / 'nginx.conf'}:/etc/nginx/nginx.conf:ro",
            f"{conf / 'newsroom.conf'}:/etc/nginx/conf.d/default.conf:ro",
            f"{FEEDS_VOLUME}:/srv/feeds:ro"], extra=["--stop-signal", "SIGQUIT"])
        wait_until("nginx", lambda: http_request("GET", "/nginx-health")[0] == 200, timeout=30)
        return f"{name} on 127.0.0.1:{PORTS['nginx']} -> web1, web2"

    def ready(self) -> str:
        wait_until("/readyz 200 through nginx",
                   lambda: http_request("GET", "/readyz")[0] == 200, timeout=180, interval=0.5)
        def direct(port: int) -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/readyz")
                return conn.getresponse().status == 200
            finally:
                conn.close()

        for role in ("web1", "web2"):  # both upstreams answer, not just the first
            wait_until(f"{role} /readyz", lambda p=PORTS[role]: direct(p), timeout=60,
                       interval=0.5)
        dead = [n for n in self.containers if not self.running(n)
                and not n.endswith("migrate")]
        if dead:
            raise StepFailed(f"exited early: {dead}\n" + self.logs(dead[0])[-3000:])
        return "GET /readyz 200 via nginx; every role running"

    def editor_and_token(self) -> str:
        address, password = "deploy-test@example.org", secrets.token_urlsafe(16)
        out = self.one_off("flask", "--app", "service", "editors", "create", address,
                           "--role", "editor", "--name", "Deploy Test", "--password", password)
        if "created" not in out:
            raise StepFailed(f"editors create said: {out}")
        self.token = self.one_off("flask", "--app", "service", "tokens", "create",
                                  address).strip().splitlines()[-1]
        if not self.token.startswith("nr_"):
            raise StepFailed(f"tokens create printed no token: {self.token!r}")
        return f"`flask --app service editors create` and `tokens create` for {address}"

    def publish(self, title: str, tags: list[str], partners: list[str]) -> None:
        status, _, body = http_request("POST", "/api/v1/announcements", {
            "title": title, "summary": "Published by the deploy test.",
            "body": "Through **nginx**, gunicorn, Celery and the exported files.",
            "tags": tags, "partners": partners, "status": "published"},
            {"Authorization": f"Bearer {self.token}"})
        if status != 201:
            raise StepFailed(f"POST /api/v1/announcements: {status} {body[:500]!r}")

    def publish_to_feed(self) -> str:
        title = f"Deploy test {uuid.uuid4().hex[:8]}"
        began = time.monotonic()
        self.publish(title, ["deploy-test"], ["esa"])
        posted = time.monotonic()

        def in_file() -> dict[str, str] | None:
            # nginx's ETag for a file is "<mtime hex>-<size hex>"; the app's is a quoted hash.
            # The first request may reach the app (no file yet: it builds the feed on demand);
            # the worker's export must follow.
            status, headers, body = http_request("GET", "/feeds/atom.xml")
            served_by_nginx = re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers.get("etag", ""))
            return headers if status == 200 and served_by_nginx and title.encode() in body \
                else None

        headers = wait_until("the item in nginx's exported /feeds/atom.xml", in_file,
                             timeout=10, interval=0.02)
        seen = time.monotonic() - posted
        etag = headers["etag"]  # type: ignore[index]
        if seen > 1.0:
            raise StepFailed(f"the item reached the feed file {seen:.2f}s after the publish")
        status = http_request("GET", "/feeds/atom.xml", headers={"If-None-Match": etag})[0]
        if status != 304:
            raise StepFailed(f"If-None-Match on the exported feed: {status}, not 304")
        return f"POST 201 in {posted - began:.2f}s; in nginx's file atom.xml {seen:.2f}s " \
               f"later (ETag {etag}, 304 on If-None-Match)"

    def messages(self) -> list[email.message.Message]:
        inbox = self.maildir / "inbox"
        return list(mailbox.Maildir(inbox, create=False)) if (inbox / "new").exists() else []

    def sign_up(self) -> str:
        address = "reader@example.org"
        status, _, body = http_request("POST", "/api/v1/subscriptions",
                                       {"email": address, "frequency": "instant"})
        if status != 202:
            raise StepFailed(f"POST /api/v1/subscriptions: {status} {body[:500]!r}")
        message = wait_until("the confirmation email at the SMTP catcher", lambda: next(
            (m for m in self.messages() if address in str(m["To"])), None), timeout=30,
            interval=0.3)
        text = "\n".join(str(part.get_payload(decode=True), "utf-8", "replace")
                         for part in message.walk()  # type: ignore[union-attr]
                         if part.get_content_maintype() == "text")
        link = re.search(re.escape(FRONT) + r"/\S*confirm\S*", text)
        if not link:
            raise StepFailed(f"no confirmation link to {FRONT} in:\n{text[:2000]}")
        return f"202, then '{message['Subject']}' to {address} with its link"  # type: ignore[index]

    def scale_out(self) -> str:
        before = {n: self.task_count(n) for n in self.worker_names()}
        nginx_before = self.upstream_counts()
        titles = [f"Scale-out {i:02d} {uuid.uuid4().hex[:6]}" for i in range(PUBLISHES)]
        for title in titles:
            self.publish(title, ["deploy-test", "scale"], ["nasa"])
            time.sleep(0.1)
        feeds = [f"/feeds{scope}/{name}" for scope in ("", "/tags/scale", "/partners/nasa")
                 for name in ("atom.xml", "rss.xml", "feed.json")]

        def every_item_once() -> bool:
            for feed in feeds:
                status, _, body = http_request("GET", feed)
                if status != 200 or any(body.count(t.encode()) != 1 for t in titles):
                    return False
            return True

        wait_until(f"all {PUBLISHES} items once in each of {len(feeds)} feeds", every_item_once,
                   timeout=30, interval=0.3)
        for feed in feeds:  # "once": JSON Feed holds a title once, RSS and Atom once too
            body = http_request("GET", feed)[2]
            doubled = [t for t in titles if body.count(t.encode()) != 1]
            if doubled:
                raise StepFailed(f"{feed}: not exactly once: {doubled}")
        time.sleep(1)  # the last tasks' "succeeded" lines
        spread = {n: self.task_count(n) - before[n] for n in self.worker_names()}
        if sum(1 for count in spread.values() if count) < 2:
            raise StepFailed(f"the load did not spread over the workers: {spread}")
        webs = self.upstream_counts() - nginx_before
        if len([port for port, count in webs.items() if count]) < 2:
            raise StepFailed(f"nginx used one web only: {webs}")
        return (f"{PUBLISHES} items, each once in {len(feeds)} feeds; tasks per worker "
                f"{dict(sorted(spread.items()))}; requests per web "
                f"{dict(sorted(webs.items()))}")

    def worker_names(self) -> list[str]:
        return [f"{PREFIX}worker{n}" for n in range(1, WORKERS + 1)]

    def task_count(self, name: str) -> int:
        # What publishing causes (events, feed builds), not beat's periodic tasks.
        return len(re.findall(r"Task (?:events|feeds)\.\w+\[[0-9a-f-]+\] succeeded",
                              self.logs(name)))

    def upstream_counts(self) -> Counter[str]:
        return Counter(re.findall(r"upstream=127\.0\.0\.1:(\d+)", self.logs(PREFIX + "nginx")))

    def graceful_stop(self) -> str:
        stopped: dict[str, int] = {}

        def stop(name: str, grace: int = 60) -> None:
            docker("stop", "--time", str(grace), name, timeout=grace + 30)
            stopped[name.removeprefix(PREFIX)] = self.exit_code(name)

        for role in ("nginx", "beat", "web1", "web2", "mailer", "pusher", "worker2",
                     "worker3"):
            if PREFIX + role in self.containers:
                stop(PREFIX + role)
        # The last worker holds a task it has taken but not acked (an ETA task waits in the
        # worker's memory): its warm shutdown must hand it back to the broker.
        task_id = self.one_off("celery", "-A", "workers", "call", "announcements.publish_due",
                               "--countdown", "3600").strip().splitlines()[-1]
        last = PREFIX + f"worker{1}"
        wait_until("worker1 to take the ETA task", lambda: task_id in self.logs(last),
                   timeout=30, interval=0.2)
        stop(last)
        failed = {role: code for role, code in stopped.items() if code != 0}
        if failed:
            raise StepFailed(f"non-zero exits on stop: {failed}\n" + "\n".join(
                f"--- {role}\n{self.logs(PREFIX + role)[-1500:]}" for role in failed))
        log = self.logs(last)
        if not re.search(r"Restoring 1 unacknowledged message", log):
            raise StepFailed(f"worker1 did not restore its unacked task:\n{log[-2000:]}")
        queued = docker("exec", PREFIX + "redis", "redis-cli", "-p", str(PORTS["redis"]),
                        "lrange", "celery", "0", "-1").stdout
        if task_id not in queued:
            raise StepFailed(f"task {task_id} is not back in the celery queue")
        return f"exit 0: {' '.join(sorted(stopped))}; worker1 restored task {task_id[:8]} " \
               "to the queue"


def main() -> int:
    report = Report()
    daemon = Daemon()
    stack: Stack | None = None

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        report.step("tools", ensure_tools)
        report.step("dockerd", daemon.ensure)
        report.step("stand-in base and service images", standin_images)
        report.step("project image", build_app_image)
        stack = Stack()
        report.step("preflight (ports free, leftovers removed)", stack.preflight)
        report.step("PostgreSQL, Redis, SMTP catcher", stack.backing_services)
        report.step("migrate", stack.migrate)
        report.step("web x2, worker x3, pusher, mailer, beat", stack.app_roles)
        report.step("nginx with deploy/nginx.conf", stack.nginx)
        report.step("ready", stack.ready)
        report.step("editor and API token from the image's CLI", stack.editor_and_token)
        report.step("publish through the API, item in the feed", stack.publish_to_feed)
        report.step("sign-up confirmation email", stack.sign_up)
        report.step("scale-out: 2 webs, 3 workers", stack.scale_out)
        report.step("graceful stop of every role", stack.graceful_stop)
    except (StepFailed, subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        print(f"deploy-test [{report.steps + 1:02d}] FAIL {exc}", file=sys.stderr, flush=True)
        if stack is not None and not isinstance(exc, KeyboardInterrupt):
            for name in stack.containers:
                print(f"--- logs of {name} (last lines)\n{stack.logs(name)[-1200:]}",
                      file=sys.stderr)
        print(f"deploy-test: FAILED after {report.steps} steps in "
              f"{time.monotonic() - report.started:.0f}s", flush=True)
        return 1
    finally:
        if stack is not None:
            stack.cleanup()
        daemon.stop()
    print(f"deploy-test: PASSED {report.steps} steps in "
          f"{time.monotonic() - report.started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
