"""A partial index of the cases stopped by an incident.

Revision 0013: the metrics endpoint and the supervision board count and list these cases at
every refresh; without the index that is a scan of every case.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0004'
branch_labels = None
depends_on = None

WHERE = "incident IS NOT NULL"


def upgrade() -> None:
    op.create_index('ix_case_incident', 'grid_case', ['id'], unique=False,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('ix_case_incident', table_name='grid_case',
                  sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
