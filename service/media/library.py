"""The media library: store an upload (checked, cleaned, sized), find and list what is there.

:func:`upload` is the one way an image gets in, for the API and the editor alike: the checks
and the processing run in memory first (``images.process``), then the files are written
(temp file + rename, ``storage``), then the row is added to the caller's transaction. A
refused upload (:class:`images.Refused`, :class:`AltRequired`) writes no file and no row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app

from service import urls
from service.database import db
from service.media import images, storage
from service.media.models import Media

ALT_MAX = 500
# As for titles: one line, no control characters, no bidirectional overrides or isolates.
_NOT_IN_ALT = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
ALT_RULE = (f"1 to {ALT_MAX} characters on one line, without control characters or "
            "bidirectional overrides: what the image shows, for readers who cannot see it")


class AltRequired(ValueError):
    """The alt text is missing or not acceptable; the message says what is wrong."""


@dataclass(frozen=True)
class Page:
    items: list[Media]
    total: int


def alt_problem(alt: str) -> str | None:
    """Why ``alt`` (stripped) cannot describe an image, or None."""
    if not alt:
        return "is required: describe the image for readers who cannot see it"
    if len(alt) > ALT_MAX:
        return f"must be at most {ALT_MAX} characters"
    if _NOT_IN_ALT.search(alt):
        return "must be one line without control characters or bidirectional overrides"
    return None


def read_upload(stream: IO[bytes], max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of an uploaded file: enough to tell it is too large."""
    data = stream.read(max_bytes + 1)
    return data if isinstance(data, bytes) else bytes(data)


def upload(data: bytes, alt: str, editor_id: int | None = None) -> Media:
    """Check, clean and store one image; raises ``images.Refused`` or :class:`AltRequired`."""
    alt = alt.strip()
    problem = alt_problem(alt)
    if problem:
        raise AltRequired(f"The alt text {problem}.")
    settings = current_app.config["SETTINGS"]
    done = images.process(data, max_bytes=settings.media_max_bytes,
                          max_pixels=settings.media_max_pixels)
    for rendition in (done.original, *done.sizes):
        storage.write(rendition.name, rendition.data)
    media = Media(
        sha256=done.sha256,
        name=done.original.name,
        content_type=done.original.content_type,
        width=done.original.width,
        height=done.original.height,
        bytes=len(done.original.data),
        alt=alt,
        sizes=[{"width": r.width, "height": r.height, "name": r.name, "type": r.content_type,
                "bytes": len(r.data)} for r in done.sizes],
        uploaded_by=editor_id,
    )
    db.session.add(media)
    db.session.flush()
    return media


def get(media_id: int) -> Media | None:
    return db.session.get(Media, media_id)


def listing(page: int = 1, per_page: int = 24) -> Page:
    total = db.session.scalar(sa.select(sa.func.count(Media.id))) or 0
    items = list(db.session.scalars(
        sa.select(Media).order_by(Media.created_at.desc(), Media.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ))
    return Page(items, total)


def url(name: str) -> str:
    """The absolute URL of a stored file (``BASE_URL`` + ``/media/ab/...``)."""
    return urls.absolute(storage.url_path(name))


def path(name: str) -> str:
    """The site path of a stored file (``/media/ab/...``), for the site's own pages."""
    return storage.url_path(name)


def srcset(media: Media, absolute: bool = True) -> str:
    """``"<url> 480w, <url> 960w, <url> 1600w"``, the original (its own width) last."""
    address = url if absolute else path
    entries = [f"{address(s['name'])} {s['width']}w" for s in media.sizes]
    entries.append(f"{address(media.name)} {media.width}w")
    return ", ".join(entries)


def rendition(media: Media, width: int) -> dict[str, Any]:
    """The smallest stored copy at least ``width`` wide, else the original: ``{"name",
    "type", "width", "height", "bytes"}``."""
    for size in media.sizes:
        if size["width"] >= width:
            return dict(size)
    return {"name": media.name, "type": media.content_type, "width": media.width,
            "height": media.height, "bytes": media.bytes}


def best_url(media: Media, width: int) -> str:
    """The URL of :func:`rendition`, for emails and previews that take one URL."""
    return url(str(rendition(media, width)["name"]))


def describe(media: Media) -> dict[str, Any]:
    """The API's and the feeds' view of an image: absolute URLs, every size."""
    return {
        "id": media.id,
        "url": url(media.name),
        "alt": media.alt,
        "type": media.content_type,
        "width": media.width,
        "height": media.height,
        "bytes": media.bytes,
        "sizes": [{"width": s["width"], "height": s["height"], "type": s["type"],
                   "url": url(s["name"])} for s in media.sizes],
        "created_at": media.created_at,
    }
