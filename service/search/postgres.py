"""PostgreSQL full-text search: ``announcements.search_vector`` (migration 0012), GIN-indexed.

Each announcement is indexed in the text search configuration of its language (English
stemming for ``en``, Arabic for ``ar``, ..., 'simple' for the rest). The query is the reader's
words through ``websearch_to_tsquery`` in every one of those configurations, OR-ed, so a word
finds its stemmed forms whatever the item's language while the match stays one constant
tsquery the GIN index can serve. Terms arrive double-quoted (a word or a phrase each), so
websearch's own operators (``or``, ``-``) are words here, as they are on SQLite.

Ranked by ``ts_rank`` (weights: title A, summary B, body C), one version per translation group
(the best-ranked, by a window over the matches); ``ts_headline`` marks the matched words,
computed for the page's rows only (it re-parses each document).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import REGCONFIG

from service.announcements.models import Announcement
from service.database import db
from service.search import filters as conditions
from service.search.backend import Filters, Found, Hit, best_snippet
from service.search.schema import VECTOR_COLUMN
from service.search.snippets import START, STOP

# BCP 47 primary subtag -> text search configuration. Migration 0012 indexes with a copy of
# this table (a migration does not import the app); tests/search checks they agree.
CONFIGS = {
    "en": "english", "ar": "arabic", "fr": "french", "es": "spanish", "de": "german",
    "ru": "russian", "pt": "portuguese", "it": "italian",
}
_SNIPPET = (f"StartSel={START}, StopSel={STOP}, MaxWords=32, MinWords=12, MaxFragments=2, "
            "FragmentDelimiter=\" … \"")
_WHOLE = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
_vector: sa.ColumnClause[object] = sa.literal_column(f"announcements.{VECTOR_COLUMN}")


def config_of(language: str | None) -> str:
    return CONFIGS.get((language or "").split("-")[0].lower(), "simple")


def _item_config() -> sa.ColumnElement[str]:
    """The configuration of each row's language, as the index computed it."""
    primary = sa.func.lower(sa.func.split_part(Announcement.language, "-", 1))
    return sa.case(
        *((primary == code, sa.cast(sa.literal(name), REGCONFIG))
          for code, name in CONFIGS.items()),
        else_=sa.cast(sa.literal("simple"), REGCONFIG),
    )


def websearch_text(terms: list[str]) -> str:
    return " ".join('"' + term.replace('"', " ") + '"' for term in terms)


def _tsquery(terms: list[str], language: str | None) -> sa.ColumnElement[object]:
    text = websearch_text(terms)
    names = ([config_of(language)] if language else [*CONFIGS.values()]) + ["simple"]
    parts = [sa.func.websearch_to_tsquery(sa.cast(sa.literal(name), REGCONFIG), text)
             for name in dict.fromkeys(names)]
    query: sa.ColumnElement[object] = parts[0]
    for part in parts[1:]:
        query = query.op("||")(part)
    return query


class PostgresBackend:
    """Production's search (``SearchBackend``)."""

    def search(self, terms: list[str], filters: Filters, *, offset: int, limit: int) -> Found:
        if not terms:
            return Found([], 0, terms)
        query = _tsquery(terms, filters.language)
        where = [_vector.op("@@")(query), *conditions.conditions(filters)]
        rank = sa.func.ts_rank(_vector, query)
        ranked = (
            sa.select(Announcement.id.label("id"), rank.label("rank"),
                      Announcement.published_at.label("published_at"),
                      sa.func.row_number().over(
                          partition_by=conditions.group_key(),
                          order_by=(rank.desc(), *conditions.newest_first())).label("n"))
            .where(*where)
            .subquery()
        )
        best = sa.select(ranked.c.id, ranked.c.rank).where(ranked.c.n == 1)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(best.subquery())) or 0
        page = (
            best.order_by(ranked.c.rank.desc(), ranked.c.published_at.desc(), ranked.c.id.desc())
            .offset(offset)
            .limit(limit)
            .subquery()
        )
        config = _item_config()
        rows = db.session.execute(
            sa.select(page.c.id, page.c.rank,
                      sa.func.ts_headline(config, Announcement.title, query, _WHOLE),
                      sa.func.ts_headline(config, Announcement.summary, query, _SNIPPET),
                      sa.func.ts_headline(config, Announcement.body, query, _SNIPPET))
            .join(Announcement, Announcement.id == page.c.id)
            .order_by(page.c.rank.desc(), *conditions.newest_first())
        ).all()
        hits = [Hit(row[0], float(row[1]), row[2], best_snippet(row[3], row[4])) for row in rows]
        return Found(hits, total, terms)

