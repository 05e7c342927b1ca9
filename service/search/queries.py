"""Search as pages and views use it: the backend of the session's database, a page of
results with their announcements loaded, titles and snippets as safe HTML."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from service.announcements.models import Announcement
from service.database import db
from service.search import snippets
from service.search.backend import Filters, SearchBackend, terms
from service.search.postgres import PostgresBackend
from service.search.sqlite import FTS5Backend

BACKENDS: dict[str, SearchBackend] = {"sqlite": FTS5Backend(), "postgresql": PostgresBackend()}


@dataclass(frozen=True)
class Result:
    item: Announcement
    title: Markup  # escaped, matched words in <mark>
    snippet: Markup


@dataclass(frozen=True)
class Page:
    results: list[Result]
    total: int
    page: int
    per_page: int
    terms: list[str]

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def backend() -> SearchBackend:
    """The implementation for the database the session talks to."""
    name = db.session.get_bind().dialect.name
    try:
        return BACKENDS[name]
    except KeyError:
        raise RuntimeError(f"no search backend for the {name} database") from None


def search(text: str, filters: Filters | None = None, *, page: int = 1,
           per_page: int = 20) -> Page:
    """Published announcements matching every word (or quoted phrase) of ``text``, best first.

    Text with no word in it finds nothing (an empty page, never an error).
    """
    words = terms(text)
    found = backend().search(words, filters or Filters(), offset=(page - 1) * per_page,
                             limit=per_page)
    ids = [hit.announcement_id for hit in found.hits]
    items = {item.id: item for item in db.session.scalars(
        sa.select(Announcement).where(Announcement.id.in_(ids))
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    )} if ids else {}
    results = [
        Result(items[hit.announcement_id], snippets.to_html(hit.title),
               snippets.to_html(snippets.plain(hit.snippet)))
        for hit in found.hits if hit.announcement_id in items
    ]
    return Page(results, found.total, page, per_page, words)
