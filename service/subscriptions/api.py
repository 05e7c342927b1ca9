"""``POST /api/v1/subscriptions``: sign up by JSON. Errors are RFC 9457 problem details.

The answer to a valid request is 202 with the same body whatever the address's state (new,
pending, confirmed, unsubscribed), so the API tells nobody who is subscribed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, make_response, request
from flask_limiter import RequestLimit

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


def problem(status: int, title: str, detail: str,
            errors: list[dict[str, str]] | None = None) -> Response:
    """An ``application/problem+json`` response (RFC 9457)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if errors:
        body["errors"] = errors
    response = make_response(jsonify(body), status)
    response.mimetype = "application/problem+json"
    return response


def _too_many(limit: RequestLimit) -> Response:
    return problem(429, "Too Many Requests",
                   f"Too many sign-up requests ({limit.limit}); try again later.")


@bp.post("")
@limiter.limit(ratelimits.PER_CLIENT, key_func=ratelimits.client_key, on_breach=_too_many)
@limiter.limit(ratelimits.PER_ADDRESS, key_func=ratelimits.address_key, on_breach=_too_many)
def create() -> Response | tuple[Response, int]:
    if not request.is_json:
        return problem(415, "Unsupported Media Type", "Send the request as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return problem(400, "Bad Request", "The body is not a JSON object.")
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
        return problem(422, "Unprocessable Content", "The subscription request is not valid.",
                       errors)
    lifecycle.subscribe(email, preferences)
    db.session.commit()
    return jsonify(ACCEPTED), 202
