"""Webhook endpoints under ``/editor/admin/webhooks``: what the API does, for people. Admins only.

Nested in ``admin``, so its role check runs before every view here. The views call
``service.webhooks`` and commit, as the API does; a delivery task is queued after that commit
(``delivery.schedule`` uses ``enqueue_after_commit``). Every change is a POST answered 303.

A secret is shown once, on the page that 303 leads to after adding or rotating, yet it never
travels in a cookie (Flask's session is signed, not encrypted): the session holds only the
endpoint's id and a fingerprint of the secret just issued, and the page pops that and shows
the secret from the database if it is still the same one. A reload shows it no more.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.database import db, utcnow
from service.editor import auth, webhook_history
from service.editor.forms import required_text
from service.editor.webhook_forms import DisableForm, WebhookForm
from service.webhooks import delivery, endpoints
from service.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

_REVEAL = "webhook_reveal"  # session key: [endpoint id, fingerprint of the secret to show]
# A finished message may be sent again; a pending one is still on its way.
REDELIVERABLE = frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.GONE,
                           MessageStatus.CANCELLED})


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _show_secret_next(endpoint: WebhookEndpoint) -> None:
    session[_REVEAL] = [endpoint.id, _fingerprint(endpoint.secret)]


def _secret_to_show(endpoint: WebhookEndpoint) -> str | None:
    """The secret once, on the first view of the endpoint's page after it was issued."""
    if session.pop(_REVEAL, None) == [endpoint.id, _fingerprint(endpoint.secret)]:
        return endpoint.secret
    return None


def _found(endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    endpoint = endpoints.get(endpoint_id, for_update=for_update)
    if endpoint is None:
        abort(404, description="No webhook endpoint with this number.")
    return endpoint


def _to_page(endpoint: WebhookEndpoint) -> Response:
    return redirect(url_for(".endpoint", endpoint_id=endpoint.id), code=303)


def _edit_form(endpoint: WebhookEndpoint, *, bound: bool = True) -> WebhookForm:
    """The endpoint's form, filled in; ``bound=False`` ignores the POST (another form's)."""
    data = {"url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description}
    return WebhookForm(data=data) if bound else WebhookForm(formdata=None, data=data)


@bp.route("", methods=["GET", "POST"])
def index() -> str | Response:
    form = WebhookForm()
    form.submit.label.text = "Add endpoint"
    if form.validate_on_submit():
        made = endpoints.create(required_text(form.url), form.chosen_events(),
                                form.description.data or "")
        db.session.commit()
        _show_secret_next(made)
        flash(f"Added {made.url}.", "success")
        return _to_page(made)
    return render_template(
        "editor/admin/webhooks.html", form=form, endpoints=endpoints.listing(),
        counts=webhook_history.recent_counts(), days=webhook_history.RECENT_DAYS,
        statuses=list(MessageStatus))


def _page(endpoint: WebhookEndpoint, form: WebhookForm, disable_form: DisableForm
          ) -> str:
    """The endpoint's page: its forms (as submitted, when they have errors), the secret if
    it is due to be shown, and the recent deliveries."""
    rotating_until = endpoint.previous_secret_expires_at
    if not endpoint.previous_secret or (rotating_until and rotating_until <= utcnow()):
        rotating_until = None
    return render_template(
        "editor/admin/webhook.html", endpoint=endpoint, form=form, disable_form=disable_form,
        secret=_secret_to_show(endpoint), rotating_until=rotating_until,
        deliveries=webhook_history.recent_deliveries(endpoint.id),
        limit=webhook_history.RECENT_MESSAGES, redeliverable=REDELIVERABLE)


@bp.route("/<int:endpoint_id>", methods=["GET", "POST"])
def endpoint(endpoint_id: int) -> str | Response:
    """The endpoint's page; its main form changes the URL, the events and the description."""
    found = _found(endpoint_id)
    form = _edit_form(found)
    if form.validate_on_submit():
        found = _found(endpoint_id, for_update=True)
        endpoints.change(found, url=required_text(form.url), event_types=form.chosen_events(),
                         description=form.description.data or "")
        db.session.commit()
        flash("Saved. Messages still waiting go to the address as it is now.", "success")
        return _to_page(found)
    return _page(found, form, DisableForm())


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id: int) -> str | Response:
    found = _found(endpoint_id)
    form = DisableForm()
    if not form.validate_on_submit():
        return _page(found, _edit_form(found, bound=False), form)
    found = _found(endpoint_id, for_update=True)
    me = auth.current_editor()
    reason = f"disabled by {me.name or me.email} on {utcnow():%Y-%m-%d %H:%M} UTC"
    if form.reason.data:
        reason += f": {form.reason.data.strip()}"
    endpoints.disable(found, reason)
    db.session.commit()
    flash("Disabled: nothing is sent to it until it is enabled again; messages waiting for it "
          "are cancelled.")
    return _to_page(found)


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id: int) -> Response:
    found = _found(endpoint_id, for_update=True)
    endpoints.change(found, enabled=True)  # clears the disabled reason
    db.session.commit()
    flash("Enabled: new events go to it again. Messages cancelled meanwhile can be redelivered "
          "below.", "success")
    return _to_page(found)


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int) -> Response:
    found = _found(endpoint_id, for_update=True)
    endpoints.rotate(found)
    db.session.commit()
    _show_secret_next(found)
    return _to_page(found)


@bp.post("/<int:endpoint_id>/test")
def send_test(endpoint_id: int) -> Response:
    found = _found(endpoint_id)
    if not found.enabled:
        flash("This endpoint is disabled: enable it first, then send a test event.", "error")
        return _to_page(found)
    message = delivery.send_test(found)
    msg_id = message.msg_id
    db.session.commit()
    flash(f"Queued a test event ({msg_id}); it is listed below with each attempt.", "success")
    return _to_page(found)


@bp.post("/<int:endpoint_id>/messages/<int:message_id>/redeliver")
def redeliver(endpoint_id: int, message_id: int) -> Response:
    """Send a finished message again: the same body and webhook-id, so receivers that have it
    already can tell (Standard Webhooks' idempotency rule)."""
    found = _found(endpoint_id, for_update=True)
    message = db.session.get(WebhookMessage, message_id, with_for_update=True)
    if message is None or message.endpoint_id != found.id:
        abort(404, description="No such message for this endpoint.")
    if not found.enabled:
        flash("This endpoint is disabled: enable it first, then redeliver.", "error")
    elif message.status not in REDELIVERABLE:
        flash(f"{message.msg_id} is still on its way (pending); there is nothing to redeliver "
              f"yet.")
    else:
        delivery.schedule(message, found)
        db.session.commit()
        flash(f"Redelivering {message.msg_id}, with the same webhook-id.", "success")
    return _to_page(found)


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
def delete(endpoint_id: int) -> str | Response:
    """GET asks for confirmation; the POST deletes the endpoint and its whole history."""
    if request.method == "GET":
        found = _found(endpoint_id)
        return render_template("editor/admin/webhook_delete.html", endpoint=found,
                               messages=webhook_history.message_count(found.id))
    found = _found(endpoint_id, for_update=True)
    url = found.url
    endpoints.delete(found)
    db.session.commit()
    flash(f"Deleted the endpoint {url}, with its messages; nothing more is sent to it.")
    return redirect(url_for(".index"), code=303)
