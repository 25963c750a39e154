"""The administrators' change log: who changed which user, unit, department or category, when,
and the values before and after.

Revision 0007: the admin pages and /api/v1/admin record every change here.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'admin_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target_kind', sa.String(length=16), nullable=False),
        sa.Column('target_code', sa.String(length=64), nullable=False),
        sa.Column('scope_path', sa.String(length=255), nullable=False),
        sa.Column('old', sa.JSON(), nullable=True),
        sa.Column('new', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name='admin_change_actor_id_fkey'),
        sa.PrimaryKeyConstraint('id', name='admin_change_pkey'),
    )
    op.create_index('ix_admin_change_at', 'admin_change', ['at'])
    op.create_index('ix_admin_change_scope_path', 'admin_change', ['scope_path'])
    op.create_index('ix_admin_change_target', 'admin_change', ['target_kind', 'target_code'])


def downgrade() -> None:
    op.drop_index('ix_admin_change_target', table_name='admin_change')
    op.drop_index('ix_admin_change_scope_path', table_name='admin_change')
    op.drop_index('ix_admin_change_at', table_name='admin_change')
    op.drop_table('admin_change')
