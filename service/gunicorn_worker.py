"""gunicorn's worker class for the web tier: gthread, plus security headers on its own errors.

gunicorn answers some requests before the app sees them: a malformed request line (400), an
oversized header (431) or request line (414), a bad chunked body. It writes those pages itself
(``gunicorn.workers.base.Worker.handle_error`` calls ``gunicorn.util.write_error``, which
sends status line, ``Connection``, ``Content-Type``, ``Content-Length`` and a small HTML page in
one ``sendall``), so Flask's ``after_request`` never adds its headers. ``handle_error`` keeps
all of gunicorn's logic (which status, the log lines); this class only hands it a socket whose
``sendall`` puts the document security headers (``security.document_headers``: nosniff, a CSP
under which the page runs and loads nothing, HSTS in production) after the status line. No
gunicorn function is patched.

Used as ``gunicorn --worker-class service.gunicorn_worker.ThreadWorker`` (the Dockerfile).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from flask import Flask
from gunicorn.workers.gthread import ThreadWorker as _GthreadWorker

from service import security
from service.heap import freeze_start_up_heap


def _header_block(production: bool) -> bytes:
    return b"".join(f"{name}: {value}\r\n".encode("latin-1")
                    for name, value in security.document_headers(production))


class _SecureErrorSocket:
    """The client socket, except that a response written through it gains ``headers``."""

    def __init__(self, sock: socket.socket, headers: bytes) -> None:
        self._sock = sock
        self._headers = headers
        self._pending = True

    def sendall(self, data: bytes, *args: Any) -> None:
        if self._pending and data.startswith(b"HTTP/"):
            end = data.find(b"\r\n")
            if end != -1:  # right after the status line, before gunicorn's own headers
                data = data[:end + 2] + self._headers + data[end + 2:]
                self._pending = False
        self._sock.sendall(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ThreadWorker(_GthreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker whose own error pages carry the security headers, and whose
    start-up heap is frozen once the app is loaded (``service.heap``)."""

    def run(self) -> None:
        app = getattr(self, "wsgi", None)
        freeze_start_up_heap(app if isinstance(app, Flask) else None)
        super().run()

    def _production(self) -> bool:
        app = getattr(self, "wsgi", None)  # the loaded app: service:create_app()
        settings = app.config.get("SETTINGS") if isinstance(app, Flask) else None
        if settings is not None:
            return bool(settings.production)
        return os.environ.get("NEWSROOM_ENV") == "production"  # the app did not load

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        secure = _SecureErrorSocket(client, _header_block(self._production()))
        super().handle_error(req, secure, addr, exc)
