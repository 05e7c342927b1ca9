"""feedgen's extension hooks: what feedgen 1.0 does not write, added to its elements.

feedgen calls these on each finished feed and entry element (registered by
``formats.common.generator``). They fill its gaps: it drops rel/type from entry links (the loop
variable shadows the link dict), has no entry-level xml:lang, writes no type on titles, writes
times without their milliseconds when those are zero, and only writes RSS <author> with an
email. feedgen builds Atom elements without a namespace and adds xmlns as a plain attribute,
hence ``find("title")`` rather than a namespaced name.
"""

from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from service.feeds import enclosures
from service.feeds.enclosures import FeedImage
from service.feeds.tombstones import AtomTombstones

DC_NS = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


ATOM_NS = "http://www.w3.org/2005/Atom"


class RssChannel(BaseExtension):  # type: ignore[misc]  # feedgen ships no type information
    """``<atom:link rel="hub">`` after the channel's self link (feedgen writes only
    rel="self" in RSS), added before feedgen appends the items."""

    hubs: tuple[str, ...] = ()

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        if not self.hubs:
            return feed
        channel = feed.find("channel")
        self_link = None if channel is None else channel.find(f"{{{ATOM_NS}}}link")
        if self_link is None:
            raise ValueError("feedgen wrote RSS without a channel and its self link")
        for hub in reversed(self.hubs):
            self_link.addnext(self_link.makeelement(f"{{{ATOM_NS}}}link", href=hub, rel="hub"))
        return feed


class DublinCore(RssChannel):
    """Declares the dc: prefix on <rss> so lxml does not invent ns0: for dc:creator and
    dc:language."""

    def extend_ns(self) -> dict[str, str]:
        return {"dc": DC_NS}


class DublinCoreMedia(DublinCore):
    """dc: and, for items with an image, Media RSS's media: prefix."""

    def extend_ns(self) -> dict[str, str]:
        return {**super().extend_ns(), "media": enclosures.MEDIA_NS}


class AtomFeed(AtomTombstones):
    """The feed's tombstones, and its <updated> with milliseconds (feedgen writes
    ``isoformat()``, which leaves the fraction out when it is zero)."""

    updated: str | None = None

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        set_text(feed, "updated", self.updated)
        result: etree._Element = super().extend_atom(feed)
        return result


def set_text(parent: etree._Element, tag: str, text: str | None) -> None:
    element = parent.find(tag)
    if element is not None and text is not None:
        element.text = text


class AtomEntry(BaseEntryExtension):  # type: ignore[misc]  # feedgen ships no types
    lang: str | None = None
    updated: str | None = None  # with milliseconds, as AtomFeed.updated
    published: str | None = None
    image: FeedImage | None = None

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        set_text(entry, "updated", self.updated)
        set_text(entry, "published", self.published)
        title = entry.find("title")
        if title is not None:  # feedgen writes one in every entry
            title.set("type", "text")
        for link in entry.iterfind("link"):
            link.set("rel", "alternate")
            link.set("type", "text/html")
        if self.image is not None:  # after the loop: the enclosure keeps its own rel
            enclosures.add_atom(entry, self.image)
        if self.lang:
            entry.set(XML_LANG, self.lang)
        return entry


class RssItem(BaseEntryExtension):  # type: ignore[misc]  # feedgen ships no types
    """dc:creator, and dc:language for an item in another language than its channel's (RSS
    has no item-level language of its own)."""

    creator: str | None = None
    language: str | None = None
    image: FeedImage | None = None

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for name, value in (("creator", self.creator), ("language", self.language)):
            if value:
                el = item.makeelement(f"{{{DC_NS}}}{name}")
                el.text = value
                item.append(el)
        if self.image is not None:
            enclosures.add_rss(item, self.image)
        return item
