"""Bearer tokens (RFC 6750) and what each role may do through the API.

Who may do what is ``service.announcements.policy``, the same rules the editor UI asks:
authors write drafts and edit their own while they are drafts; editors and admins may do
everything, including publishing, scheduling and retracting.
"""

from __future__ import annotations

from flask import Response, g, request

from service.announcements import policy
from service.announcements.models import Announcement
from service.api.problems import Problem
from service.database import db
from service.editors.accounts import editor_for_token
from service.editors.models import Editor

REALM = 'Bearer realm="newsroom"'


def unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = REALM + (f', error="{error}"' if error else "")
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def optional_editor() -> Editor | None:
    """The caller's editor, or None without an Authorization header.

    A header that is present but wrong is refused rather than ignored: a client whose token
    was revoked should hear so, not silently get the anonymous view.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Send the token as 'Authorization: Bearer <token>'.",
                            "invalid_request")
    editor = editor_for_token(token)
    if editor is None:
        raise unauthorized("The token is unknown, revoked, or its editor is deactivated.",
                            "invalid_token")
    g.api_editor = editor  # editor_for_token set last_used_at; see commit_token_use
    return editor


def required_editor() -> Editor:
    editor = optional_editor()
    if editor is None:
        raise unauthorized("This needs an API token: 'Authorization: Bearer <token>'.")
    return editor


def require_publisher(editor: Editor, action: str) -> None:
    """The editor UI's rule (``policy.can_publish``), as a 403 problem."""
    if not policy.can_publish(editor):
        raise Problem(403, f"Your role ({editor.role.value}) cannot {action}; an editor or "
                           "admin can.", kind="forbidden", title="Not permitted for your role")


def require_can_edit(editor: Editor, announcement: Announcement) -> None:
    """The editor UI's rule (``policy.can_edit``), as a 403 problem."""
    if not policy.can_edit(editor, announcement):
        raise Problem(403, "Authors may edit only their own drafts.", kind="forbidden",
                      title="Not permitted for your role")


def commit_token_use(response: Response) -> Response:
    """Keep the ``last_used_at`` that token look-up set, at no extra transaction.

    Writes commit it with their own work; a read commits it here. A failed request rolls
    back (teardown), so nothing half-done of it is ever committed by this hook.
    """
    if "api_editor" in g and response.status_code < 400:
        db.session.commit()
    return response
