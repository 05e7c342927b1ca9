"""Feed serving: one Redis read, then 200 or 304. Never a database query on a warm path.

A feed not built yet (fresh deploy, flushed Redis) is built once, here, under the same lock the
workers use; an unknown tag or partner is a 404.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flask import Blueprint, Response, abort, request

from service.extensions import get_redis
from service.feeds import build, scopes, store

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

CACHE_CONTROL = "public, max-age=0, must-revalidate"


@bp.get("/<filename>")
def everything(filename: str) -> Response:
    return _serve(scopes.ALL, filename)


@bp.get("/tags/<slug>/<filename>")
def tag(slug: str, filename: str) -> Response:
    return _serve(f"tag:{slug}", filename)


@bp.get("/partners/<slug>/<filename>")
def partner(slug: str, filename: str) -> Response:
    return _serve(f"partner:{slug}", filename)


def _serve(scope: str, filename: str) -> Response:
    fmt = scopes.FORMAT_OF_FILENAME.get(filename)
    if fmt is None:
        abort(404)
    conn = get_redis()
    feed = store.get(conn, scope, fmt)
    if feed is None:
        if not build.rebuild_scope(scope):
            abort(404)
        feed = store.get(conn, scope, fmt)
        if feed is None:  # flushed again between the build and this read
            abort(503)
    headers = {
        "ETag": feed.etag,
        "Last-Modified": feed.last_modified,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if _not_modified(feed):
        return Response(status=304, headers=headers)
    return Response(feed.body, status=200, headers=headers, content_type=feed.content_type)


def _not_modified(feed: store.StoredFeed) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        ours = feed.etag.removeprefix("W/")
        return any(tag.strip().removeprefix("W/") == ours for tag in if_none_match.split(","))
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False  # an invalid date is ignored (RFC 9110)
        if since.tzinfo is None:
            return False
        return feed.last_modified_ts <= since.timestamp()
    return False
