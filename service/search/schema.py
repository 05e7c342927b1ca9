"""The search objects migration 0012 creates and the models do not describe.

SQLAlchemy has no type for an FTS5 virtual table (nor its shadow tables), and the tsvector
column and its GIN index exist on PostgreSQL only; Alembic's comparison of models and database
(``migrations/env.py``, ``tests/test_migrations.py``) leaves these names out.
"""

from __future__ import annotations

from collections.abc import Mapping

FTS_TABLE = "announcements_fts"  # SQLite; FTS5 adds announcements_fts_data, _idx, ...
VECTOR_COLUMN = "search_vector"  # PostgreSQL, on announcements
VECTOR_INDEX = "ix_announcements_search_vector"

# The triggers that keep the FTS5 table in step with announcements (SQLite). Migration 0012
# creates them; a migration that recreates the announcements table (SQLite's batch "move and
# copy" drops a table's triggers) creates them again, as 0016 does. Kept here once so the two
# cannot drift; changing them means a new migration that drops and creates them.
SQLITE_TRIGGERS = (
    """CREATE TRIGGER announcements_fts_insert AFTER INSERT ON announcements BEGIN
      INSERT INTO announcements_fts(rowid, title, summary, body)
      VALUES (new.id, new.title, new.summary, new.body);
    END""",
    """CREATE TRIGGER announcements_fts_delete AFTER DELETE ON announcements BEGIN
      INSERT INTO announcements_fts(announcements_fts, rowid, title, summary, body)
      VALUES ('delete', old.id, old.title, old.summary, old.body);
    END""",
    """CREATE TRIGGER announcements_fts_update AFTER UPDATE OF title, summary, body
    ON announcements BEGIN
      INSERT INTO announcements_fts(announcements_fts, rowid, title, summary, body)
      VALUES ('delete', old.id, old.title, old.summary, old.body);
      INSERT INTO announcements_fts(rowid, title, summary, body)
      VALUES (new.id, new.title, new.summary, new.body);
    END""",
)


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's ``include_name`` hook: False for the search objects, True for the rest."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    if type_ == "column":
        return not (name == VECTOR_COLUMN and parent_names.get("table_name") == "announcements")
    if type_ == "index":
        return name != VECTOR_INDEX
    return True
