"""Notifications carry a topic, so a repeating escalation tells each person once per level.

Revision 0014 (after 0013): an overdue case's escalation repeats every ESCALATION_HOURS; a case
late for 20 days wrote 113 notices. Existing notifications have no topic (each stays as it is).
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('topic')
