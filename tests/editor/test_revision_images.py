"""Revisions keep the featured image: a new image is a revision, the diff names both images, a
restore brings the old one back; migration 0017 gives older revisions the image they had."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade

from service import create_app
from service.announcements import publishing, revisions
from service.announcements.models import Announcement, Revision
from service.database import db
from service.media import library
from tests.editor.conftest import post
from tests.factories import EditorInfo
from tests.fixtures.app import make_settings
from tests.fixtures.services import postgres_database
from tests.media import pictures


def _images() -> tuple[int, int]:
    dome = library.upload(pictures.photo(1200, 600), "The dome at dusk")
    array = library.upload(pictures.photo(800, 800, gps=False), "The antenna array")
    db.session.commit()
    return dome.id, array.id


def _image_ids(announcement_id: int) -> list[int | None]:
    return list(db.session.scalars(sa.select(Revision.image_id)
                                   .where(Revision.announcement_id == announcement_id)
                                   .order_by(Revision.number)))


def test_a_new_featured_image_is_a_revision_and_the_diff_names_both(ctx: Flask) -> None:
    dome, array = _images()
    item = publishing.create(title="First light", body="Seen.", image_id=dome)
    publishing.update(item, {"image_id": array})
    publishing.update(item, {"image_id": array})  # the same image again: no revision
    publishing.update(item, {"image_id": None})
    db.session.commit()
    assert _image_ids(item.id) == [dome, array, None]
    first, second, third = (revisions.get(item.id, n) for n in (1, 2, 3))
    assert first is not None and second is not None and third is not None
    changes = {d.field: d for d in revisions.diff(first, second)}
    assert set(changes) == {"image_id"} and changes["image_id"].label == "Featured image"
    [row] = changes["image_id"].rows
    assert "".join(text for _, text in row.old.segments) == "The dome at dusk (1200 x 600)"
    assert "".join(text for _, text in row.new.segments) == "The antenna array (800 x 800)"
    [removed] = revisions.diff(second, third)[0].rows
    assert "".join(text for _, text in removed.new.segments) == "No featured image"


def test_restoring_a_revision_brings_its_image_back(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    editor = signed_in("editor")
    with clean_app.app_context():
        dome, array = _images()
        item = publishing.create(title="First light", body="Seen.", image_id=dome,
                                 author_id=editor.id)
        publishing.update(item, {"image_id": array, "title": "First light, again"})
        db.session.commit()
        item_id = item.id
    path = f"/editor/announcements/{item_id}"
    diff = client.get(f"{path}/revisions/diff", query_string={"from": "1", "to": "2"})
    assert diff.status_code == 200 and ">Featured image</h2>" in diff.text
    assert "The <del>dome</del> <del>at dusk</del> (<del>1200</del> x <del>600</del>)" in diff.text
    assert "The <ins>antenna</ins> <ins>array</ins> (<ins>800</ins> x <ins>800</ins>)" in diff.text
    assert post(client, f"{path}/revisions/1/restore", f"{path}/revisions").status_code == 303
    with clean_app.app_context():
        restored = db.session.get(Announcement, item_id)
        assert restored is not None and restored.image_id == dome
        assert restored.title == "First light"
        assert _image_ids(item_id) == [dome, array, dome]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: it is migrated down and up again."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    with postgres_database("newsroom_migration") as url:
        yield url


def test_migration_0017_gives_older_revisions_the_image_their_announcement_has(
    fresh_database: str, redis_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path / "var", fresh_database, redis_url))
    with app.app_context():
        upgrade()
        dome, array = _images()
        pictured = publishing.create(title="Pictured", image_id=dome)
        plain = publishing.create(title="Plain")
        db.session.commit()
        pictured_id, plain_id = pictured.id, plain.id
        db.session.remove()
        downgrade(revision="0016")  # revisions as they were: no image column
        db.session.execute(sa.text("UPDATE announcements SET image_id = :array WHERE id = :id"),
                           {"array": array, "id": pictured_id})
        db.session.commit()
        db.session.remove()
        upgrade()
        # What it has now, not what it had: older revisions never recorded one, and a restore
        # must not take today's image off.
        assert _image_ids(pictured_id) == [array] and _image_ids(plain_id) == [None]
        db.session.remove()
        db.engine.dispose()
