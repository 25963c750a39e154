"""Run the migrations on the connection that models.migrate hands over."""
from __future__ import annotations

from alembic import context

from models import Base
from models.migrate import include_name

connection = context.config.attributes["connection"]
# SQLite cannot ALTER most things in place; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, include_name=include_name,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
