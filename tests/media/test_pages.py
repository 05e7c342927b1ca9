"""The featured image on the public pages, and every public page's link preview tags."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from service.database import db
from service.media import library
from tests import factories
from tests.media import pictures

BASE = "http://newsroom.test"


def _image(app: Flask, alt: str = "The dome opens at dusk", width: int = 2000) -> int:
    with app.app_context():
        media = library.upload(pictures.photo(width, width // 2), alt)
        db.session.commit()
        return media.id


def _doc(client: FlaskClient, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    return lxml_html.fromstring(response.data)


def _og(doc) -> dict[str, str]:
    return {m.get("property"): m.get("content") for m in doc.iter("meta") if m.get("property")}


def test_the_announcement_page_shows_its_image_with_srcset(clean_app: Flask,
                                                            client: FlaskClient) -> None:
    image_id = _image(clean_app)
    factories.announcement(clean_app, "First light", summary="The telescope saw its first star.",
                           image_id=image_id, tags=["astrophysics"], partners=["esa"])
    doc = _doc(client, "/announcements/first-light")
    img = doc.cssselect("figure.featured img")[0]
    assert img.get("alt") == "The dome opens at dusk"
    assert (img.get("width"), img.get("height")) == ("2000", "1000")
    widths = [entry.split()[-1] for entry in img.get("srcset").split(", ")]
    assert widths == ["480w", "960w", "1600w", "2000w"]
    assert img.get("sizes") and img.get("src").startswith("/media/")  # same origin
    og = _og(doc)
    assert og["og:type"] == "article" and og["og:title"] == "First light"
    assert og["og:description"] == "The telescope saw its first star."
    assert og["og:url"] == f"{BASE}/announcements/first-light"
    assert og["og:image"].endswith("-1600.webp") and og["og:image:width"] == "1600"
    assert og["og:image:alt"] == "The dome opens at dusk"
    assert og["article:published_time"]
    names = {m.get("name"): m.get("content") for m in doc.iter("meta") if m.get("name")}
    assert names["twitter:card"] == "summary_large_image"
    assert names["description"] == "The telescope saw its first star."
    assert doc.cssselect('link[rel="canonical"]')[0].get("href") == og["og:url"]
    assert og["og:locale"] == "en"
    data = json.loads(doc.cssselect('script[type="application/ld+json"]')[0].text)
    assert data["@type"] == "NewsArticle" and data["headline"] == "First light"
    assert data["image"][0].startswith(BASE + "/media/") and data["datePublished"]
    cards = _doc(client, "/").cssselect("article.card img.card-image")
    assert cards and cards[0].get("alt") == "The dome opens at dusk"


def test_json_ld_cannot_close_its_script(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Odd </script><script>alert(1)</script> title",
                           summary="</script><img src=x onerror=alert(2)>", slug="odd")
    page = client.get("/announcements/odd").get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert block and "<" not in block.group(1)
    assert json.loads(block.group(1))["headline"].startswith("Odd </script>")
    assert "<script>alert" not in page


def test_every_public_page_has_its_preview_tags(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Agreement signed", tags=["agreements"], partners=["esa"])
    for path in ("/", "/feeds", "/tags/agreements", "/partners/esa",
                 "/announcements/agreement-signed", "/subscribe", "/?page=1"):
        doc = _doc(client, path)
        og = _og(doc)
        for tag in ("og:title", "og:description", "og:url", "og:type", "og:image",
                    "og:site_name"):
            assert og.get(tag), (path, tag)
        assert doc.cssselect('link[rel="canonical"]'), path
        assert doc.cssselect('meta[name="description"]'), path
        assert doc.cssselect('meta[name="twitter:card"]'), path
    editor_page = client.get("/editor/login").get_data(as_text=True)
    assert 'content="noindex, nofollow"' in editor_page and "og:title" not in editor_page


def test_sitemap_robots_and_favicon(clean_app: Flask, client: FlaskClient) -> None:
    from datetime import timedelta

    from lxml import etree

    from service.announcements.models import Status
    from service.database import utcnow

    factories.announcement(clean_app, "Public one", tags=["sar"], partners=["nasa"])
    factories.announcement(clean_app, "Embargoed", tags=["secret-tag"],
                           status=Status.SCHEDULED, publish_at=utcnow() + timedelta(days=2))
    factories.announcement(clean_app, "A draft", status=Status.DRAFT)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = etree.fromstring(response.data)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [el.text for el in root.findall("s:url/s:loc", ns)]
    assert locs == [f"{BASE}/", f"{BASE}/feeds", f"{BASE}/announcements/public-one",
                    f"{BASE}/tags/sar", f"{BASE}/partners/nasa"]
    assert root.find("s:url[3]/s:lastmod", ns) is not None
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {BASE}/sitemap.xml" in robots and "Disallow: /editor/" in robots
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/x-icon"


def test_markdown_embeds_an_uploaded_image_and_feeds_get_it_absolute() -> None:
    from service.announcements.rendering import render_markdown, with_absolute_urls

    name = "ab" + "c" * 62 + "-960.webp"
    body = render_markdown(f"![Dome at dusk](/media/ab/{name})\n\n"
                           '<img src="javascript:alert(1)" alt="x" onerror="alert(2)">')
    assert f'<img src="/media/ab/{name}" alt="Dome at dusk">' in body
    assert "javascript:" not in body and "onerror" not in body
    page = "http://newsroom.test/announcements/first-light"
    absolute = with_absolute_urls(body + '<a href="../tags/sar">t</a><a href="#x">x</a>', page)
    assert f'src="http://newsroom.test/media/ab/{name}"' in absolute
    assert 'href="http://newsroom.test/tags/sar"' in absolute
    assert f'href="{page}#x"' in absolute
