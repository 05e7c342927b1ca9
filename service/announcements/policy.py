"""Who may do what in the newsroom: one policy for the editor UI, its templates and the API.

Roles (``editors.models.Role``): authors write drafts and submit them for review; editors also
publish, schedule, unschedule and retract, and preview what subscribers will get; admins also
manage accounts, tokens and partners' webhook endpoints. An author may change only their own
drafts, never what readers can see. Views and API routes ask these functions; so do templates
when they show or hide a button, so a button is never shown for a refused action.
"""

from __future__ import annotations

from service.announcements.models import Announcement, Status
from service.editors.models import Editor, Role


def can_publish(editor: Editor) -> bool:
    """Publish, schedule, unschedule and retract: editors and admins."""
    return editor.role in (Role.EDITOR, Role.ADMIN)


def can_edit(editor: Editor, announcement: Announcement) -> bool:
    """Editors edit anything; an author edits their own drafts."""
    if can_publish(editor):
        return True
    return announcement.status is Status.DRAFT and announcement.author_id == editor.id


def can_submit(editor: Editor, announcement: Announcement) -> bool:
    """Ask for review: a draft the editor may edit."""
    return announcement.status is Status.DRAFT and can_edit(editor, announcement)


def can_preview_emails(editor: Editor) -> bool:
    """The email preview: those who decide what goes out to subscribers."""
    return can_publish(editor)


def can_delete_image(editor: Editor, uploaded_by: int | None) -> bool:
    """Delete an unused image from the media library: editors and admins any, an author
    their own uploads."""
    return can_publish(editor) or uploaded_by == editor.id


def can_manage_accounts(editor: Editor) -> bool:
    """Editors' accounts, API tokens and webhook endpoints: admins."""
    return editor.role is Role.ADMIN
