"""Topics are the feeds' own absolute URLs: ``BASE_URL`` + the feed path, per scope and format.

Parsing goes the other way, for the hub endpoint: a topic is ours only when it starts with
``BASE_URL`` and names a feed whose scope readers may know of (``queries.is_public``), so an
unknown or not yet public tag is refused at subscription time rather than silently never
delivered.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app

from service.announcements import queries
from service.announcements.models import Partner, Tag
from service.feeds import scopes

Topic = tuple[str, str]  # (scope, fmt)


def url(scope: str, fmt: str) -> str:
    return f"{current_app.config['BASE_URL']}/{scopes.path(scope, fmt)}"


def of_scopes(scope_list: Iterable[str]) -> list[Topic]:
    """Every topic of the given scopes, three formats each, in a stable order."""
    return [(scope, fmt) for scope in sorted(set(scope_list)) for fmt in scopes.FILENAMES]


def parse(topic: str) -> Topic | None:
    """``http://base/feeds/tags/esa/atom.xml`` -> ``("tag:esa", "atom")``; None if not one of
    our feeds, or one of a tag or partner that is unknown or not public."""
    base = current_app.config["BASE_URL"] + "/"
    if not topic.startswith(base) or "?" in topic or "#" in topic:
        return None
    parts = topic.removeprefix(base).split("/")
    if len(parts) == 2 and parts[0] == "feeds" and parts[1] in scopes.FORMAT_OF_FILENAME:
        return scopes.ALL, scopes.FORMAT_OF_FILENAME[parts[1]]
    if (len(parts) == 4 and parts[0] == "feeds" and parts[3] in scopes.FORMAT_OF_FILENAME
            and parts[1] in ("tags", "partners") and parts[2]):
        found = (queries.public_by_slug(Tag, parts[2]) if parts[1] == "tags"
                 else queries.public_by_slug(Partner, parts[2]))
        if found is None:
            return None
        return f"{'tag' if parts[1] == 'tags' else 'partner'}:{parts[2]}", \
            scopes.FORMAT_OF_FILENAME[parts[3]]
    return None
