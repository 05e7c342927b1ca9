"""RSS 2.0 as the RSS Advisory Board's Best Practices Profile describes it, through feedgen."""

from __future__ import annotations

import copy
import functools
import html

from feedgen.entry import FeedEntry
from lxml import etree

from service.feeds import feedgen_hooks as hooks
from service.feeds.formats.common import (
    FeedItem,
    FeedMeta,
    clean,
    clean_name,
    feed_times,
    generator,
    item_categories,
    item_image,
    utc,
)

RSS_DOCS = "https://www.rssboard.org/rss-specification"


def _serialize_rss(feed: etree._Element) -> bytes:
    out: bytes = etree.tostring(feed.getroottree(), pretty_print=True, encoding="UTF-8",
                                xml_declaration=True)
    # lxml writes &amp; &lt; &gt;; the RSS profile asks plain text for hex references.
    # Equivalent XML everywhere, including inside escaped HTML.
    return out.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;")


def render_rss(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """RSS 2.0 as the RSS Advisory Board's Best Practices Profile describes it."""
    updated, published = feed_times(meta, items)
    dublin_core = any(clean_name(item.author_name) or item.language != meta.language
                      for item in items)
    images = any(item.image is not None for item in items)
    namespaces = (hooks.DublinCoreMedia if images else hooks.DublinCore if dublin_core
                  else hooks.RssChannel)
    fg = generator(meta, namespaces, hooks.RssItem)
    fg.newsroom.hubs = tuple(clean(hub) for hub in meta.hubs)
    # feedgen takes the channel <link> from the *last* link given, the atom:link from the
    # first rel="self" one.
    fg.link([
        {"href": meta.self_urls["rss"], "rel": "self", "type": "application/rss+xml"},
        {"href": meta.home_url, "rel": "alternate"},
    ])
    fg.lastBuildDate(updated)
    fg.pubDate(published)
    fg.docs(RSS_DOCS)
    if meta.icon_url:
        fg.image(url=meta.icon_url)
    feed, _ = fg._create_rss()  # noqa: SLF001 (feedgen's tree, to add the cached items to)
    channel = feed.find("channel")
    for item in items:
        channel.append(copy.deepcopy(_rss_item(item, meta.language)))
    return _serialize_rss(feed)


@functools.lru_cache(maxsize=512)
def _rss_item(item: FeedItem, feed_language: str) -> etree._Element:
    """One ``<item>``, built once per process and copied into each document that shows it
    (feedgen's per-entry work was most of a feed's rendering, and a publish re-renders
    feeds whose other items have not changed)."""
    fe = FeedEntry()
    fe.register_extension("newsroom", hooks.RssItem, atom=False, rss=True)
    fe.guid(clean(item.id), permalink=False)
    fe.title(clean(item.title))
    fe.link(href=item.url)
    summary = clean(item.summary)
    if summary:
        fe.description(html.escape(summary, quote=False), isSummary=True)
    content = clean(item.content_html)
    if content:
        fe.content(content)
    fe.published(utc(item.published))
    # RSS shows only the label, so one <category> per distinct label.
    by_label: dict[str, dict[str, str]] = {}
    for cat in item_categories(item):
        by_label.setdefault(cat["label"], cat)
    fe.category(list(by_label.values()) or None)
    fe.newsroom.creator = clean_name(item.author_name)
    fe.newsroom.image = item_image(item)
    if item.language != feed_language:
        fe.newsroom.language = clean(item.language)
    element: etree._Element = fe.rss_entry()
    return element
