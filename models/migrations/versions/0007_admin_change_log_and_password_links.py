"""The administrators' change log (who changed which user, unit, department or category, when,
and the values before and after) and one-time set-password links.

Revision 0007: the admin pages and /api/v1/admin record every change in admin_change; a
password_link lets a user choose their password once (only its SHA-256 is stored).
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0012'
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
    op.create_table(
        'password_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name='password_link_user_id_fkey',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='password_link_pkey'),
        sa.UniqueConstraint('secret_hash', name='password_link_secret_hash_key'),
    )
    op.create_index('ix_password_link_user_id', 'password_link', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_password_link_user_id', table_name='password_link')
    op.drop_table('password_link')
    op.drop_index('ix_admin_change_target', table_name='admin_change')
    op.drop_index('ix_admin_change_scope_path', table_name='admin_change')
    op.drop_index('ix_admin_change_at', table_name='admin_change')
    op.drop_table('admin_change')
