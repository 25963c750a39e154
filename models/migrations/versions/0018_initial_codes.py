"""Imported users' initial passwords become one-time codes that only choose a password.

Revision 0018 (after 0017). Earlier imports stored each new user's printed initial password as one
salted SHA-256 in user_account.password_hash, to be upgraded to scrypt at the first sign-in; a user
who never signed in kept that fast hash, and a password an admin had seen, for good. This revision
moves every such hash into password_link (whose secret_hash widens to hold it) as an unused link
that expires INITIAL_DAYS from the upgrade: the printed password then works once, to choose the
user's own password, like the codes the import now prints. The user has no password meanwhile.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INITIAL_DAYS = 30  # config.toml's INITIAL_CODE_DAYS as shipped; a migration reads no settings
NO_PASSWORD = "!"

users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("password_hash", sa.String))
links = sa.table("password_link", sa.column("user_id", sa.Integer), sa.column("secret_hash", sa.String),
                 sa.column("created_at", sa.DateTime(timezone=True)),
                 sa.column("expires_at", sa.DateTime(timezone=True)),
                 sa.column("used_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table("password_link") as batch:
        batch.alter_column("secret_hash", type_=sa.String(128), existing_type=sa.String(64), existing_nullable=False)
    bind = op.get_bind()
    legacy = bind.execute(sa.select(users.c.id, users.c.password_hash)
                          .where(users.c.password_hash.like("sha256$%"))).all()
    if not legacy:
        return
    now = datetime.now(timezone.utc)
    bind.execute(links.insert(), [{"user_id": uid, "secret_hash": stored, "created_at": now,
                                   "expires_at": now + timedelta(days=INITIAL_DAYS), "used_at": None}
                                  for uid, stored in legacy])
    bind.execute(users.update().where(users.c.password_hash.like("sha256$%")).values(password_hash=NO_PASSWORD))


def downgrade() -> None:
    bind = op.get_bind()
    unused = bind.execute(sa.select(links.c.user_id, links.c.secret_hash)
                          .where(links.c.secret_hash.like("sha256$%"), links.c.used_at.is_(None))).all()
    for uid, stored in unused:
        bind.execute(users.update().where(users.c.id == uid, users.c.password_hash == NO_PASSWORD)
                     .values(password_hash=stored))
    bind.execute(links.delete().where(sa.func.length(links.c.secret_hash) > 64))
    with op.batch_alter_table("password_link") as batch:
        batch.alter_column("secret_hash", type_=sa.String(64), existing_type=sa.String(128), existing_nullable=False)
