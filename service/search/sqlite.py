"""SQLite FTS5: the ``announcements_fts`` table (migration 0012), ranked by bm25.

The match expression is made of double-quoted strings only (a word or a phrase each, joined
by spaces: all must match), so nothing a reader types is FTS5 syntax: ``NEAR``, ``*``, ``:``
or an unbalanced quote are text. Columns weigh title 10, summary 5, body 1 in bm25 (whose
score is lower for better matches: the rank is its negation). One version per translation
group, the best-ranked; the page's highlights and snippets come from a second query on its ids.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.announcements.models import Announcement
from service.database import db
from service.search import filters as conditions
from service.search.backend import Filters, Found, Hit, best_snippet
from service.search.schema import FTS_TABLE
from service.search.snippets import START, STOP

SNIPPET_TOKENS = 28
_fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer))
_FTS: sa.ColumnClause[object] = sa.literal_column(FTS_TABLE)


def match_expression(terms: list[str]) -> str:
    """``["moon", "relay satellite"]`` -> ``'"moon" "relay satellite"'``."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _snippet(column: int) -> sa.ColumnElement[str]:
    return sa.func.snippet(_FTS, column, START, STOP, "…", SNIPPET_TOKENS)


class FTS5Backend:
    """The embedded default's search (``SearchBackend``)."""

    def search(self, terms: list[str], filters: Filters, *, offset: int, limit: int) -> Found:
        if not terms:
            return Found([], 0, terms)
        match = _FTS.op("MATCH")(match_expression(terms))
        where = [match, *conditions.conditions(filters)]
        joined = _fts.join(Announcement.__table__, Announcement.id == _fts.c.rowid)
        # bm25() may not appear in a window's ORDER BY: the matches are a subquery first.
        matches = (
            sa.select(Announcement.id.label("id"), Announcement.published_at.label("published"),
                      conditions.group_key().label("grp"),
                      sa.func.bm25(_FTS, 10.0, 5.0, 1.0).label("score"))
            .select_from(joined).where(*where).subquery()
        )
        order = (matches.c.score, matches.c.published.desc(), matches.c.id.desc())
        ranked = sa.select(matches.c.id, matches.c.score, matches.c.published, sa.func.row_number()
                           .over(partition_by=matches.c.grp, order_by=order).label("n")).subquery()
        best = sa.select(ranked.c.id, ranked.c.score).where(ranked.c.n == 1)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(best.subquery())) or 0
        page = db.session.execute(
            best.order_by(ranked.c.score, ranked.c.published.desc(), ranked.c.id.desc())
            .offset(offset).limit(limit)
        ).all()
        if not page:
            return Found([], total, terms)
        marked = {row[0]: row[1:] for row in db.session.execute(
            sa.select(Announcement.id, sa.func.highlight(_FTS, 0, START, STOP),
                      _snippet(1), _snippet(2))
            .select_from(joined)
            .where(match, Announcement.id.in_([row[0] for row in page])))}
        hits = [Hit(item_id, -float(score), marked[item_id][0],
                    best_snippet(marked[item_id][1], marked[item_id][2]))
                for item_id, score in page if item_id in marked]
        return Found(hits, total, terms)

