"""The feed hot path: a WSGI layer in front of Flask that answers built feeds directly.

Every request asks Redis for the feed's current ETag (a few bytes, one round trip), so a
publish is visible on the very next request. The document itself comes from a small
per-process copy kept under that ETag, and is fetched again only when the ETag moves.
Anything this layer cannot answer (a feed never built, an unknown tag, another method) goes on
to the Flask views, which build on demand or answer 404.

Every answer carries the document security headers (``security.document_headers``: nosniff, a
CSP that runs and loads nothing, HSTS in production), since Flask's ``after_request`` never sees
what this layer answers. Redis down is a 503 with ``Retry-After`` right here: a second attempt
in the Flask view would only wait for the same dead server again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any, cast

import redis

from service.extensions import REDIS_DOWN, RETRY_AFTER
from service.feeds import scopes, store

CACHE_CONTROL = "public, max-age=0, must-revalidate"
# An archive page changes only when an item in it is edited or retracted (archives.py): caches
# may keep it a day, then revalidate with its ETag.
ARCHIVE_CACHE_CONTROL = "public, max-age=86400"
MAX_CACHED = 512  # documents per process; a few MB at most
UNAVAILABLE_BODY = b"Feeds are unavailable for a moment; try again in a few seconds.\n"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def not_modified(feed: store.StoredFeed, if_none_match: str | None,
                 if_modified_since: str | None) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        ours = feed.etag.removeprefix("W/")
        return any(tag.strip().removeprefix("W/") == ours for tag in if_none_match.split(","))
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
            if since.tzinfo is None:
                return False
            since_ts = since.timestamp()
        # An invalid date is ignored (RFC 9110 section 13.1.3), whatever way it is invalid:
        # a year with twenty digits overflows a C long (OverflowError), one past 9999 or an
        # hour of 25 is a ValueError. Without this a crafted header was a 500 on every feed.
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return feed.last_modified_ts <= since_ts
    return False


def cache_control(document: str) -> str:
    return CACHE_CONTROL if scopes.split_page(document)[1] is None else ARCHIVE_CACHE_CONTROL


def response_headers(feed: store.StoredFeed, secure: list[tuple[str, str]],
                     document: str = scopes.ALL) -> list[tuple[str, str]]:
    """The headers of a 200 and of a 304 alike (a 304 repeats the validators, RFC 9110)."""
    return [
        ("ETag", feed.etag),
        ("Last-Modified", feed.last_modified),
        ("Cache-Control", cache_control(document)),
        # WebSub discovery (rel="hub", rel="self"), stored with the document at build time.
        *([("Link", feed.link)] if feed.link else []),
        *secure,
    ]


def unavailable_headers(secure: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of the 503 answered while Redis cannot be reached."""
    return [
        ("Retry-After", RETRY_AFTER),
        ("Cache-Control", "no-store"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(UNAVAILABLE_BODY))),
        *secure,
    ]


def page_number(segment: str) -> int | None:
    """``"3"`` -> 3; None for anything but a positive decimal without leading zeros."""
    if segment.isascii() and segment.isdigit() and segment[0] != "0" and len(segment) < 10:
        return int(segment)
    return None


def parse_path(path: str) -> tuple[str, str] | None:
    """``/feeds/tags/esa/rss.xml`` -> ``("tag:esa", "rss")``, an archive page
    ``/feeds/tags/esa/archive/3/rss.xml`` -> ``("tag:esa@3", "rss")``; None if not a feed URL."""
    parts = path.split("/")
    if len(parts) in (5, 7) and parts[-3] == scopes.ARCHIVE_SEGMENT:
        number = page_number(parts[-2])
        scope = parse_path("/".join([*parts[:-3], parts[-1]]))
        return (scopes.page(scope[0], number), scope[1]) if scope and number else None
    # ["", "feeds", filename] or ["", "feeds", "tags"|"partners", slug, filename]
    if len(parts) == 3 and parts[1] == "feeds":
        fmt = scopes.FORMAT_OF_FILENAME.get(parts[2])
        return (scopes.ALL, fmt) if fmt else None
    if len(parts) == 5 and parts[1] == "feeds" and parts[3]:
        kind = {"tags": "tag", "partners": "partner"}.get(parts[2])
        fmt = scopes.FORMAT_OF_FILENAME.get(parts[4])
        return (f"{kind}:{parts[3]}", fmt) if kind and fmt else None
    return None


class FeedServer:
    """WSGI middleware serving built feeds from Redis; everything else goes to ``fallback``."""

    def __init__(self, conn: redis.Redis, fallback: WSGIApp,
                 secure: list[tuple[str, str]]) -> None:
        """``secure``: the security headers of every answer (``security.document_headers``)."""
        self.conn = conn
        self.fallback = fallback
        self.secure = secure
        self._documents: OrderedDict[str, store.StoredFeed] = OrderedDict()

    def lookup(self, scope: str, fmt: str) -> store.StoredFeed | None:
        """The current document of a feed, or None when it was never built."""
        key = store.key(scope, fmt)
        # redis-py types the reply as str (sync or async); a sync client without
        # decode_responses gives bytes.
        etag = cast("bytes | None", self.conn.hget(key, "etag"))
        if etag is None:
            self._documents.pop(key, None)
            return None
        cached = self._documents.get(key)
        if cached is not None and cached.etag == etag.decode():
            self._documents.move_to_end(key)
            return cached
        feed = store.get(self.conn, scope, fmt)
        if feed is None:
            return None
        self._documents[key] = feed
        if len(self._documents) > MAX_CACHED:
            self._documents.popitem(last=False)
        return feed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        target = parse_path(environ.get("PATH_INFO", "")) if method in ("GET", "HEAD") else None
        try:
            feed = self.lookup(*target) if target else None
        except REDIS_DOWN:
            start_response("503 Service Unavailable", unavailable_headers(self.secure))
            return [] if method == "HEAD" else [UNAVAILABLE_BODY]
        if feed is None:
            return self.fallback(environ, start_response)
        headers = response_headers(feed, self.secure, target[0] if target else scopes.ALL)
        if not_modified(feed, environ.get("HTTP_IF_NONE_MATCH"),
                        environ.get("HTTP_IF_MODIFIED_SINCE")):
            start_response("304 Not Modified", headers)
            return []
        headers += [("Content-Type", feed.content_type), ("Content-Length", str(len(feed.body)))]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [feed.body]
