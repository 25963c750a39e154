"""Impact simulations of drafts, each with its per-case findings (the newest SIMULATION_KEEP_RUNS kept).

Revision 0019 (after 0018).
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'simulation_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=True),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('made_by', sa.String(length=100), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['draft_id'], ['process_draft.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_simulation_run_draft_id', 'simulation_run', ['draft_id'], unique=False)
    op.create_index('ix_simulation_run_made_at', 'simulation_run', ['made_at'], unique=False)
    op.create_table(
        'simulation_case',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('dispatched', sa.Boolean(), nullable=False),
        sa.Column('route_from', sa.String(length=60), nullable=True),
        sa.Column('route_to', sa.String(length=60), nullable=True),
        sa.Column('decisions', sa.String(length=500), nullable=False),
        sa.Column('flow', sa.String(length=16), nullable=False),
        sa.Column('flow_element', sa.String(length=100), nullable=True),
        sa.Column('flow_detail', sa.JSON(), nullable=True),
        sa.Column('deadlines', sa.JSON(), nullable=True),
        sa.Column('deadline_marks', sa.String(length=1000), nullable=False),
        sa.Column('closing', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['grid_case.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['run_id'], ['simulation_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'case_id'),
    )


def downgrade() -> None:
    op.drop_table('simulation_case')
    op.drop_index('ix_simulation_run_made_at', table_name='simulation_run')
    op.drop_index('ix_simulation_run_draft_id', table_name='simulation_run')
    op.drop_table('simulation_run')
