"""A stamp that changes whenever an org unit is written, so processes reload their grids.

Revision 0011 (after 0005): point placement keeps every grid's polygon in memory per process;
each process compares this stamp with the one it loaded.
"""
from uuid import uuid4

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'city_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('city_stamp_pkey')),
    )
    op.bulk_insert(table, [{'id': 1, 'stamp': uuid4().hex}])


def downgrade() -> None:
    op.drop_table('city_stamp')
