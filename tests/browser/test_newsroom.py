"""In a real browser: sign in, write, preview, schedule, publish, and read it on the site and
in the Atom feed; an author cannot publish; a form without its CSRF token is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import feedparser
import sqlalchemy as sa
from flask import Flask

from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from tests.browser.conftest import sign_in
from tests.factories import EditorInfo
from tests.waiting import wait_for

TITLE = "Lunar relay agreement signed"


def _status(app: Flask, title: str) -> Status | None:
    with app.app_context():
        return db.session.scalar(sa.select(Announcement.status).where(Announcement.title == title))


def _write(page: Any, title: str = TITLE) -> None:
    page.get_by_role("link", name="Write an announcement").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill("The partners agree on a relay for the far side.")
    page.get_by_label("Body (Markdown)").fill(
        "## Terms\n\nThe **relay satellite** serves both landers.\n\n- ESA builds it\n- We fly it"
    )
    page.get_by_label("Tags").fill("Lunar exploration, agreements")
    page.get_by_label("Partners").fill("esa")


def test_sign_in_write_preview_schedule_publish_read(
    clean_app: Flask,
    new_page: Callable[..., Any],
    live_server: str,
    make_editor: Callable[..., EditorInfo],
) -> None:
    page = new_page()
    sign_in(page, make_editor("editor"))
    _write(page)

    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.preview")
    preview.get_by_role("heading", name="Terms").wait_for()
    assert preview.locator("strong").inner_text() == "relay satellite"
    assert preview.get_by_role("link", name="ESA").count() == 1
    assert page.get_by_label("Title").input_value() == TITLE  # nothing typed is lost
    assert _status(clean_app, TITLE) is None  # a preview saves nothing

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved as a draft.").wait_for()
    assert _status(clean_app, TITLE) is Status.DRAFT

    later = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Publish at (UTC)").fill(later)
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("Invisible everywhere until then").wait_for()
    assert _status(clean_app, TITLE) is Status.SCHEDULED
    embargoed = page.request.get(f"{live_server}/announcements/lunar-relay-agreement-signed")
    assert embargoed.status == 404

    page.get_by_role("button", name="Publish now").click()
    page.get_by_text("emails 0 instant subscribers now").wait_for()  # the confirmation
    assert _status(clean_app, TITLE) is Status.SCHEDULED
    page.get_by_role("button", name="Yes, publish now").click()
    page.get_by_text("Published. Readers see it now").wait_for()
    assert _status(clean_app, TITLE) is Status.PUBLISHED

    page.get_by_role("link", name="View on the site").click()
    page.get_by_role("heading", level=1, name=TITLE).wait_for()
    assert page.locator("article.announcement strong").inner_text() == "relay satellite"
    page.get_by_role("link", name="Announcements", exact=True).click()
    page.get_by_role("link", name=TITLE).wait_for()

    def atom_titles() -> list[str]:
        response = page.request.get(f"{live_server}/feeds/atom.xml")
        return [entry.title for entry in feedparser.parse(response.body()).entries]

    wait_for(lambda: TITLE in atom_titles(), timeout=20)
    tag_feed = page.request.get(f"{live_server}/feeds/tags/lunar-exploration/atom.xml")
    assert [e.title for e in feedparser.parse(tag_feed.body()).entries] == [TITLE]


def test_author_cannot_publish_even_by_forging_the_request(
    clean_app: Flask,
    new_page: Callable[..., Any],
    live_server: str,
    make_editor: Callable[..., EditorInfo],
) -> None:
    page = new_page()
    sign_in(page, make_editor("author"))
    _write(page, "An author's draft")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved as a draft.").wait_for()
    assert page.get_by_role("button", name="Publish now").count() == 0
    assert page.get_by_role("button", name="Schedule").count() == 0
    assert page.get_by_role("button", name="Submit for review").count() == 1

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(page.url.rstrip("/") + "/publish", form={"csrf_token": token})
    assert forged.status == 403  # the role is checked on the server, with a valid CSRF token
    assert _status(clean_app, "An author's draft") is Status.DRAFT

    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted: an editor will review").first.wait_for()


def test_a_form_without_its_csrf_token_is_refused(
    clean_app: Flask,
    new_page: Callable[..., Any],
    make_editor: Callable[..., EditorInfo],
) -> None:
    page = new_page()
    sign_in(page, make_editor("editor"))
    _write(page, "Sent without a token")
    page.locator("form.announcement-form input[name=csrf_token]").evaluate("e => e.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save draft").click()
    assert posted.value.status == 400
    page.get_by_role("heading", name="The form could not be accepted").wait_for()
    assert _status(clean_app, "Sent without a token") is None


def test_arabic_reads_right_to_left_and_the_site_fits_a_phone(
    clean_app: Flask,
    new_page: Callable[..., Any],
) -> None:
    with clean_app.app_context():
        publishing.create(
            title="اتفاقية جديدة للتعاون في رصد الأرض",
            language="ar",
            summary="ملخص الإعلان",
            body="نص **الإعلان** الكامل.",
            slug="arabic-agreement",
            tags=["earth-observation"],
            status=Status.PUBLISHED,
        )
        db.session.commit()
    page = new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    for path in ("/", "/feeds", "/announcements/arabic-agreement"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    article = page.locator("article.announcement")
    assert article.get_attribute("lang") == "ar"
    assert article.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "ltr"  # the chrome
