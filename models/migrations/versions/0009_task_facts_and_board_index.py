"""Tasks keep the case facts their ``keep`` property names; the board's index is by stage.

Revision 0009 (after 0016): a 督办 task row carries its order's facts (late stage, addressee,
level) for the supervision board and the case page, and the board's partial index no longer
names a stage code (processes/stages.toml decides which stages the board lists).
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0016'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"


def upgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))
        batch_op.drop_index('ix_task_open_supervise')
        batch_op.create_index('ix_task_open_stage_created', ['stage', 'created_at', 'id', 'case_id'],
                              unique=False, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    # Revision 0001's index, as it was created there.
    baseline = "status = 'open' AND stage = 'supervise'"
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_open_stage_created', sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_task_open_supervise', ['due_at', 'case_id'], unique=False,
                              sqlite_where=sa.text(baseline), postgresql_where=sa.text(baseline))
        batch_op.drop_column('facts')
