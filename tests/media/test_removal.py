"""Deleting an image from the library: only one nothing uses or used, files with the last row.

Through the API (``DELETE /api/v1/media/<id>``; the library page's button is in
``tests/editor/test_media_removal.py``), with real uploads written to the media directory and
real announcements using them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Announcement
from service.database import db
from service.media import library
from service.media.models import Media
from tests import factories
from tests.api.conftest import problem
from tests.factories import EditorInfo
from tests.media import pictures


def _upload(app: Flask, alt: str = "The wrong photo", width: int = 1200,
            by: EditorInfo | None = None) -> int:
    """An upload; a different ``width`` is a different picture (other files)."""
    with app.app_context():
        media = library.upload(pictures.photo(width, width // 2), alt, by.id if by else None)
        db.session.commit()
        return media.id


def _files(app: Flask, media_id: int) -> list[Path]:
    with app.app_context():
        media = db.session.get(Media, media_id)
        assert media is not None
        root = app.config["SETTINGS"].media_dir
        return [root / name[:2] / name for name in (media.name, *(s["name"] for s in media.sizes))]


def _delete(client: FlaskClient, who: EditorInfo, media_id: int):
    return client.delete(f"/api/v1/media/{media_id}", headers=who.auth)


def _exists(app: Flask, media_id: int) -> bool:
    with app.app_context():
        return db.session.get(Media, media_id) is not None


def test_an_unused_image_goes_with_its_files(clean_app: Flask, client: FlaskClient,
                                             editor: EditorInfo) -> None:
    media_id = _upload(clean_app)
    files = _files(clean_app, media_id)
    assert len(files) > 1 and all(f.exists() for f in files)
    response = _delete(client, editor, media_id)
    assert response.status_code == 204, response.get_json()
    assert not _exists(clean_app, media_id)
    assert not any(f.exists() for f in files)
    assert client.get(f"/api/v1/media/{media_id}", headers=editor.auth).status_code == 404
    assert _delete(client, editor, media_id).status_code == 404


def test_an_image_in_use_now_or_in_history_stays(clean_app: Flask, client: FlaskClient,
                                                 editor: EditorInfo) -> None:
    featured = _upload(clean_app, "Featured now", width=1000)
    factories.announcement(clean_app, "Uses it now", image_id=featured)
    in_history = _upload(clean_app, "Featured once", width=1100)
    item = factories.announcement(clean_app, "Used it once", image_id=in_history)
    with clean_app.app_context():  # the image is changed away: only a revision has it
        publishing.update(db.session.get(Announcement, item), {"image_id": None})
        db.session.commit()
        assert db.session.get(Announcement, item).image_id is None
    in_body = _upload(clean_app, "In a body")
    with clean_app.app_context():
        name = db.session.get(Media, in_body).name
    factories.announcement(clean_app, "Shows it inline", body=f"![x](/media/{name[:2]}/{name})")
    for media_id, title in ((featured, "Uses it now"), (in_history, "Used it once"),
                            (in_body, "Shows it inline")):
        files = _files(clean_app, media_id)
        response = _delete(client, editor, media_id)
        body = problem(response, 409, "image-in-use")
        assert f"“{title}”" in body["detail"]
        assert _exists(clean_app, media_id) and all(f.exists() for f in files)


def test_files_shared_with_another_upload_stay_until_the_last_row_goes(
        clean_app: Flask, client: FlaskClient, editor: EditorInfo) -> None:
    first = _upload(clean_app, "First upload")
    second = _upload(clean_app, "Same picture again")  # same bytes: the same files
    files = _files(clean_app, first)
    assert files == _files(clean_app, second)
    # A body naming the files uses the picture, but not this row: its files stay anyway.
    with clean_app.app_context():
        name = db.session.get(Media, first).name
    factories.announcement(clean_app, "Inline", body=f"![x](/media/{name[:2]}/{name})")
    assert _delete(client, editor, first).status_code == 204
    assert all(f.exists() for f in files)
    # Now its files would go with it, and the body uses them.
    problem(_delete(client, editor, second), 409, "image-in-use")
    assert all(f.exists() for f in files)


def test_authors_delete_only_their_own_uploads(clean_app: Flask, client: FlaskClient,
                                               author: EditorInfo, editor: EditorInfo) -> None:
    theirs = _upload(clean_app, "Author's upload", by=author)
    others = _upload(clean_app, "Someone else's", width=900, by=editor)
    body = problem(_delete(client, author, others), 403, "forbidden")
    assert "only images you uploaded" in body["detail"]
    assert _exists(clean_app, others)
    assert _delete(client, author, theirs).status_code == 204
    assert not _exists(clean_app, theirs)
