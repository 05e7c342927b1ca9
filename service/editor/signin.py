"""Signing in and out, and changing one's password.

Only failed sign-ins are counted: per account against guessing one password, per client
against trying many accounts (see ``ACCOUNT_LIMIT``).
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.database import db
from service.editor import auth
from service.editor.account_forms import LoginForm, PasswordForm
from service.editor.blueprint import bp
from service.editor.forms import add_error, required_text
from service.editors import accounts
from service.extensions import limiter

# Only failed sign-ins are counted: per account against guessing one password, per client
# against trying many accounts. Once an account's limit is reached, every attempt on that
# account is refused (429), even with the right password, until the window passes. That is
# deliberate: letting a right password through would let guessing go on unlimited (a 302
# among the 429s gives the password away). The price is a targeted lockout: anyone who knows
# an editor's address can keep them out for a while by failing on purpose.
ACCOUNT_LIMIT = "5 per minute;20 per hour"
CLIENT_LIMIT = "20 per minute;100 per hour"
FAILED_LOGIN = "That email address and password do not match an active account."


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
        editor = auth.authenticate(required_text(form.email), required_text(form.password))
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
        if not accounts.verify_password(editor, required_text(form.current)):
            add_error(form.current, "this is not your current password")
        else:
            auth.change_password(editor, required_text(form.new))
            db.session.commit()
            flash("Password changed. Your other sessions are signed out.")
            return redirect(url_for("editor.account"))
    return render_template("editor/account.html", form=form)
