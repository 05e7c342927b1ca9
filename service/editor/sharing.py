"""*Share a preview link*: a private, expiring address for a draft or scheduled announcement,
for a partner agency's sign-off without an account (``service.announcements.preview_links``)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, render_template, url_for
from werkzeug.wrappers import Response

from service.announcements import policy, preview_links
from service.announcements.models import Status
from service.database import db, utcnow
from service.editor import auth
from service.editor.blueprint import back_to, bp, get_announcement
from service.subscriptions import proof_emails


@bp.post("/announcements/<int:announcement_id>/preview-link")
def preview_link(announcement_id: int) -> tuple[str, int]:
    editor = auth.current_editor()
    item = get_announcement(announcement_id)
    if not (policy.can_publish(editor) or policy.can_edit(editor, item)):
        abort(403)
    if item.status not in (Status.DRAFT, Status.SCHEDULED):
        abort(404, description="Only drafts and scheduled announcements get preview links.")
    path = url_for("public.preview", token=preview_links.make_token(item.id))
    return render_template(
        "editor/preview_link.html", item=item,
        link=current_app.config["BASE_URL"].rstrip("/") + path,
        expires=utcnow() + timedelta(days=preview_links.VALID_DAYS),
    ), 200


@bp.post("/announcements/<int:announcement_id>/test-email")
def test_email(announcement_id: int) -> Response:
    """Queue the announcement's instant email to the editor who asks (through the worker)."""
    editor = auth.current_editor()
    item = get_announcement(announcement_id)
    if not (policy.can_publish(editor) or policy.can_edit(editor, item)):
        abort(403)
    proof_emails.request(item.id, editor.email)
    db.session.commit()
    flash(f"A test email of this announcement is on its way to {editor.email}.")
    return back_to(item)
