"""Rules of the process that the engine applies around the diagram: escalation levels."""
from __future__ import annotations

# Case.escalation_level is the highest of these an `escalate` effect has reached (0: none).
ESCALATION_LEVELS = {"community": 1, "street": 2, "district": 3}
