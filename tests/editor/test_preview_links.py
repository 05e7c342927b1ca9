"""Private preview links: a draft or scheduled item shown signed out through a signed link,
which expires, cannot be forged or altered, and stops showing once the item is public."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from service.announcements import preview_links
from service.announcements.models import Status
from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo


def _link(client: FlaskClient, item_id: int) -> str:
    path = f"/editor/announcements/{item_id}"
    page = post(client, f"{path}/preview-link", path)
    assert page.status_code == 200
    found = re.search(r'value="http://newsroom\.test(/preview/[^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_a_preview_link_shows_a_draft_signed_out(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Draft for sign-off", status=Status.DRAFT,
                                     body="The **terms**.")
    path = _link(client, item_id)
    stranger = clean_app.test_client()  # no session at all
    page = stranger.get(path)
    assert page.status_code == 200
    assert "Preview, not published." in page.text and "<strong>terms</strong>" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert stranger.get("/announcements/draft-for-sign-off").status_code == 404  # still private
    altered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert stranger.get(altered).status_code == 404
    with clean_app.app_context():
        forged = URLSafeTimedSerializer("not-our-key", salt="newsroom.announcements.preview")
        assert stranger.get(f"/preview/{forged.dumps(item_id)}").status_code == 404


def test_a_preview_link_expires_and_ends_at_publication(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Scheduled one", status=Status.SCHEDULED)
    path = _link(client, item_id)
    assert "Scheduled for" in clean_app.test_client().get(path).text

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - (preview_links.VALID_DAYS * 86400 + 60))

    with clean_app.app_context():
        old = URLSafeTimedSerializer(clean_app.config["SECRET_KEY"],
                                     salt="newsroom.announcements.preview", signer=Earlier)
        expired = clean_app.test_client().get(f"/preview/{old.dumps(item_id)}")
    assert expired.status_code == 410 and "has expired" in expired.text

    published = factories.announcement(clean_app, title="Already out")
    with clean_app.app_context():
        token = preview_links.make_token(published)
    moved = clean_app.test_client().get(f"/preview/{token}")
    assert moved.status_code == 303 and moved.location.endswith("/announcements/already-out")


def test_no_preview_link_for_what_readers_already_have(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Public already")
    path = f"/editor/announcements/{item_id}"
    assert "Share a preview link" not in client.get(path).text
    assert post(client, f"{path}/preview-link", path).status_code == 404
