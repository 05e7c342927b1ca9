"""Feed scopes: which feeds exist, and which an announcement is in.

A scope is ``all``, ``tag:<slug>`` or ``partner:<slug>``; each has three formats (RSS, Atom,
JSON Feed) at URLs that mirror it: ``/feeds/rss.xml``, ``/feeds/tags/<slug>/atom.xml``, ...
Its RFC 5005 archive page ``n`` (``service/feeds/archives.py``) is the document ``<scope>@<n>``,
at ``archive/<n>/`` below the scope's feeds: ``/feeds/archive/3/atom.xml``,
``/feeds/tags/<slug>/archive/3/rss.xml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.announcements.models import Announcement

ALL = "all"
KINDS = {"tag": "tags", "partner": "partners"}  # scope kind -> URL segment
FILENAMES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
FORMAT_OF_FILENAME = {name: fmt for fmt, name in FILENAMES.items()}
ARCHIVE_SEGMENT = "archive"


def page(scope: str, number: int) -> str:
    """The document name of a scope's archive page: ``"tag:esa@3"``."""
    if number < 1:
        raise ValueError(f"archive pages count from 1, not {number}")
    return f"{scope}@{number}"


def split_page(document: str) -> tuple[str, int | None]:
    """``"tag:esa@3"`` -> ``("tag:esa", 3)``; a subscription feed ``"all"`` -> ``("all", None)``."""
    scope, at, number = document.partition("@")
    return (scope, int(number)) if at else (scope, None)


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


def path(document: str, fmt: str) -> str:
    """The URL path of one feed or archive page, also its file path under ``FEED_EXPORT_DIR``."""
    scope, number = split_page(document)
    kind, slug = split(scope)
    archive = "" if number is None else f"{ARCHIVE_SEGMENT}/{number}/"
    if kind == ALL:
        return f"feeds/{archive}{FILENAMES[fmt]}"
    return f"feeds/{KINDS[kind]}/{slug}/{archive}{FILENAMES[fmt]}"
