"""Feed scopes: which feeds exist, and which an announcement is in.

A scope is ``all``, ``tag:<slug>`` or ``partner:<slug>``; each has three formats (RSS, Atom,
JSON Feed) at URLs that mirror it: ``/feeds/rss.xml``, ``/feeds/tags/<slug>/atom.xml``, ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.announcements.models import Announcement

ALL = "all"
KINDS = {"tag": "tags", "partner": "partners"}  # scope kind -> URL segment
FILENAMES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
FORMAT_OF_FILENAME = {name: fmt for fmt, name in FILENAMES.items()}


def scopes_for(announcement: Announcement) -> set[str]:
    """Every feed an announcement appears in (whatever its status)."""
    return (
        {ALL}
        | {f"tag:{t.slug}" for t in announcement.tags}
        | {f"partner:{p.slug}" for p in announcement.partners}
    )


def split(scope: str) -> tuple[str, str | None]:
    """``"tag:esa"`` -> ``("tag", "esa")``; ``"all"`` -> ``("all", None)``."""
    if scope == ALL:
        return ALL, None
    kind, _, slug = scope.partition(":")
    if kind not in KINDS or not slug:
        raise ValueError(f"not a feed scope: {scope!r}")
    return kind, slug


def path(scope: str, fmt: str) -> str:
    """The URL path of one feed, also its file path under ``FEED_EXPORT_DIR``."""
    kind, slug = split(scope)
    if kind == ALL:
        return f"feeds/{FILENAMES[fmt]}"
    return f"feeds/{KINDS[kind]}/{slug}/{FILENAMES[fmt]}"
