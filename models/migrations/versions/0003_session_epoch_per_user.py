"""Add user_account.session_epoch: signing out ends every session cookie issued before.

Revision 0003 (after 0002). Existing users start at 0, which is what their current cookies
(which carry no epoch) are read as, so nobody is signed out by the upgrade.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
