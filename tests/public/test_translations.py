"""An announcement with published translations: a language switcher and hreflang links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing, queries, translations
from service.announcements.models import Status
from service.database import db
from tests import factories
from tests.fixtures.app import TEST_BASE_URL


def _link(app: Flask, *ids: int) -> None:
    with app.app_context():
        first, *rest = (queries.get(i) for i in ids)
        for other in rest:
            assert first is not None and other is not None
            translations.link(other, first)
        db.session.commit()


def _retract(app: Flask, announcement_id: int) -> None:
    with app.app_context():
        item = queries.get(announcement_id)
        assert item is not None
        publishing.retract(item)
        db.session.commit()


def test_switcher_and_hreflang_name_every_published_version(clean_app: Flask,
                                                             client: FlaskClient) -> None:
    en = factories.announcement(clean_app, "Relay agreement", slug="relay")
    ar = factories.announcement(clean_app, "اتفاقية الترحيل", slug="relay-ar", language="ar")
    fr = factories.announcement(clean_app, "Accord relais", slug="relay-fr", language="fr",
                                status=Status.DRAFT)
    _link(clean_app, en, ar, fr)
    page = client.get("/announcements/relay").text
    hreflang = re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', page)
    assert hreflang == [("ar", f"{TEST_BASE_URL}/announcements/relay-ar"),
                        ("en", f"{TEST_BASE_URL}/announcements/relay")]
    switcher = re.search(r'<nav class="languages" aria-label="Other languages">(.*?)</nav>',
                         page, re.S)
    assert switcher is not None
    assert ('<a href="/announcements/relay-ar" hreflang="ar" lang="ar" dir="rtl"'
            in switcher.group(1))
    assert '<span aria-current="page" lang="en">English</span>' in switcher.group(1)
    assert "relay-fr" not in page  # a draft translation does not exist for readers
    arabic = client.get("/announcements/relay-ar").text
    assert '<a href="/announcements/relay" hreflang="en" lang="en" dir="ltr"' in arabic
    assert '<span aria-current="page" lang="ar">العربية</span>' in arabic


def test_no_switcher_without_a_published_translation(clean_app: Flask,
                                                     client: FlaskClient) -> None:
    en = factories.announcement(clean_app, "Relay agreement", slug="relay")
    ar = factories.announcement(clean_app, "اتفاقية", slug="relay-ar", language="ar")
    page = client.get("/announcements/relay").text
    assert 'class="languages"' not in page and "hreflang" not in page
    _link(clean_app, en, ar)
    _retract(clean_app, ar)
    page = client.get("/announcements/relay").text
    assert 'class="languages"' not in page and "hreflang" not in page


def _cards(html: str) -> list[str]:
    return re.findall(r'<h2 id="item-\d+"><a href="/announcements/([^"]+)">', html)


def test_listings_show_one_card_per_announcement_with_its_other_languages(
        clean_app: Flask, client: FlaskClient) -> None:
    """The version published first stands for its group in every listing, naming the other
    published versions; a draft translation is not named; a version alone in a listing (its
    tag only it has) shows there; paging counts groups, not versions."""
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    en = factories.announcement(clean_app, "Relay agreement", slug="relay", tags=["relay"],
                                published_at=t0)
    ar = factories.announcement(clean_app, "اتفاقية الترحيل", slug="relay-ar", language="ar",
                                tags=["relay", "arabic-desk"],
                                published_at=t0 + timedelta(hours=1))
    fr = factories.announcement(clean_app, "Accord relais", slug="relay-fr", language="fr",
                                status=Status.DRAFT, tags=["relay"])
    factories.announcement(clean_app, "Ground station", slug="ground", tags=["relay"],
                           published_at=t0 + timedelta(minutes=30))
    _link(clean_app, en, ar, fr)
    home = client.get("/").text
    assert _cards(home) == ["ground", "relay"]  # newest first, by the group's first version
    also = re.search(r'<p class="also-in">Also in: (.*?)</p>', home)
    assert also is not None and "relay-fr" not in home
    assert also.group(1) == ('<a href="/announcements/relay-ar" hreflang="ar" lang="ar" '
                             'dir="rtl">العربية</a>')
    assert _cards(client.get("/tags/relay").text) == ["ground", "relay"]
    desk = client.get("/tags/arabic-desk").text  # only the Arabic version has this tag
    assert _cards(desk) == ["relay-ar"]
    assert '<a href="/announcements/relay" hreflang="en" lang="en" dir="ltr">English</a>' \
        in desk
    _retract(clean_app, en)
    # Retracted, the English one leaves; the Arabic one now stands for the group, alone.
    home = client.get("/").text
    assert _cards(home) == ["relay-ar", "ground"] and 'class="also-in"' not in home


def test_listing_pages_count_groups(clean_app: Flask, client: FlaskClient) -> None:
    from service.public.views import PER_PAGE

    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    ids = []
    for n in range(PER_PAGE):
        first = factories.announcement(clean_app, f"Item {n}", slug=f"item-{n}",
                                       published_at=t0 + timedelta(minutes=2 * n))
        second = factories.announcement(clean_app, f"Élément {n}", slug=f"item-{n}-fr",
                                        language="fr",
                                        published_at=t0 + timedelta(minutes=2 * n + 1))
        ids.append((first, second))
    for first, second in ids:
        _link(clean_app, first, second)
    page = client.get("/").text
    assert len(_cards(page)) == PER_PAGE and "?page=2" not in page  # one page of groups
    assert all(not slug.endswith("-fr") for slug in _cards(page))
