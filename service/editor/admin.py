"""Admin pages under ``/editor/admin``: editor accounts and API tokens. Admins only.

A nested blueprint of the editor's: its sign-in check runs first, then this one's role check,
for every view here, whatever the view itself forgets.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy
from service.database import db, utcnow
from service.editor import auth
from service.editor.account_forms import EditEditorForm, NewEditorForm, TokenForm
from service.editor.forms import add_error, required_text
from service.editors import accounts
from service.editors.models import ApiToken, Editor, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> None:
    if not policy.can_manage_accounts(auth.current_editor()):
        abort(403)


def _editors() -> list[Editor]:
    return list(db.session.scalars(sa.select(Editor).order_by(Editor.email)))


@bp.route("/editors", methods=["GET", "POST"])
def editors() -> str | Response:
    form = NewEditorForm()
    if form.validate_on_submit():
        try:
            editor = accounts.create_editor(
                required_text(form.email),
                Role(form.role.data),
                password=form.password.data,
                name=form.name.data or "",  # a hand-made POST may leave it out
            )
        except accounts.AccountError as exc:
            add_error(form.email, str(exc))
        else:
            db.session.commit()
            flash(
                f"Added {editor.email} as {editor.role.value}. Give them their password "
                f"in person; they can change it under Account."
            )
            return redirect(url_for("editor.admin.editors"), code=303)
    return render_template("editor/admin/editors.html", form=form, editors=_editors())


@bp.route("/editors/<int:editor_id>", methods=["GET", "POST"])
def editor(editor_id: int) -> str | Response:
    account = db.session.get(Editor, editor_id)
    if account is None:
        abort(404, description="No such editor.")
    me = auth.current_editor()
    form = EditEditorForm(data={"role": account.role.value, "active": account.active})
    if form.validate_on_submit():
        role, active = Role(form.role.data), form.active.data
        if account.id == me.id and (role is not Role.ADMIN or not active):
            add_error(
                form.role, "you cannot take away your own admin role or access; ask another admin"
            )
        else:
            ended = (not active and account.active) or bool(form.password.data)
            account.role, account.active = role, active
            if form.password.data:
                account.password_hash = accounts.hash_password(form.password.data)
            if ended:
                account.session_epoch += 1  # their open sessions end now
            db.session.commit()
            flash(f"Saved {account.email}." + (" Their sessions were ended." if ended else ""))
            return redirect(url_for("editor.admin.editors"), code=303)
    return render_template("editor/admin/editor.html", form=form, account=account)


def _token_form() -> TokenForm:
    form = TokenForm()
    # WTForms 3.3's {value: label} choices; types-WTForms (3.2) reads a dict as optgroups of str
    form.editor.choices = {
        e.id: f"{e.email} ({e.role.value})"  # type: ignore[misc]
        for e in _editors() if e.active
    }
    return form


def _tokens() -> list[tuple[ApiToken, str]]:
    rows = db.session.execute(
        sa.select(ApiToken, Editor.email)
        .join(Editor, Editor.id == ApiToken.editor_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    )
    return [(token, email) for token, email in rows]


@bp.route("/tokens", methods=["GET", "POST"])
def tokens() -> str | Response:
    form = _token_form()
    new_token = None
    if form.validate_on_submit():
        owner = db.session.get(Editor, form.editor.data)
        if owner is None or not owner.active:
            add_error(form.editor, "choose an active editor")
        else:
            # Shown once in this response, never redirected through a (readable) flash cookie.
            new_token = accounts.create_token(owner, name=required_text(form.name))
            db.session.commit()
            form = _token_form()
            form.name.data = ""
    return render_template(
        "editor/admin/tokens.html", form=form, tokens=_tokens(), new_token=new_token
    )


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404, description="No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        flash(f"Revoked the token {token.prefix}…; requests with it are refused from now on.")
    return redirect(url_for("editor.admin.tokens"), code=303)
