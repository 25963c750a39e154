"""What the flow elements with an ``effect`` property do to a case: flags, escalation, notices."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import Case, Task

from engine.access.members import members, task_people
from engine.errors import ProcessFailure
from engine.process.policy import Policy
from engine.runtime import Runtime
from engine.spiff import Effect


@dataclass(frozen=True)
class Notice:
    """Tell these users this message about the case (written by engine/outbound).

    ``texts`` holds the message in every language of notices.toml; each recipient reads it in
    their own language, else in ``default_locale``."""

    user_ids: frozenset[int]
    kind: str
    texts: dict[str, str]
    default_locale: str = "zh"
    topic: str | None = None  # told once per person (see Notification.topic); None: every time

    def text_for(self, locale: str | None) -> str:
        return self.texts.get(locale or "") or self.texts.get(self.default_locale) or next(iter(self.texts.values()), "")


def apply_effect(session: Session, rt: Runtime, case: Case, effect: Effect, changes: dict,
                 open_rows: list[Task], now) -> list[Notice]:
    """Set the flag an effect stands for in ``changes``; return the notices for the people it concerns."""
    policy = rt.policy_of(session, case.process_version_id)
    props = effect.properties
    stage = props.get("stage")
    concerned = [t for t in open_rows if t.status == "open" and (stage is None or t.stage == stage)]
    # A stage with its own clock (a 督办 reply) warns and is late for itself, never for the case.
    flags_case = not policy.own_clock(stage)
    if effect.kind == "warning":
        if flags_case:
            changes["at_risk"] = True
        people = task_people(session, concerned, rt.role_cache)
    elif effect.kind == "overdue":
        # The late task's people and the first level of its ladder; the ladder tells the rest.
        if flags_case:
            changes["overdue"] = True
        people = task_people(session, concerned, rt.role_cache) | _level_people(session, rt, policy, effect)
    elif effect.kind == "escalate":
        rank = _level(policy, effect).rank
        changes["escalation_level"] = max(changes.get("escalation_level", case.escalation_level or 0), rank)
        people = _level_people(session, rt, policy, effect)
    elif effect.kind in ("closed", "reopened"):
        # The case's status follows the process: closed at 结案 even while the process still
        # waits (for the resident's rating); open again when a review reopens it.
        closed = effect.kind == "closed"
        changes.update(status="closed" if closed else "open", closed_at=now if closed else None)
        return []
    elif effect.kind == "notify":
        scope = props.get("notify_scope")
        people = members(session, props.get("role", ""), scope, cache=rt.role_cache) if scope else set()
        data = dict(props.get("data") or {}, case_code=case.code)
        return [Notice(frozenset(people), "notice", policy.notice(props.get("notice", ""), data),
                       policy.default_locale)]
    else:
        raise ProcessFailure(f"{effect.bpmn_id}: unknown effect {effect.kind!r} "
                             "(warning, overdue, escalate, notify, closed or reopened)")
    kind = "escalated" if effect.kind == "escalate" else effect.kind
    texts = policy.notice(kind, {"case_code": case.code, "stage": stage, "level": props.get("level")})
    # An escalation repeats on its cycle while the task stays late: each level is news once per
    # late task (a task opened again, after a reopening say, is news again).
    topic = (f"escalated:{stage or ''}:{props.get('level')}:" + ",".join(str(t.id) for t in concerned)
             if effect.kind == "escalate" else None)
    return [Notice(frozenset(people), kind, texts, policy.default_locale, topic[:200] if topic else None)]


def _level(policy: Policy, effect: Effect):
    level = policy.levels.get(effect.properties.get("level", ""))
    if level is None:
        raise ProcessFailure(f"{effect.bpmn_id}: {effect.kind} needs level {', '.join(policy.levels)}, "
                             f"not {effect.properties.get('level')!r}")
    return level


def _level_people(session: Session, rt: Runtime, policy: Policy, effect: Effect) -> set[int]:
    """Holders of the level's roles (policy.toml) in exactly the unit the effect's ``notify`` names."""
    level, scope = _level(policy, effect), effect.properties.get("notify_scope")
    people: set[int] = set()
    if scope:
        for role in level.roles:
            people |= members(session, role, scope, exact=True, cache=rt.role_cache)
    return people
