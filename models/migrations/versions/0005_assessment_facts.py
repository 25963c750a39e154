"""Add assessment_fact and assessment_tally: the rows assessment figures are read from, written with each step.

Revision 0005 (after 0008, main's head when it was written). Steps recorded before it made no facts: the figures count from the
upgrade on (the events alone do not say every due time and department a step saw).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'assessment_fact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('scope_path', sa.String(length=255), nullable=False),
        sa.Column('street', sa.String(length=32), nullable=True),
        sa.Column('community', sa.String(length=32), nullable=True),
        sa.Column('grid', sa.String(length=32), nullable=True),
        sa.Column('department', sa.String(length=20), nullable=True),
        sa.Column('person', sa.String(length=64), nullable=True),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('major', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('owner', sa.String(length=16), nullable=True),
        sa.Column('task_bpmn_id', sa.String(length=100), nullable=True),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('detail', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['grid_case.id'], name=op.f('assessment_fact_case_id_fkey'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('assessment_fact_pkey')),
    )
    op.create_index('ix_assessment_fact_case_kind', 'assessment_fact', ['case_id', 'kind'])
    op.create_index('ix_assessment_fact_at', 'assessment_fact',
                    ['at', 'kind', 'scope_path', 'street', 'community', 'grid', 'department', 'person', 'category',
                     'major', 'source', 'value'])
    op.create_table(
        'assessment_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grouping', sa.String(length=12), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('street_path', sa.String(length=255), nullable=False),
        sa.Column('department', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False),
        sa.Column('valued', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('assessment_tally_pkey')),
        sa.UniqueConstraint('grouping', 'month', 'key', 'kind', 'street_path', 'department',
                            name=op.f('assessment_tally_cell_key')),
    )


def downgrade() -> None:
    op.drop_table('assessment_tally')
    op.drop_index('ix_assessment_fact_at', table_name='assessment_fact')
    op.drop_index('ix_assessment_fact_case_kind', table_name='assessment_fact')
    op.drop_table('assessment_fact')
