"""Feed URLs for what the fast path (``serving.FeedServer``) could not answer.

That is a feed never built yet (fresh deploy, flushed Redis), built here once under the same
lock the workers use; and an unknown tag or partner, which is a 404. Answers carry the same
document security headers as the fast path's (``FeedServer.secure``); Flask's ``after_request``
keeps a header a view set, so the feed CSP is not replaced by the pages' one. Redis down here
too (between the fast path's read and the build) is the fast path's 503 with ``Retry-After``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from service.extensions import REDIS_DOWN
from service.feeds import build, scopes, serving

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


@bp.get("/<filename>")
def everything(filename: str) -> Response:
    return _serve(scopes.ALL, filename)


@bp.get("/tags/<slug>/<filename>")
def tag(slug: str, filename: str) -> Response:
    return _serve(f"tag:{slug}", filename)


@bp.get("/partners/<slug>/<filename>")
def partner(slug: str, filename: str) -> Response:
    return _serve(f"partner:{slug}", filename)


@bp.get("/archive/<number>/<filename>")
def everything_archive(number: str, filename: str) -> Response:
    return _serve(scopes.ALL, filename, number)


@bp.get("/tags/<slug>/archive/<number>/<filename>")
def tag_archive(slug: str, number: str, filename: str) -> Response:
    return _serve(f"tag:{slug}", filename, number)


@bp.get("/partners/<slug>/archive/<number>/<filename>")
def partner_archive(slug: str, number: str, filename: str) -> Response:
    return _serve(f"partner:{slug}", filename, number)


def _serve(scope: str, filename: str, number: str | None = None) -> Response:
    """A subscription feed, or with ``number`` one of its archive pages (1, 2, ...; no other
    spelling, so each page has one URL)."""
    fmt = scopes.FORMAT_OF_FILENAME.get(filename)
    page = None if number is None else serving.page_number(number)
    if fmt is None or (number is not None and page is None):
        abort(404)
    document = scope if page is None else scopes.page(scope, page)
    server: serving.FeedServer = current_app.extensions["feed_server"]
    try:
        feed = server.lookup(document, fmt)
        if feed is None:
            built = (build.rebuild_scope(scope) if page is None
                     else build.build_page(scope, page))
            if not built:
                abort(404)
            feed = server.lookup(document, fmt)
    except REDIS_DOWN:
        feed = None
    if feed is None:  # Redis is down, or was flushed again between the build and this read
        return Response(serving.UNAVAILABLE_BODY, status=503,
                        headers=serving.unavailable_headers(server.secure))
    headers = serving.response_headers(feed, server.secure, document)
    if serving.not_modified(feed, request.headers.get("If-None-Match"),
                            request.headers.get("If-Modified-Since")):
        return Response(status=304, headers=headers)
    return Response(feed.body, status=200, headers=headers, content_type=feed.content_type)
