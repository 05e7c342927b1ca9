"""RSS 2.0 as the RSS Advisory Board's Best Practices Profile describes it, through feedgen."""

from __future__ import annotations

import functools
import html

from feedgen.entry import FeedEntry
from lxml import etree

from service.feeds import feedgen_hooks as hooks
from service.feeds.formats import splicing
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


def _hex_references(out: bytes) -> bytes:
    # lxml writes &amp; &lt; &gt;; the RSS profile asks plain text for hex references.
    # Equivalent XML everywhere, including inside escaped HTML.
    return out.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;")


def render_rss(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """RSS 2.0 as the RSS Advisory Board's Best Practices Profile describes it."""
    feed = _head(meta, items)
    channel = feed.find("channel")
    if channel is None:
        raise ValueError("feedgen wrote RSS without a channel")
    shell = splicing.shell_of(feed, channel)
    return splicing.assemble(feed, shell, (_rss_bytes(item, meta.language, shell)
                                           for item in items), finish=_hex_references)


def _head(meta: FeedMeta, items: list[FeedItem]) -> etree._Element:
    """The ``<rss>`` element with everything but its items; the items decide which
    namespaces the root declares."""
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
    feed: etree._Element
    feed, _ = fg._create_rss()  # noqa: SLF001 (feedgen's tree, without items)
    return feed


@functools.lru_cache(maxsize=1024)
def _rss_bytes(item: FeedItem, feed_language: str, shell: splicing.Shell) -> bytes:
    """One item's bytes, made once per process and spliced into each document (see
    ``atom._atom_bytes``)."""
    return _hex_references(splicing.entry_bytes(_rss_item(item, feed_language), shell))


def _rss_item(item: FeedItem, feed_language: str) -> etree._Element:
    """One ``<item>`` element."""
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
