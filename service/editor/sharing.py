"""*Share a preview link*: a private, expiring address for a draft or scheduled announcement,
for a partner agency's sign-off without an account (``service.announcements.preview_links``)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, render_template, url_for

from service.announcements import policy, preview_links
from service.announcements.models import Status
from service.database import utcnow
from service.editor import auth
from service.editor.blueprint import bp, get_announcement


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
