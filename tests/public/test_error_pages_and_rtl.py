"""Readers' 404 and 410 pages have the site's layout; English dates and tag names inside a
right-to-left item are isolated, so they do not render reversed ("April 2026 27")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db
from tests import factories


@pytest.mark.parametrize("path", [
    "/tags/no-such-tag", "/partners/no-such-partner", "/announcements/no-such-item",
    "/feeds/tags/no-such-tag/atom.xml", "/feeds/partners/nobody/rss.xml", "/feeds/nothing.xml",
    "/no/such/page",
])
def test_unknown_public_addresses_get_the_sites_404_page(clean_app: Flask, client: FlaskClient,
                                                         path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert '<header class="site-header">' in page.text and "site.css" in page.text
    assert "<h1>Page not found</h1>" in page.text
    assert "Not Found</h1>" not in page.text  # Flask's default page


def test_a_draft_is_a_styled_404_and_the_api_keeps_problem_details(
        clean_app: Flask, client: FlaskClient) -> None:
    with clean_app.app_context():
        publishing.create(title="Quiet draft")
        db.session.commit()
    page = client.get("/announcements/quiet-draft")
    assert page.status_code == 404 and '<header class="site-header">' in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    wrong = client.post("/feeds")
    assert wrong.status_code == 405 and '<header class="site-header">' in wrong.text


def test_retracted_is_a_styled_410(clean_app: Flask, client: FlaskClient) -> None:
    item_id = factories.announcement(clean_app, title="Withdrawn one")
    with clean_app.app_context():
        from service.announcements.models import Announcement

        publishing.retract(db.session.get(Announcement, item_id), reason="Wrong date")
        db.session.commit()
    page = client.get("/announcements/withdrawn-one")
    assert page.status_code == 410 and '<header class="site-header">' in page.text


def test_english_dates_and_tags_inside_arabic_items_are_isolated(
        clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(
        clean_app, title="اتفاقية الاستشعار عن بعد", summary="ملخص", body="نص", language="ar",
        slug="arabic-sensing", tags=["Remote sensing"], partners=["esa"],
        published_at=datetime(2026, 4, 27, 9, 0, tzinfo=UTC), status=Status.PUBLISHED,
    )
    for path in ("/", "/announcements/arabic-sensing"):
        html = client.get(path).text
        date = re.search(r'<time datetime="2026-04-27T09:00:00[^"]*"([^>]*)>27 April 2026</time>',
                         html)
        assert date and 'dir="ltr"' in date.group(1), path
        assert "<bdi>#Remote sensing</bdi>" in html, path
        assert re.search(r"<bdi>[^<]*ESA[^<]*</bdi>", html), path
