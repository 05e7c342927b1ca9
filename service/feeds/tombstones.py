"""RFC 6721 tombstones: an Atom feed says which of its entries were withdrawn, when and why.

A retracted announcement leaves every feed at once (RSS and JSON Feed have no way to say more),
but for ``TOMBSTONE_DAYS`` after the retraction the Atom feeds of its scopes (all, each of its
tags and partners) carry an ``<at:deleted-entry ref="<its atom:id>" when="<retraction time>">``
with the editor's reason as ``<at:comment>``, so a reader that stored the entry can remove it
and tell its user why. The title never goes into the tombstone: a title is often the reason for
the retraction.

Trade-offs:
- A tombstone goes into every feed of the announcement's scopes, also one whose newest
  ``FEED_SIZE`` items it had already left; RFC 6721 readers ignore a ref they never saw.
- At most ``FEED_SIZE`` tombstones per feed, the newest retractions first, so a burst of
  retractions cannot grow a feed without bound.
- A tombstone leaves at the first rebuild of its feed after ``TOMBSTONE_DAYS``: nothing
  rebuilds a feed only because the period ended.

feedgen has no tombstone support; :class:`AtomTombstones` is a feedgen feed extension, whose
``extend_atom`` runs before the entries are appended, which is where RFC 4287 wants foreign
elements (``extensionElement*`` comes before ``atomEntry*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feedgen.ext.base import BaseExtension
from lxml import etree

__all__ = ["NS", "AtomTombstones", "Tombstone"]

NS = "http://purl.org/atompub/tombstones/1.0"


@dataclass(frozen=True, slots=True)
class Tombstone:
    """One withdrawn entry, as the Atom feeds that carried it announce it."""

    ref: str  # the entry's atom:id, exactly as the feeds showed it
    when: datetime  # when it was retracted, timezone-aware
    comment: str = ""  # the editor's reason, plain text; empty: none given


class AtomTombstones(BaseExtension):  # type: ignore[misc]  # feedgen ships no type information
    """Writes ``at:deleted-entry`` elements; ``deleted`` holds (ref, when, comment) strings the
    caller has already cleaned and formatted."""

    def __init__(self) -> None:
        self.deleted: list[tuple[str, str, str]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"at": NS} if self.deleted else {}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        for ref, when, comment in self.deleted:
            element = etree.SubElement(feed, f"{{{NS}}}deleted-entry", ref=ref, when=when)
            if comment:
                etree.SubElement(element, f"{{{NS}}}comment", type="text").text = comment
        return feed
