"""feed_positions: each announcement's place in the history of each of its feeds (RFC 5005)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'feed_positions',
        sa.Column('scope', sa.String(length=80), nullable=False),
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('scope', 'position'),
        sa.UniqueConstraint('scope', 'announcement_id', name='uq_feed_positions_scope_item'),
    )
    with op.batch_alter_table('feed_positions', schema=None) as batch_op:
        batch_op.create_index('ix_feed_positions_announcement_id', ['announcement_id'],
                              unique=False)
    # What is published already, in publishing order (window functions: SQLite 3.25+, PG).
    op.execute(
        "INSERT INTO feed_positions (scope, position, announcement_id) "
        "SELECT 'all', ROW_NUMBER() OVER (ORDER BY published_at, id), id FROM announcements "
        "WHERE status = 'published' AND published_at IS NOT NULL")
    for kind, table, column, links in (('tag', 'tags', 'tag_id', 'announcement_tags'),
                                       ('partner', 'partners', 'partner_id',
                                        'announcement_partners')):
        op.execute(
            "INSERT INTO feed_positions (scope, position, announcement_id) "
            f"SELECT '{kind}:' || t.slug, ROW_NUMBER() OVER "
            "(PARTITION BY t.id ORDER BY a.published_at, a.id), a.id "
            f"FROM announcements a JOIN {links} l ON l.announcement_id = a.id "
            f"JOIN {table} t ON t.id = l.{column} "
            "WHERE a.status = 'published' AND a.published_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('feed_positions', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_positions_announcement_id')
    op.drop_table('feed_positions')
