"""What a shared link shows and what search engines read: one description of every public page.

:class:`PageMeta` feeds ``templates/public/_meta.html`` (meta description, canonical link,
``hreflang`` alternates, OpenGraph and Twitter card tags); an announcement's page adds its
image, times and tags, and a JSON-LD ``NewsArticle`` (serialized with Jinja's ``tojson``,
which escapes ``<``, ``>``, ``&`` and ``'``: no text can close the script element).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request, url_for

from service import urls
from service.announcements.models import Announcement
from service.media import library

SITE_NAME = "Newsroom · International Partnerships Office"
ORGANIZATION = "International Partnerships Office"
DEFAULT_DESCRIPTION = ("Announcements of the national space agency's international partnerships "
                       "office: agreements, missions and science with NASA, ESA, Roscosmos and "
                       "the private sector.")
DESCRIPTION_MAX = 300


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str
    canonical: str
    language: str = "en"
    type: str = "website"
    image: str | None = None  # absolute URL
    image_alt: str = ""
    image_width: int | None = None
    image_height: int | None = None
    article: dict[str, Any] = field(default_factory=dict)  # published/modified times, tags
    json_ld: dict[str, Any] | None = None

    @property
    def twitter_card(self) -> str:
        return "summary_large_image" if self.image else "summary"

    @property
    def og_locale(self) -> str:
        return self.language.replace("-", "_")


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= DESCRIPTION_MAX:
        return text
    return text[:DESCRIPTION_MAX - 1].rsplit(" ", 1)[0] + "…"


def canonical_url() -> str:
    """This page's address without its query, but for ``page`` (a listing's later pages)."""
    page = request.args.get("page", "")
    suffix = f"?page={page}" if page.isdigit() and page != "1" else ""
    return urls.absolute(request.path) + suffix


def default_image() -> dict[str, Any]:
    return {"image": urls.absolute(url_for("static", filename="share.png")),
            "image_alt": "Newsroom, International Partnerships Office",
            "image_width": 1200, "image_height": 630}


def page(title: str, description: str = "") -> PageMeta:
    """Any public page: its title and description, the site's share image."""
    return PageMeta(title=title, description=_shorten(description or DEFAULT_DESCRIPTION),
                    canonical=canonical_url(), **default_image())


def announcement(item: Announcement) -> PageMeta:
    canonical = urls.announcement(item.slug)
    description = _shorten(item.summary or item.title)
    image: dict[str, Any] = default_image()
    if item.image is not None:
        image = {"image": library.best_url(item.image, 1200), "image_alt": item.image.alt,
                 "image_width": None, "image_height": None}
        for size in item.image.sizes:  # the size best_url picked: say its dimensions
            if library.url(str(size["name"])) == image["image"]:
                image["image_width"], image["image_height"] = size["width"], size["height"]
        if image["image_width"] is None:
            image["image_width"], image["image_height"] = item.image.width, item.image.height
    published = item.published_at.isoformat() if item.published_at else None
    modified = max(item.updated_at, item.published_at or item.updated_at).isoformat()
    json_ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": item.title[:110],
        "description": description,
        "inLanguage": item.language,
        "mainEntityOfPage": canonical,
        "url": canonical,
        "datePublished": published,
        "dateModified": modified,
        "image": [library.url(item.image.name)] if item.image else [image["image"]],
        "author": {"@type": "Organization", "name": ORGANIZATION, "url": urls.absolute("/")},
        "publisher": {"@type": "Organization", "name": ORGANIZATION,
                      "logo": {"@type": "ImageObject",
                               "url": urls.absolute(url_for("static",
                                                            filename="apple-touch-icon.png"))}},
        "keywords": [t.name for t in item.tags] + [p.name for p in item.partners],
    }
    return PageMeta(
        title=item.title, description=description, canonical=canonical,
        language=item.language, type="article", **image,
        article={"published_time": published, "modified_time": modified,
                 "tags": [t.name for t in item.tags] + [p.name for p in item.partners]},
        json_ld=json_ld,
    )


def register(bp: Blueprint) -> None:
    bp.add_app_template_global(canonical_url, "canonical_url")
    bp.add_app_template_global(page, "page_meta")
    bp.app_context_processor(lambda: {"site_name": SITE_NAME})
