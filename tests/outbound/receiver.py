"""A real HTTP server on 127.0.0.1 that records what it receives: the peer of outbound tests.

Behaviour is set per test: the statuses to answer in turn, a delay before answering, and, for
WebSub verification, whether to echo ``hub.challenge``. No mock of the network: requests go
through sockets, httpx and our guard, as in production.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=list)  # answered in turn; then ``default``
    default: int = 200
    delay: float = 0.0  # seconds before answering a POST
    echo_challenge: bool = True  # a verification GET answers hub.challenge
    challenge_suffix: str = ""  # answer the challenge plus this (a wrong answer)
    verify_status: int = 200
    location: str | None = None


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _record(self) -> Received:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                item = Received(self.command, parts.path, parse_qs(parts.query),
                                {k.lower(): v for k, v in self.headers.items()}, body,
                                time.monotonic())
                with receiver.arrived:
                    receiver.received.append(item)
                    receiver.arrived.notify_all()
                return item

            def _answer(self, status: int, body: bytes = b"",
                        headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                item = self._record()
                b = receiver.behaviour
                challenge = item.query.get("hub.challenge", [""])[0]
                body = (challenge + b.challenge_suffix).encode() if b.echo_challenge else b"no"
                self._answer(b.verify_status, body)

            def do_POST(self) -> None:  # noqa: N802
                self._record()
                b = receiver.behaviour
                if b.delay:
                    time.sleep(b.delay)
                with receiver.lock:
                    status = b.statuses.pop(0) if b.statuses else b.default
                headers = {"Location": b.location} if b.location else {}
                # The client may have given up already (a timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(status, b"ok", headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "POST"]

    def wait_posts(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while sum(r.method == "POST" for r in self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} POSTs not received within {timeout}s")
                self.arrived.wait(left)
        return self.posts()

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
