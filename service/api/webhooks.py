"""Webhook endpoints by API (admins only): register, list, change, delete, rotate, test.

The secret is in the answer to create and rotate-secret only, never again (it is what lets a
receiver trust us; anyone who can read it later could forge our messages). Delivery and
signing are ``service.webhooks``; this module also hands that layer the announcement
representation of the API, so a webhook's ``data`` is exactly what the API returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Response, jsonify, url_for
from flask.blueprints import BlueprintSetupState
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from service import urls
from service.announcements import policy
from service.api import auth, bp, parsing, schemas
from service.api.announcement_json import public_representation
from service.api.openapi import operation
from service.api.problems import Problem
from service.database import db
from service.editors.models import Editor
from service.webhooks import delivery, endpoints
from service.webhooks.models import WebhookEndpoint

EventType = Literal["announcement.published", "announcement.updated",
                    "announcement.retracted", "announcement.scheduled", "webhook.test"]
assert set(EventType.__args__) == set(endpoints.SUBSCRIBABLE)  # type: ignore[attr-defined]


def _url(value: str) -> str:
    problem = endpoints.url_problem(value)
    if problem:
        raise PydanticCustomError("url", problem)
    return value


Url = Annotated[str, StringConstraints(max_length=endpoints.MAX_URL), AfterValidator(_url),
                Field(description="Absolute http(s) URL that receives the POSTs.")]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(endpoints.SUBSCRIBABLE),
                                          description="Event types to receive.")]
Description = Annotated[str, StringConstraints(max_length=500),
                        AfterValidator(lambda v: schemas._single_line(v) if v else v)]


class WebhookCreate(schemas._Input):
    url: Url
    events: Events
    description: Description = ""


class WebhookUpdate(schemas._Input):
    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None


class Webhook(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    failing_since: schemas.OutTimestamp | None = Field(
        description="Since when every attempt has failed; null after any success. Disabled "
        "once older than the configured period (WEBHOOK_DISABLE_AFTER).")
    rotating: bool = Field(description="The previous secret still signs beside the new one.")
    created_at: schemas.OutTimestamp
    updated_at: schemas.OutTimestamp


class WebhookWithSecret(Webhook):
    secret: str = Field(description="whsec_...: shown in this answer only, never again.")


class WebhookList(BaseModel):
    items: list[Webhook]


class TestSent(BaseModel):
    message_id: str = Field(description="The webhook-id header of the test message.")


def _register_representation(state: BlueprintSetupState) -> None:
    state.app.extensions[delivery.REPRESENTATION] = public_representation


bp.record_once(_register_representation)


def _admin() -> Editor:
    editor = auth.required_editor()
    if not policy.can_manage_accounts(editor):
        raise Problem(403, f"Your role ({editor.role.value}) cannot manage webhooks; an admin "
                           "can.", kind="forbidden", title="Not permitted for your role")
    return editor


def _found(webhook_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    endpoint = endpoints.get(webhook_id, for_update=for_update)
    if endpoint is None:
        raise Problem(404, f"There is no webhook with id {webhook_id}.")
    return endpoint


def _represent(endpoint: WebhookEndpoint) -> dict[str, object]:
    rotating = endpoint.previous_secret_expires_at is not None and bool(
        endpoint.previous_secret) and endpoint.previous_secret_expires_at > datetime.now(
        endpoint.previous_secret_expires_at.tzinfo)
    return Webhook(id=endpoint.id, url=endpoint.url, events=list(endpoint.events),
                   description=endpoint.description, enabled=endpoint.enabled,
                   disabled_reason=endpoint.disabled_reason, rotating=rotating,
                   failing_since=endpoint.failing_since,
                   created_at=endpoint.created_at, updated_at=endpoint.updated_at,
                   ).model_dump(mode="json")


def _with_secret(endpoint: WebhookEndpoint, status: int) -> Response:
    response = jsonify({**_represent(endpoint), "secret": endpoint.secret})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


_ONE = {200: ("The webhook (no secret).", Webhook)}
_ADMIN = "Admins only (403 for editors and authors)."


@bp.post("/webhooks")
@operation(summary="Register a webhook endpoint", description=_ADMIN + " The answer holds "
           "the signing secret, shown this once.", body=WebhookCreate, errors=(403,),
           responses={201: ("Created, with its secret.", WebhookWithSecret)},
           response_headers={201: ("Location",)})
def create_webhook() -> Response:
    _admin()
    data = parsing.body(WebhookCreate)
    endpoint = endpoints.create(data.url, list(data.events), data.description)
    db.session.commit()
    response = _with_secret(endpoint, 201)
    response.headers["Location"] = urls.absolute(url_for(".get_webhook", webhook_id=endpoint.id))
    return response


@bp.get("/webhooks")
@operation(summary="List webhook endpoints", description=_ADMIN, errors=(403,),
           responses={200: ("Every endpoint (no secrets).", WebhookList)})
def list_webhooks() -> Response:
    _admin()
    return jsonify({"items": [_represent(e) for e in endpoints.listing()]})


@bp.get("/webhooks/<int:webhook_id>")
@operation(summary="Get one webhook endpoint", description=_ADMIN, errors=(403, 404),
           responses=_ONE)
def get_webhook(webhook_id: int) -> Response:
    _admin()
    return jsonify(_represent(_found(webhook_id)))


@bp.patch("/webhooks/<int:webhook_id>")
@operation(summary="Change a webhook endpoint", description=_ADMIN + " Enabling one that "
           "was disabled (by a 410) clears its reason.", body=WebhookUpdate, errors=(403, 404),
           responses=_ONE)
def update_webhook(webhook_id: int) -> Response:
    _admin()
    endpoint = _found(webhook_id, for_update=True)
    data = parsing.body(WebhookUpdate)
    endpoints.change(endpoint, url=data.url, description=data.description,
                     event_types=list(data.events) if data.events is not None else None,
                     enabled=data.enabled)
    db.session.commit()
    return jsonify(_represent(endpoint))


@bp.delete("/webhooks/<int:webhook_id>")
@operation(summary="Delete a webhook endpoint", description=_ADMIN + " Messages not yet "
           "sent to it are dropped.", errors=(403, 404), responses={204: ("Deleted.", None)})
def delete_webhook(webhook_id: int) -> Response:
    _admin()
    endpoints.delete(_found(webhook_id, for_update=True))
    db.session.commit()
    return Response(status=204)


@bp.post("/webhooks/<int:webhook_id>/rotate-secret")
@operation(summary="Rotate a webhook's secret", description=_ADMIN + " The new secret is in "
           "this answer only; the old one keeps signing beside it (two signatures) for "
           "WEBHOOK_SECRET_OVERLAP seconds.", errors=(403, 404),
           responses={200: ("The endpoint with its new secret.", WebhookWithSecret)})
def rotate_webhook_secret(webhook_id: int) -> Response:
    _admin()
    endpoint = _found(webhook_id, for_update=True)
    endpoints.rotate(endpoint)
    db.session.commit()
    return _with_secret(endpoint, 200)


@bp.post("/webhooks/<int:webhook_id>/test")
@operation(summary="Send a test event", description=_ADMIN + " Queues a webhook.test "
           "message to the endpoint (if enabled), signed like any other.", errors=(403, 404),
           responses={202: ("Queued.", TestSent)})
def test_webhook(webhook_id: int) -> Response:
    _admin()
    endpoint = _found(webhook_id)
    message = delivery.send_test(endpoint)
    msg_id = message.msg_id
    db.session.commit()
    response = jsonify(TestSent(message_id=msg_id).model_dump(mode="json"))
    response.status_code = 202
    return response
