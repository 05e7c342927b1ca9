"""POST /api/v1/media with real multipart bodies and real images; what is kept of them."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from service.database import db
from service.media.models import Media
from tests.api.conftest import problem
from tests.factories import EditorInfo
from tests.fixtures.data import count
from tests.media import pictures


def _upload(client: FlaskClient, who: EditorInfo | None, data: bytes, alt: str | None = "Alt",
            filename: str = "picture.jpg", **extra: str):
    body, content_type = pictures.multipart(data, filename, alt=alt, **extra)
    return client.post("/api/v1/media", data=body, content_type=content_type,
                       headers=who.auth if who else {})


def _media_root(app: Flask) -> Path:
    return app.config["SETTINGS"].media_dir


def _fetch(client: FlaskClient, url: str) -> bytes:
    with client.get(url.removeprefix("http://newsroom.test")) as response:
        assert response.status_code == 200, url
        return response.data


def test_a_jpeg_is_stored_cleaned_and_sized(clean_app: Flask, client: FlaskClient,
                                            editor: EditorInfo) -> None:
    original = pictures.photo(2000, 1000, icc=True)
    assert Image.open(io.BytesIO(original)).getexif().get(pictures.GPS_IFD) is not None
    response = _upload(client, editor, original, alt="The observatory's dome at dusk")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["alt"] == "The observatory's dome at dusk"
    assert (body["type"], body["width"], body["height"]) == ("image/jpeg", 2000, 1000)
    assert response.headers["Location"].endswith(f"/api/v1/media/{body['id']}")
    # Content-addressed: the name is the SHA-256 of the stored bytes.
    stored = _fetch(client, body["url"])
    import hashlib
    assert hashlib.sha256(stored).hexdigest() in body["url"]
    kept = Image.open(io.BytesIO(stored))
    assert kept.format == "JPEG" and kept.size == (2000, 1000)
    assert not kept.getexif(), "EXIF (GPS, camera) must be gone"
    assert "icc_profile" not in kept.info and "exif" not in kept.info
    assert [(s["width"], s["height"], s["type"]) for s in body["sizes"]] == [
        (480, 240, "image/webp"), (960, 480, "image/webp"), (1600, 800, "image/webp")]
    for size in body["sizes"]:
        small = Image.open(io.BytesIO(_fetch(client, size["url"])))
        assert small.format == "WEBP" and small.width == size["width"]
        assert not small.getexif()
    with client.get(body["url"].removeprefix("http://newsroom.test")) as served:
        assert served.headers["Content-Type"] == "image/jpeg"
        assert "immutable" in served.headers["Cache-Control"]
    with clean_app.app_context():
        row = db.session.get(Media, body["id"])
        assert row is not None and row.uploaded_by == editor.id


def test_orientation_is_applied_then_dropped(client: FlaskClient, editor: EditorInfo) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90 degrees clockwise.
    body = _upload(client, editor, pictures.photo(800, 400, orientation=6)).get_json()
    assert (body["width"], body["height"]) == (400, 800)
    kept = Image.open(io.BytesIO(_fetch(client, body["url"]))).convert("RGB")
    assert not kept.getexif()
    # The red left half of the landscape is now the top half.
    assert kept.getpixel((200, 100))[0] > 150 and kept.getpixel((200, 700))[2] > 150


def test_png_keeps_transparency_and_webp_is_accepted(client: FlaskClient,
                                                     editor: EditorInfo) -> None:
    png = _upload(client, editor, pictures.transparent_png(), filename="x.png").get_json()
    assert png["type"] == "image/png" and [s["width"] for s in png["sizes"]] == [480]
    kept = Image.open(io.BytesIO(_fetch(client, png["url"])))
    assert kept.mode == "RGBA" and kept.getpixel((599, 0))[3] == 0
    webp = _upload(client, editor, pictures.photo(300, 200, "WEBP"), filename="x.webp")
    assert webp.status_code == 201 and webp.get_json()["type"] == "image/webp"
    assert webp.get_json()["sizes"] == []  # narrower than every size


def test_the_same_picture_twice_shares_its_files(clean_app: Flask, client: FlaskClient,
                                                 editor: EditorInfo) -> None:
    data = pictures.photo(1000, 500)
    first = _upload(client, editor, data, alt="One").get_json()
    files = pictures.files_under(_media_root(clean_app))
    second = _upload(client, editor, data, alt="Two").get_json()
    assert first["id"] != second["id"] and first["url"] == second["url"]
    assert pictures.files_under(_media_root(clean_app)) == files
    listed = client.get("/api/v1/media", headers=editor.auth).get_json()
    assert [m["alt"] for m in listed["items"]] == ["Two", "One"] and listed["total"] == 2


def _refused(clean_app: Flask, response, status: int, kind: str | None) -> dict:
    body = problem(response, status, kind)
    with clean_app.app_context():
        assert count(Media) == 0
    assert pictures.files_under(_media_root(clean_app)) == []
    return body


def test_refused_uploads_leave_nothing(clean_app: Flask, client: FlaskClient,
                                       editor: EditorInfo) -> None:
    svg = _refused(clean_app, _upload(client, editor, pictures.SVG, filename="a.svg"), 415,
                   "image-type")
    assert "SVG" in svg["detail"]
    # A GIF named .jpg: the bytes decide, not the name.
    _refused(clean_app, _upload(client, editor, pictures.gif(), filename="a.jpg"), 415,
             "image-type")
    _refused(clean_app, _upload(client, editor, b"not an image at all"), 415, "image-type")
    bomb = _refused(clean_app, _upload(client, editor, pictures.bomb(), filename="b.png"), 422,
                    "image-too-many-pixels")
    assert "pixels" in bomb["detail"]
    truncated = pictures.photo(1000, 500)[:3000]
    _refused(clean_app, _upload(client, editor, truncated), 422, "image-broken")
    no_alt = _refused(clean_app, _upload(client, editor, pictures.photo(), alt=None), 422,
                      "validation")
    assert no_alt["errors"][0]["pointer"] == "#/alt"
    _refused(clean_app, _upload(client, editor, pictures.photo(), alt="   "), 422, "validation")
    _refused(clean_app, _upload(client, editor, pictures.photo(), alt="a\nb"), 422, "validation")
    _refused(clean_app, _upload(client, None, pictures.photo()), 401, None)
    json_body = client.post("/api/v1/media", json={"alt": "x"}, headers=editor.auth)
    _refused(clean_app, json_body, 415, None)


def test_size_limit(clean_app: Flask, client: FlaskClient, editor: EditorInfo) -> None:
    settings = clean_app.config["SETTINGS"]
    big = pictures.photo(3000, 3000)
    assert len(big) < settings.media_max_bytes
    noisy = Image.effect_noise((2000, 2000), 120).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    data = out.getvalue()
    assert len(data) > 1024 * 1024  # over the app's usual 1 MiB body limit: uploads take more
    clean_app.config["SETTINGS"] = type(settings)(**{**settings.__dict__,
                                                     "media_max_bytes": len(data) - 1})
    try:
        body = _refused(clean_app, _upload(client, editor, data, filename="n.png"), 413,
                        "image-too-large")
        assert f"{len(data) - 1:,}" in body["detail"]
    finally:
        clean_app.config["SETTINGS"] = settings
    assert _upload(client, editor, data, filename="n.png").status_code == 201


def test_announcements_take_an_image(client: FlaskClient, editor: EditorInfo) -> None:
    media = _upload(client, editor, pictures.photo(), alt="First light").get_json()
    created = client.post("/api/v1/announcements", headers=editor.auth, json={
        "title": "First light", "status": "published", "image": media["id"]})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["image"]["url"] == media["url"]
    item_id = created.get_json()["id"]
    removed = client.patch(f"/api/v1/announcements/{item_id}", headers=editor.auth,
                           json={"image": None})
    assert removed.get_json()["image"] is None
    unknown = client.patch(f"/api/v1/announcements/{item_id}", headers=editor.auth,
                           json={"image": 999999})
    assert problem(unknown, 422, "validation")["errors"][0]["pointer"] == "#/image"


def test_a_body_over_the_upload_limit_is_a_413(clean_app: Flask, client: FlaskClient,
                                               editor: EditorInfo) -> None:
    data = pictures.photo(800, 400)
    saved = clean_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    clean_app.config["UPLOAD_MAX_CONTENT_LENGTH"] = len(data) // 2
    try:
        body = _refused(clean_app, _upload(client, editor, data), 413, None)
        assert f"{len(data) // 2} bytes" in body["detail"]
    finally:
        clean_app.config["UPLOAD_MAX_CONTENT_LENGTH"] = saved
    # Other URLs keep the usual limit (1 MiB): the upload limit is for upload paths only.
    big = {"title": "x" * 10, "body": "y" * (1024 * 1024)}
    assert client.post("/api/v1/announcements", json=big,
                       headers=editor.auth).status_code == 413
