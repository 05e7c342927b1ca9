"""Retracting from the editor asks for the reason readers will see, and keeps it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Announcement, Status
from service.database import db
from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo


def _stored(app: Flask, item_id: int) -> Announcement:
    with app.app_context():
        item = db.session.get(Announcement, item_id)
        assert item is not None
        db.session.expunge(item)
        return item


def test_the_retract_form_asks_for_a_reason_and_stores_it(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Wrong launch date")
    path = f"/editor/announcements/{item_id}"
    page = client.get(path).text
    form = page[page.index(f'action="{path}/retract"'):]
    form = form[:form.index("</form>")]
    assert 'name="reason"' in form and 'maxlength="500"' in form
    assert "Reason (shown to readers)" in form
    asked = post(client, f"{path}/retract", path, reason="  Issued in error: wrong date.  ")
    assert asked.status_code == 200 and "Issued in error: wrong date." in asked.text
    assert _stored(clean_app, item_id).status is Status.PUBLISHED  # asked, not done
    done = post(client, f"{path}/retract", path, reason="Issued in error: wrong date.",
                confirmed="yes")
    assert done.status_code == 303
    assert "Retracted" in client.get(done.location).text
    stored = _stored(clean_app, item_id)
    assert stored.status is Status.RETRACTED and stored.retracted_at is not None
    assert stored.retraction_reason == "Issued in error: wrong date."
    assert f'action="{path}/retract"' not in client.get(path).text  # nothing left to retract


def test_an_empty_reason_retracts_without_one(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Quietly withdrawn")
    path = f"/editor/announcements/{item_id}"
    assert post(client, f"{path}/retract", path, reason="  ", confirmed="yes").status_code == 303
    stored = _stored(clean_app, item_id)
    assert stored.status is Status.RETRACTED and stored.retraction_reason is None


@pytest.mark.parametrize(("reason", "message"), [
    ("x" * 501, "at most 500 characters"),
    ("Two\r\nlines", "single line"),
    ("Bell\x07", "control characters"),
    ("Over\u202eride", "bidirectional"),
])
def test_a_bad_reason_is_refused_and_nothing_is_retracted(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo],
    reason: str, message: str,
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Stays up")
    path = f"/editor/announcements/{item_id}"
    refused = post(client, f"{path}/retract", path, reason=reason, confirmed="yes")
    assert refused.status_code == 303
    text = client.get(refused.location).text
    assert "Not retracted: the reason" in text and message in text
    assert _stored(clean_app, item_id).status is Status.PUBLISHED
