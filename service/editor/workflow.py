"""The workflow's steps from the editor: publish, schedule, unschedule, retract, submit.

The rules are the publishing workflow's own; a refusal (``NotAllowed``) becomes a message on
the announcement's page, not an error page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy, publishing, revisions
from service.announcements.models import Announcement, Status
from service.database import db
from service.editor import auth, confirmations, times
from service.editor.blueprint import back_to, bp, get_announcement
from service.editor.forms import RetractForm, ScheduleForm
from service.editors.models import Editor


def _publisher_and_item(announcement_id: int) -> tuple[Editor, Announcement]:
    editor = auth.current_editor()
    if not policy.can_publish(editor):
        abort(403)
    return editor, get_announcement(announcement_id)


def _status_change(item: Announcement, change: Callable[[], None], done: str,
                   refused: str) -> Response:
    """Apply a workflow step; the workflow's own refusal becomes a message, not an error page."""
    try:
        change()
    except publishing.NotAllowed as exc:
        flash(f"{refused}: {exc}.", "error")
        return back_to(item)
    db.session.commit()
    flash(done)
    return back_to(item)


@bp.post("/announcements/<int:announcement_id>/publish")
def publish(announcement_id: int) -> Response | tuple[str, int]:
    _, item = _publisher_and_item(announcement_id)
    if not confirmations.confirmed() and item.status in (Status.DRAFT, Status.SCHEDULED):
        return confirmations.page(item, "publish")
    return _status_change(item, lambda: publishing.publish(item),
                          "Published. Readers see it now; feeds follow in moments.",
                          "Not published")


@bp.post("/announcements/<int:announcement_id>/schedule")
def schedule(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    form = ScheduleForm()
    if not form.validate():
        flash("Not scheduled: " + "; ".join(form.publish_at.errors), "error")
        return back_to(item)
    when = form.when()
    return _status_change(item, lambda: publishing.schedule(item, when),
                          f"Scheduled for {times.show(when)}. Invisible everywhere until then.",
                          "Not scheduled")


@bp.post("/announcements/<int:announcement_id>/unschedule")
def unschedule(announcement_id: int) -> Response:
    _, item = _publisher_and_item(announcement_id)
    return _status_change(item, lambda: publishing.unschedule(item),
                          "Back to draft: the embargo is lifted and nothing was published.",
                          "Not changed")


@bp.post("/announcements/<int:announcement_id>/retract")
def retract(announcement_id: int) -> Response | tuple[str, int]:
    _, item = _publisher_and_item(announcement_id)
    form = RetractForm()
    if not form.validate():
        flash("Not retracted: the reason " + "; ".join(form.reason.errors), "error")
        return back_to(item)
    reason = form.reason.data or None
    if not confirmations.confirmed() and item.status is Status.PUBLISHED:
        return confirmations.page(item, "retract", reason)
    return _status_change(item, lambda: publishing.retract(item, reason),
                          "Retracted: gone from lists and feeds; its page says it was retracted.",
                          "Not retracted")


@bp.post("/announcements/<int:announcement_id>/submit")
def submit(announcement_id: int) -> Response:
    editor = auth.current_editor()
    item = get_announcement(announcement_id)
    if not policy.can_submit(editor, item):
        abort(403)
    if revisions.submit(item, editor.id) is None:
        flash("It is already awaiting review.")
    else:
        db.session.commit()
        flash("Submitted: an editor will review and publish it.")
    return back_to(item)


@bp.get("/announcements/<int:announcement_id>/publish")
def confirm_publish(announcement_id: int) -> tuple[str, int] | Response:
    """The confirmation on its own address (where the Write page's *Publish now* leads)."""
    _, item = _publisher_and_item(announcement_id)
    if item.status not in (Status.DRAFT, Status.SCHEDULED):
        return back_to(item)
    return confirmations.page(item, "publish")
