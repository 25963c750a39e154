"""Alembic migration environment of gridflow's schema; run it through models.migrate."""
