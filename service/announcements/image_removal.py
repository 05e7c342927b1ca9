"""Deleting an image from the media library: only one no announcement uses or ever used.

An upload made by mistake (the wrong photo, one not cleared for publication) must be able to
go, files and all. One that readers may have seen must not: feed readers, archive pages and
sent emails keep its URL, and restoring a revision brings its featured image back. So an image
is deleted only when no announcement has it as its featured image now or in any revision,
and, when its files would go with it, no body (current or in a revision) names them. Files
are shared by uploads of the same picture (the names are the content's hash): they are
removed only with the last row that has them, and only after the deletion is committed.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.announcements.models import Announcement, Revision
from service.database import db
from service.media import storage
from service.media.models import Media

SHOWN_USES = 5  # titles named in the refusal; the count says how many more


class ImageInUse(Exception):
    """The image is used; the message names (some of) the announcements using it."""

    def __init__(self, media_id: int, titles: list[str], total: int) -> None:
        named = ", ".join(f"“{title}”" for title in titles)
        more = f" and {total - len(titles)} more" if total > len(titles) else ""
        super().__init__(f"Image {media_id} is used by {named}{more}: an image readers may "
                         "have seen stays in the library.")


def _shares_files(media: Media) -> bool:
    """Whether another upload has the same picture (and so the same files)."""
    return db.session.scalar(sa.select(sa.exists().where(
        Media.sha256 == media.sha256, Media.id != media.id))) or False


def users(media: Media, shares_files: bool) -> sa.Select[int]:
    """The ids of the announcements that use the image, now or in a revision."""
    a, r = Announcement, Revision
    in_history = [r.image_id == media.id]
    now = [a.image_id == media.id]
    if not shares_files:  # its files go with it: a body naming them is a use
        now.append(a.body.contains(media.sha256, autoescape=True))
        in_history.append(r.body.contains(media.sha256, autoescape=True))
    return sa.select(a.id).where(sa.or_(
        *now, a.id.in_(sa.select(r.announcement_id).where(sa.or_(*in_history)))))


def check_unused(media: Media, shares_files: bool) -> None:
    """Raise :class:`ImageInUse` when an announcement uses the image."""
    ids = users(media, shares_files).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ids)) or 0
    if total:
        titles = list(db.session.scalars(
            sa.select(Announcement.title).where(Announcement.id.in_(sa.select(ids.c.id)))
            .order_by(Announcement.id).limit(SHOWN_USES)))
        raise ImageInUse(media.id, titles, total)


def delete(media: Media) -> list[str]:
    """Delete the image's row in the caller's transaction (raises :class:`ImageInUse`);
    returns the files to remove once it is committed (none while another upload shares
    them): pass them to :func:`remove_files`."""
    shares_files = _shares_files(media)
    check_unused(media, shares_files)
    names = [] if shares_files else [media.name, *(s["name"] for s in media.sizes)]
    db.session.delete(media)
    db.session.flush()
    return names


def remove_files(names: list[str]) -> None:
    """After the commit: the files of a deleted image, unless an upload of the same picture
    came in meanwhile (its row shares them)."""
    if not names:
        return
    sha = names[0][:64]
    if db.session.scalar(sa.select(sa.exists().where(Media.sha256 == sha))):
        return
    for name in names:
        storage.remove(name)
