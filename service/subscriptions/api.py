"""``POST /api/v1/subscriptions``: sign up by JSON. Every error is RFC 9457 problem details.

The answer to a valid request is 202 with the same body whatever the address's state (new,
pending, confirmed, unsubscribed), so the API tells nobody who is subscribed. Errors use the
announcements API's format (``service.api.problems``): those raised here and werkzeug's own
(413 past ``MAX_CONTENT_LENGTH``, 500 for an unexpected error), so a client never gets HTML.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_limiter import RequestLimit
from werkzeug.exceptions import HTTPException

from service.api import problems
from service.api.problems import Problem
from service.database import db
from service.extensions import limiter
from service.subscriptions import lifecycle, ratelimits

bp = Blueprint("subscriptions_api", __name__, url_prefix="/api/v1/subscriptions")

FIELDS = {"email", "frequency", "tags", "partners", "language"}
ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a confirmation link is on its way. "
              "Nothing is sent to it until the link is followed.",
}


def _http_error(exc: HTTPException) -> Response:
    if exc.response is not None:  # already answered, e.g. by _too_many below
        return exc.response
    return problems.response(problems.from_http_exception(exc))


bp.register_error_handler(Problem, problems.response)
bp.register_error_handler(HTTPException, _http_error)  # unhandled exceptions arrive as 500s


def _too_many(limit: RequestLimit) -> Response:
    return problems.response(
        Problem(429, f"Too many sign-up requests ({limit.limit}); try again later."))


@bp.post("")
@limiter.limit(ratelimits.PER_CLIENT, key_func=ratelimits.client_key, on_breach=_too_many)
@ratelimits.per_address(on_breach=_too_many)  # shared with the form: one limit per mailbox
def create() -> Response | tuple[Response, int]:
    if not request.is_json:
        raise Problem(415, "Send the request as application/json.")
    try:
        data = request.get_json(silent=True)  # None when not JSON; a 413 goes to _http_error
    except RecursionError:  # json gives up on very deep nesting with this, not a ValueError
        data = None
    if not isinstance(data, dict):
        raise Problem(400, "The body is not a JSON object.")
    errors = [{"field": name, "message": "unknown field"} for name in sorted(set(data) - FIELDS)]
    email = ""
    try:
        email = lifecycle.normalise_email(data.get("email"))
    except ValueError as exc:
        errors.append({"field": "email", "message": str(exc)})
    preferences = None
    try:
        preferences = lifecycle.parse_preferences(data)
    except lifecycle.InvalidPreferences as exc:
        errors += [{"field": k, "message": v} for k, v in exc.errors.items()]
    if errors or preferences is None:
        raise Problem(422, "The subscription request is not valid.", errors=errors)
    lifecycle.request_subscription(email, preferences)
    db.session.commit()
    return jsonify(ACCEPTED), 202
