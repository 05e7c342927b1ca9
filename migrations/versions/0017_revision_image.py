"""revisions record the featured image (restoring one brings its image back)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:40:00.000000

Revisions saved before this one knew nothing of images. Each gets the image its announcement
has now, so restoring an old revision keeps today's image (as it did before) instead of
taking it off, and comparing two old revisions shows no image change nobody made.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('announcement_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_announcement_revisions_image_id_media'),
                                    'media', ['image_id'], ['id'], ondelete='SET NULL')
    op.execute(
        "UPDATE announcement_revisions SET image_id = (SELECT announcements.image_id "
        "FROM announcements WHERE announcements.id = announcement_revisions.announcement_id)"
    )


def downgrade():
    with op.batch_alter_table('announcement_revisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_announcement_revisions_image_id_media'),
                                 type_='foreignkey')
        batch_op.drop_column('image_id')
