"""Featured images and self-contained content in the three feed formats.

- RSS: ``<enclosure url length type>`` (RSS 2.0) and ``<media:content medium="image">``
  (Media RSS) with the width, height and the alt text as ``media:description``.
- Atom: ``<link rel="enclosure" href type length>`` (RFC 4287 section 4.2.7.2).
- JSON Feed: the item's ``image`` (its URL; JSON Feed 1.1 has no alt text for it).

Content is self-contained (:func:`content_html`): the summary leads it, then the image, then
the body, with every relative link and image address made absolute against the item's page,
because readers show an item far from the site and many ignore ``xml:base``.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

from lxml import etree

from service.announcements.rendering import with_absolute_urls

MEDIA_NS = "http://search.yahoo.com/mrss/"
ATOM_LINK = "link"  # feedgen builds Atom elements without a namespace (see feedgen_hooks)


@dataclass(frozen=True, slots=True)
class FeedImage:
    url: str  # absolute; the copy feeds carry (at most 1600 wide)
    type: str  # media type, e.g. image/webp
    length: int  # bytes
    width: int
    height: int
    alt: str


@functools.lru_cache(maxsize=512)
def content_html(summary: str, body_html: str, page_url: str,
                 image: FeedImage | None = None) -> str:
    """What readers show of an item: the summary first, the image, then the body.

    Remembered per process (a pure function of its arguments): every rebuild of a scope
    shows mostly the same items, and sanitizing each one's HTML again was a tenth of a
    publish's feed work. 512 covers a subscription feed of every scope a publish touches."""
    parts = []
    if summary.strip():
        parts.append(f"<p><strong>{html.escape(summary.strip(), quote=False)}</strong></p>")
    if image is not None:
        parts.append(f'<figure><img src="{html.escape(image.url)}" alt="{html.escape(image.alt)}" '
                     f'width="{image.width}" height="{image.height}"></figure>')
    if body_html.strip():
        parts.append(body_html)
    return with_absolute_urls("\n".join(parts), page_url)


def add_rss(item: etree._Element, image: FeedImage) -> None:
    """``<enclosure>`` and ``<media:content>`` on an RSS ``<item>``."""
    enclosure = item.makeelement("enclosure", {"url": image.url, "length": str(image.length),
                                               "type": image.type})
    item.append(enclosure)
    content = item.makeelement(f"{{{MEDIA_NS}}}content", {
        "url": image.url, "type": image.type, "medium": "image", "fileSize": str(image.length),
        "width": str(image.width), "height": str(image.height)})
    if image.alt:
        description = content.makeelement(f"{{{MEDIA_NS}}}description", {"type": "plain"})
        description.text = image.alt
        content.append(description)
    item.append(content)


def add_atom(entry: etree._Element, image: FeedImage) -> None:
    """``<link rel="enclosure">`` after the entry's alternate link."""
    link = entry.makeelement(ATOM_LINK, {"rel": "enclosure", "href": image.url,
                                         "type": image.type, "length": str(image.length)})
    if image.alt:
        link.set("title", image.alt)
    alternate = entry.find(ATOM_LINK)
    if alternate is not None:
        alternate.addnext(link)
    else:
        entry.append(link)


def json_fields(image: FeedImage) -> dict[str, object]:
    return {"image": image.url}
