"""In a real browser: a reader searches, opens a result and switches to its Arabic translation;
an editor writes that translation from the English announcement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.announcements import publishing, translations
from service.announcements.models import Announcement, Status
from service.database import db
from tests.browser.conftest import sign_in
from tests.factories import EditorInfo

ENGLISH = "Ground station agreement with ESA"
ARABIC = "اتفاقية محطة أرضية مع وكالة الفضاء الأوروبية"


def _publish_pair(app: Flask) -> None:
    with app.app_context():
        english = publishing.create(
            title=ENGLISH, slug="ground-station", status=Status.PUBLISHED, partners=["esa"],
            summary="A new antenna in the south.",
            body="The **antenna** will track the relay satellite from 2027.")
        arabic = publishing.create(
            title=ARABIC, slug="ground-station-ar", language="ar", status=Status.PUBLISHED,
            partners=["esa"], body="ستتابع **الهوائي** قمر الترحيل ابتداءً من عام 2027.")
        translations.link(arabic, english)
        db.session.commit()


def test_search_then_switch_to_the_arabic_translation(
    clean_app: Flask, new_page: Callable[..., Any],
) -> None:
    _publish_pair(clean_app)
    page = new_page()
    page.goto("/")
    header_search = page.get_by_role("search", name="Announcements")
    header_search.get_by_label("Search announcements").fill("antenna relay")
    header_search.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="1 result for").wait_for()
    result = page.locator("article.result")
    assert result.locator("mark").all_inner_texts()[:2] == ["antenna", "relay"]
    assert page.get_by_label("Words to find").input_value() == "antenna relay"

    result.get_by_role("link", name=ENGLISH).click()
    page.get_by_role("heading", level=1, name=ENGLISH).wait_for()
    switcher = page.get_by_role("navigation", name="Other languages")
    assert switcher.locator("[aria-current=page]").inner_text() == "English"
    hreflang = page.locator('link[rel=alternate][hreflang="ar"]').get_attribute("href")
    assert hreflang and hreflang.endswith("/announcements/ground-station-ar")

    switcher.get_by_role("link", name="العربية").click()
    page.get_by_role("heading", level=1, name=ARABIC).wait_for()
    article = page.locator("article.announcement")
    assert article.get_attribute("lang") == "ar"
    assert article.evaluate("e => getComputedStyle(e).direction") == "rtl"
    back = page.get_by_role("navigation", name="Other languages").get_by_role(
        "link", name="English")
    assert back.get_attribute("hreflang") == "en"


def test_an_editor_writes_the_translation_from_the_english_page(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
) -> None:
    with clean_app.app_context():
        english = publishing.create(title=ENGLISH, slug="ground-station",
                                    status=Status.PUBLISHED, partners=["esa"])
        db.session.commit()
        english_id = english.id
    page = new_page()
    sign_in(page, make_editor("editor"))
    page.goto(f"/editor/announcements/{english_id}")
    page.get_by_role("link", name="Write a translation").click()
    page.get_by_text("A translation of").wait_for()
    assert page.get_by_label("Language").input_value() == "ar"
    assert page.get_by_label("Partners").input_value() == "esa"
    page.get_by_label("Title").fill(ARABIC)
    page.get_by_role("button", name="Publish now").click()
    page.get_by_role("button", name="Yes, publish now").click()  # after the confirmation
    page.get_by_text("Published. Readers see it now").wait_for()
    panel = page.get_by_role("region", name="Translations")
    panel.get_by_role("link", name=ENGLISH).wait_for()

    page.goto("/announcements/ground-station")
    page.get_by_role("navigation", name="Other languages").get_by_role(
        "link", name="العربية").click()
    page.get_by_role("heading", level=1, name=ARABIC).wait_for()
    with clean_app.app_context():
        arabic = db.session.scalars(sa.select(Announcement).where(
            Announcement.title == ARABIC)).one()
        assert arabic.translation_group is not None
        assert arabic.translation_group == db.session.get(
            Announcement, english_id).translation_group  # type: ignore[union-attr]
