"""inbound mail: every bounce, complaint and unsubscribe message received, and what it did

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

KINDS = ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'auto_reply', 'report',
         'unrecognised')


def upgrade():
    op.create_table(
        'inbound_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_key', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('imap_uid', sa.String(length=64), nullable=True),
        sa.Column('sender', sa.String(length=320), nullable=True),
        sa.Column('subject', sa.String(length=255), nullable=True),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('raw_size', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('kind', sa.Enum(*KINDS, name='inboundkind', native_enum=False, length=16),
                  nullable=True),
        sa.Column('outcome', sa.String(length=32), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('copy_ref', sa.String(length=64), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                                name='fk_inbound_messages_subscriber_id_subscribers',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_inbound_messages'),
        sa.UniqueConstraint('message_key', name='uq_inbound_messages_message_key'),
    )
    op.create_index('ix_inbound_messages_subscriber_id_kind', 'inbound_messages',
                    ['subscriber_id', 'kind', 'received_at'], unique=False)
    op.create_index('ix_inbound_messages_kind_resolved_at', 'inbound_messages',
                    ['kind', 'resolved_at'], unique=False)
    op.create_index('ix_inbound_messages_processed_at', 'inbound_messages',
                    ['processed_at', 'received_at'], unique=False)


def downgrade():
    op.drop_index('ix_inbound_messages_processed_at', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_kind_resolved_at', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_subscriber_id_kind', table_name='inbound_messages')
    op.drop_table('inbound_messages')
