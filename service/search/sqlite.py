"""SQLite FTS5: the ``announcements_fts`` table (migration 0012), ranked by bm25.

The match expression is made of double-quoted strings only (a word or a phrase each, joined
by spaces: all must match), so nothing a reader types is FTS5 syntax: ``NEAR``, ``*``, ``:``
or an unbalanced quote are text. Columns weigh title 10, summary 5, body 1 in bm25 (whose
score is lower for better matches: the rank is its negation).
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
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(joined).where(*where)
        ) or 0
        score = sa.func.bm25(_FTS, 10.0, 5.0, 1.0)
        rows = db.session.execute(
            sa.select(Announcement.id, score, sa.func.highlight(_FTS, 0, START, STOP),
                      _snippet(1), _snippet(2))
            .select_from(joined)
            .where(*where)
            .order_by(score, *conditions.newest_first())
            .offset(offset)
            .limit(limit)
        ).all()
        hits = [Hit(row[0], -float(row[1]), row[2], best_snippet(row[3], row[4])) for row in rows]
        return Found(hits, total, terms)

