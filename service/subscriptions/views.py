"""Subscriber pages: sign up, confirm, manage, and the one-click unsubscribe (RFC 8058).

The link in an email is the reader's only credential: a forged or altered one gets a 400 page,
a revoked one (or one for a purged sign-up, or for an id that now names another address) a 404,
never someone else's subscription. A GET never changes anything: mail scanners fetch every link
in a message, so confirming takes a POST from the confirmation page's button (with a CSRF
token), and leaving takes a POST, which needs no cookie, CSRF token or login, as mail clients
send it on their own (RFC 8058).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_limiter import RequestLimit

from service.database import db
from service.extensions import csrf, limiter
from service.subscriptions import exports, lifecycle, ratelimits, suppression, tokens
from service.subscriptions.forms import EraseForm, PreferencesForm, SubscribeForm
from service.subscriptions.models import Subscriber

bp = Blueprint("subscriptions", __name__)


def _too_many(_: RequestLimit) -> Response:
    return make_response(render_template("subscriptions/too_many.html"), 429)


def _bad_link(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, tokens.ExpiredToken):
        return render_template("subscriptions/link_invalid.html", expired=True), 400
    if isinstance(exc, lifecycle.LinkNotValid):
        return render_template("subscriptions/link_invalid.html", revoked=True), 404
    return render_template("subscriptions/link_invalid.html"), 400


def _manage_url(subscriber: Subscriber) -> str:
    token = tokens.manage_token(subscriber.id, subscriber.token_version, subscriber.email)
    return f"{current_app.config['BASE_URL']}/subscriptions/manage/{token}"


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit(ratelimits.PER_CLIENT, key_func=ratelimits.client_key, methods=["POST"],
               on_breach=_too_many)
@ratelimits.per_address(on_breach=_too_many)  # shared with the API: one limit per mailbox
def subscribe() -> str | tuple[str, int]:
    form = SubscribeForm()
    form.load_choices()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("subscriptions/subscribe.html", form=form), status
    try:
        email = lifecycle.normalise_email(form.email.data)
    except ValueError as exc:
        form.email.errors = [str(exc)]
        return render_template("subscriptions/subscribe.html", form=form), 400
    try:
        preferences = lifecycle.parse_preferences(form.preference_data())
    except lifecycle.InvalidPreferences as exc:
        form.form_errors = list(exc.errors.values())
        return render_template("subscriptions/subscribe.html", form=form), 400
    lifecycle.request_subscription(email, preferences)
    db.session.commit()
    # The same page whether the address is new, pending or already subscribed.
    return render_template("subscriptions/check_inbox.html", email=email)


@bp.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> str | tuple[str, int]:
    """GET shows what the link confirms and a button; only the button's POST confirms.

    A scanner's GET must not re-subscribe an address that left, nor overwrite a confirmed
    subscriber's preferences with those of a later sign-up request.
    """
    try:
        if request.method == "GET":
            confirmation = lifecycle.for_confirm_token(token)
            return render_template("subscriptions/confirm.html", token=token,
                                   subscriber=confirmation.subscriber,
                                   preferences=confirmation.preferences)
        subscriber = lifecycle.confirm(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid, lifecycle.InvalidPreferences) as exc:
        db.session.rollback()
        return _bad_link(exc)
    db.session.commit()
    return render_template("subscriptions/confirmed.html", subscriber=subscriber,
                           manage_url=_manage_url(subscriber))


@bp.route("/subscriptions/manage/<token>", methods=["GET", "POST"])
def manage(token: str) -> str | tuple[str, int]:
    try:
        subscriber = lifecycle.for_manage_token(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid) as exc:
        return _bad_link(exc)
    form = PreferencesForm(data=subscriber.preferences if request.method == "GET" else None)
    form.load_choices(lifecycle.parse_preferences(subscriber.preferences))
    saved = confirming = False
    if request.method == "POST":
        if request.form.get("action") == "resubscribe":
            if form.validate_on_submit():
                try:
                    if "frequency" in request.form:  # the choices shown beside the button
                        lifecycle.change_preferences(
                            subscriber, lifecycle.parse_preferences(form.preference_data()))
                except lifecycle.InvalidPreferences as exc:
                    form.form_errors = list(exc.errors.values())
                else:
                    confirming = not lifecycle.resubscribe(subscriber)
                    db.session.commit()
                    saved = not confirming
        elif form.validate_on_submit():
            try:
                lifecycle.change_preferences(
                    subscriber, lifecycle.parse_preferences(form.preference_data()))
            except lifecycle.InvalidPreferences as exc:
                form.form_errors = list(exc.errors.values())
            else:
                db.session.commit()
                saved = True
        if not saved and not confirming:
            return render_template("subscriptions/manage.html", form=form, token=token,
                                   subscriber=subscriber), 400
    return render_template("subscriptions/manage.html", form=form, token=token,
                           subscriber=subscriber, saved=saved, confirming=confirming,
                           suppressed=suppression.is_suppressed(db.session, subscriber.email))


@bp.get("/subscriptions/unsubscribe/<token>")
def unsubscribe_page(token: str) -> str | tuple[str, int]:
    """Only a page with a button: a link scanner's GET unsubscribes nobody."""
    try:
        subscriber = lifecycle.for_manage_token(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid) as exc:
        return _bad_link(exc)
    return render_template("subscriptions/unsubscribe.html", token=token, subscriber=subscriber)


@bp.post("/subscriptions/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: the mail client posts on its own, with no cookie or form token
def unsubscribe(token: str) -> str | tuple[str, int]:
    try:
        subscriber = lifecycle.for_manage_token(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid) as exc:
        return _bad_link(exc)
    lifecycle.unsubscribe(subscriber)
    db.session.commit()
    return render_template("subscriptions/unsubscribed.html", token=token)


@bp.get("/subscriptions/manage/<token>/data.json")
def own_data(token: str) -> Response | tuple[str, int]:
    """Everything kept about this subscriber, as JSON (the manage link is the credential)."""
    try:
        subscriber = lifecycle.for_manage_token(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid) as exc:
        return _bad_link(exc)
    response = jsonify(exports.own_data(subscriber))
    response.headers["Content-Disposition"] = 'attachment; filename="newsroom-subscription.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/subscriptions/manage/<token>/erase", methods=["GET", "POST"])
def erase(token: str) -> str | tuple[str, int]:
    """GET: a page with a button; its POST (CSRF token) erases the address for good."""
    try:
        subscriber = lifecycle.for_manage_token(token)
    except (tokens.InvalidToken, lifecycle.LinkNotValid) as exc:
        return _bad_link(exc)
    form = EraseForm()
    if request.method == "POST" and form.validate_on_submit():
        exports.erase(subscriber)
        db.session.commit()
        return render_template("subscriptions/erased.html")
    status = 400 if request.method == "POST" else 200
    return render_template("subscriptions/erase.html", token=token, subscriber=subscriber,
                           form=form), status
