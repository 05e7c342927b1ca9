"""The editors' blueprint at ``/editor``: every view but sign-in needs a signed-in editor.

Its hooks (sign-in required, no caching of a signed-in editor's pages), error pages and the
helpers the areas share live here; the views themselves are in one module per area:
``signin`` (sign-in, sign-out, password), ``writing`` (list, write, preview, edit),
``workflow`` (publish, schedule, unschedule, retract, submit), ``history`` (revisions),
``admin`` (accounts and tokens) and ``emails`` (the email preview). ``views`` gathers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException, TooManyRequests
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy
from service.announcements.models import Announcement, Status
from service.database import db
from service.editor import auth
from service.editor.account_forms import LoginForm
from service.url_numbers import positive_int
from service.wtf import CSRFError

bp = Blueprint("editor", __name__, url_prefix="/editor")


@bp.before_request
def _require_sign_in() -> Response | None:
    # The editor is cached on ``g`` for this request; an app context shared by several
    # requests (as in tests) must not hand one request's editor to the next.
    g.pop("editor", None)
    g.pop("login_failed", None)
    if request.endpoint == "editor.login":
        return None
    if auth.load_current_editor() is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("editor.login", next=target))
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # pages of a signed-in editor stay private
    return response


@bp.app_template_filter("when")
def _when(moment: datetime | None) -> str:
    """A timestamp as editors read it: the office's zone (``TIMEZONE``), UTC beside."""
    from service.editor import times

    return times.show(moment)


@bp.context_processor
def _template_context() -> dict[str, Any]:
    return {"me": auth.load_current_editor(), "policy": policy, "Status": Status}


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_template(
        "editor/error.html",
        title="The form could not be accepted",
        message="It was not sent from this site's page, or it is too old. Go back, reload the "
        "page and try again.",
        detail=error.description,
    ), 400


@bp.errorhandler(403)
def _forbidden(error: HTTPException) -> tuple[str, int]:
    return render_template(
        "editor/error.html",
        title="Not allowed",
        message="Your role does not allow this. Ask an editor or an admin.",
    ), 403


@bp.errorhandler(404)
def _not_found(error: HTTPException) -> tuple[str, int]:
    return render_template("editor/error.html", title="Not found", message=error.description), 404


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> tuple[str, int]:
    return render_template(
        "editor/login.html",
        form=LoginForm(),
        next=None,
        error="Too many failed sign-in attempts. Wait a few minutes, then try again.",
    ), 429


def page_number() -> int:
    page = positive_int(request.args.get("page"), default=1)
    if page is None:
        abort(404, description="No such page.")
    return page


def get_announcement(announcement_id: int) -> Announcement:
    item = db.session.get(Announcement, announcement_id)
    if item is None:
        abort(404, description="No announcement with this number.")
    return item


def back_to(item: Announcement) -> Response:
    return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
