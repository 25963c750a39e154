"""The schema create_all made before migrations (main d221e81).

A database from before migrations is stamped at this revision rather than migrated (models.migrate),
so it must stay exactly that schema: change the schema in a new revision on top of it. Constraint
names are the ones PostgreSQL gave create_all's unnamed constraints; on SQLite such older databases
keep unnamed constraints, so a later revision that drops one on SQLite passes
naming_convention=models.base.NAMING_CONVENTION to op.batch_alter_table.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here rather than imported from models, so later model changes cannot rewrite history.
UTC = sa.DateTime(timezone=True)
OPEN = "status = 'open'"
OPEN_SUPERVISE = "status = 'open' AND stage = 'supervise'"


def col(name: str, type_, null: bool = False) -> sa.Column:
    return sa.Column(name, type_, nullable=null)


def create(table: str, *columns: sa.Column, pk=("id",), unique=(), fks=(), indexed=()) -> None:
    """Create TABLE with its constraints, and an ix_TABLE_COLUMN index on each column in INDEXED."""
    op.create_table(
        table, *columns,
        sa.PrimaryKeyConstraint(*pk, name=op.f(f"{table}_pkey")),
        *(sa.UniqueConstraint(*cols, name=op.f(f"{table}_{'_'.join(cols)}_key")) for cols in unique),
        *(sa.ForeignKeyConstraint([column], [target], name=op.f(f"{table}_{column}_fkey"), ondelete=ondelete)
          for column, target, ondelete in fks),
    )
    for column in indexed:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    create("case_code_counter", col("day", sa.Date()), col("last", sa.Integer()), pk=("day",))
    create("category",
           col("id", sa.Integer()), col("code", sa.String(8)), col("kind", sa.String(10)),
           col("major_code", sa.String(2)), col("major_name", sa.String(50)), col("major_name_en", sa.String(80)),
           col("minor_code", sa.String(2)), col("name", sa.String(50)), col("name_en", sa.String(80)),
           col("emergency", sa.Boolean()), col("default_department", sa.String(20), null=True),
           col("active", sa.Boolean()),
           unique=[("code",)])
    create("department",
           col("id", sa.Integer()), col("code", sa.String(20)), col("name", sa.String(100)),
           col("name_en", sa.String(100)), col("level", sa.String(16)),
           unique=[("code",)])
    create("open311_client",
           col("id", sa.Integer()), col("name", sa.String(100)), col("key_hash", sa.String(64)),
           col("created_at", UTC), col("last_used_at", UTC, null=True), col("revoked_at", UTC, null=True),
           unique=[("key_hash",), ("name",)])
    create("org_unit",
           col("id", sa.Integer()), col("code", sa.String(32)), col("name", sa.String(100)),
           col("name_en", sa.String(100)), col("level", sa.String(16)), col("parent_id", sa.Integer(), null=True),
           col("path", sa.String(255)), col("area_type", sa.String(16)), col("lat", sa.Float(), null=True),
           col("lng", sa.Float(), null=True), col("bbox", sa.JSON(), null=True),
           unique=[("code",)], fks=[("parent_id", "org_unit.id", None)], indexed=["path"])
    create("process_version",
           col("id", sa.Integer()), col("key", sa.String(100)), col("version", sa.Integer()),
           col("content_hash", sa.String(64)), col("source_files", sa.JSON()), col("serialized_spec", sa.Text()),
           col("deployed_at", UTC),
           unique=[("key", "version")], indexed=["content_hash"])
    create("rate_limit_window",
           col("key", sa.String(200)), col("window", sa.Integer()), col("count", sa.Integer()),
           col("expires_at", UTC),
           pk=("key", "window"), indexed=["expires_at"])
    create("user_account",
           col("id", sa.Integer()), col("username", sa.String(64)), col("name", sa.String(64)),
           col("password_hash", sa.String(255)), col("active", sa.Boolean()), col("locale", sa.String(10)),
           unique=[("username",)])
    create("api_token",
           col("id", sa.Integer()), col("user_id", sa.Integer()), col("token_hash", sa.String(64)),
           col("name", sa.String(100)), col("created_at", UTC), col("last_used_at", UTC, null=True),
           col("revoked_at", UTC, null=True),
           unique=[("token_hash",)], fks=[("user_id", "user_account.id", "CASCADE")])
    create("grid_case",
           col("id", sa.Integer()), col("code", sa.String(32)), col("category_id", sa.Integer()),
           col("grid_id", sa.Integer()), col("scope_path", sa.String(255)), col("address", sa.String(255)),
           col("lat", sa.Float(), null=True), col("lng", sa.Float(), null=True), col("description", sa.Text()),
           col("source", sa.String(16)), col("urgency", sa.String(16)), col("reporter_name", sa.String(64)),
           col("reporter_phone", sa.String(32)), col("self_handled", sa.Boolean()), col("status", sa.String(16)),
           col("stage", sa.String(32)), col("department_code", sa.String(20), null=True),
           col("due_times", sa.JSON()), col("due_at", UTC, null=True), col("at_risk", sa.Boolean()),
           col("overdue", sa.Boolean()), col("escalation_level", sa.Integer()),
           col("calendar_estimated", sa.Boolean()), col("incident", sa.Text(), null=True),
           col("duplicate_of_id", sa.Integer(), null=True), col("reported_by_id", sa.Integer(), null=True),
           col("process_version_id", sa.Integer()), col("state", sa.LargeBinary()), col("version", sa.Integer()),
           col("next_timer_at", UTC, null=True), col("created_at", UTC), col("updated_at", UTC),
           col("closed_at", UTC, null=True),
           unique=[("code",)],
           fks=[("category_id", "category.id", None), ("duplicate_of_id", "grid_case.id", None),
                ("grid_id", "org_unit.id", None), ("process_version_id", "process_version.id", None),
                ("reported_by_id", "user_account.id", None)],
           indexed=["due_at", "duplicate_of_id", "grid_id", "next_timer_at", "scope_path"])
    op.create_index("ix_case_at_risk", "grid_case", ["at_risk", "status", "id"])
    op.create_index("ix_case_board", "grid_case", ["status", "scope_path", "due_at", "at_risk", "department_code"])
    op.create_index("ix_case_status_stage", "grid_case", ["status", "stage"])
    create("membership",
           col("id", sa.Integer()), col("user_id", sa.Integer()), col("role", sa.String(32)),
           col("scope_key", sa.String(255)),
           unique=[("user_id", "role", "scope_key")], fks=[("user_id", "user_account.id", "CASCADE")])
    op.create_index("ix_membership_role_scope", "membership", ["role", "scope_key"])
    create("saved_filter",
           col("id", sa.Integer()), col("user_id", sa.Integer()), col("name", sa.String(60)),
           col("query", sa.String(500)), col("created_at", UTC),
           unique=[("user_id", "name")], fks=[("user_id", "user_account.id", "CASCADE")], indexed=["user_id"])
    create("case_event",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("at", UTC),
           col("actor_id", sa.Integer(), null=True), col("kind", sa.String(32)),
           col("task_bpmn_id", sa.String(100), null=True), col("task_name", sa.String(200), null=True),
           col("from_stage", sa.String(32), null=True), col("to_stage", sa.String(32), null=True),
           col("data", sa.JSON()),
           fks=[("actor_id", "user_account.id", None), ("case_id", "grid_case.id", "CASCADE")],
           indexed=["case_id"])
    create("notification",
           col("id", sa.Integer()), col("user_id", sa.Integer()), col("case_id", sa.Integer(), null=True),
           col("kind", sa.String(32)), col("message", sa.String(500)), col("created_at", UTC),
           col("read_at", UTC, null=True),
           fks=[("case_id", "grid_case.id", "CASCADE"), ("user_id", "user_account.id", "CASCADE")],
           indexed=["case_id"])
    op.create_index("ix_notification_user_unread", "notification", ["user_id", "read_at"])
    create("open311_request",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("client_id", sa.Integer()),
           col("token", sa.String(40)), col("media_url", sa.String(1000)), col("email", sa.String(254)),
           col("device_id", sa.String(100)), col("account_id", sa.String(100)), col("attributes", sa.JSON()),
           col("created_at", UTC),
           unique=[("case_id",), ("token",)],
           fks=[("case_id", "grid_case.id", "CASCADE"), ("client_id", "open311_client.id", None)],
           indexed=["client_id"])
    create("rating",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("satisfaction", sa.String(16)),
           col("comment", sa.Text()), col("created_at", UTC),
           fks=[("case_id", "grid_case.id", "CASCADE")], indexed=["case_id"])
    create("task",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("spiff_id", sa.String(36)),
           col("bpmn_id", sa.String(100)), col("name", sa.String(200)), col("stage", sa.String(32)),
           col("role", sa.String(32)), col("scope_key", sa.String(255)), col("assignee_id", sa.Integer(), null=True),
           col("form_key", sa.String(100)), col("status", sa.String(16)), col("created_at", UTC),
           col("due_at", UTC, null=True), col("due_estimated", sa.Boolean()), col("completed_at", UTC, null=True),
           col("completed_by_id", sa.Integer(), null=True), col("version", sa.Integer()),
           unique=[("case_id", "spiff_id")],
           fks=[("assignee_id", "user_account.id", None), ("case_id", "grid_case.id", "CASCADE"),
                ("completed_by_id", "user_account.id", None)],
           indexed=["assignee_id", "case_id"])
    op.create_index("ix_task_open_role_scope_due", "task",
                    ["role", "scope_key", "due_at", "assignee_id", "stage", "case_id", "id"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index("ix_task_open_supervise", "task", ["due_at", "case_id"],
                    sqlite_where=sa.text(OPEN_SUPERVISE), postgresql_where=sa.text(OPEN_SUPERVISE))
    create("tracking_link",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("secret_hash", sa.String(64)),
           col("created_at", UTC),
           unique=[("case_id",), ("secret_hash",)], fks=[("case_id", "grid_case.id", "CASCADE")])
    create("webhook_delivery",
           col("id", sa.Integer()), col("url", sa.String(500)), col("event", sa.String(32)),
           col("case_id", sa.Integer(), null=True), col("payload", sa.JSON()), col("status", sa.String(16)),
           col("attempts", sa.Integer()), col("next_attempt_at", UTC), col("last_error", sa.String(500), null=True),
           col("created_at", UTC), col("delivered_at", UTC, null=True),
           fks=[("case_id", "grid_case.id", "CASCADE")], indexed=["case_id"])
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"])
    create("attachment",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("task_id", sa.Integer(), null=True),
           col("uploaded_by_id", sa.Integer(), null=True), col("filename", sa.String(200)),
           col("content_type", sa.String(50)), col("size", sa.Integer()), col("sha256", sa.String(64)),
           col("path", sa.String(300)), col("thumbnail_path", sa.String(300), null=True), col("created_at", UTC),
           fks=[("case_id", "grid_case.id", "CASCADE"), ("task_id", "task.id", "SET NULL"),
                ("uploaded_by_id", "user_account.id", None)],
           indexed=["case_id", "task_id"])
    create("case_comment",
           col("id", sa.Integer()), col("case_id", sa.Integer()), col("task_id", sa.Integer(), null=True),
           col("author_id", sa.Integer(), null=True), col("body", sa.Text()), col("created_at", UTC),
           fks=[("author_id", "user_account.id", None), ("case_id", "grid_case.id", "CASCADE"),
                ("task_id", "task.id", "SET NULL")],
           indexed=["case_id", "task_id"])


def downgrade() -> None:
    # Referencing tables first; their indexes go with them.
    for table in ("case_comment", "attachment", "webhook_delivery", "tracking_link", "task", "rating",
                  "open311_request", "notification", "case_event", "saved_filter", "membership", "grid_case",
                  "api_token", "user_account", "rate_limit_window", "process_version", "org_unit",
                  "open311_client", "department", "category", "case_code_counter"):
        op.drop_table(table)
