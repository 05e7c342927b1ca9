"""``/media/<xx>/<name>``: the stored files, served by the app in development and tests.

In production nginx serves the same paths from the media volume (``deploy/nginx.conf``) and
this view is only reached for a file that does not exist. A name is the content's hash, so a
file never changes: it may be cached for a year, ``immutable``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory

from service.media import library, storage
from service.media.models import Media

bp = Blueprint("media", __name__)

ONE_YEAR = 365 * 86400


@bp.get("/media/<prefix>/<name>")
def media_file(prefix: str, name: str) -> Response:
    if not storage.is_media_name(name) or prefix != name[:2]:
        abort(404)
    response = send_from_directory(storage.root() / prefix, name, max_age=ONE_YEAR)
    response.cache_control.immutable = True
    response.cache_control.public = True
    return response


# The site's pages name files by path (same origin, whatever BASE_URL says); what is read
# away from the site (emails, feeds, link previews) takes absolute URLs from library.url.


@bp.app_template_global("media_path")
def media_path(name: str) -> str:
    return library.path(name)


@bp.app_template_global("media_srcset")
def media_srcset(media: Media) -> str:
    return library.srcset(media, absolute=False)


@bp.app_template_global("media_thumb")
def media_thumb(media: Media, width: int = 480) -> str:
    """The path of the smallest copy at least ``width`` wide (cards, the editor's picker)."""
    return library.path(str(library.rendition(media, width)["name"]))
