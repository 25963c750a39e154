"""bpmnlint's configuration for gridflow: the recommended rules plus gridflow's own plugin
(tools/bpmnlint-plugin-gridflow), whose vocabularies come from the policy files, so the
command line, the test suite and the modeller check the diagrams against the same lists."""
from __future__ import annotations

from engine.process.policy import Policy

PLUGIN = "gridflow"
PLUGIN_RULES = ("lane-role", "task-properties", "effect")


def lint_config(policy: Policy) -> dict:
    """Return a .bpmnlintrc (as a dict) for diagrams that run under ``policy``."""
    vocabulary = {
        "lanes": sorted(set(policy.roles) | set(policy.lanes)),
        "stages": sorted(policy.stages),
        "levels": sorted(policy.levels),
        "notices": sorted(policy.notices),
    }
    return {
        "extends": ["bpmnlint:recommended"],
        "rules": {f"{PLUGIN}/{rule}": ["error", vocabulary] for rule in PLUGIN_RULES},
    }
