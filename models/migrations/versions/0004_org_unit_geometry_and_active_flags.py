"""Org units keep their boundary as GeoJSON; org units and departments can be deactivated.

Revision 0004 (after 0003): a city imported from files deactivates what its files no longer
list instead of deleting it, since cases and tasks point at it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows are active: the server default fills them when the column is added.
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('geometry', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('geometry')

    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_column('active')
