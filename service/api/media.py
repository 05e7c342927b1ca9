"""Media endpoints: upload an image (multipart), list the library, get one, delete an unused one.

An upload is checked and cleaned by ``service.media`` before anything is written: a refused
one (wrong type, too large, too many pixels, no alt text) is a problem+json answer and leaves
no file and no row.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from service.announcements import image_removal, policy
from service.api import auth, bp, parsing
from service.api import media_schemas as schemas
from service.api.field_errors import InvalidFields, pointer
from service.api.openapi import operation
from service.api.problems import Problem
from service.database import db
from service.media import images, library
from service.media.models import Media

_STATUS = {"too-large": 413, "type": 415, "too-many-pixels": 422, "broken": 422}
_TITLES = {"too-large": "File too large", "type": "Unsupported image type",
           "too-many-pixels": "Too many pixels", "broken": "Unreadable image"}


def representation(media: Media) -> dict[str, Any]:
    return schemas.Media.model_validate(library.describe(media)).model_dump(mode="json")


def _too_large() -> Problem:
    limit = current_app.config["SETTINGS"].media_max_bytes
    return Problem(413, f"The upload is larger than the limit of {limit:,} bytes.",
                   kind="file-too-large", title=_TITLES["too-large"])


def _form() -> tuple[bytes, str]:
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "Send the image as multipart/form-data with a 'file' part and an "
                           f"'alt' field (got {request.mimetype or 'no content type'}).",
                      headers={"Accept-Post": "multipart/form-data"})
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise _too_large() from None
    errors = []
    upload = files.get("file")
    if upload is None:
        errors.append({"pointer": pointer("file"), "detail": "is required: the image file"})
    unknown = sorted((set(form) | set(files)) - {"file", "alt"})
    errors += [{"pointer": pointer(name), "detail": "is not a known field"} for name in unknown]
    alt = form.get("alt", "").strip()
    problem = library.alt_problem(alt)
    if problem:
        errors.append({"pointer": pointer("alt"), "detail": problem})
    if errors or upload is None:
        raise InvalidFields(errors)
    return library.read_upload(upload.stream, current_app.config["SETTINGS"].media_max_bytes), alt


@bp.post("/media")
@operation(
    summary="Upload an image",
    description="multipart/form-data with 'file' and 'alt'. JPEG, PNG and WebP only; the "
                "image is re-encoded without its metadata (EXIF orientation applied) and "
                "copies 480, 960 and 1600 pixels wide are made as WebP where narrower than "
                "the original. Refused uploads write nothing.",
    form=schemas.UPLOAD_FORM, form_encoding=schemas.UPLOAD_ENCODING,
    responses={201: ("Stored.", schemas.Media)},
    response_headers={201: ("Location",)},
)
def upload_media() -> Response:
    editor = auth.required_editor()
    data, alt = _form()
    try:
        media = library.upload(data, alt, editor.id)
    except images.Refused as exc:
        raise Problem(_STATUS[exc.kind], exc.reason, kind=f"image-{exc.kind}",
                      title=_TITLES[exc.kind]) from None
    db.session.commit()
    response = jsonify(representation(media))
    response.status_code = 201
    response.headers["Location"] = current_app.config["BASE_URL"] + url_for(
        ".get_media", media_id=media.id)
    return response


@bp.get("/media")
@operation(summary="List uploaded images, newest first", query=schemas.MediaQuery,
           responses={200: ("A page of images.", schemas.MediaPage)})
def list_media() -> Response:
    auth.required_editor()
    query = parsing.query(schemas.MediaQuery)
    found = library.listing(query.page, query.per_page)
    return jsonify(schemas.MediaPage.model_validate({
        "items": [representation(m) for m in found.items], "page": query.page,
        "per_page": query.per_page, "total": found.total,
    }).model_dump(mode="json"))


@bp.get("/media/<int:media_id>")
@operation(summary="Get one uploaded image", errors=(404,),
           responses={200: ("The image.", schemas.Media)})
def get_media(media_id: int) -> Response:
    auth.required_editor()
    media = library.get(media_id)
    if media is None:
        raise Problem(404, f"There is no image with id {media_id}.")
    return jsonify(representation(media))


@bp.delete("/media/<int:media_id>")
@operation(
    summary="Delete an unused image",
    description="Only an image no announcement uses or ever used: not a featured image now "
                "or in any revision, and its files named in no body (409 otherwise, naming "
                "the announcements). Editors and admins delete any such image; authors "
                "their own uploads. The files go too, unless another upload of the same "
                "picture shares them.",
    errors=(403, 404, 409), responses={204: ("Deleted.", None)},
)
def delete_media(media_id: int) -> Response:
    editor = auth.required_editor()
    media = library.get(media_id)
    if media is None:
        raise Problem(404, f"There is no image with id {media_id}.")
    if not policy.can_delete_image(editor, media.uploaded_by):
        raise Problem(403, f"Your role ({editor.role.value}) can delete only images you "
                           "uploaded.", kind="forbidden", title="Not permitted for your role")
    try:
        names = image_removal.delete(media)
    except image_removal.ImageInUse as exc:
        db.session.rollback()
        raise Problem(409, str(exc), kind="image-in-use", title="Image in use") from None
    db.session.commit()
    image_removal.remove_files(names)
    db.session.rollback()
    return Response(status=204)
