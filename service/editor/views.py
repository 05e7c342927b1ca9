"""The editors' newsroom at ``/editor``: sign-in, dashboard, announcements and their revisions.

Views are thin: forms validate, ``service.announcements.publishing`` and ``revisions`` change
things, one commit per request. Every view but sign-in needs a signed-in editor (checked in
``before_request``), and every view that changes something checks the role itself with the
same ``policy.can_*`` functions the templates use to show or hide its button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException, TooManyRequests

from service.announcements import policy, publishing, revisions
from service.announcements.models import Announcement, Partner, Status, Tag
from service.announcements.rendering import render_markdown
from service.database import db
from service.editor import auth
from service.editor import dashboard as stats
from service.editor.admin import bp as admin_bp
from service.editor.emails import bp as emails_bp
from service.editor.forms import AnnouncementForm, LoginForm, PasswordForm, ScheduleForm, join_slugs
from service.editors import accounts
from service.editors.models import Editor
from service.extensions import limiter
from service.url_numbers import positive_int

bp = Blueprint("editor", __name__, url_prefix="/editor")
bp.register_blueprint(admin_bp)
bp.register_blueprint(emails_bp)

PER_PAGE = 50
# Only failed sign-ins are counted: per account against guessing one password, per client
# against trying many accounts. Once an account's limit is reached, every attempt on that
# account is refused (429), even with the right password, until the window passes. That is
# deliberate: letting a right password through would let guessing go on unlimited (a 302
# among the 429s gives the password away). The price is a targeted lockout: anyone who knows
# an editor's address can keep them out for a while by failing on purpose.
ACCOUNT_LIMIT = "5 per minute;20 per hour"
CLIENT_LIMIT = "20 per minute;100 per hour"
FAILED_LOGIN = "That email address and password do not match an active account."


# -- sign-in, session and errors ---------------------------------------------------------------


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
    """A timestamp as editors read it; always UTC, which the schedule form also uses."""
    return moment.strftime("%d %b %Y %H:%M UTC") if moment else ""


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


def _login_failed(response: Response) -> bool:
    return bool(g.get("login_failed"))


def _account_key() -> str:
    address = request.form.get("email", "").strip()
    if not address:
        return ""  # no limit to count against; the form refuses an empty address anyway
    try:
        return "login-account:" + accounts.normalise_email(address)
    except accounts.AccountError:
        return "login-account:" + address.lower()


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the editor: never another site (an open redirect), and no control
    character (CR and LF would end up in the Location header, which refuses them: a 500)."""
    if (
        target
        and target.startswith("/editor/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ACCOUNT_LIMIT, key_func=_account_key, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    CLIENT_LIMIT, key_func=get_remote_address, methods=["POST"], deduct_when=_login_failed
)
def login() -> str | Response:
    next_url = _safe_next(request.args.get("next"))
    if auth.load_current_editor() is not None:
        return redirect(next_url or url_for("editor.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        editor = auth.authenticate(form.email.data, form.password.data)
        if editor is not None:
            auth.sign_in(editor)
            db.session.commit()  # verify_password may have upgraded the hash
            return redirect(next_url or url_for("editor.dashboard"))
        g.login_failed = True
        error = FAILED_LOGIN
    return render_template("editor/login.html", form=form, next=next_url, error=error)


@bp.post("/logout")
def logout() -> Response:
    auth.sign_out(auth.current_editor())
    db.session.commit()
    flash("You are signed out, here and on every other device.")
    return redirect(url_for("editor.login"))


@bp.route("/account", methods=["GET", "POST"])
def account() -> str | Response:
    editor = auth.current_editor()
    form = PasswordForm()
    if form.validate_on_submit():
        if not accounts.verify_password(editor, form.current.data):
            form.current.errors.append("this is not your current password")
        else:
            auth.change_password(editor, form.new.data)
            db.session.commit()
            flash("Password changed. Your other sessions are signed out.")
            return redirect(url_for("editor.account"))
    return render_template("editor/account.html", form=form)


# -- dashboard ---------------------------------------------------------------------------------


@bp.get("/")
def dashboard() -> str:
    return render_template("editor/dashboard.html", figures=stats.figures())


# -- announcements -----------------------------------------------------------------------------


def _page() -> int:
    page = positive_int(request.args.get("page"), default=1)
    if page is None:
        abort(404, description="No such page.")
    return page


def _get(announcement_id: int) -> Announcement:
    item = db.session.get(Announcement, announcement_id)
    if item is None:
        abort(404, description="No announcement with this number.")
    return item


@bp.get("/announcements")
def announcements() -> str:
    status = request.args.get("status", "")
    search = request.args.get("q", "").strip()[:200]
    page = _page()
    query = (
        sa.select(Announcement, Editor.email)
        .outerjoin(Editor, Editor.id == Announcement.author_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.updated_at.desc(), Announcement.id.desc())
    )
    if status == revisions.SUBMITTED:
        query = query.where(Announcement.id.in_(revisions.awaiting_review()))
    elif status in {s.value for s in Status}:
        query = query.where(Announcement.status == Status(status))
    elif status:
        abort(404, description=f"There is no status {status!r}.")
    if search:
        query = query.where(
            sa.func.lower(Announcement.title).contains(search.lower(), autoescape=True)
        )
    rows = db.session.execute(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    items = [(item, email) for item, email in rows[:PER_PAGE]]
    return render_template(
        "editor/list.html",
        items=items,
        status=status,
        search=search,
        page=page,
        has_next=len(rows) > PER_PAGE,
        counts=stats.counts_by_status(),
        submitted=revisions.submitted_among(item.id for item, _ in items),
        awaiting_review=stats.awaiting_review_count(),
    )


@dataclass(frozen=True)
class _Named:
    slug: str
    name: str


@dataclass(frozen=True)
class PreviewItem:
    """What the public page template needs, from the form instead of the database."""

    title: str
    summary: str
    body_html: str
    language: str
    tags: list[_Named]
    partners: list[_Named]
    published_at: datetime | None
    updated_at: datetime | None


def _named(model: type[Tag] | type[Partner], slugs: list[str]) -> list[_Named]:
    rows = db.session.execute(sa.select(model.slug, model.name).where(model.slug.in_(slugs)))
    known = {slug: name for slug, name in rows}
    return [_Named(slug, known.get(slug) or publishing.display_name(slug)) for slug in slugs]


def _preview(form: AnnouncementForm, item: Announcement | None) -> PreviewItem:
    """The announcement as readers would see it, rendered by the same code and template."""
    changes = form.changes()
    return PreviewItem(
        title=changes["title"],
        summary=changes["summary"],
        body_html=render_markdown(changes["body"]),
        language=changes["language"],
        tags=_named(Tag, changes["tags"]),
        partners=_named(Partner, changes["partners"]),
        published_at=item.published_at if item else None,
        updated_at=item.updated_at if item else None,
    )


def _form_for(item: Announcement) -> AnnouncementForm:
    if request.method == "POST":
        form = AnnouncementForm()
    else:
        form = AnnouncementForm(
            data={
                "title": item.title,
                "slug": item.slug,
                "summary": item.summary,
                "body": item.body,
                "language": item.language,
                "tags": join_slugs([t.slug for t in item.tags]),
                "partners": join_slugs([p.slug for p in item.partners]),
            }
        )
    form.offer_language(item.language)
    return form


def _slug_editable(item: Announcement | None) -> bool:
    """A slug is the public URL: fixed once readers may have seen or linked it."""
    return item is None or item.status in (Status.DRAFT, Status.SCHEDULED)


@bp.route("/announcements/new", methods=["GET", "POST"])
def new() -> str | Response:
    editor = auth.current_editor()
    form = AnnouncementForm()
    preview = None
    if request.method == "POST" and form.publish.data and not policy.can_publish(editor):
        abort(403)
    if form.validate_on_submit():
        if form.preview.data:
            preview = _preview(form, None)
        else:
            try:
                item = publishing.create(
                    **form.changes(), slug=form.slug.data or None, author_id=editor.id
                )
            except publishing.SlugTaken as exc:
                form.slug.errors.append(f"another announcement has the address {exc.slug!r}")
            else:
                if form.publish.data:
                    publishing.publish(item)
                db.session.commit()
                flash("Published. Readers see it now; feeds follow in moments."
                      if form.publish.data else "Saved as a draft.")
                return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
    return render_template(
        "editor/edit.html",
        form=form,
        item=None,
        preview=preview,
        schedule_form=None,
        slug_editable=True,
    )


@bp.route("/announcements/<int:announcement_id>", methods=["GET", "POST"])
def edit(announcement_id: int) -> str | Response:
    editor = auth.current_editor()
    item = _get(announcement_id)
    if request.method == "POST" and not policy.can_edit(editor, item):
        abort(403)
    form = _form_for(item)
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = _preview(form, item)
        else:
            changes = form.changes()
            if _slug_editable(item) and form.slug.data:
                changes["slug"] = form.slug.data
            try:
                change = publishing.update(item, changes, editor_id=editor.id)
            except publishing.SlugTaken as exc:
                form.slug.errors.append(f"another announcement has the address {exc.slug!r}")
            else:
                db.session.commit()
                if not change.fields:
                    flash("Nothing changed.")
                elif change.visible:
                    flash("Saved. Readers see the change now; feeds follow in moments.")
                else:
                    flash("Saved.")
                return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
    return render_template(
        "editor/edit.html",
        form=form,
        item=item,
        preview=preview,
        schedule_form=ScheduleForm(formdata=None, publish_at=item.publish_at),
        slug_editable=_slug_editable(item),
        submitted=bool(revisions.submitted_among([item.id])),
    )


def _publisher_and_item(announcement_id: int) -> tuple[Editor, Announcement]:
    editor = auth.current_editor()
    if not policy.can_publish(editor):
        abort(403)
    return editor, _get(announcement_id)


def _back(item: Announcement) -> Response:
    return redirect(url_for("editor.edit", announcement_id=item.id), code=303)


def _status_change(item: Announcement, change: Callable[[], None], done: str,
                   refused: str) -> Response:
    """Apply a workflow step; the workflow's own refusal becomes a message, not an error page."""
    try:
        change()
    except publishing.NotAllowed as exc:
        flash(f"{refused}: {exc}.", "error")
        return _back(item)
    db.session.commit()
    flash(done)
    return _back(item)


@bp.post("/announcements/<int:announcement_id>/publish")
def publish(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    return _status_change(item, lambda: publishing.publish(item),
                          "Published. Readers see it now; feeds follow in moments.",
                          "Not published")


@bp.post("/announcements/<int:announcement_id>/schedule")
def schedule(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    form = ScheduleForm()
    if not form.validate():
        flash("Not scheduled: " + "; ".join(form.publish_at.errors), "error")
        return _back(item)
    when = form.when()
    return _status_change(item, lambda: publishing.schedule(item, when),
                          f"Scheduled for {when:%d %B %Y %H:%M} UTC. Invisible everywhere until "
                          "then.", "Not scheduled")


@bp.post("/announcements/<int:announcement_id>/unschedule")
def unschedule(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    return _status_change(item, lambda: publishing.unschedule(item),
                          "Back to draft: the embargo is lifted and nothing was published.",
                          "Not changed")


@bp.post("/announcements/<int:announcement_id>/retract")
def retract(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    return _status_change(item, lambda: publishing.retract(item),
                          "Retracted: gone from lists and feeds; its page says it was retracted.",
                          "Not retracted")


@bp.post("/announcements/<int:announcement_id>/submit")
def submit(announcement_id: int) -> Response:
    editor = auth.current_editor()
    item = _get(announcement_id)
    if not policy.can_submit(editor, item):
        abort(403)
    if revisions.submit(item, editor.id) is None:
        flash("It is already awaiting review.")
    else:
        db.session.commit()
        flash("Submitted: an editor will review and publish it.")
    return _back(item)


# -- revisions ---------------------------------------------------------------------------------


@bp.get("/announcements/<int:announcement_id>/revisions")
def revision_list(announcement_id: int) -> str:
    item = _get(announcement_id)
    return render_template("editor/revisions.html", item=item, history=revisions.history(item.id))


def _revision(item: Announcement, number: str | int | None) -> Any:
    wanted = positive_int(None if number is None else str(number))
    if wanted is None:
        abort(404, description="Choose two revisions to compare.")
    revision = revisions.get(item.id, wanted)
    if revision is None:
        abort(404, description=f"Revision {number} does not exist.")
    return revision


@bp.get("/announcements/<int:announcement_id>/revisions/diff")
def revision_diff(announcement_id: int) -> str:
    item = _get(announcement_id)
    old = _revision(item, request.args.get("from"))
    new = _revision(item, request.args.get("to"))
    if old.number > new.number:
        old, new = new, old
    return render_template(
        "editor/diff.html", item=item, old=old, new=new, diffs=revisions.diff(old, new)
    )


@bp.post("/announcements/<int:announcement_id>/revisions/<int:number>/restore")
def restore(announcement_id: int, number: int) -> Response:
    editor = auth.current_editor()
    item = _get(announcement_id)
    if not policy.can_edit(editor, item):
        abort(403)
    revision = _revision(item, number)
    change = publishing.update(item, revisions.changes_to_restore(revision), editor_id=editor.id)
    db.session.commit()
    if change.fields:
        flash(f"Restored revision {number}; this is kept as a new revision.")
    else:
        flash(f"The announcement already matches revision {number}.")
    return _back(item)
