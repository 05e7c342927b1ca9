"""Atom 1.0 (RFC 4287) through feedgen, with RFC 6721 tombstones and WebSub hub links."""

from __future__ import annotations

import functools

from feedgen.entry import FeedEntry
from lxml import etree

from service.feeds import feedgen_hooks as hooks
from service.feeds.formats import splicing
from service.feeds.formats.common import (
    FeedItem,
    FeedMeta,
    atom_time,
    clean,
    clean_name,
    feed_times,
    generator,
    item_categories,
    item_image,
    utc,
)


def render_atom(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """Atom 1.0 (RFC 4287), valid against the RFC's RELAX NG schema."""
    feed = _head(meta, items)
    shell = splicing.shell_of(feed, feed)
    return splicing.assemble(feed, shell, (_atom_bytes(item, meta.language, shell)
                                           for item in items))


def _head(meta: FeedMeta, items: list[FeedItem]) -> etree._Element:
    """The ``<feed>`` element with everything but its entries."""
    updated, _ = feed_times(meta, items)
    fg = generator(meta, hooks.AtomFeed, hooks.AtomEntry)
    fg.newsroom.updated = atom_time(updated)
    fg.newsroom.deleted = [(clean(t.ref), atom_time(t.when), clean(t.comment).strip())
                           for t in meta.tombstones]
    fg.link([
        {"href": meta.home_url, "rel": "alternate", "type": "text/html"},
        {"href": meta.self_urls["atom"], "rel": "self", "type": "application/atom+xml"},
        *({"href": hub, "rel": "hub"} for hub in meta.hubs),
    ])
    fg.updated(updated)
    fg.author(name=clean_name(meta.author_name) or clean(meta.title))
    if meta.icon_url:
        fg.icon(meta.icon_url)
    feed: etree._Element
    feed, _ = fg._create_atom()  # noqa: SLF001 (feedgen's tree, without entries)
    return feed


@functools.lru_cache(maxsize=1024)
def _atom_bytes(item: FeedItem, feed_language: str, shell: splicing.Shell) -> bytes:
    """One entry's bytes, made once per process and spliced into each document showing it
    (feedgen's per-entry work, then copying and serializing every entry, were most of a
    feed's rendering, and a publish re-renders feeds whose other items have not changed)."""
    return splicing.entry_bytes(_atom_entry(item, feed_language), shell)


def _atom_entry(item: FeedItem, feed_language: str) -> etree._Element:
    """One ``<entry>`` element."""
    fe = FeedEntry()
    fe.register_extension("newsroom", hooks.AtomEntry, atom=True, rss=False)
    fe.id(clean(item.id))
    fe.title(clean(item.title))
    fe.link(href=item.url, rel="alternate", type="text/html")
    fe.updated(utc(item.updated))
    fe.published(utc(item.published))
    fe.newsroom.updated = atom_time(item.updated)
    fe.newsroom.published = atom_time(item.published)
    summary = clean(item.summary)
    if summary:
        fe.summary(summary, type="text")
    content = clean(item.content_html)
    if content:
        fe.content(content, type="html")
    fe.category(item_categories(item) or None)
    author = clean_name(item.author_name)
    if author:
        fe.author(name=author)
    fe.newsroom.image = item_image(item)
    if item.language != feed_language:
        fe.newsroom.lang = item.language
    element: etree._Element = fe.atom_entry()
    return element
