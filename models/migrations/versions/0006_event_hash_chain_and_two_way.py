"""Hash-chain the case events; add the chain checks' record and the two-way assessment tables.

Revision 0006 (after 0011). Each case's existing events are chained in their order (by id) with the same
canonical form and hash as the engine writes, so `gridflow audit verify` passes on an upgraded
database and fails from the first event changed afterwards.
"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa

from models.base import UTCDateTime


revision = '0006'
down_revision = '0011'
branch_labels = None
depends_on = None

# A copy of engine.lifecycle.chain's canonical form as of this revision: migrations never import
# the engine, and a later change there must not change what this revision wrote.
_FIELDS = ("case_id", "seq", "at", "actor_id", "kind", "task_bpmn_id", "task_name", "from_stage", "to_stage", "data")


def _hash(prev: str, row: dict) -> str:
    content = {}
    for name in _FIELDS:
        value = row[name]
        if name == "at":
            value = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        content[name] = value if name != "data" else (value or {})
    digest = hashlib.sha256(prev.encode("ascii"))
    digest.update(b"\n")
    digest.update(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                             allow_nan=False).encode("utf-8"))
    return digest.hexdigest()


def _chain_existing_events() -> None:
    events = sa.table("case_event", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                      sa.column("at", UTCDateTime()), sa.column("actor_id", sa.Integer),
                      sa.column("kind", sa.String), sa.column("task_bpmn_id", sa.String),
                      sa.column("task_name", sa.String), sa.column("from_stage", sa.String),
                      sa.column("to_stage", sa.String), sa.column("data", sa.JSON),
                      sa.column("seq", sa.Integer), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    cases = sa.table("grid_case", sa.column("id", sa.Integer), sa.column("event_seq", sa.Integer))
    conn = op.get_bind()
    set_event = (sa.update(events).where(events.c.id == sa.bindparam("b_id"))
                 .values(seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")))
    set_case = sa.update(cases).where(cases.c.id == sa.bindparam("b_id")).values(event_seq=sa.bindparam("b_seq"))
    case_ids = [r[0] for r in conn.execute(sa.select(events.c.case_id).distinct().order_by(events.c.case_id))]
    for start in range(0, len(case_ids), 500):
        batch = case_ids[start:start + 500]
        rows = conn.execute(sa.select(events).where(events.c.case_id.in_(batch))
                            .order_by(events.c.case_id, events.c.id)).mappings()
        updates, heads, seq, prev, current = [], [], 0, "", None
        for row in rows:
            if row["case_id"] != current:
                if current is not None:
                    heads.append({"b_id": current, "b_seq": seq})
                current, seq, prev = row["case_id"], 0, ""
            seq += 1
            digest = _hash(prev, {**row, "seq": seq})
            updates.append({"b_id": row["id"], "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        if current is not None:
            heads.append({"b_id": current, "b_seq": seq})
        if updates:
            conn.execute(set_event, updates)
            conn.execute(set_case, heads)


def upgrade() -> None:
    with op.batch_alter_table('grid_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_seq', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('case_event_case_id_seq_key', ['case_id', 'seq'])

    op.create_table('audit_verification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=False),
        sa.Column('from_id', sa.Integer(), nullable=True),
        sa.Column('up_to_event_id', sa.Integer(), nullable=False),
        sa.Column('up_to_at', UTCDateTime(), nullable=True),
        sa.Column('events_up_to', sa.Integer(), nullable=False),
        sa.Column('events_checked', sa.Integer(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('first_bad_event_id', sa.Integer(), nullable=True),
        sa.Column('first_bad_case_id', sa.Integer(), nullable=True),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['from_id'], ['audit_verification.id'], name='audit_verification_from_id_fkey'),
        sa.PrimaryKeyConstraint('id', name='audit_verification_pkey'))
    op.create_table('unit_rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('department_code', sa.String(length=20), nullable=True),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('community_path', sa.String(length=255), nullable=False),
        sa.Column('rating', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('rated_by_id', sa.Integer(), nullable=True),
        sa.Column('rated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['grid_case.id'], name='unit_rating_case_id_fkey', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['community_id'], ['org_unit.id'], name='unit_rating_community_id_fkey'),
        sa.ForeignKeyConstraint(['rated_by_id'], ['user_account.id'], name='unit_rating_rated_by_id_fkey'),
        sa.PrimaryKeyConstraint('id', name='unit_rating_pkey'))
    op.create_index('ix_unit_rating_case_id', 'unit_rating', ['case_id'])
    op.create_index('ix_unit_rating_community_path', 'unit_rating', ['community_path'])
    op.create_index('ix_unit_rating_department_at', 'unit_rating', ['department_code', 'rated_at'])
    op.create_table('rating_round',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('scope_path', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=True),
        sa.Column('opened_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name='rating_round_opened_by_id_fkey'),
        sa.PrimaryKeyConstraint('id', name='rating_round_pkey'))
    op.create_table('round_score',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('department_code', sa.String(length=20), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['rating_round.id'], name='round_score_round_id_fkey', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['community_id'], ['org_unit.id'], name='round_score_community_id_fkey'),
        sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name='round_score_by_id_fkey'),
        sa.PrimaryKeyConstraint('id', name='round_score_pkey'),
        sa.UniqueConstraint('round_id', 'community_id', 'department_code',
                            name='round_score_round_id_community_id_department_code_key'))
    op.create_index('ix_round_score_round_id', 'round_score', ['round_id'])
    op.create_index('ix_round_score_department_code', 'round_score', ['department_code'])


def downgrade() -> None:
    op.drop_table('round_score')
    op.drop_table('rating_round')
    op.drop_table('unit_rating')
    op.drop_table('audit_verification')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_constraint('case_event_case_id_seq_key', type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    with op.batch_alter_table('grid_case', schema=None) as batch_op:
        batch_op.drop_column('event_seq')
