"""``POST /api/v1/subscriptions``: sign up by JSON, with the announcements API's parsing,
schema models and problem details (one shape of field errors across the API).

The answer to a valid request is 202 with the same body whatever the address's state (new,
pending, confirmed, unsubscribed), so the API tells nobody who is subscribed; the request
records one outbox event and a worker does the rest (``lifecycle.request_subscription``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Response, jsonify
from flask_limiter import RequestLimit
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from service.api import bp, parsing, problems, schemas
from service.api.openapi import operation
from service.api.problems import Problem
from service.database import db
from service.extensions import limiter
from service.subscriptions import lifecycle, ratelimits


def _address(value: str) -> str:
    try:
        return lifecycle.normalise_email(value)
    except ValueError as exc:
        raise PydanticCustomError("email", str(exc)) from None


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


TopicList = Annotated[list[schemas.Slug], Field(max_length=lifecycle.MAX_TOPICS)]


class SubscriptionRequest(schemas._Input):
    """A sign-up: the address and what to receive. Nothing is sent but a confirmation link
    until the link is followed."""

    email: Annotated[str, Field(max_length=254, description="The address to confirm."),
                     AfterValidator(_address)]
    frequency: Literal["instant", "daily", "weekly"] = "daily"
    tags: TopicList = Field(default_factory=list, description="Topics; none means all.")
    partners: TopicList = Field(default_factory=list, description="Partners; none means all.")
    language: Annotated[schemas.Language | None, BeforeValidator(_empty_is_none)] = Field(
        None, description="Only announcements in this language; none (or empty) means all.")


class SubscriptionAccepted(BaseModel):
    status: Literal["accepted"]
    detail: str


ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a confirmation link is on its way. "
              "Nothing is sent to it until the link is followed.",
}


def _too_many(limit: RequestLimit) -> Response:
    return problems.response(
        Problem(429, f"Too many sign-up requests ({limit.limit}); try again later."))


@bp.post("/subscriptions")
@limiter.limit(ratelimits.PER_CLIENT, key_func=ratelimits.client_key, on_breach=_too_many)
@ratelimits.per_address(on_breach=_too_many)  # shared with the form: one limit per mailbox
@operation(
    summary="Sign an address up (double opt-in)",
    auth="none",
    body=SubscriptionRequest,
    responses={202: ("Accepted: a confirmation link is mailed (the same answer for every "
                     "address).", SubscriptionAccepted)},
    errors=(429,),
)
def create_subscription() -> tuple[Response, int]:
    request = parsing.body(SubscriptionRequest)
    preferences = lifecycle.parse_preferences(request.model_dump(exclude={"email"}))
    lifecycle.request_subscription(request.email, preferences)
    db.session.commit()
    return jsonify(ACCEPTED), 202
