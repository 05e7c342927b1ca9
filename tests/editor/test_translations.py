"""Translations in the editor: write one from an announcement, link and unlink, refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from service.announcements import queries, translations
from service.announcements.models import Announcement, Status
from service.database import db
from tests import factories
from tests.editor.conftest import csrf, post
from tests.factories import EditorInfo


def _group(app: Flask, item_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        item = queries.get(item_id)
        assert item is not None
        found = [(v.language, v.title) for v in translations.versions(item)]
        db.session.remove()
    return found


def test_write_a_translation_from_the_announcement(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    source = factories.announcement(clean_app, "Relay agreement", tags=["agreements"],
                                    partners=["esa"])
    page = client.get(f"/editor/announcements/{source}").text
    assert f'href="/editor/announcements/new?translation_of={source}"' in page
    path = f"/editor/announcements/new?translation_of={source}"
    form = client.get(path).text
    assert "A translation of" in form
    assert re.search(r'<option selected value="ar">', form)  # the first missing language
    assert 'value="agreements"' in form and 'value="esa"' in form
    response = post(client, path, path, title="اتفاقية الترحيل", language="ar",
                    tags="agreements", partners="esa", body="", summary="", save="Save")
    assert response.status_code == 303
    assert _group(clean_app, source) == [("ar", "اتفاقية الترحيل"), ("en", "Relay agreement")]
    # A second version in the same language is refused, and nothing is saved.
    again = post(client, path, path, title="نسخة ثانية", language="ar", save="Save")
    assert again.status_code == 200 and "already its version in this language" in again.text
    with clean_app.app_context():
        assert db.session.query(Announcement).filter_by(title="نسخة ثانية").count() == 0


def test_link_and_unlink_on_the_announcement_page(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    en = factories.announcement(clean_app, "Relay agreement")
    ar = factories.announcement(clean_app, "اتفاقية", language="ar", status=Status.DRAFT)
    also_en = factories.announcement(clean_app, "Another English one")
    page = client.get(f"/editor/announcements/{en}").text
    options = re.findall(r'<option value="(\d+)">', page)
    assert options == [str(ar)]  # not itself, not another English one
    response = post(client, f"/editor/announcements/{en}/translations",
                    f"/editor/announcements/{en}", other=str(ar))
    assert response.status_code == 303
    assert [lang for lang, _ in _group(clean_app, en)] == ["ar", "en"]
    page = client.get(f"/editor/announcements/{en}").text
    assert "Linked:" in page and "اتفاقية" in page
    # Not offered, and refused when forced: an English one in a group that has English.
    refused = post(client, f"/editor/announcements/{en}/translations",
                   f"/editor/announcements/{en}", other=str(also_en))
    assert refused.status_code == 303
    assert "Not linked" in client.get(f"/editor/announcements/{en}").text
    response = post(client, f"/editor/announcements/{ar}/translations/remove",
                    f"/editor/announcements/{ar}")
    assert response.status_code == 303
    assert _group(clean_app, en) == [("en", "Relay agreement")]


def test_an_author_cannot_link_what_they_may_not_edit(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    author = signed_in("author")
    published = factories.announcement(clean_app, "Relay agreement")
    own = factories.announcement(clean_app, "مسودة", language="ar", status=Status.DRAFT,
                                 author_id=author.id)
    token = csrf(client, f"/editor/announcements/{own}")
    response = client.post(f"/editor/announcements/{own}/translations",
                           data={"csrf_token": token, "other": str(published)})
    assert response.status_code == 403
    assert client.get(f"/editor/announcements/new?translation_of={published}").status_code \
        == 403
    assert _group(clean_app, own) == [("ar", "مسودة")]


def test_changing_the_language_to_one_the_group_has_is_a_field_error(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    en = factories.announcement(clean_app, "Relay agreement")
    ar = factories.announcement(clean_app, "اتفاقية", language="ar")
    with clean_app.app_context():
        a, b = queries.get(en), queries.get(ar)
        assert a and b
        translations.link(b, a)
        db.session.commit()
    path = f"/editor/announcements/{ar}"
    response = post(client, path, path, title="اتفاقية", language="en", save="Save")
    assert response.status_code == 200 and "is already in &#39;en&#39;" in response.text
