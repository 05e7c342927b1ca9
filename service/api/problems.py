"""RFC 9457 problem details: every error under ``/api/`` is ``application/problem+json``.

Views raise :class:`Problem` (or a domain exception mapped here); werkzeug's HTTP errors,
including routing failures (an unknown URL, a wrong method) and unhandled exceptions, are
rendered the same way, so an API client never has to parse an HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from service.announcements.publishing import NotAllowed, SlugTaken, UnknownImage
from service.announcements.translations import NotLinkable
from service.api.field_errors import InvalidFields, pointer
from service.extensions import REDIS_DOWN, RETRY_AFTER, TRY_AGAIN, redis_down_page

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
# Stable identifiers clients can switch on; they do not move with the deployment's BASE_URL.
TYPE_BASE = "https://newsroom.example/problems/"
API_PREFIX = "/api/"

# Clearer words than werkzeug's defaults for the errors an API client meets most.
_DETAILS = {
    404: "No such resource.",
    405: "This resource does not support the method; see the Allow header.",
    413: "The request body is larger than the limit of {limit} bytes.",
    500: "An unexpected error occurred on the server; it has been logged.",
}


class Problem(Exception):
    """An error response: ``status`` plus a human ``detail``; ``kind`` names the type URI."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = TYPE_BASE + kind if kind else "about:blank"
        # With about:blank the title must be the status phrase (RFC 9457 section 4.2.1).
        self.title = title if kind and title else HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extensions = extensions


def response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        **problem.extensions,
    }
    resp = current_app.response_class(
        json.dumps(body), status=problem.status, mimetype=MEDIA_TYPE
    )
    resp.headers.update(problem.headers)
    return resp


def from_http_exception(exc: HTTPException) -> Problem:
    code = exc.code or 500
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if code in _DETAILS:
        # The request's own limit: upload paths take more (service.request_limits).
        detail = _DETAILS[code].format(limit=request.max_content_length)
    else:
        detail = exc.description or HTTPStatus(code).description
    return Problem(code, detail, headers=headers)


def _handle_problem(problem: Problem) -> Response:
    return response(problem)


def _handle_http_exception(exc: HTTPException) -> Response:
    # Flask hands unhandled exceptions here as InternalServerError, after logging them; the
    # original is never shown to the client.
    return response(from_http_exception(exc))


def _handle_slug_taken(exc: SlugTaken) -> Response:
    return response(Problem(
        409,
        f"Another announcement already has the slug {exc.slug!r} (its public URL). Give a "
        "different title or an explicit 'slug'.",
        kind="slug-taken", title="Slug already taken", slug=exc.slug,
    ))


def _handle_not_linkable(exc: NotLinkable) -> Response:
    return response(Problem(409, str(exc)[0].upper() + str(exc)[1:] + ".",
                            kind="translation-conflict", title="Translations do not fit"))


def _handle_not_allowed(exc: NotAllowed) -> Response:
    return response(Problem(409, str(exc).capitalize() + ".", kind="not-allowed",
                            title="Not allowed in the current status"))


def _handle_invalid_fields(exc: InvalidFields) -> Response:
    count = len(exc.errors)
    return response(Problem(
        422, f"{count} invalid {'value' if count == 1 else 'values'}; see 'errors'.",
        kind="validation", title="Invalid request", errors=exc.errors,
    ))


def _handle_unknown_image(exc: UnknownImage) -> Response:
    return _handle_invalid_fields(InvalidFields([{
        "pointer": pointer("image"),
        "detail": f"names no uploaded image (there is no image with id {exc.media_id})",
    }]))


def _routing_problem() -> Response | None:
    """Unknown URLs and wrong methods under /api/ never reach the blueprint's handlers.

    Routing failed, so the request belongs to no blueprint and would get the app's HTML error
    page; answering from a before-request hook keeps the API's error format without touching
    any app-wide error handler.
    """
    exc = request.routing_exception
    if exc is None or not isinstance(exc, HTTPException) or (exc.code or 0) < 400:
        return None  # e.g. a 308 redirect to the URL with a trailing slash
    if not (request.path + "/").startswith(API_PREFIX):
        return None
    return response(from_http_exception(exc))


def _handle_redis_down(exc: Exception) -> Response:
    """Redis away: a clear 503 with ``Retry-After`` instead of a 500, for any request (the
    app's handler: a Redis error can come from outside a blueprint's views, a rate limit or a
    hook): problem details under /api/, the site's "try again shortly" page elsewhere."""
    if not (request.path + "/").startswith(API_PREFIX):
        return redis_down_page(exc)
    return response(Problem(503, TRY_AGAIN, headers={"Retry-After": RETRY_AFTER}))


def _app_handler(error: type[Exception]) -> Callable[[BlueprintSetupState], None]:
    """Registers the Redis-down handler on the app the blueprint is registered on."""

    def setup(state: BlueprintSetupState) -> None:
        state.app.register_error_handler(error, _handle_redis_down)

    return setup


def register(bp: Blueprint) -> None:
    bp.register_error_handler(Problem, _handle_problem)
    bp.register_error_handler(HTTPException, _handle_http_exception)
    bp.register_error_handler(SlugTaken, _handle_slug_taken)
    bp.register_error_handler(NotAllowed, _handle_not_allowed)
    bp.register_error_handler(NotLinkable, _handle_not_linkable)
    bp.register_error_handler(InvalidFields, _handle_invalid_fields)
    bp.register_error_handler(UnknownImage, _handle_unknown_image)
    for error in REDIS_DOWN:
        bp.record_once(_app_handler(error))
    bp.before_app_request(_routing_problem)
