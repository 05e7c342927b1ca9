"""announcements remember when they were retracted and why (the feeds' tombstones, the 410 page)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retracted_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('retraction_reason', sa.String(length=500),
                                      nullable=True))
        batch_op.create_index('ix_announcements_status_retracted_at',
                              ['status', 'retracted_at'], unique=False)
    # Retractions made before this release: their last change was the retraction.
    op.execute("UPDATE announcements SET retracted_at = updated_at "
               "WHERE status = 'retracted' AND retracted_at IS NULL")


def downgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_status_retracted_at')
        batch_op.drop_column('retraction_reason')
        batch_op.drop_column('retracted_at')
