"""Feed URLs for what the fast path (``serving.FeedServer``) could not answer.

That is a feed never built yet (fresh deploy, flushed Redis), built here once under the same
lock the workers use; and an unknown tag or partner, which is a 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

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


def _serve(scope: str, filename: str) -> Response:
    fmt = scopes.FORMAT_OF_FILENAME.get(filename)
    if fmt is None:
        abort(404)
    server: serving.FeedServer = current_app.extensions["feed_server"]
    feed = server.lookup(scope, fmt)
    if feed is None:
        if not build.rebuild_scope(scope):
            abort(404)
        feed = server.lookup(scope, fmt)
        if feed is None:  # flushed again between the build and this read
            abort(503)
    headers = serving.response_headers(feed)
    if serving.not_modified(feed, request.headers.get("If-None-Match"),
                            request.headers.get("If-Modified-Since")):
        return Response(status=304, headers=headers)
    return Response(feed.body, status=200, headers=headers, content_type=feed.content_type)
