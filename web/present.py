"""How things read on the pages: names of stages, sources and roles in the user's language,
times in the city's time zone, countdowns in working time, and timeline events in words."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask import current_app, g
from flask_babel import get_locale, gettext as _, lazy_gettext as l_, ngettext

from engine.public import tracking

from web.db import runtime



class _Stages(Mapping):
    """Stage code → name in the user's language, from the stage vocabulary (processes/stages.toml)."""

    def _names(self) -> dict[str, str]:
        policy = runtime().policy
        return {code: policy.stage_name(code, lang()) for code in policy.stages}

    def __getitem__(self, code: str) -> str:
        return self._names()[code]

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(runtime().policy.stages)


STAGES = _Stages()
SOURCES = {"patrol": l_("Patrol"), "hotline": l_("12345 hotline"), "app": l_("App"), "web": l_("Website"),
           "open311": l_("Open311"), "referral": l_("Referral"), "video": l_("Video")}
URGENCIES = {"normal": l_("Normal"), "urgent": l_("Urgent")}
STATUSES = {"open": l_("Open"), "closed": l_("Closed"), "cancelled": l_("Cancelled"), "duplicate": l_("Duplicate")}
ROLES = {"grid_worker": l_("Grid worker"), "acceptance_clerk": l_("Acceptance clerk"),
         "shift_leader": l_("Shift leader"), "dispatcher": l_("Dispatcher"),
         "department_handler": l_("Department handler"), "supervisor": l_("Supervisor"),
         "process_designer": l_("Process designer"), "admin": l_("Administrator")}
LEVELS = {"community": l_("community"), "street": l_("street"), "district": l_("district")}
ORG_LEVELS = {"city": l_("city"), "grid": l_("grid"), **LEVELS}
# A deadline moved by something other than a task (a task's own name is shown otherwise).
REASONS = {"message": l_("a message from the reporter"), "timer": l_("a deadline timer"),
           "reported": l_("the report"), "migrated": l_("a process migration")}


def lang() -> str:
    locale = get_locale()
    return locale.language if locale else "zh"


def label(text: str | None) -> str:
    """A text drawn in the process (task, field, choice) in the user's language."""
    if lang() == "zh" or not text:
        return text or ""
    return current_app.extensions["gridflow.labels"].get(text, lang())


def named(obj, attr: str = "name") -> str:
    """An org unit's, category's or department's name in the user's language."""
    if obj is None:
        return ""
    if lang() != "zh":
        return getattr(obj, f"{attr}_en", "") or getattr(obj, attr)
    return getattr(obj, attr)


def stage_name(code: str | None) -> str:
    return runtime().policy.stage_name(code, lang())


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, str):  # an ISO time kept in JSON (a simulation's deadlines)
        value = datetime.fromisoformat(value)
    return value.astimezone(runtime().calendar.tz).strftime(fmt)


def countdown(due: datetime | None, now: datetime, emergency: bool = False) -> dict:
    """Time left to ``due`` in working time (plain time for emergencies), as words and a state."""
    if due is None:
        return {"text": "", "state": "none", "hours": None}
    cal = runtime().calendar
    if due <= now:
        hours = cal.working_hours_between(due, now, emergency=emergency)
        return {"text": _("overdue by %(t)s", t=_span(hours)), "state": "overdue", "hours": -hours}
    hours = cal.working_hours_between(now, due, emergency=emergency)
    return {"text": _("%(t)s left", t=_span(hours)), "state": "ok", "hours": hours}


def _span(hours: float) -> str:
    minutes = int(round(hours * 60))
    if minutes < 60:
        return _("%(m)d min", m=max(minutes, 0))
    h, m = divmod(minutes, 60)
    return _("%(h)d h %(m)d min", h=h, m=m) if m else _("%(h)d h", h=h)


def field_value(node, key: str, value, departments: dict | None = None) -> tuple[str, str]:
    """A submitted form value as (label, words): enum ids become their names."""
    spec = next((f for f in (node.fields if node else ()) if f.id == key), None)
    if spec is None:
        return key, str(value)
    if "department" in dict(spec.constraints) and departments and str(value) in departments:
        return label(spec.label), named(departments[str(value)])
    if dict(spec.properties).get("widget") == "photos":
        count = len([ref for ref in str(value).split(",") if ref.strip()])
        return label(spec.label), ngettext("%(num)d photo", "%(num)d photos", count)
    if spec.options:
        value = dict(spec.options).get(str(value), value)
        return label(spec.label), label(str(value))
    if isinstance(value, bool):
        return label(spec.label), _("yes") if value else _("no")
    return label(spec.label), str(value)


def event_sentence(event, node=None) -> str:
    """One timeline event in words (who is shown separately)."""
    kind, data = event.kind, event.data or {}
    task = label(event.task_name)
    if kind == "reported":
        return _("reported the case (%(source)s)", source=SOURCES.get(data.get("source"), data.get("source") or ""))
    if kind == "task_completed":
        return _("completed “%(task)s”", task=task)
    if kind == "message":
        if data.get("message") == tracking.SUPPLEMENT:
            return _("the reporter sent the requested supplement")
        if data.get("message") == tracking.RATING:
            return _("the resident rated the result")
        return _("message received: %(name)s", name=data.get("message", ""))
    if kind == "timer":
        return _("a deadline timer fired")
    if kind == "warning":
        return _("%(stage)s is close to its deadline", stage=stage_name(data.get("stage")))
    if kind == "overdue":
        return _("%(stage)s is overdue", stage=stage_name(data.get("stage")))
    if kind == "escalated":
        return _("escalated to the %(level)s for supervision", level=runtime().policy.level_name(data.get("level"), lang()))
    if kind == "due_changed":
        old, new = _parse(data.get("old")), _parse(data.get("new"))
        return _("deadline of %(stage)s moved from %(old)s to %(new)s (%(reason)s)",
                 stage=stage_name(data.get("sla")), old=local_time(old), new=local_time(new),
                 reason=str(REASONS.get(data.get("reason"), label(data.get("reason", "")))))
    if kind == "closed":
        return _("the case was closed")
    if kind == "reopened":
        return _("the case was reopened for handling")
    if kind == "claimed":
        return _("took “%(task)s”", task=task)
    if kind == "unclaimed":
        return _("gave “%(task)s” back to the team", task=task)
    if kind == "released":
        if data.get("reason") == "deactivated":
            return _("gave “%(task)s” back to the team: %(name)s was deactivated", task=task,
                     name=data.get("from", ""))
        return _("gave “%(task)s” back to the team from %(name)s", task=task, name=data.get("from", ""))
    if kind == "assigned":
        return _("assigned “%(task)s” to %(name)s", task=task, name=data.get("to", ""))
    if kind == "attachment_added":
        return _("attached a photo: %(name)s", name=data.get("filename", ""))
    if kind == "commented":
        return _("added a comment")
    if kind == "incident":
        return _("a step could not run: %(error)s", error=data.get("error", ""))
    if kind == "migrated":
        return _("%(by)s moved the case to process version %(version)s",
                 by=data.get("by", ""), version=data.get("to_version", ""))
    if kind == "retried":
        return _("an administrator retried the case's timers")
    return kind


def event_details(event, node=None, departments: dict | None = None) -> list[tuple[str, str]]:
    """The values a task completion submitted, as (label, words) pairs."""
    if event.kind not in ("task_completed", "reported", "message"):
        return []
    data = event.data or {}
    if event.kind == "reported":
        return []
    return [field_value(node, k, v, departments) for k, v in data.items() if k != "message" and v not in (None, "")]


def _parse(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def template_helpers() -> dict:
    return {"stage_name": stage_name, "label": label, "duration": _span, "named": named, "local_time": local_time,
            "SOURCES": SOURCES, "URGENCIES": URGENCIES, "STATUSES": STATUSES, "ROLES": ROLES, "LEVEL_NAMES": ORG_LEVELS,
            "STAGES": STAGES, "lang": lang, "event_sentence": event_sentence, "event_details": event_details, "field_value": field_value,
            "current_user": lambda: g.get("user")}
