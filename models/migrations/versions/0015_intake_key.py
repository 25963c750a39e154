"""Idempotency keys of reports: a phone that retries after a lost answer gets its first case back.

Revision 0015 (after 0014).
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'intake_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['grid_case.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_intake_key_user_key'),
    )
    op.create_index('ix_intake_key_case_id', 'intake_key', ['case_id'], unique=False)
    op.create_index('ix_intake_key_created_at', 'intake_key', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_key_created_at', table_name='intake_key')
    op.drop_index('ix_intake_key_case_id', table_name='intake_key')
    op.drop_table('intake_key')
