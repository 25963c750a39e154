"""Indexes of the open work, read from the index alone at a million cases.

Revision 0020 (after 0019): on PostgreSQL a task's scope_key sorts in byte order (COLLATE "C"),
so an inbox's scope is one index range as a case's scope_path is (0008); the open-task indexes
hold ``status`` as a column too, which SQLite needs before it reads a partial index alone; the
board reads late open tasks by stage and scope (ix_task_open_stage_scope_due) and their cases
from a small index of the open cases (ix_case_open) instead of a million wide rows; the map adds up
a period's cases per grid from ix_case_map alone.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
ROLE_SCOPE = ['role', 'scope_key', 'due_at', 'assignee_id', 'stage', 'case_id', 'id']
STAGE_CREATED = ['stage', 'created_at', 'id', 'case_id']


def _open_index(name: str, table: str, columns: list[str]) -> None:
    op.create_index(name, table, columns, unique=False, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def _scope_key_collation(collation: str | None) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('task', 'scope_key', type_=sa.String(255, collation=collation),
                        existing_type=sa.String(255), existing_nullable=False)


def upgrade() -> None:
    op.drop_index('ix_task_open_role_scope_due', table_name='task')
    op.drop_index('ix_task_open_stage_created', table_name='task')
    _scope_key_collation('C')
    _open_index('ix_task_open_role_scope_due', 'task', ROLE_SCOPE + ['status'])
    _open_index('ix_task_open_stage_created', 'task', STAGE_CREATED + ['status'])
    _open_index('ix_task_open_stage_scope_due', 'task', ['stage', 'scope_key', 'due_at', 'case_id', 'status'])
    _open_index('ix_case_open', 'grid_case', ['id', 'scope_path', 'at_risk', 'due_at', 'status'])
    op.create_index('ix_case_map', 'grid_case', ['created_at', 'scope_path', 'grid_id', 'status', 'overdue', 'due_at',
                                                 'lat', 'lng'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_map', table_name='grid_case')
    op.drop_index('ix_case_open', table_name='grid_case')
    op.drop_index('ix_task_open_stage_scope_due', table_name='task')
    op.drop_index('ix_task_open_stage_created', table_name='task')
    op.drop_index('ix_task_open_role_scope_due', table_name='task')
    _scope_key_collation(None)
    _open_index('ix_task_open_role_scope_due', 'task', ROLE_SCOPE)
    _open_index('ix_task_open_stage_created', 'task', STAGE_CREATED)
