"""The dev editor of ``make dev`` and its API token: created once, kept in ``var/``.

The first start creates the editor (an admin), a password and a token, and keeps the password
and the token in ``var/dev-credentials.json`` (readable by the owner only), so every later start
can print them again without resetting anything: editors' sessions, the password someone chose
on the account page and tokens already handed out all survive a restart. What no longer works
(a changed password, a revoked token) is said, never printed as if it did.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEV_EDITOR = "editor@newsroom.example"
CREDENTIALS_FILE = "dev-credentials.json"


@dataclass
class DevCredentials:
    email: str
    password: str | None  # None: changed since it was created (not known any more)
    token: str | None  # None: revoked, or not known any more
    created: bool  # made by this start
    path: Path


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _write(path: Path, password: str, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"email": DEV_EDITOR, "password": password, "token": token}, out)


def ensure_dev_editor(var_dir: Path) -> DevCredentials:
    """Create the dev editor and its token unless it exists; commit; say what is usable."""
    from service.database import db
    from service.editors.accounts import (
        create_editor,
        create_token,
        editor_for_token,
        find_editor,
        verify_password,
    )
    from service.editors.models import Role

    path = var_dir / CREDENTIALS_FILE
    editor = find_editor(DEV_EDITOR)
    if editor is None:
        password = secrets.token_urlsafe(12)
        editor = create_editor(DEV_EDITOR, Role.ADMIN, password=password, name="Dev Editor")
        token = create_token(editor, name="make dev")
        db.session.commit()
        _write(path, password, token)
        return DevCredentials(DEV_EDITOR, password, token, True, path)
    kept = _read(path)
    known_password = kept.get("password")
    known_token = kept.get("token")
    usable_password = (known_password if known_password
                       and verify_password(editor, known_password) else None)
    usable_token = (known_token if known_token and editor_for_token(known_token) is editor
                    else None)
    db.session.commit()  # a rehashed password, the token's last use
    return DevCredentials(DEV_EDITOR, usable_password, usable_token, False, path)
