"""Editor accounts and API tokens: creation, password hashing (argon2id), token look-up."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import joinedload

from service.database import db, utcnow
from service.editors.models import ApiToken, Editor, Role

_hasher = PasswordHasher()
TOKEN_PREFIX = "nr_"  # noqa: S105 (a public marker that makes leaked tokens greppable)
# How fresh a token's "last used" is kept: a write per minute of use at most, not one per
# request (a read would otherwise be a write transaction, on SQLite a commit to disk each).
TOKEN_USE_PRECISION = timedelta(minutes=1)


class AccountError(ValueError):
    """A clear, user-facing reason why an account operation was refused."""


def normalise_email(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from None


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise AccountError("the password must have at least 10 characters")
    return _hasher.hash(password)


def verify_password(editor: Editor, password: str) -> bool:
    if not editor.password_hash:
        return False
    try:
        _hasher.verify(editor.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(editor.password_hash):
        editor.password_hash = _hasher.hash(password)
    return True


def find_editor(email: str) -> Editor | None:
    query = sa.select(Editor).where(Editor.email == normalise_email(email))
    return db.session.scalars(query).first()


def create_editor(email: str, role: Role, password: str | None = None, name: str = "") -> Editor:
    email = normalise_email(email)
    if db.session.scalar(sa.select(Editor.id).where(Editor.email == email)) is not None:
        raise AccountError(f"an editor with the address {email} exists already")
    editor = Editor(email=email, role=role, name=name,
                    password_hash=hash_password(password) if password else None)
    db.session.add(editor)
    db.session.flush()
    return editor


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is as safe as a slow one and costs
    # nothing per request; passwords, chosen by people, get argon2.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(editor: Editor, name: str = "") -> str:
    """Make a new token for ``editor``; the plain token exists only in the return value."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(editor=editor, name=name, token_hash=_digest(token),
                            prefix=token[:10]))
    db.session.flush()
    return token


def editor_for_token(token: str) -> Editor | None:
    """The active editor a live token belongs to, or None."""
    row = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                  ApiToken.revoked_at.is_(None))
        .options(joinedload(ApiToken.editor))
    ).first()
    if row is None or not row.editor.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
        row.last_used_at = now
    return row.editor
