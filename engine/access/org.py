"""Org codes, scope keys and the rule of who may see or take a task (lanes are roles: see
processes/policy.toml)."""
from __future__ import annotations

import re

from models import User

_SHAPES = {
    "city": re.compile(r"^\d{6}$"),
    "district": re.compile(r"^\d{6}$"),
    "street": re.compile(r"^\d{6}(0\d\d|1\d\d|[23]\d\d)$"),
    "community": re.compile(r"^\d{9}([0-3]\d\d)$"),
}
DEPT_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")


def check_org_code(level: str, code: str, parent_code: str | None, grid_code_length: int) -> str | None:
    """Return what is wrong with an org code, or None when it has the right shape."""
    if level == "grid":
        if not (code.isdigit() and len(code) == grid_code_length):
            return f"grid code must be {grid_code_length} digits"
        if parent_code and not code.startswith(parent_code):
            return "grid code must start with its community's code"
        return None
    shape = _SHAPES.get(level)
    if shape is None:
        return f"unknown org level {level!r}"
    if not shape.match(code):
        return {"city": "city code must be 6 digits", "district": "district code must be 6 digits (GB/T 2260)",
                "street": "street code must be 9 digits: district + 001-399",
                "community": "community code must be 12 digits: street + 001-399"}[level]
    if level in ("street", "community") and parent_code and not code.startswith(parent_code):
        return f"{level} code must start with its parent's code"
    return None


def check_department_code(code: str) -> str | None:
    return None if DEPT_CODE.match(code) else "department code must be 1-20 upper-case letters, digits or _"


def department_scope(code: str) -> str:
    return f"dept:{code}"


def scope_covers(member_scope: str, target_scope: str) -> bool:
    """True when a membership scope includes the target: same department, or an org ancestor."""
    if member_scope.startswith("dept:") or target_scope.startswith("dept:"):
        return member_scope == target_scope
    return target_scope.startswith(member_scope)



def may_take(user: User, role: str, scope_key: str) -> bool:
    return any(m.role == role and scope_covers(m.scope_key, scope_key) for m in user.memberships)


def may_see_case(user: User, case_scope: str, extra_scopes: list[str] = ()) -> bool:
    """A user sees a case in their org subtree, or one whose open task is in their department."""
    for m in user.memberships:
        if scope_covers(m.scope_key, case_scope) or any(scope_covers(m.scope_key, s) for s in extra_scopes):
            return True
    return False


__all__ = ["check_org_code", "check_department_code",
           "department_scope", "scope_covers", "may_take", "may_see_case"]
