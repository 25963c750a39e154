"""What the flow elements with an ``effect`` property do to a case: flags, escalation, notices."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import Case, Task

from engine.access.members import members, task_people
from engine.errors import ProcessFailure
from engine.process.policy import ESCALATION_LEVELS
from engine.runtime import Runtime
from engine.spiff import Effect
from engine.spiff import TEMPLATE_FIELD

ESCALATION_ROLES = ("supervisor", "shift_leader")

STAGE_NAMES = {"accept": "受理", "dispatch": "派遣", "sign": "签收", "handle": "处置", "verify": "核查",
               "close": "结案", "feedback": "反馈", "callback": "回访", "extension": "延期审批"}
MESSAGES = {
    "warning": "案件 {code} 的{stage}环节即将到期，请尽快办理。",
    "overdue": "案件 {code} 的{stage}环节已超期。",
    "escalated": "案件 {code} 已超期未办结，升级督办（{level}）。",
}


@dataclass(frozen=True)
class Notice:
    """Tell these users this message about the case (written by engine/outbound)."""

    user_ids: frozenset[int]
    kind: str
    message: str


def apply_effect(session: Session, rt: Runtime, case: Case, effect: Effect, changes: dict,
                 open_rows: list[Task], now) -> list[Notice]:
    """Set the flag an effect stands for in ``changes``; return the notices for the people it concerns."""
    props = effect.properties
    stage = props.get("stage")
    concerned = [t for t in open_rows if t.status == "open" and (stage is None or t.stage == stage)]
    if effect.kind == "warning":
        changes["at_risk"] = True
        people = task_people(session, concerned, rt.role_cache)
    elif effect.kind == "overdue":
        changes["overdue"] = True
        people = task_people(session, concerned, rt.role_cache)
        people |= members(session, "supervisor", case.scope_path, cache=rt.role_cache)
    elif effect.kind == "escalate":
        rank = ESCALATION_LEVELS.get(props.get("level", ""))
        if rank is None:
            raise ProcessFailure(f"{effect.bpmn_id}: escalate needs level "
                                 f"{', '.join(ESCALATION_LEVELS)}, not {props.get('level')!r}")
        changes["escalation_level"] = max(changes.get("escalation_level", case.escalation_level or 0), rank)
        scope = props.get("notify_scope")
        people = set()
        if scope:
            for role in _roles(props.get("role")):
                people |= members(session, role, scope, exact=True, cache=rt.role_cache)
    elif effect.kind in ("closed", "reopened"):
        # The case's status follows the process: closed at 结案 even while the process still
        # waits (for the resident's rating); open again when a review reopens it.
        closed = effect.kind == "closed"
        changes.update(status="closed" if closed else "open", closed_at=now if closed else None)
        return []
    elif effect.kind == "notify":
        scope = props.get("notify_scope")
        people = members(session, props.get("role", ""), scope, cache=rt.role_cache) if scope else set()
        return [Notice(frozenset(people), "notice", fill(props.get("message", ""), props.get("data", {}))[:500])]
    else:
        raise ProcessFailure(f"{effect.bpmn_id}: unknown effect {effect.kind!r} "
                             "(warning, overdue, escalate, notify, closed or reopened)")
    kind = "escalated" if effect.kind == "escalate" else effect.kind
    return [Notice(frozenset(people), kind, message_for(kind, case.code, stage, props.get("level")))]


def _roles(listed: str | None) -> list[str]:
    """The roles an escalation tells: the ``role`` property (comma-separated) or supervisors and shift leaders."""
    roles = [r.strip() for r in (listed or "").split(",") if r.strip()]
    return roles or list(ESCALATION_ROLES)


def fill(template: str, data: dict) -> str:
    """Fill ``{name}`` placeholders from case data (names only; a missing one becomes empty)."""
    return TEMPLATE_FIELD.sub(lambda m: "" if data.get(m.group(1)) is None else str(data[m.group(1)]), template)


def message_for(kind: str, code: str, stage: str | None = None, level: str | None = None) -> str:
    return MESSAGES[kind].format(code=code, stage=STAGE_NAMES.get(stage or "", stage or ""),
                                 level={"community": "社区", "street": "街道", "district": "区"}.get(level or "", level or ""))
