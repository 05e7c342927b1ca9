"""Feeds spliced from entries serialized once are the very bytes of the whole tree serialized.

The oracle is the way documents were made before: feedgen's head with every entry element
appended, serialized by lxml in one go. Each case mixes what changes a document's namespaces
or an entry's lines: tombstones (at:), images (media:), items in another language (xml:lang,
dc:), hubs, newlines inside content, and the same item cached first in one document shape and
then asked for in another.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from service.feeds.enclosures import FeedImage
from service.feeds.formats import FeedItem, FeedMeta, atom, rss, splicing
from service.feeds.tombstones import Tombstone
from tests.feeds.test_formats import make_items, make_meta

IMAGE = FeedImage("https://news.example.org/media/ab/ab-1600.webp", "image/webp", 12345, 1600,
                  800, 'Dome & "telescope" at dusk')


def _tree(root: etree._Element) -> bytes:
    out: bytes = etree.tostring(root.getroottree(), pretty_print=True, encoding="UTF-8",
                                xml_declaration=True)
    return out


def atom_by_tree(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    feed = atom._head(meta, items)
    for item in items:
        feed.append(atom._atom_entry(item, meta.language))
    return _tree(feed)


def rss_by_tree(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    feed = rss._head(meta, items)
    channel = feed.find("channel")
    assert channel is not None
    for item in items:
        channel.append(rss._rss_item(item, meta.language))
    return rss._hex_references(_tree(feed))


def _with_image(item: FeedItem) -> FeedItem:
    return dataclasses.replace(item, image=IMAGE, content_html=item.content_html + "\n<p>x</p>")


def _cases() -> dict[str, tuple[FeedMeta, list[FeedItem]]]:
    items = make_items()
    tomb = Tombstone("urn:uuid:00000000-0000-0000-0000-00000000dead",
                     datetime(2024, 5, 2, tzinfo=UTC), "Published in error & <withdrawn>")
    multiline = dataclasses.replace(items[1], content_html="<p>one</p>\n\n<pre>a\n  b\n</pre>",
                                    summary="line one\nline two")
    return {
        "plain": (make_meta(), items),
        "one item": (make_meta(), items[:1]),
        "english only": (make_meta(), items[1:]),
        "hubs and tombstones": (make_meta(hubs=("https://hub.example.org/", "https://b.example/"),
                                          tombstones=(tomb,),
                                          updated=datetime(2024, 5, 3, tzinfo=UTC)), items),
        "images": (make_meta(), [_with_image(items[0]), *items[1:]]),
        "newlines in content": (make_meta(), [multiline, items[2]]),
        "another feed language": (make_meta(language="ar"), items),
        "icon": (make_meta(icon_url="https://news.example.org/icon.png"), items),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_spliced_documents_are_the_whole_tree_serialized(case: str) -> None:
    meta, items = _cases()[case]
    assert atom.render_atom(meta, items) == atom_by_tree(meta, items)
    assert rss.render_rss(meta, items) == rss_by_tree(meta, items)


def test_an_item_cached_in_one_document_shape_is_right_in_another() -> None:
    """The RSS root declares dc: and media: only when items need them, and the Atom root
    may carry more namespaces: one item's cached bytes must follow the shape asked for."""
    items = make_items()
    english = items[1:]  # no dc: needed: a plain <rss> root
    with_image = [_with_image(items[0]), *english]  # dc: and media: on the root
    for meta, shown in ((make_meta(), english), (make_meta(), with_image),
                        (make_meta(), english), (make_meta(language="ar"), with_image)):
        assert rss.render_rss(meta, shown) == rss_by_tree(meta, shown)
        assert atom.render_atom(meta, shown) == atom_by_tree(meta, shown)


def test_many_entries_keep_their_order_and_each_appears_once() -> None:
    base = make_items()[1]
    items = [dataclasses.replace(base, id=f"urn:uuid:00000000-0000-0000-0000-{n:012d}",
                                 published=base.published - timedelta(hours=n),
                                 updated=base.updated - timedelta(hours=n))
             for n in range(120)]
    meta = make_meta()
    spliced = atom.render_atom(meta, items)
    assert spliced == atom_by_tree(meta, items)
    ids = [el.text for el in etree.fromstring(spliced).iterfind("{http://www.w3.org/2005/Atom}entry/"
                                                                "{http://www.w3.org/2005/Atom}id")]
    assert ids == [item.id for item in items]


def test_an_entry_parent_without_a_closing_tag_is_refused() -> None:
    root = etree.Element("rss")
    channel = etree.SubElement(root, "channel")
    with pytest.raises(ValueError, match="no closing tag"):
        splicing.assemble(root, splicing.shell_of(root, channel), [b"    <item/>\n"])
