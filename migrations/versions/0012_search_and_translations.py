"""full-text search of announcements (FTS5 on SQLite, tsvector on PostgreSQL); translation groups

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:30:00.000000

SQLite: ``announcements_fts``, an FTS5 table over title, summary and body whose content is the
announcements table itself (external content), kept in sync by three triggers. Triggers belong
to their table: a later batch migration that *recreates* ``announcements`` (SQLite's "move and
copy") drops them, so such a migration must create them again (``SQLITE_TRIGGERS`` in
``service/search/schema.py``, as 0016 does).
Adding a column or an index does not recreate the table.

PostgreSQL: ``announcements.search_vector``, a stored generated tsvector (title weight A,
summary B, body C) in the text search configuration of the item's language, and a GIN index.

Neither is in the models (SQLAlchemy has no type for FTS5, and the column is PostgreSQL's
only); ``service/search/schema.py`` names them so the model comparison leaves them out.
"""
from alembic import op
import sqlalchemy as sa

from service.search.schema import SQLITE_TRIGGERS


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# BCP 47 primary subtag -> PostgreSQL text search configuration (service/search/postgres.py
# queries with the same list); any other language is indexed with 'simple' (no stemming).
_PG_CONFIGS = {
    "en": "english", "ar": "arabic", "fr": "french", "es": "spanish", "de": "german",
    "ru": "russian", "pt": "portuguese", "it": "italian",
}


def _pg_config_expression():
    cases = " ".join(f"WHEN '{code}' THEN '{name}'::regconfig"
                     for code, name in _PG_CONFIGS.items())
    return f"CASE lower(split_part(language, '-', 1)) {cases} ELSE 'simple'::regconfig END"


def _create_sqlite_triggers():
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    # Translations: the announcements of one group are versions of each other, one per
    # language. A plain column (no foreign key), so SQLite adds it without recreating the table.
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translation_group', sa.Uuid(), nullable=True))
        batch_op.create_index('ix_announcements_translation_group_language',
                              ['translation_group', 'language'], unique=True)

    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        op.execute(
            "CREATE VIRTUAL TABLE announcements_fts USING fts5("
            "title, summary, body, content='announcements', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        _create_sqlite_triggers()
        op.execute("INSERT INTO announcements_fts(announcements_fts) VALUES ('rebuild')")
    elif dialect == 'postgresql':
        config = _pg_config_expression()
        op.execute(
            "ALTER TABLE announcements ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector({config}, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector({config}, coalesce(summary, '')), 'B') || "
            f"setweight(to_tsvector({config}, coalesce(body, '')), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_announcements_search_vector ON announcements "
                   "USING gin (search_vector)")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS announcements_fts_{name}")
        op.execute("DROP TABLE IF EXISTS announcements_fts")
    elif dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_announcements_search_vector")
        op.execute("ALTER TABLE announcements DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_translation_group_language')
        batch_op.drop_column('translation_group')
