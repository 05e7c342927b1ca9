"""the suppression list: hashes of addresses no mail goes to, with the reason, source and time

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'suppressions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('suppressed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
        sa.UniqueConstraint('address_hash', name=op.f('uq_suppressions_address_hash')),
    )
    op.create_index('ix_suppressions_suppressed_at', 'suppressions', ['suppressed_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_suppressions_suppressed_at', table_name='suppressions')
    op.drop_table('suppressions')
