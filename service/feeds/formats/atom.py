"""Atom 1.0 (RFC 4287) through feedgen, with RFC 6721 tombstones and WebSub hub links."""

from __future__ import annotations

import copy
import functools

from feedgen.entry import FeedEntry
from lxml import etree

from service.feeds import feedgen_hooks as hooks
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
    feed, doc = fg._create_atom()  # noqa: SLF001 (feedgen's tree, to add the cached entries to)
    for item in items:
        feed.append(copy.deepcopy(_atom_entry(item, meta.language)))
    atom: bytes = etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return atom


@functools.lru_cache(maxsize=512)
def _atom_entry(item: FeedItem, feed_language: str) -> etree._Element:
    """One ``<entry>``, built once per process and copied into each document (see _rss_item)."""
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
