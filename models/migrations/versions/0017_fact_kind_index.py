"""An index of assessment facts by kind and time: the cases behind one figure and a count broken
down by detail (注销 by reason) read one kind over a period without scanning every fact of it.

Revision 0017 (after 0009).
"""
from alembic import op


revision = '0017'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_assessment_fact_kind_at', 'assessment_fact', ['kind', 'at', 'detail'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_assessment_fact_kind_at', table_name='assessment_fact')
