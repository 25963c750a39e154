"""Read paths at scale and page sessions one by one.

Revision 0008 (after 0010): indexes for case search newest first and by update time; on PostgreSQL
the scope path in byte order (COLLATE "C"), so a scope is one index range whatever the database's
collation; the trigram text index of case search (models/text_index.py: FTS5 on SQLite, pg_trgm
on PostgreSQL), built over the existing cases; and user_session, one row per signed-in page
session. Cookies issued before the upgrade carry no session id, so their users sign in once more.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0010'
branch_labels = None
depends_on = None

# Frozen here rather than imported from models/text_index.py, so later changes cannot rewrite history.
SQLITE_TEXT = (
    "CREATE VIRTUAL TABLE case_text USING fts5(address, description, content='grid_case', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER case_text_insert AFTER INSERT ON grid_case BEGIN "
    "INSERT INTO case_text(rowid, address, description) VALUES (new.id, new.address, new.description); END",
    "CREATE TRIGGER case_text_delete AFTER DELETE ON grid_case BEGIN "
    "INSERT INTO case_text(case_text, rowid, address, description) "
    "VALUES ('delete', old.id, old.address, old.description); END",
    "CREATE TRIGGER case_text_update AFTER UPDATE OF address, description ON grid_case BEGIN "
    "INSERT INTO case_text(case_text, rowid, address, description) "
    "VALUES ('delete', old.id, old.address, old.description); "
    "INSERT INTO case_text(rowid, address, description) VALUES (new.id, new.address, new.description); END",
    "INSERT INTO case_text(case_text) VALUES ('rebuild')",
)
SQLITE_TEXT_DROP = ("DROP TRIGGER IF EXISTS case_text_insert", "DROP TRIGGER IF EXISTS case_text_delete",
                    "DROP TRIGGER IF EXISTS case_text_update", "DROP TABLE IF EXISTS case_text")
POSTGRESQL_TEXT = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_case_text_address ON grid_case USING gin (address gin_trgm_ops)",
    "CREATE INDEX ix_case_text_description ON grid_case USING gin (description gin_trgm_ops)",
)
POSTGRESQL_TEXT_DROP = ("DROP INDEX IF EXISTS ix_case_text_address", "DROP INDEX IF EXISTS ix_case_text_description")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index('ix_case_newest', 'grid_case', ['created_at', 'id'])
    op.create_index('ix_case_updated', 'grid_case', ['updated_at', 'id'])
    if dialect == 'postgresql':
        op.alter_column('grid_case', 'scope_path', type_=sa.String(255, collation='C'),
                        existing_type=sa.String(255), existing_nullable=False)
    for statement in {'sqlite': SQLITE_TEXT, 'postgresql': POSTGRESQL_TEXT}.get(dialect, ()):
        op.execute(statement)
    op.create_table(
        'user_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name='user_session_user_id_fkey',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='user_session_pkey'),
        sa.UniqueConstraint('key_hash', name='user_session_key_hash_key'),
    )
    op.create_index('ix_user_session_user_id', 'user_session', ['user_id'])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index('ix_user_session_user_id', table_name='user_session')
    op.drop_table('user_session')
    for statement in {'sqlite': SQLITE_TEXT_DROP, 'postgresql': POSTGRESQL_TEXT_DROP}.get(dialect, ()):
        op.execute(statement)
    if dialect == 'postgresql':
        op.alter_column('grid_case', 'scope_path', type_=sa.String(255), existing_type=sa.String(255, collation='C'),
                        existing_nullable=False)
    op.drop_index('ix_case_updated', table_name='grid_case')
    op.drop_index('ix_case_newest', table_name='grid_case')
