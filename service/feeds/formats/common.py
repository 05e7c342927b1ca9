"""What the three feed formats share: their inputs, the text and time rules, feedgen's setup.

See the package's docstring for the choices (times in UTC to the millisecond, the empty
feed's time, characters XML forbids).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator

from service.feeds.enclosures import FeedImage
from service.feeds.tombstones import Tombstone

EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One announcement as every feed format shows it."""

    id: str  # stable across edits, e.g. "urn:uuid:..."; Atom id, RSS guid, JSON id
    url: str  # absolute URL of the announcement page
    title: str  # plain text, must not be empty
    summary: str  # plain text
    content_html: str  # already sanitized HTML fragment (full body)
    published: datetime  # timezone-aware
    updated: datetime  # timezone-aware, >= published
    language: str  # BCP 47, e.g. "en", "ar"
    categories: tuple[tuple[str, str], ...]  # (slug, display name): tags, then partners
    author_name: str | None = None
    image: FeedImage | None = None  # the featured image (enclosures.py)


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """What a feed says about itself; ``updated`` is for the times items cannot show."""

    id: str  # stable feed id (Atom <id>): a tag: URI or URL
    title: str
    description: str
    home_url: str  # absolute URL of the HTML page this feed mirrors
    self_urls: dict[str, str]  # {"rss": ..., "atom": ..., "json": ...}, absolute
    language: str  # default language of the feed, e.g. "en"
    generator: str = "Newsroom"
    icon_url: str | None = None
    author_name: str = "Newsroom"  # Atom needs a feed author when entries have none
    # Last change to the feed that its items cannot show, e.g. an item was retracted.
    # The feed's updated time never goes below it, and an empty feed uses it.
    updated: datetime | None = None
    # WebSub hubs the feed names (rel="hub" links, JSON Feed ``hubs``): ours first.
    hubs: tuple[str, ...] = ()
    # Entries withdrawn lately: Atom shows them as RFC 6721 tombstones, RSS and JSON nothing.
    tombstones: tuple[Tombstone, ...] = ()


# XML 1.0 Char minus the discouraged C1 controls (U+0085 NEL is allowed: it is a line end).
_NOT_XML_CHAR = re.compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def clean(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"feed times must be timezone-aware, got {moment!r}")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def atom_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: ``2024-05-01T09:30:15.250+00:00``."""
    return utc(moment).isoformat(timespec="milliseconds")


def feed_times(meta: FeedMeta, items: list[FeedItem]) -> tuple[datetime, datetime]:
    """(updated, published) of the feed as a whole; see the module docstring."""
    floor = utc(meta.updated) if meta.updated is not None else None
    if not items:
        return (floor or EMPTY_FEED_UPDATED,) * 2
    updated = max(utc(item.updated) for item in items)
    if floor is not None and floor > updated:
        updated = floor
    published = max(utc(item.published) for item in items)
    return updated, published


def item_categories(item: FeedItem) -> list[dict[str, str]]:
    """Atom term/label pairs; blank slugs and repeats dropped, order kept."""
    seen: dict[tuple[str, str], None] = {}
    for slug, name in item.categories:
        term = clean(slug).strip()
        if term:
            seen.setdefault((term, clean(name).strip() or term))
    return [{"term": term, "label": label} for term, label in seen]


def item_image(item: FeedItem) -> FeedImage | None:
    image = item.image
    if image is None:
        return None
    return FeedImage(clean(image.url), image.type, image.length, image.width, image.height,
                     clean(image.alt).strip())


def clean_name(name: str | None) -> str:
    return clean(name or "").strip()


def generator(
    meta: FeedMeta, feed_ext: type[BaseExtension], entry_ext: type[BaseEntryExtension]
) -> FeedGenerator:
    fg = FeedGenerator()
    # Registered before any entry exists, so every add_entry() gets its own entry_ext.
    fg.register_extension("newsroom", feed_ext, entry_ext)
    fg.id(clean(meta.id))
    fg.title(clean(meta.title))
    fg.description(clean(meta.description).strip() or clean(meta.title))
    fg.language(meta.language)
    fg.generator(clean(meta.generator))  # no uri/version: output must not move with feedgen
    return fg
