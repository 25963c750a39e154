"""Process versions record who deployed them and why; designers' drafts are stored.

Revision 0012 (after 0015): the designer studio lists every version with its author and note,
and keeps drafts edited in the browser until they are deployed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deployed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))

    op.create_table(
        'process_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('base_version_id', sa.Integer(), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deployed_version_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['base_version_id'], ['process_version.id'],
                                name=op.f('process_draft_base_version_id_fkey')),
        sa.ForeignKeyConstraint(['deployed_version_id'], ['process_version.id'],
                                name=op.f('process_draft_deployed_version_id_fkey')),
        sa.PrimaryKeyConstraint('id', name=op.f('process_draft_pkey')),
    )
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_draft_key'), ['key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_draft_key'))
    op.drop_table('process_draft')

    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('deployed_by')
