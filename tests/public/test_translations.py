"""An announcement with published translations: a language switcher and hreflang links."""

from __future__ import annotations

import re

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
    with clean_app.app_context():
        item = queries.get(ar)
        assert item is not None
        publishing.retract(item)
        db.session.commit()
    page = client.get("/announcements/relay").text
    assert 'class="languages"' not in page and "hreflang" not in page
