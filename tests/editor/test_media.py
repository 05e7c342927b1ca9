"""The editor's media library and the write page's featured image: real multipart uploads."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from service.announcements.models import Announcement
from service.database import db
from service.media.models import Media
from tests.editor.conftest import csrf, post
from tests.factories import EditorInfo
from tests.fixtures.data import count
from tests.media import pictures


def _post(client: FlaskClient, path: str, data: bytes, filename: str = "photo.jpg",
          field: str = "file", **fields: str):
    token = csrf(client, path)
    body, content_type = pictures.multipart(data, filename, field, csrf_token=token, **fields)
    return client.post(path, data=body, content_type=content_type)


def test_upload_in_the_library_then_choose_it_when_writing(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("editor")
    response = _post(client, "/editor/media", pictures.photo(1200, 600), alt="Antenna array")
    assert response.status_code == 303
    library = client.get("/editor/media").text
    assert "Antenna array" in library and "![Antenna array](/media/" in library
    with clean_app.app_context():
        media = db.session.scalars(sa.select(Media)).one()
        media_id, name = media.id, media.name
    stored = clean_app.config["SETTINGS"].media_dir / name[:2] / name
    assert not Image.open(io.BytesIO(stored.read_bytes())).getexif()
    page = client.get(f"/editor/announcements/new?image={media_id}").text
    radios = re.findall(r'<input[^>]*name="image"[^>]*>', page)
    assert [r for r in radios if f'value="{media_id}"' in r and "checked" in r], radios
    created = client.post("/editor/announcements/new", data={
        "csrf_token": csrf(client, "/editor/announcements/new"), "title": "Array complete",
        "language": "en", "image": str(media_id), "publish": "Publish now"})
    assert created.status_code == 303  # saved as a draft; publishing asks for a confirmation
    with clean_app.app_context():
        item = db.session.scalars(sa.select(Announcement)).one()
        assert item.image_id == media_id
        path = f"/editor/announcements/{item.id}"
    assert post(client, f"{path}/publish", path, confirmed="yes").status_code == 303
    public = client.get("/announcements/array-complete").text
    assert 'alt="Antenna array"' in public and "srcset=" in public


def test_upload_with_the_write_form_becomes_the_featured_image(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("editor")
    response = _post(client, "/editor/announcements/new", pictures.photo(900, 450, "PNG"),
                     "dish.png", "image_file", title="Dish installed", language="en",
                     image="", image_alt="The new dish", publish="Publish now")
    assert response.status_code == 303, response.text
    with clean_app.app_context():
        item = db.session.scalars(sa.select(Announcement)).one()
        assert item.image is not None and item.image.alt == "The new dish"
        assert item.image.content_type == "image/png"


def test_refused_uploads_in_the_editor_leave_nothing(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("author")
    root = clean_app.config["SETTINGS"].media_dir
    svg = _post(client, "/editor/media", pictures.SVG, "logo.svg", alt="Logo")
    assert svg.status_code == 422 and "SVG images are not accepted" in svg.text
    no_alt = _post(client, "/editor/media", pictures.photo(), alt="")
    assert no_alt.status_code == 422 and "describe the image" in no_alt.text
    bomb = _post(client, "/editor/media", pictures.bomb(), "big.png", alt="Big")
    assert bomb.status_code == 422 and "pixels" in bomb.text
    write = _post(client, "/editor/announcements/new", pictures.gif(), "x.gif", "image_file",
                  title="Draft", language="en", image="", image_alt="A gif", save="Save")
    assert write.status_code == 200 and "is not a JPEG, PNG or WebP image" in write.text
    alt_missing = _post(client, "/editor/announcements/new", pictures.photo(), "x.jpg",
                        "image_file", title="Draft", language="en", image="", image_alt="",
                        save="Save")
    assert "describe the image" in alt_missing.text
    with clean_app.app_context():
        assert count(Media) == 0 and count(Announcement) == 0
    assert pictures.files_under(root) == []
