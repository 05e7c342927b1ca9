"""Writing: the list of announcements, a new one, editing one, and the preview readers' way.

Views are thin: forms validate, ``service.announcements.publishing`` changes things, one
commit per request; every change checks the role with ``policy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import policy, publishing, revisions, translations
from service.announcements.models import Announcement, Partner, Status, Tag
from service.announcements.rendering import render_markdown
from service.database import db
from service.editor import auth, times, translating
from service.editor import dashboard as stats
from service.editor import media as media_views
from service.editor.blueprint import bp, get_announcement, page_number
from service.editor.forms import (
    AnnouncementForm,
    RetractForm,
    ScheduleForm,
    add_error,
    join_slugs,
)
from service.editors.models import Editor
from service.media.models import Media

PER_PAGE = 50


@bp.get("/announcements")
def announcements() -> str:
    status = request.args.get("status", "")
    search = request.args.get("q", "").strip()[:200]
    page = page_number()
    query = (
        sa.select(Announcement, Editor.email)
        .outerjoin(Editor, Editor.id == Announcement.author_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
        .order_by(Announcement.updated_at.desc(), Announcement.id.desc())
    )
    if status == revisions.SUBMITTED:
        query = query.where(Announcement.id.in_(revisions.awaiting_review()))
    elif status in {s.value for s in Status}:
        query = query.where(Announcement.status == Status(status))
    elif status:
        abort(404, description=f"There is no status {status!r}.")
    if search:
        # Every status, so not the public full-text index (published items only): a
        # case-insensitive substring of the title, summary or body, which suits a newsroom's
        # few thousand items and finds a draft by any phrase in its text.
        needle = search.lower()
        query = query.where(sa.or_(*(
            sa.func.lower(column).contains(needle, autoescape=True)
            for column in (Announcement.title, Announcement.summary, Announcement.body)
        )))
    rows = db.session.execute(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    items = [(item, email) for item, email in rows[:PER_PAGE]]
    return render_template(
        "editor/list.html",
        items=items,
        status=status,
        search=search,
        page=page,
        has_next=len(rows) > PER_PAGE,
        counts=stats.counts_by_status(),
        submitted=revisions.submitted_among(item.id for item, _ in items),
        awaiting_review=stats.awaiting_review_count(),
    )


@dataclass(frozen=True)
class _Named:
    slug: str
    name: str


@dataclass(frozen=True)
class PreviewItem:
    """What the public page template needs, from the form instead of the database."""

    title: str
    summary: str
    body_html: str
    language: str
    tags: list[_Named]
    partners: list[_Named]
    published_at: datetime | None
    updated_at: datetime | None
    image: Media | None = None


def _named(model: type[Tag] | type[Partner], slugs: list[str]) -> list[_Named]:
    rows = db.session.execute(sa.select(model.slug, model.name).where(model.slug.in_(slugs)))
    known = {slug: name for slug, name in rows}
    return [_Named(slug, known.get(slug) or publishing.display_name(slug)) for slug in slugs]


def _preview(form: AnnouncementForm, item: Announcement | None,
             offered: dict[str, Media]) -> PreviewItem:
    """The announcement as readers would see it, rendered by the same code and template."""
    changes = form.changes()
    return PreviewItem(
        title=changes["title"],
        summary=changes["summary"],
        body_html=render_markdown(changes["body"]),
        language=changes["language"],
        tags=_named(Tag, changes["tags"]),
        partners=_named(Partner, changes["partners"]),
        published_at=item.published_at if item else None,
        updated_at=item.updated_at if item else None,
        image=offered.get(str(changes["image_id"])),
    )


def _form_for(item: Announcement) -> AnnouncementForm:
    if request.method == "POST":
        form = AnnouncementForm()
    else:
        form = AnnouncementForm(
            data={
                "title": item.title,
                "slug": item.slug,
                "summary": item.summary,
                "body": item.body,
                "language": item.language,
                "tags": join_slugs([t.slug for t in item.tags]),
                "partners": join_slugs([p.slug for p in item.partners]),
                "image": str(item.image_id) if item.image_id else "",
            }
        )
    form.offer_language(item.language)
    return form


def _slug_editable(item: Announcement | None) -> bool:
    """A slug is the public URL: fixed once readers may have seen or linked it."""
    return item is None or item.status in (Status.DRAFT, Status.SCHEDULED)


@bp.route("/announcements/new", methods=["GET", "POST"])
def new() -> str | Response:
    editor = auth.current_editor()
    source = translating.source_for_new()  # writing a translation of it
    form = AnnouncementForm() if request.method == "POST" or source is None else \
        AnnouncementForm(data={"language": translating.first_missing_language(source),
                               "tags": join_slugs([t.slug for t in source.tags]),
                               "partners": join_slugs([p.slug for p in source.partners])})
    offered = media_views.offer_images(form, None)
    if request.method == "GET" and request.args.get("image") in offered:
        form.image.data = request.args["image"]  # "Use" from the media library
    form.publish_at.label.text = f"Publish at ({times.zone_name()})"
    preview = None
    if (request.method == "POST" and (form.publish.data or form.schedule.data)
            and not policy.can_publish(editor)):
        abort(403)
    if form.validate_on_submit() and media_views.attach_upload(form, offered):
        taken = source and translations.language_taken(source, form.language.data)
        if form.preview.data:
            preview = _preview(form, None, offered)
        elif taken:
            add_error(form.language, f"{taken.title!r} is already its version in this language")
        else:
            try:
                item = publishing.create(
                    **form.changes(), slug=form.slug.data or None, author_id=editor.id
                )
                if source is not None:
                    translations.link(item, source)
            except publishing.SlugTaken as exc:
                add_error(form.slug, f"another announcement has the address {exc.slug!r}")
            except translations.NotLinkable as exc:
                db.session.rollback()
                add_error(form.language, str(exc))
            else:
                if form.schedule.data and form.publish_at.data is not None:
                    when = times.from_office(form.publish_at.data)
                    publishing.schedule(item, when)
                    db.session.commit()
                    flash(f"Scheduled for {times.show(when)}. Invisible everywhere until then.")
                    return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
                db.session.commit()
                if form.publish.data:  # saved; publishing waits for the confirmation
                    flash("Saved as a draft. Confirm below to publish it.")
                    return redirect(url_for("editor.confirm_publish", announcement_id=item.id),
                                    code=303)
                flash("Saved as a draft.")
                return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
    return render_template(
        "editor/edit.html",
        form=form,
        item=None,
        preview=preview,
        schedule_form=None,
        slug_editable=True,
        offered=offered,
        translation_of=source,
    )


@bp.route("/announcements/<int:announcement_id>", methods=["GET", "POST"])
def edit(announcement_id: int) -> str | Response:
    editor = auth.current_editor()
    item = get_announcement(announcement_id)
    if request.method == "POST" and not policy.can_edit(editor, item):
        abort(403)
    form = _form_for(item)
    offered = media_views.offer_images(form, item.image)
    preview = None
    if form.validate_on_submit() and media_views.attach_upload(form, offered):
        if form.preview.data:
            preview = _preview(form, item, offered)
        else:
            changes: dict[str, object] = {**form.changes()}
            if _slug_editable(item) and form.slug.data:
                changes["slug"] = form.slug.data
            try:
                change = publishing.update(item, changes, editor_id=editor.id)
            except publishing.SlugTaken as exc:
                add_error(form.slug, f"another announcement has the address {exc.slug!r}")
            except translations.NotLinkable as exc:
                add_error(form.language, str(exc))
            else:
                db.session.commit()
                if not change.fields:
                    flash("Nothing changed.")
                elif change.visible:
                    flash("Saved. Readers see the change now; feeds follow in moments.")
                else:
                    flash("Saved.")
                return redirect(url_for("editor.edit", announcement_id=item.id), code=303)
    return render_template(
        "editor/edit.html",
        form=form,
        item=item,
        preview=preview,
        schedule_form=ScheduleForm(formdata=None, publish_at=item.publish_at),
        retract_form=RetractForm(formdata=None),
        slug_editable=_slug_editable(item),
        submitted=bool(revisions.submitted_among([item.id])),
        offered=offered,
        translation=translating.panel(item),
    )
