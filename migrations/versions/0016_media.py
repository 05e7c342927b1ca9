"""uploaded images (media) and an announcement's featured image

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from service.search.schema import SQLITE_TRIGGERS


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _create_sqlite_triggers():
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('alt', sa.String(length=500), nullable=False),
    sa.Column('sizes', sa.JSON(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by'], ['editors.id'], name=op.f('fk_media_uploaded_by_editors'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media'))
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_sha256'), ['sha256'], unique=False)

    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_announcements_image_id'), ['image_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_announcements_image_id_media'), 'media',
                                    ['image_id'], ['id'], ondelete='SET NULL')
    # On SQLite batch mode rebuilt announcements, dropping the search index's triggers (0012).
    if op.get_bind().dialect.name == 'sqlite':
        _create_sqlite_triggers()


def downgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_announcements_image_id_media'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_announcements_image_id'))
        batch_op.drop_column('image_id')
    if op.get_bind().dialect.name == 'sqlite':
        _create_sqlite_triggers()

    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_sha256'))

    op.drop_table('media')
