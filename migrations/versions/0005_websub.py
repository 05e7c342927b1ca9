"""WebSub hub: subscription requests, subscriptions, topic state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('websub_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('lease_seconds', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'verified', 'refused', name='requeststatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_websub_requests'))
    )
    op.create_table('websub_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('lease_seconds', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_websub_subscriptions')),
    sa.UniqueConstraint('topic', 'callback', name=op.f('uq_websub_subscriptions_topic'))
    )
    with op.batch_alter_table('websub_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_websub_subscriptions_scope_fmt', ['scope', 'fmt', 'expires_at'], unique=False)

    op.create_table('websub_topics',
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=False),
    sa.Column('etag', sa.String(length=80), nullable=False),
    sa.Column('distributed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'fmt', name=op.f('pk_websub_topics'))
    )


def downgrade():
    op.drop_table('websub_topics')
    with op.batch_alter_table('websub_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_websub_subscriptions_scope_fmt')

    op.drop_table('websub_subscriptions')
    op.drop_table('websub_requests')
