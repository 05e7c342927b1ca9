"""Revisions: the history of an announcement, two revisions compared, one restored."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy, publishing, revisions
from service.announcements.models import Announcement
from service.database import db
from service.editor import auth
from service.editor.blueprint import back_to, bp, get_announcement
from service.url_numbers import positive_int


@bp.get("/announcements/<int:announcement_id>/revisions")
def revision_list(announcement_id: int) -> str:
    item = get_announcement(announcement_id)
    return render_template("editor/revisions.html", item=item, history=revisions.history(item.id))


def _revision(item: Announcement, number: str | int | None) -> Any:
    wanted = positive_int(None if number is None else str(number))
    if wanted is None:
        abort(404, description="Choose two revisions to compare.")
    revision = revisions.get(item.id, wanted)
    if revision is None:
        abort(404, description=f"Revision {number} does not exist.")
    return revision


@bp.get("/announcements/<int:announcement_id>/revisions/diff")
def revision_diff(announcement_id: int) -> str:
    item = get_announcement(announcement_id)
    old = _revision(item, request.args.get("from"))
    new = _revision(item, request.args.get("to"))
    if old.number > new.number:
        old, new = new, old
    return render_template(
        "editor/diff.html", item=item, old=old, new=new, diffs=revisions.diff(old, new)
    )


@bp.post("/announcements/<int:announcement_id>/revisions/<int:number>/restore")
def restore(announcement_id: int, number: int) -> Response:
    editor = auth.current_editor()
    item = get_announcement(announcement_id)
    if not policy.can_edit(editor, item):
        abort(403)
    revision = _revision(item, number)
    change = publishing.update(item, revisions.changes_to_restore(revision), editor_id=editor.id)
    db.session.commit()
    if change.fields:
        flash(f"Restored revision {number}; this is kept as a new revision.")
    else:
        flash(f"The announcement already matches revision {number}.")
    return back_to(item)
