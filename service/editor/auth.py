"""Editor sessions and permissions, checked on the server for every editor view.

A session is Flask's signed cookie holding the editor's id and their ``session_epoch`` at
sign-in. Signing out or changing the password bumps the epoch, so every other cookie issued
before (on another machine, or stolen) stops working at its next request.

Permissions are plain functions of the editor and the announcement, used by the views to refuse
(403) and by the templates to hide buttons: both ask the same question, so they cannot disagree.

Nothing here needs Redis. The sign-in limits (per account and per client, on the login view)
are Flask-Limiter's, so with Redis down they are counted in each process's memory instead
(``service.extensions``): sign-in still works, and guessing is still limited.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, g, session

from service.database import db
from service.editors import accounts
from service.editors.models import Editor, Role

P = ParamSpec("P")
R = TypeVar("R")

_SESSION_EDITOR = "editor_id"
_SESSION_EPOCH = "editor_epoch"


@functools.cache
def _dummy_hash() -> str:
    """An argon2 hash of a password nobody has, made once per process.

    Verifying against it when the address is unknown makes a failed sign-in take as long
    whether or not the account exists, so timing does not reveal who has one.
    """
    return accounts.hash_password(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> Editor | None:
    """The active editor with these credentials, or None (and never a hint which part failed)."""
    try:
        editor = accounts.find_editor(email)
    except accounts.AccountError:
        editor = None
    if editor is None or not editor.password_hash:
        accounts.verify_password(Editor(password_hash=_dummy_hash()), password)
        return None
    if not accounts.verify_password(editor, password) or not editor.active:
        return None
    return editor


def sign_in(editor: Editor) -> None:
    """Start a fresh session: nothing from before sign-in (a planted CSRF secret) survives."""
    session.clear()
    session[_SESSION_EDITOR] = editor.id
    session[_SESSION_EPOCH] = editor.session_epoch


def sign_out(editor: Editor) -> None:
    """End this session and every other session of ``editor``."""
    editor.session_epoch += 1
    session.clear()


def change_password(editor: Editor, new_password: str) -> None:
    """Set a new password; other sessions end, this one stays signed in."""
    editor.password_hash = accounts.hash_password(new_password)
    editor.session_epoch += 1
    session[_SESSION_EPOCH] = editor.session_epoch


def load_current_editor() -> Editor | None:
    """The signed-in editor of this request (cached on ``g``), or None.

    A session whose editor is gone, deactivated or signed out elsewhere is cleared.
    """
    if "editor" in g:
        cached: Editor | None = g.editor
        return cached
    editor = None
    editor_id = session.get(_SESSION_EDITOR)
    if isinstance(editor_id, int):
        editor = db.session.get(Editor, editor_id)
        if (
            editor is None
            or not editor.active
            or session.get(_SESSION_EPOCH) != editor.session_epoch
        ):
            editor = None
            session.clear()
    g.editor = editor
    return editor


def current_editor() -> Editor:
    """The signed-in editor; the blueprint's ``before_request`` guarantees there is one."""
    editor = load_current_editor()
    if editor is None:
        abort(401)
    return editor


def requires(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse the view (403) unless the signed-in editor has one of ``roles``."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_editor().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
