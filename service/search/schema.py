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
