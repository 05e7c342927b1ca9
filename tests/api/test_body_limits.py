"""A body over ``MAX_CONTENT_LENGTH`` is a 413 whether its length is declared or chunked.

Chunked bodies reach the app without ``CONTENT_LENGTH`` and with ``wsgi.input_terminated``
(gunicorn sets it on every request, werkzeug's server on chunked ones); werkzeug used to cut
them at the limit and let the request through. Checked through the test client with such an
environ, and with real chunked requests to werkzeug's server and to gunicorn on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, TestResponse
from werkzeug.wrappers import Request

from tests.api.conftest import PROBLEM, problem
from tests.factories import EditorInfo
from tests.fixtures.processes import worker_env
from tests.waiting import wait_for

API = "/api/v1/announcements"
CHUNK = 64 * 1024


def _padded(size: int) -> bytes:
    """A valid JSON object padded with whitespace to exactly ``size`` bytes (``size`` > 32)."""
    head = b'{"title": "Padded to the limit"}'
    return head + b" " * (size - len(head))


def _chunked(client: FlaskClient, path: str, body: bytes, content_type: str,
             headers: dict[str, str] | None = None) -> TestResponse:
    """POST ``body`` as a chunked request arrives from a server: no CONTENT_LENGTH."""
    environ = EnvironBuilder(path=path, method="POST", data=body, content_type=content_type,
                             headers={**(headers or {}), "Transfer-Encoding": "chunked"}
                             ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))


def test_a_chunked_json_body_over_the_limit_is_a_413_problem(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    limit = clean_app.config["MAX_CONTENT_LENGTH"]
    over = _padded(limit + 1)
    declared = client.post(API, data=over, content_type="application/json", headers=editor.auth)
    problem(declared, 413)
    chunked = _chunked(client, API, over, "application/json", editor.auth)
    assert str(limit) in problem(chunked, 413)["detail"]
    # Up to the limit, a chunked body is read whole: exactly the limit is accepted.
    exact = _chunked(client, API, _padded(limit), "application/json", editor.auth)
    assert exact.status_code == 201, exact.get_json()
    small = _chunked(client, API, b'{"title": ""}', "application/json", editor.auth)
    assert problem(small, 422, "validation")["errors"][0]["pointer"] == "#/title"


@pytest.mark.parametrize(("path", "content_type", "head"), [
    ("/api/v1/subscriptions", "application/json", b'{"email": "a@example.org"}'),
    ("/subscribe", "application/x-www-form-urlencoded", b"email=a%40example.org&frequency=daily"),
    ("/editor/login", "application/x-www-form-urlencoded", b"email=a%40example.org&password=x"),
])
def test_every_body_reading_route_refuses_a_chunked_body_over_the_limit(
    clean_app: Flask, client: FlaskClient, path: str, content_type: str, head: bytes
) -> None:
    limit = clean_app.config["MAX_CONTENT_LENGTH"]
    # Many small form fields (no single one over MAX_FORM_MEMORY_SIZE); spaces for JSON.
    filler = b" " if content_type == "application/json" else b"&a=b"
    over = head + filler * ((limit + 1 - len(head)) // len(filler) + 1)
    declared = client.post(path, data=over, content_type=content_type)
    chunked = _chunked(client, path, over, content_type)
    assert declared.status_code == chunked.status_code == 413
    assert chunked.mimetype == declared.mimetype
    if path.startswith("/api/"):
        assert chunked.mimetype == PROBLEM and chunked.get_json()["status"] == 413


# Real servers: the request goes over a socket with Transfer-Encoding: chunked.

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _send_chunked(port: int, path: str, body: bytes, headers: dict[str, str],
                  framing: bytes | None = None) -> tuple[int, str, bytes]:
    """A raw chunked POST (http.client); the status, content type and body of the answer.

    ``framing``, when given, is sent as the chunked body as it is (to send broken framing).
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        if framing is None:
            for start in range(0, len(body), CHUNK):
                piece = body[start:start + CHUNK]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            framing = b"0\r\n\r\n"
        conn.send(framing)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def _check_server(port: int, limit: int, editor: EditorInfo) -> None:
    headers = {**editor.auth, "Content-Type": "application/json"}
    status, content_type, raw = _send_chunked(port, API, _padded(limit + 1000), headers)
    assert (status, content_type) == (413, PROBLEM), raw[:300]
    assert json.loads(raw)["status"] == 413
    # Below the limit the whole body is read (an invalid title: 422, nothing is created).
    status, content_type, raw = _send_chunked(port, API, b'{"title": "", "body": "'
                                              + b"b" * 300_000 + b'"}', headers)
    assert (status, content_type) == (422, PROBLEM), raw[:300]
    assert {e["pointer"] for e in json.loads(raw)["errors"]} == {"#/title", "#/body"}
    status, _, _ = _send_chunked(port, "/subscribe", b"&a=b" * (limit // 4 + 10),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    # Broken chunk framing is the client's fault: a 400, never a 500. (gunicorn answers it
    # itself, before the app; werkzeug's server leaves it to the app: a problem.)
    status, content_type, raw = _send_chunked(port, API, b"", headers,
                                              framing=b"zz\r\n{}\r\n0\r\n\r\n")
    assert status == 400, raw[:300]
    assert content_type == PROBLEM or b"Invalid chunk size" in raw


def test_werkzeug_server_refuses_a_chunked_body_over_the_limit(
    clean_app: Flask, editor: EditorInfo
) -> None:
    server = make_server("127.0.0.1", 0, clean_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _check_server(server.port, clean_app.config["MAX_CONTENT_LENGTH"], editor)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def gunicorn_port(clean_app: Flask, database_url: str, redis_url: str, tmp_path: Path
                  ) -> Iterator[int]:
    """gunicorn (gthread, as the Dockerfile runs it) serving the app on the test database."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", "gthread", "--threads", "2", "service:create_app()"],
        env=worker_env(database_url, redis_url, tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )

    def answers() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    try:
        wait_for(answers, timeout=30, interval=0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_gunicorn_refuses_a_chunked_body_over_the_limit(
    clean_app: Flask, gunicorn_port: int, editor: EditorInfo
) -> None:
    _check_server(gunicorn_port, clean_app.config["MAX_CONTENT_LENGTH"], editor)
