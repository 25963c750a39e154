"""marshmallow schemas: the JSON contract of /api/v1, requests and responses alike, one module per
resource family. The OpenAPI document is generated from these classes (web/api/openapi.py), so every
field a view reads or writes is declared with its type, limits and whether it may be null."""
from __future__ import annotations

# Loaded together: nested references by name (Pluck("PersonSchema", …)) resolve through
# marshmallow's class registry, which holds only the classes imported so far.
from web.api.schemas import cases, common, reference, tasks, tokens  # noqa: F401
