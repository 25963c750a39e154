"""Ratings carry their source; photos sent without a task carry the stage they came in.

Revision 0010 (after 0007): the clerk's phone callback and the resident's own rating are both
recorded as ratings, told apart by ``source`` (existing rows are the residents'); a resident's
supplement can carry photos, labelled by the stage the case waited in.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=False, server_default='resident'))

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('stage')

    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_column('source')
