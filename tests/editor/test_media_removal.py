"""The library page's Delete button: an unused image goes, a used one stays with the reason."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo
from tests.media.test_removal import _exists, _files, _upload


def test_the_library_page_deletes_an_unused_image_and_explains_a_refusal(
        clean_app: Flask, client: FlaskClient,
        signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("editor")
    unused = _upload(clean_app, "Mistaken upload")
    used = _upload(clean_app, "Keep me", width=900)
    factories.announcement(clean_app, "Observatory first light", image_id=used)
    files = _files(clean_app, unused)
    page = client.get("/editor/media").text
    assert f"/editor/media/{unused}/delete" in page and f"/editor/media/{used}/delete" in page
    response = post(client, f"/editor/media/{unused}/delete", "/editor/media")
    assert response.status_code == 303
    after = client.get("/editor/media").text
    assert "Deleted the image “Mistaken upload”." in after and "Mistaken upload</p>" not in after
    assert not _exists(clean_app, unused) and not any(f.exists() for f in files)
    response = post(client, f"/editor/media/{used}/delete", "/editor/media")
    assert response.status_code == 303
    refused = client.get("/editor/media").text
    assert "Not deleted" in refused and "“Observatory first light”" in refused
    assert _exists(clean_app, used)
    # Without the form's CSRF token nothing happens.
    assert client.post(f"/editor/media/{used}/delete").status_code == 400
    assert _exists(clean_app, used)
