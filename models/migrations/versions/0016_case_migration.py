"""Cases moved between process versions, each with the state it had before (undo within a window).

Revision 0016 (after 0006).
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_migration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run', sa.String(length=40), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('from_version_id', sa.Integer(), nullable=False),
        sa.Column('to_version_id', sa.Integer(), nullable=False),
        sa.Column('old_state', sa.LargeBinary(), nullable=False),
        sa.Column('moved_case_version', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['grid_case.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['from_version_id'], ['process_version.id']),
        sa.ForeignKeyConstraint(['to_version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_migration_run', 'case_migration', ['run'], unique=False)
    op.create_index('ix_case_migration_case_id', 'case_migration', ['case_id'], unique=False)
    op.create_index('ix_case_migration_at', 'case_migration', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_migration_at', table_name='case_migration')
    op.drop_index('ix_case_migration_case_id', table_name='case_migration')
    op.drop_index('ix_case_migration_run', table_name='case_migration')
    op.drop_table('case_migration')
