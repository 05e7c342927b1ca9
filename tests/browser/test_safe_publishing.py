"""In a real browser: a confirmation naming the effect before publishing and retracting, a
warning before leaving unsaved changes, and an Arabic page whose English dates and tags read
the right way round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.announcements.models import Announcement, Status
from service.database import db
from tests import factories
from tests.browser.conftest import sign_in
from tests.factories import EditorInfo


def _status(app: Flask, title: str) -> Status | None:
    with app.app_context():
        return db.session.scalar(sa.select(Announcement.status).where(Announcement.title == title))


def test_publish_and_retract_ask_first_naming_the_effect(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
) -> None:
    for number in range(2):
        factories.subscriber(clean_app, f"reader{number}@example.org", "instant")
    item_id = factories.announcement(clean_app, title="Observatory agreement",
                                     status=Status.DRAFT)
    page = new_page()
    sign_in(page, make_editor("editor"))
    page.goto(f"/editor/announcements/{item_id}")
    page.get_by_role("button", name="Publish now").click()
    page.get_by_text("emails 2 instant subscribers now").wait_for()
    page.get_by_role("link", name="Cancel").click()  # changed my mind: nothing happens
    page.get_by_role("heading", name="Edit announcement").wait_for()
    assert _status(clean_app, "Observatory agreement") is Status.DRAFT

    page.get_by_role("button", name="Publish now").click()
    page.get_by_role("button", name="Yes, publish now").click()
    page.get_by_text("Published. Readers see it now").wait_for()
    assert _status(clean_app, "Observatory agreement") is Status.PUBLISHED

    page.get_by_label("Reason (shown to readers)").fill("Signed by mistake.")
    page.get_by_role("button", name="Retract").click()
    page.get_by_text("removes it from every list and feed now").wait_for()
    page.get_by_text("Signed by mistake.").wait_for()
    assert _status(clean_app, "Observatory agreement") is Status.PUBLISHED
    page.get_by_role("button", name="Yes, retract now").click()
    page.get_by_text("Retracted").first.wait_for()
    assert _status(clean_app, "Observatory agreement") is Status.RETRACTED


def test_leaving_a_page_with_unsaved_changes_asks_first(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
) -> None:
    page = new_page()
    sign_in(page, make_editor("editor"))
    page.goto("/editor/announcements/new")
    page.get_by_label("Title").click()
    page.keyboard.type("Half-written title")  # real key presses: the page may then warn
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    assert page.evaluate("document.querySelector('form[data-warn-unsaved]') !== null")
    page.get_by_role("link", name="Dashboard").click()  # leaving: the browser asks
    page.wait_for_timeout(1000)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith("/editor/announcements/new")  # stayed, nothing lost
    assert page.get_by_label("Title").input_value() == "Half-written title"

    saved = new_page()
    sign_in(saved, make_editor("editor", email="second@example.org"))
    saved.goto("/editor/announcements/new")
    quiet: list[str] = []
    saved.on("dialog", lambda dialog: (quiet.append(dialog.type), dialog.accept()))
    saved.get_by_role("link", name="Dashboard").click()  # nothing typed: no question
    saved.get_by_role("heading", name="Dashboard").wait_for()
    assert quiet == []


def test_an_arabic_page_shows_english_dates_and_tags_the_right_way_round(
    clean_app: Flask, new_page: Callable[..., Any],
) -> None:
    from datetime import UTC, datetime

    factories.announcement(clean_app, title="اتفاقية الاستشعار عن بعد", summary="ملخص",
                           body="نص", language="ar", slug="arabic-sensing",
                           tags=["Remote sensing"], published_at=datetime(2026, 4, 27, tzinfo=UTC))
    page = new_page()
    page.goto("/announcements/arabic-sensing")
    article = page.locator("article.announcement")
    assert article.evaluate("el => el.matches(':dir(rtl)')")
    date = article.locator("time").first
    assert date.evaluate("el => el.matches(':dir(ltr)')")
    assert date.inner_text() == "27 April 2026"
    chip = article.locator("a.chip bdi").first
    assert chip.evaluate("el => el.matches(':dir(ltr)')")
    # The "#" is drawn at the left of the words, as written.
    box = chip.evaluate("""el => {
        const range = document.createRange();
        range.setStart(el.firstChild, 0); range.setEnd(el.firstChild, 1);
        const hash = range.getBoundingClientRect();
        return [hash.left, el.getBoundingClientRect().left, el.getBoundingClientRect().right];
    }""")
    assert abs(box[0] - box[1]) < 2, box


def test_a_preview_link_opens_signed_out_in_another_browser(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
) -> None:
    item_id = factories.announcement(clean_app, title="Draft for the partners",
                                     status=Status.DRAFT, body="The **relay** terms.")
    page = new_page()
    sign_in(page, make_editor("editor"))
    page.goto(f"/editor/announcements/{item_id}")
    page.get_by_role("button", name="Share a preview link").click()
    link = page.get_by_label("Link").input_value()
    assert "/preview/" in link
    path = link[link.index("/preview/"):]

    partner = new_page()  # a fresh context: no cookies, never signed in
    partner.goto(path)
    partner.get_by_text("Preview, not published.").wait_for()
    partner.get_by_role("heading", level=1, name="Draft for the partners").wait_for()
    assert partner.locator("article.announcement strong").inner_text() == "relay"
    assert partner.context.cookies() == []  # nothing signed it in
