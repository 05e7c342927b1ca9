"""The public site: what readers see, accessible markup, feed links, and no N+1 queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import security
from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from tests import factories
from tests.public.statements import count_statements

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


def _autodiscovery(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]+" href="([^"]+)">', html)


def test_home_lists_published_only_newest_first(clean_app: Flask, client: FlaskClient) -> None:
    now = utcnow()
    factories.announcement(clean_app, title="Older news", published_at=now - timedelta(days=2))
    factories.announcement(clean_app, title="Newer news", published_at=now - timedelta(days=1))
    with clean_app.app_context():
        publishing.create(title="Secret draft")
        publishing.create(
            title="Embargoed", status=Status.SCHEDULED, publish_at=now + timedelta(days=1)
        )
        db.session.commit()
    page = client.get("/")
    assert page.status_code == 200
    titles = re.findall(r'<h2 id="item-\d+"><a [^>]+>([^<]+)</a>', page.text)
    assert titles == ["Newer news", "Older news"]
    assert client.get("/announcements/secret-draft").status_code == 404
    assert client.get("/announcements/embargoed").status_code == 404


def test_home_is_paginated(clean_app: Flask, client: FlaskClient) -> None:
    now = utcnow()
    for number in range(23):
        factories.announcement(clean_app, title=f"Item {number:02}",
                               published_at=now - timedelta(hours=number))
    first = client.get("/").text
    assert first.count('class="card"') == 20 and 'rel="next" href="?page=2"' in first
    second = client.get("/?page=2").text
    assert second.count('class="card"') == 3 and 'rel="prev"' in second
    assert 'rel="next"' not in second
    for bad in ("0", "-1", "x", "3"):
        assert client.get(f"/?page={bad}").status_code == 404


@pytest.mark.parametrize("path", ["/", "/tags/agreements", "/partners/esa"])
@pytest.mark.parametrize("bad", ["²", "٣", "99999999999999999999", "2147483648", "1e3"])
def test_a_page_number_that_is_no_number_is_404_not_500(
    clean_app: Flask, client: FlaskClient, path: str, bad: str
) -> None:
    factories.announcement(clean_app, title="Hello ESA", tags=["agreements"], partners=["esa"])
    assert client.get(path, query_string={"page": bad}).status_code == 404
    assert client.get(path, query_string={"page": "1"}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/tags/agreements", "/partners/esa", "/feeds", "/announcements/hello-esa"]
)
def test_every_page_has_landmarks_and_feed_autodiscovery(
    clean_app: Flask, client: FlaskClient, path: str
) -> None:
    factories.announcement(clean_app, title="Hello ESA", tags=["agreements"], partners=["esa"])
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    assert html.startswith("<!doctype html>") and '<html lang="en" dir="ltr">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for landmark in ("<header", '<nav aria-label="Site">', '<main id="main"', "<footer"):
        assert landmark in html, landmark
    assert '<a class="skip-link" href="#main">' in html
    assert html.count("<h1") == 1
    links = _autodiscovery(html)
    assert sorted(t for t, _ in links) == sorted(FEED_TYPES)
    assert all(href.startswith("http://newsroom.test/feeds/") for _, href in links)
    # No JavaScript needed, and nothing inline for the CSP to block.
    # No inline script (the CSP would refuse it): JSON-LD is data, never run, and is the only
    # script element a public page has (an announcement's NewsArticle).
    code = re.sub(r'<script type="application/ld\+json">[^<]*</script>', "", html)
    assert "<script" not in code and "<style" not in html and " style=" not in html


def test_tag_and_partner_pages_offer_their_own_feeds(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Radar", tags=["remote-sensing"], partners=["roscosmos"])
    factories.announcement(clean_app, title="Other", tags=["observatory"])
    tag = client.get("/tags/remote-sensing").text
    assert "Tagged: Remote sensing" in tag and "Radar" in tag and "Other" not in tag
    assert (
        "application/atom+xml",
        "http://newsroom.test/feeds/tags/remote-sensing/atom.xml",
    ) in _autodiscovery(tag)
    partner = client.get("/partners/roscosmos").text
    assert "Partner: Roscosmos" in partner
    assert (
        "application/rss+xml",
        "http://newsroom.test/feeds/partners/roscosmos/rss.xml",
    ) in _autodiscovery(partner)
    assert client.get("/tags/nope").status_code == 404
    assert client.get("/partners/nope").status_code == 404


def test_feeds_page_lists_every_feed_and_the_email_option(
    clean_app: Flask, client: FlaskClient
) -> None:
    factories.announcement(clean_app, "A", tags=["agreements", "satellites"], partners=["esa"])
    factories.announcement(clean_app, title="B", tags=["agreements"], partners=["nasa"])
    with clean_app.app_context():
        publishing.create(title="Draft only", tags=["unseen"])
        db.session.commit()
    html = client.get("/feeds").text
    for path in (
        "feeds/rss.xml",
        "feeds/atom.xml",
        "feeds/feed.json",
        "feeds/tags/agreements/atom.xml",
        "feeds/tags/satellites/feed.json",
        "feeds/partners/esa/rss.xml",
        "feeds/partners/nasa/atom.xml",
    ):
        assert f'href="http://newsroom.test/{path}"' in html, path
    assert "unseen" not in html  # a tag with nothing published has nothing to follow
    assert re.search(r'>#Agreements</a></th>\s*<td class="num">2</td>', html)
    assert 'href="/subscribe"' in html


def test_arabic_announcement_reads_right_to_left(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(
        clean_app,
        title="اتفاقية تعاون جديدة",
        summary="ملخص",
        body="نص **الإعلان**.",
        language="ar",
        slug="arabic-agreement",
    )
    factories.announcement(clean_app, title="English one", language="en-GB")
    page = client.get("/announcements/arabic-agreement").text
    assert '<article class="announcement" lang="ar" dir="rtl">' in page
    assert "<strong>الإعلان</strong>" in page
    home = client.get("/").text
    assert re.search(r'<article class="card" lang="ar" dir="rtl"', home)
    assert re.search(r'<article class="card" lang="en-GB" dir="ltr"', home)


def test_retracted_page_says_so_with_410(clean_app: Flask, client: FlaskClient) -> None:
    item_id = factories.announcement(clean_app, title="Withdrawn", body="secret details",
                                     summary="a summary")
    with clean_app.app_context():
        item = db.session.get(Announcement, item_id)
        publishing.retract(item, "Issued in error: <the date> & place were wrong.")
        db.session.commit()
        when = item.retracted_at
    page = client.get("/announcements/withdrawn")
    assert page.status_code == 410
    assert page.mimetype == "text/html"
    text = page.text
    assert f"This announcement was withdrawn on <time datetime=\"{when.isoformat()}\">" \
           f"{when:%d %B %Y}</time>" in text
    assert "Issued in error: &lt;the date&gt; &amp; place were wrong." in text  # escaped
    # Neither the title nor the text: they may be what was wrong.
    for hidden in ("Withdrawn<", ">Withdrawn", "secret details", "a summary"):
        assert hidden not in text, hidden
    assert '<meta name="robots" content="noindex">' in text
    assert '<main id="main"' in text and 'rel="alternate"' in text  # the site's layout
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
    assert "Withdrawn" not in client.get("/").text


def test_retracted_page_without_a_reason_gives_the_date_only(
    clean_app: Flask, client: FlaskClient
) -> None:
    item_id = factories.announcement(clean_app, title="Quiet")
    with clean_app.app_context():
        publishing.retract(db.session.get(Announcement, item_id))
        db.session.commit()
    page = client.get("/announcements/quiet")
    assert page.status_code == 410
    assert "This announcement was withdrawn on" in page.text and "Reason:" not in page.text


@pytest.mark.parametrize("path", ["/", "/tags/common", "/partners/esa", "/feeds"])
def test_lists_run_the_same_queries_for_2_or_20_items(
    clean_app: Flask, client: FlaskClient, path: str
) -> None:
    def statements() -> int:
        with count_statements(clean_app) as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    for number in range(2):
        factories.announcement(
            clean_app, title=f"First {number}", tags=["common", f"t{number}"], partners=["esa"]
        )
    few = statements()
    for number in range(18):
        factories.announcement(
            clean_app,
            title=f"More {number}",
            tags=["common", f"u{number}"],
            partners=["esa", "nasa"],
        )
    assert statements() == few
    assert few <= 4  # the list and its tags and partners (and the tag or partner itself)


def test_announcement_page_is_three_queries(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Counted", tags=["a", "b", "c"], partners=["esa", "nasa"])
    with count_statements(clean_app) as seen:
        assert client.get("/announcements/counted").status_code == 200
    assert len(seen) == 3
