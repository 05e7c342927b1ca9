"""In a real browser: upload from the editor (file field and drag and drop), publish, see the
image on the page at phone and desktop widths with its alt text; every public page has its
link preview tags; a refused upload says why and leaves nothing behind."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.media.models import Media
from tests.browser.conftest import sign_in
from tests.factories import EditorInfo
from tests.fixtures.data import count
from tests.media import pictures

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_upload_write_publish_and_see_the_image_at_two_widths(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
    tmp_path: Any,
) -> None:
    photo = tmp_path / "first-light.jpg"
    photo.write_bytes(pictures.photo(2400, 1200))
    page = new_page(viewport=DESKTOP)
    sign_in(page, make_editor("editor"))
    page.get_by_role("link", name="Write an announcement").click()
    page.get_by_label("Title").fill("First light at the joint observatory")
    page.get_by_label("Summary").fill("The telescope saw its first star last night.")
    page.get_by_label("Or upload a new one").set_input_files(str(photo))
    page.get_by_label("Its alt text").fill("The observatory dome open under the stars")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.preview figure.featured img")
    preview.wait_for()
    assert preview.get_attribute("alt") == "The observatory dome open under the stars"
    # The upload is now a choice of the form, checked: publishing keeps it.
    assert page.locator("input[name=image]:checked").get_attribute("value") != ""
    page.get_by_role("button", name="Publish now").click()
    page.get_by_role("button", name="Yes, publish now").click()  # the confirmation
    page.get_by_text("Published. Readers see it now").wait_for()

    # sizes says 100vw on a phone (390 px: the 480 copy), 52rem on a desktop (832 px: 960).
    for viewport, expected in ((PHONE, "-480.webp"), (DESKTOP, "-960.webp")):
        reader = new_page(viewport=viewport)
        reader.goto("/announcements/first-light-at-the-joint-observatory")
        image = reader.locator("figure.featured img")
        image.wait_for()
        assert image.get_attribute("alt") == "The observatory dome open under the stars"
        reader.wait_for_function("document.querySelector('figure.featured img').complete")
        natural, chosen, shown = image.evaluate(
            "i => [i.naturalWidth, i.currentSrc, i.getBoundingClientRect().width]")
        assert natural > 0, "the image loaded"
        assert chosen.endswith(expected), (viewport, chosen)
        assert 0 < shown <= viewport["width"]  # fits the screen
        reader.goto("/")
        card = reader.locator("article.card img.card-image")
        assert card.get_attribute("alt") == "The observatory dome open under the stars"
    phone = new_page(viewport=PHONE)
    phone.goto("/announcements/first-light-at-the-joint-observatory")
    phone.locator("figure.featured img").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_every_public_page_has_its_preview_tags(
    clean_app: Flask, new_page: Callable[..., Any],
) -> None:
    from tests import factories

    factories.announcement(clean_app, "Radar agreement", summary="Signed today.",
                           tags=["radar"], partners=["esa"])
    page = new_page()
    for path in ("/", "/feeds", "/tags/radar", "/partners/esa",
                 "/announcements/radar-agreement", "/subscribe"):
        page.goto(path)
        tags = page.eval_on_selector_all(
            "meta[property^='og:']", "ms => Object.fromEntries(ms.map(m => [m.getAttribute("
            "'property'), m.getAttribute('content')]))")
        for name in ("og:title", "og:description", "og:url", "og:image", "og:type"):
            assert tags.get(name), (path, name)
        assert page.locator("link[rel=canonical]").count() == 1, path


def test_drop_an_image_on_the_library_and_a_refused_one(
    clean_app: Flask, new_page: Callable[..., Any], make_editor: Callable[..., EditorInfo],
) -> None:
    page = new_page(viewport=DESKTOP)
    sign_in(page, make_editor("author"))
    page.goto("/editor/media")
    svg = base64.b64encode(pictures.SVG).decode()
    drop = """([data, name, type]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type}));
        const zone = document.querySelector('.dropzone');
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
        return document.querySelector('.dropzone input[type=file]').files[0].name;
    }"""
    assert page.evaluate(drop, [svg, "logo.svg", "image/svg+xml"]) == "logo.svg"
    page.get_by_label("Alt text (required)").fill("Our logo")
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("SVG images are not accepted").wait_for()
    with clean_app.app_context():
        assert count(Media) == 0
    assert pictures.files_under(clean_app.config["SETTINGS"].media_dir) == []

    png = base64.b64encode(pictures.transparent_png()).decode()
    assert page.evaluate(drop, [png, "antenna.png", "image/png"]) == "antenna.png"
    page.get_by_label("Alt text (required)").fill("The antenna")
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Uploaded.").wait_for()
    assert page.locator(".media-card img").get_attribute("alt") == "The antenna"
    with clean_app.app_context():
        assert db.session.scalars(sa.select(Media.alt)).all() == ["The antenna"]
