"""Bodies without ``Content-Length`` (chunked) get the same 413 as bodies with one.

Werkzeug refuses a declared ``Content-Length`` over ``MAX_CONTENT_LENGTH`` before reading, but a
body whose length is not declared (``Transfer-Encoding: chunked``, which gunicorn and the dev
server pass on with ``wsgi.input_terminated``) is only wrapped in a stream that stops at the
limit: ``request.get_data()`` and urlencoded form parsing then return the first 1 MiB as if
it were the whole body, and the request is accepted with the rest silently dropped.

This middleware reads such a body itself, at most one byte past the limit, and hands it on as
an ordinary body of known length (``CONTENT_LENGTH`` set, ``Transfer-Encoding`` dropped: the
server has already undone the chunking, and werkzeug ignores a length beside "chunked").
Every route then takes the one path a declared length takes: over the limit is werkzeug's
``RequestEntityTooLarge`` (413, problem+json under ``/api/``, the HTML error page elsewhere),
and a body cut short or broken (bad chunk framing) is ``ClientDisconnected`` (400). Memory
stays bounded by the limit, as for a declared length read with ``get_data``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from flask import Flask, current_app, request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_READ_SIZE = 64 * 1024
# Where images are uploaded (the API, the editor's media library and write pages): these take
# bodies up to UPLOAD_MAX_CONTENT_LENGTH (MEDIA_MAX_BYTES plus room for the form's other
# fields), every other URL MAX_CONTENT_LENGTH. deploy/nginx.conf has the same paths.
UPLOAD_PATHS = re.compile(r"/(?:api/v1/media|editor/media|editor/announcements/(?:new|[0-9]+))")
UPLOAD_OVERHEAD = 256 * 1024


def body_limit(path: str, config: Mapping[str, Any]) -> int | None:
    """The largest body a request to ``path`` may send."""
    if UPLOAD_PATHS.fullmatch(path) and config.get("UPLOAD_MAX_CONTENT_LENGTH"):
        limit: int = config["UPLOAD_MAX_CONTENT_LENGTH"]
        return limit
    default: int | None = config.get("MAX_CONTENT_LENGTH")
    return default


def _raise_upload_limit() -> None:
    if UPLOAD_PATHS.fullmatch(request.path):
        request.max_content_length = body_limit(request.path, current_app.config)


def init_app(app: Flask) -> None:
    """Upload paths get their larger limit before anything reads the body (the NUL guard and
    CSRF read forms): first of every ``before_request`` function."""
    app.config.setdefault("UPLOAD_MAX_CONTENT_LENGTH",
                          app.config["SETTINGS"].media_max_bytes + UPLOAD_OVERHEAD)
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


def read_at_most(stream: IO[bytes], size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes of ``stream``; and whether it ended cleanly (no read error)."""
    out = bytearray()
    while len(out) < size:
        try:
            data = stream.read(min(_READ_SIZE, size - len(out)))
        except (OSError, ValueError):  # a malformed chunk or a dropped connection
            return bytes(out), False
        if not data:
            break
        out += data
    return bytes(out), True


class ChunkedBodyLimit:
    """WSGI middleware: give an undeclared-length body a ``CONTENT_LENGTH`` (see module doc).

    ``config`` is read per request (the app's config), so the limit is the one Flask applies.
    """

    def __init__(self, app: WSGIApp, config: Mapping[str, Any]) -> None:
        self.app = app
        self.config = config

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        limit = body_limit(environ.get("PATH_INFO", ""), self.config)
        if (limit is not None and not environ.get("CONTENT_LENGTH")
                and environ.get("wsgi.input_terminated")):
            body, complete = read_at_most(environ["wsgi.input"], limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            # Over the limit: a declared length past it (werkzeug answers 413 before reading).
            # Cut short: one byte more than arrived, which werkzeug reports as a disconnect.
            environ["CONTENT_LENGTH"] = str(len(body) if complete else len(body) + 1)
            del environ["wsgi.input_terminated"]  # the length now bounds the stream
            # The server already removed the chunk framing; werkzeug ignores CONTENT_LENGTH
            # while the header still says chunked.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
