"""gunicorn's own error pages carry the security headers (``service.gunicorn_worker``).

A request gunicorn refuses before the app runs (a malformed request line, an oversized header)
is answered by gunicorn itself. The test starts the real gunicorn, as the Dockerfile runs it,
on loopback, and writes the malformed requests over a raw socket.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import security
from tests.fixtures.processes import worker_env
from tests.waiting import wait_for

WORKER_CLASS = "service.gunicorn_worker.ThreadWorker"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as raw bytes; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> tuple[int, list[tuple[str, str]]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in head[1:]]
    return int(head[0].split()[1]), headers  # type: ignore[return-value]


def _answers(port: int) -> bool:
    try:
        return _exchange(port, b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.")
    except OSError:
        return False


@pytest.fixture(params=["testing", "production"])
def gunicorn(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path
             ) -> Iterator[tuple[int, str]]:
    port = _free_port()
    env = {**worker_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url, tmp_path),
           "NEWSROOM_ENV": request.param}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", WORKER_CLASS, "--threads", "2", "service:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(port), timeout=60, interval=0.2)
        yield port, request.param
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("request_bytes", [
    b"THIS IS NOT HTTP\r\n\r\n",  # malformed request line: 400
    b"GET /feeds/atom.xml HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",  # 431
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line too long: 414
], ids=["bad-request-line", "oversized-header", "oversized-request-line"])
def test_gunicorn_error_pages_carry_the_security_headers(
    gunicorn: tuple[int, str], request_bytes: bytes
) -> None:
    port, env = gunicorn
    status, headers = _parse(_exchange(port, request_bytes))
    assert status in (400, 414, 431)
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), headers  # each header once
    found = dict(headers)
    assert found["Content-Security-Policy"] == security.DOCUMENT_CONTENT_SECURITY_POLICY
    assert found["X-Content-Type-Options"] == "nosniff"
    assert found["Content-Type"] == "text/html"  # still gunicorn's own page
    if env == "production":
        assert found["Strict-Transport-Security"] == security.HSTS
    else:
        assert "Strict-Transport-Security" not in found


def test_the_dockerfile_runs_this_worker_class() -> None:
    dockerfile = (Path(__file__).parent.parent / "Dockerfile").read_text()
    assert f'"--worker-class", "{WORKER_CLASS}"' in dockerfile
