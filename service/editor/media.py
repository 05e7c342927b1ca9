"""The media library: upload an image (alt text required), see and reuse what is there, and
delete one no announcement uses (``announcements.image_removal``).

Uploads go through ``service.media.library.upload`` as the API's do: a refused file (not
JPEG, PNG or WebP, too large, too many pixels) is shown as the field's error and leaves
nothing behind. The write page offers the latest uploads as its featured image choices and
takes an upload of its own (``attach_upload``).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from service.announcements import image_removal, policy
from service.database import db
from service.editor import auth
from service.editor.blueprint import bp, page_number
from service.editor.forms import AnnouncementForm, MediaUploadForm, add_error, uploaded
from service.media import images, library
from service.media.models import Media
from service.url_numbers import positive_int

PER_PAGE = 24
CHOICES = 12  # latest uploads offered as the featured image on the write page


def store(upload_field: object, alt: str, error_field: object) -> Media | None:
    """Store the file of ``upload_field``; None (with the reason under ``error_field``) when
    it is refused."""
    stream = getattr(getattr(upload_field, "data", None), "stream", None)
    if stream is None:
        return None
    data = library.read_upload(stream, current_app.config["SETTINGS"].media_max_bytes)
    try:
        return library.upload(data, alt, auth.current_editor().id)
    except (images.Refused, library.AltRequired) as exc:
        add_error(error_field, str(exc))  # type: ignore[arg-type]
        return None


@bp.route("/media", methods=["GET", "POST"])
def media_library() -> str | Response:
    form = MediaUploadForm()
    if form.validate_on_submit():
        media = store(form.file, form.alt.data or "", form.file)
        if media is not None:
            db.session.commit()
            flash("Uploaded. Choose it as an announcement's featured image, or paste its "
                  "Markdown into a body.")
            return redirect(url_for("editor.media_library"), code=303)
    page = page_number()
    found = library.listing(page, PER_PAGE)
    status = 422 if form.errors else 200
    return render_template(
        "editor/media.html", form=form, items=found.items, page=page, total=found.total,
        has_next=page * PER_PAGE < found.total,
    ), status  # type: ignore[return-value]


@bp.post("/media/<int:media_id>/delete")
def delete_media(media_id: int) -> Response:
    editor = auth.load_current_editor()
    media = library.get(media_id)
    if media is None:
        abort(404, description="No such image.")
    if editor is None or not policy.can_delete_image(editor, media.uploaded_by):
        abort(403, description="Authors may delete only the images they uploaded.")
    alt = media.alt
    try:
        names = image_removal.delete(media)
    except image_removal.ImageInUse as exc:
        db.session.rollback()
        flash(f"Not deleted: {exc}", "error")
        return redirect(url_for("editor.media_library"), code=303)
    db.session.commit()
    image_removal.remove_files(names)
    flash(f"Deleted the image “{alt}”.")
    return redirect(url_for("editor.media_library"), code=303)


def _asked_for() -> Media | None:
    """An image named by the request (the library's "use" link, or the posted choice)."""
    wanted = request.form.get("image") or request.args.get("image") or ""
    number = positive_int(wanted) if wanted.isdigit() else None
    return library.get(number) if number else None


def offer_images(form: AnnouncementForm, current: Media | None) -> dict[str, Media]:
    """The featured image choices: the latest uploads, the announcement's own and one the
    request names."""
    latest = library.listing(1, CHOICES).items
    for extra in (current, _asked_for()):
        if extra is not None and all(m.id != extra.id for m in latest):
            latest.insert(0, extra)
    form.image.choices = {"": "No image", **{str(m.id): m.alt for m in latest}}
    return {str(m.id): m for m in latest}


def attach_upload(form: AnnouncementForm, offered: dict[str, Media]) -> bool:
    """A file sent with the write form becomes its featured image; False when refused."""
    if not uploaded(form.image_file):
        return True
    media = store(form.image_file, form.image_alt.data or "", form.image_file)
    if media is None:
        return False
    db.session.commit()  # in the library from now on, whatever the form does next (a preview)
    offered[str(media.id)] = media
    form.image.choices = {"": "No image", **{key: m.alt for key, m in offered.items()}}
    form.image.data = str(media.id)
    return True
