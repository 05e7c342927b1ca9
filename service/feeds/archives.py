"""RFC 5005 section 4 archived feeds: the whole history of every scope, each item once.

Every announcement that joins a scope gets the next position in that scope's history
(``models.FeedPosition``: 1, 2, 3, ... in publishing order, never reused). Archive page ``n``
is the fixed range of positions ``(n - 1) * ARCHIVE_PAGE_SIZE + 1 .. n * ARCHIVE_PAGE_SIZE``,
counted from the oldest, so a page never changes membership once it exists; a retracted item
(or one whose tag was taken off) leaves a hole in its page, and only that page is rebuilt.

Which pages exist: a page is archived once it is complete *and* all of it lies below the newest
``FEED_SIZE`` positions. The subscription feed holds every position above the last archived
page: the newest ``FEED_SIZE`` and the up to ``ARCHIVE_PAGE_SIZE - 1`` older ones not archived
yet (so ``FEED_SIZE`` to ``FEED_SIZE + ARCHIVE_PAGE_SIZE - 1`` positions once the scope has
that many). The subscription feed never empties when a page is cut, there is no incomplete
archive page whose membership would move, and the chain subscription -> newest page -> ... ->
page 1 holds each published item exactly once.

A publish rebuilds the subscription feed; once every ``ARCHIVE_PAGE_SIZE`` publishes it also
cuts a new archive page, and the page before it is rebuilt for its new ``next-archive`` link
(same items). An edit or retraction of an archived item rebuilds the page holding it.
Documents carry (Atom ``<link>``, RSS ``<atom:link>``):

- the subscription feed: ``rel="prev-archive"`` to the newest page (JSON Feed: ``next_url``);
- page ``n``: ``<fh:archive/>``, ``rel="current"`` (the subscription feed), ``rel="self"``,
  ``rel="prev-archive"`` to ``n - 1`` unless ``n == 1``, ``rel="next-archive"`` to ``n + 1``
  unless it is the newest page; JSON Feed ``next_url`` to page ``n - 1``.
The links are added to what ``formats`` renders (bytes spliced in before the first entry, the
JSON document re-dumped with the same options), so the formats stay unaware of archives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from service import urls
from service.announcements.models import Announcement, Status
from service.database import db
from service.feeds import scopes
from service.feeds.models import FeedPosition

NS = "http://purl.org/syndication/history/1.0"
CACHE_CONTROL = "public, max-age=86400"  # a page changes only when an item in it is edited
LINK_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


@dataclass(frozen=True, slots=True)
class Layout:
    """How a scope's history is cut into pages, from its highest position."""

    newest: int  # the highest position given in the scope; 0: none yet
    page_size: int
    feed_size: int

    @property
    def archived(self) -> int:
        """How many archive pages exist (1 .. archived)."""
        return max(0, self.newest - self.feed_size) // self.page_size

    @property
    def first_current(self) -> int:
        """The lowest position the subscription feed holds."""
        return self.archived * self.page_size + 1

    def positions(self, number: int) -> tuple[int, int]:
        """The first and last position of archive page ``number``."""
        return (number - 1) * self.page_size + 1, number * self.page_size

    def page_of(self, position: int) -> int | None:
        """The archive page holding a position; None when the subscription feed holds it."""
        number = (position - 1) // self.page_size + 1
        return number if number <= self.archived else None


def layout(scope: str) -> Layout:
    """One indexed lookup (the primary key's highest position for the scope)."""
    newest = db.session.scalar(
        sa.select(sa.func.max(FeedPosition.position)).where(FeedPosition.scope == scope))
    return Layout(newest or 0, current_app.config["ARCHIVE_PAGE_SIZE"],
                  current_app.config["FEED_SIZE"])


def assign(scope: str, where: sa.ColumnElement[bool] | None,
           only: Collection[int] | None = None, newest: int | None = None) -> int:
    """Give the scope's published announcements that have no position yet the next ones, in
    publishing order; ``only``: just these ids (a publish), else every one (a catch-up, which
    reads the whole scope). One INSERT ... SELECT; the caller holds the scope's build lock and
    commits; ``newest``: the scope's highest position, when the caller has just read it.
    Returns how many were placed (they took the positions right above ``newest``)."""
    if only is not None and not only:
        return 0
    base = layout(scope).newest if newest is None else newest  # the caller may know it
    placed = sa.exists().where(FeedPosition.scope == scope,
                               FeedPosition.announcement_id == Announcement.id)
    order = sa.func.row_number().over(order_by=(Announcement.published_at, Announcement.id))
    select = sa.select(sa.literal(scope, sa.String), sa.literal(base, sa.Integer) + order,
                       Announcement.id).where(Announcement.status == Status.PUBLISHED,
                                              Announcement.published_at.is_not(None), ~placed)
    if where is not None:
        select = select.where(where)
    if only is not None:
        select = select.where(Announcement.id.in_(sorted(only)))
    result = cast(sa.CursorResult[Any], db.session.execute(sa.insert(FeedPosition).from_select(
        ["scope", "position", "announcement_id"], select)))  # an INSERT's result has a rowcount
    if result.rowcount < 0:  # a driver that cannot tell: count them
        return layout(scope).newest - base
    return result.rowcount


def pages_holding(scope: str, ids: Collection[int], lay: Layout) -> set[int]:
    """The archive pages that hold any of these announcements in this scope."""
    if not ids:
        return set()
    found = db.session.scalars(sa.select(FeedPosition.position).where(
        FeedPosition.scope == scope, FeedPosition.announcement_id.in_(sorted(ids))))
    return {number for position in found if (number := lay.page_of(position)) is not None}


def pages_to_rebuild(before: Layout, after: Layout) -> set[int]:
    """Pages cut since ``before`` (new), and the page before them (its next-archive link)."""
    if after.archived <= before.archived:
        return set()
    return set(range(max(1, before.archived), after.archived + 1))


# ------------------------------------------------------------------------------ links


@dataclass(frozen=True, slots=True)
class Links:
    """The history links of one document, by format: URLs of the documents they point to."""

    prev: str | None = None  # the older neighbour (document name), None: the oldest
    next: str | None = None  # the newer archive page; None for the newest or the subscription
    current: str | None = None  # archive pages: the subscription feed's document name

    @property
    def archive(self) -> bool:
        return self.current is not None


def subscription_links(scope: str, lay: Layout) -> Links:
    return Links(prev=scopes.page(scope, lay.archived) if lay.archived else None)


def page_links(scope: str, number: int, lay: Layout) -> Links:
    return Links(prev=scopes.page(scope, number - 1) if number > 1 else None,
                 next=scopes.page(scope, number + 1) if number < lay.archived else None,
                 current=scope)


def url(document: str, fmt: str) -> str:
    return urls.feed(scopes.path(document, fmt))


def link_header(document: str, fmt: str) -> str:
    """The ``Link`` header of an archive page: only its self (archives are no WebSub topic)."""
    return f'<{url(document, fmt)}>; rel="self"'


_ATOM_ENTRY = re.compile(rb"<entry[\s>]|</feed>")
_RSS_ITEM = re.compile(rb"<item[\s>]|</channel>")


def _attribute(value: str, fmt: str) -> str:
    escaped = (value.replace("&", "&#x26;" if fmt == "rss" else "&amp;")
               .replace('"', "&quot;").replace("<", "&#x3C;" if fmt == "rss" else "&lt;"))
    return f'"{escaped}"'


def _xml_links(links: Links, fmt: str) -> list[str]:
    element = "atom:link" if fmt == "rss" else "link"
    out = [f'<{element} href={_attribute(url(doc, fmt), fmt)} rel="{rel}" '
           f'type="{LINK_TYPES[fmt]}"/>'
           for rel, doc in (("current", links.current), ("prev-archive", links.prev),
                            ("next-archive", links.next)) if doc is not None]
    if links.archive:
        out.append(f'<fh:archive xmlns:fh="{NS}"/>')
    return out


_JSON_STRING = json.JSONDecoder()  # raw_decode reads one value at an offset


def decorate(fmt: str, body: bytes, links: Links) -> bytes:
    """The document with its history links; unchanged when it has none."""
    if fmt == "json":
        if links.prev is None:
            return body
        # Right after "feed_url", as re-encoding the whole document with it would put it: the
        # first '"feed_url":' is that key (in a string value its quotes would be escaped).
        text = body.decode("utf-8")
        _, end = _JSON_STRING.raw_decode(text, text.index('"feed_url":"') + 11)
        next_url = json.dumps(url(links.prev, "json"), ensure_ascii=False)
        return (text[:end] + ',"next_url":' + next_url + text[end:]).encode("utf-8")
    elements = _xml_links(links, fmt)
    if not elements:
        return body
    found = (_RSS_ITEM if fmt == "rss" else _ATOM_ENTRY).search(body)
    if found is None:
        raise ValueError(f"no place for the archive links in this {fmt} document")
    indent = b"    " if fmt == "rss" else b"  "
    start = body.rfind(b"\n", 0, found.start()) + 1  # the line the entry (or end tag) is on
    lines = b"".join(indent + element.encode() + b"\n" for element in elements)
    return body[:start] + lines + body[start:]
