"""Translations from the editor: the panel on an announcement's page, linking, unlinking, and
writing a new translation of an announcement (``/editor/announcements/new?translation_of=7``).

Linking changes both announcements' pages (their language switchers), so the editor must be
allowed to edit both (``policy.can_edit``): an author links their own drafts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, request
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy, translations
from service.announcements.languages import native_name
from service.announcements.models import Announcement
from service.database import db
from service.editor import auth
from service.editor.blueprint import back_to, bp, get_announcement
from service.editor.forms import LANGUAGES, TranslationForm
from service.url_numbers import positive_int

MAX_CHOICES = 200


@dataclass(frozen=True)
class Panel:
    versions: list[Announcement]  # its translations, by language
    form: TranslationForm


def _candidates(item: Announcement) -> dict[str, Any]:
    """Announcements that could join ``item``'s group: not in it, in a language it lacks."""
    group = translations.versions(item)
    rows = db.session.execute(
        sa.select(Announcement.id, Announcement.title, Announcement.language)
        .where(Announcement.id.not_in([v.id for v in group]),
               Announcement.language.not_in([v.language for v in group]))
        .order_by(Announcement.updated_at.desc(), Announcement.id.desc())
        .limit(MAX_CHOICES)
    )
    # WTForms' {value: label} choices; coerce=int turns the value back into the id.
    return {str(row.id): f"{row.title} ({native_name(row.language)})" for row in rows}


def panel(item: Announcement) -> Panel:
    form = TranslationForm(formdata=None)
    form.other.choices = _candidates(item)
    return Panel(translations.others(item), form)


def _both_editable(item: Announcement, other: Announcement) -> None:
    editor = auth.current_editor()
    if not (policy.can_edit(editor, item) and policy.can_edit(editor, other)):
        abort(403)


@bp.post("/announcements/<int:announcement_id>/translations")
def link_translation(announcement_id: int) -> Response:
    item = get_announcement(announcement_id)
    form = TranslationForm()
    form.other.choices = _candidates(item)
    if not form.validate():
        flash("Not linked: " + "; ".join(form.other.errors or ["choose an announcement"]),
              "error")
        return back_to(item)
    other = get_announcement(form.other.data)
    _both_editable(item, other)
    try:
        translations.link(item, other)
    except translations.NotLinkable as exc:
        db.session.rollback()
        flash(f"Not linked: {exc}.", "error")
        return back_to(item)
    db.session.commit()
    flash(f"Linked: {other.title!r} is its {native_name(other.language)} version.")
    return back_to(item)


@bp.post("/announcements/<int:announcement_id>/translations/remove")
def unlink_translation(announcement_id: int) -> Response:
    item = get_announcement(announcement_id)
    if not policy.can_edit(auth.current_editor(), item):
        abort(403)
    translations.unlink(item)
    db.session.commit()
    flash("No longer linked to its translations.")
    return back_to(item)


def source_for_new() -> Announcement | None:
    """The announcement ``?translation_of=`` names for a new one (404 if unknown, 403 if the
    editor may not change it)."""
    raw = request.args.get("translation_of")
    if raw is None:
        return None
    number = positive_int(raw) or abort(404, description="No announcement with this number.")
    source = get_announcement(number)
    if not policy.can_edit(auth.current_editor(), source):
        abort(403)
    return source


def first_missing_language(source: Announcement) -> str:
    """The first offered language its translation group has no version in."""
    taken = {v.language for v in translations.versions(source)}
    return next((code for code in LANGUAGES if code not in taken), source.language)
