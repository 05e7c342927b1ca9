"""subscribers, mailings, mail batches and deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:54:41.479644

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'unsubscribed', 'bounced', name='subscriberstatus', native_enum=False, length=16), nullable=False),
    sa.Column('frequency', sa.Enum('instant', 'daily', 'weekly', name='frequency', native_enum=False, length=16), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('partners', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('since_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('email', name=op.f('uq_subscribers_email'))
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.create_index('ix_subscribers_status_frequency_id', ['status', 'frequency', 'id'], unique=False)
        batch_op.create_index('ix_subscribers_status_requested_at', ['status', 'requested_at'], unique=False)

    op.create_table('mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('instant', 'daily', 'weekly', name='mailingkind', native_enum=False, length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_mailings_announcement_id_announcements'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_mailings_kind'))
    )
    op.create_table('mail_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailings.id'], name=op.f('fk_mail_batches_mailing_id_mailings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_batches')),
    sa.UniqueConstraint('mailing_id', 'first_id', name=op.f('uq_mail_batches_mailing_id'))
    )
    with op.batch_alter_table('mail_batches', schema=None) as batch_op:
        batch_op.create_index('ix_mail_batches_done_queued_at', ['done_at', 'queued_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('claimed', 'sending', 'sent', 'deferred', 'uncertain', 'failed', 'cancelled', name='deliverystatus', native_enum=False, length=16), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['mail_batches.id'], name=op.f('fk_deliveries_batch_id_mail_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailings.id'], name=op.f('fk_deliveries_mailing_id_mailings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_deliveries_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('mailing_id', 'subscriber_id', name=op.f('uq_deliveries_mailing_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_batch_id_status', ['batch_id', 'status'], unique=False)
        batch_op.create_index('ix_deliveries_status_updated_at', ['status', 'updated_at'], unique=False)
        batch_op.create_index('ix_deliveries_subscriber_id', ['subscriber_id'], unique=False)



def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_subscriber_id')
        batch_op.drop_index('ix_deliveries_status_updated_at')
        batch_op.drop_index('ix_deliveries_batch_id_status')

    op.drop_table('deliveries')
    with op.batch_alter_table('mail_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_batches_done_queued_at')

    op.drop_table('mail_batches')
    op.drop_table('mailings')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index('ix_subscribers_status_requested_at')
        batch_op.drop_index('ix_subscribers_status_frequency_id')

    op.drop_table('subscribers')
