"""`gridflow demo generate`: bulk-insert realistic cases in every stage into the demo database.

About 400 lines because it is one bulk writer that must keep each case's state, tasks, events
and timers consistent; its templates are in demo/templates.py.

Cases are copies of real template cases (demo/templates.py) with their own code,
place, category, source, urgency, department and times in working hours, over the past ~90
days or, for a database of more than ``DAILY_INTAKE × 90`` cases, over as many days as a
district taking ``DAILY_INTAKE`` a day needs for them (a million: about 16 months); a caller may
give the window (``window_days``) instead. Open cases are the recent ones: about a fifth of a
small demo, and never more than ``OPEN_BACKLOG`` (what such a district carries) of a large
database, so a million cases are 2.5 % open like a real one. Each generated case is consistent
with itself: its instance state holds its own values, its open tasks carry the role and scope the
process gives them, its due times and SLA flags agree with the timers that fired or are still
armed, and ``next_timer_at`` is the earliest armed timer, so the sweep carries on from there like
for any other case.

Known simplifications: self-handled reports are not generated; timers that are no longer
armed keep the template's times inside the state (nothing reads them); history steps are
on time except in the ``closed_late`` variant.
"""
from __future__ import annotations

import random
import re
import time
import zlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from models import Case, CaseCodeCounter, CaseEvent, Category, Department, Membership, OrgUnit, Task

from engine.lifecycle import cases as case_service
from engine.lifecycle.chain import link
from demo.templates import (STAGE_CLOCKS, VARIANTS, Template, build_templates, category_values,
                                 deployed_version_id)
from engine.access.org import scope_covers
from engine.runtime import Runtime

WINDOW_DAYS = 90
# A large district (Dongcheng and its neighbours take 1,500-3,000 cases a day) and the open
# cases it carries: about ten working days of intake waiting on some stage.
DAILY_INTAKE = 2000
OPEN_BACKLOG = 25_000
BATCH = 5000
# Share of generated cases per variant (open stages add up to about a fifth, like a busy centre;
# scaled down to OPEN_BACKLOG in a large database).
MIX = {"closed": 64, "closed_late": 8, "cancelled": 4, "duplicate": 2.5, "accept": 3, "supplement": 0.8,
       "dispatch": 1.5, "sign": 1.6, "handle": 6, "parked": 0.8, "extension": 0.7, "feedback": 1.6,
       "callback": 1.0, "verify": 2.0, "close": 1.2}
SOURCES = {"patrol": 40, "hotline": 30, "app": 12, "web": 6, "open311": 3, "referral": 4, "video": 5}
STREET_WORDS = ["南池子大街", "东华门大街", "灯市口大街", "王府井大街", "地安门东大街", "景山前街", "黄化门街",
                "交道口南大街", "南锣鼓巷", "北兵马司胡同", "菊儿胡同", "东四北大街", "美术馆后街", "沙滩北街"]
PROBLEMS = ["现场情况属实，影响通行", "居民多次反映，请尽快处理", "已持续数日", "位于小区出入口附近",
            "夜间尤其严重", "存在安全隐患", "周边商户反映强烈"]
NAMES = ["王先生", "李女士", "张先生", "刘女士", "陈先生", "杨女士", "赵先生", "黄女士"]


class WorkingTime:
    """Working minutes from a fixed origin, both ways, by table lookup (same results as
    BusinessCalendar.add within the table's window, about a thousand times faster)."""

    def __init__(self, rt: Runtime, start: date, end: date):
        cal = rt.calendar
        self.starts, self.ends, self.cum = [], [], []
        total, day = 0.0, start
        while day <= end:
            if cal.is_working_day(day):
                for begin, finish in cal.periods:
                    a = datetime.combine(day, begin, cal.tz).timestamp()
                    b = datetime.combine(day, finish, cal.tz).timestamp()
                    self.starts.append(a)
                    self.ends.append(b)
                    self.cum.append(total)
                    total += (b - a) / 60
            day += timedelta(days=1)
        self.cum_end = [c + (e - s) / 60 for c, s, e in zip(self.cum, self.starts, self.ends)]
        self.day_minutes = cal.day_length

    def minutes(self, t: datetime) -> float:
        ts = t.timestamp()
        i = bisect_right(self.starts, ts) - 1
        if i < 0:
            return 0.0
        return self.cum[i] + (min(ts, self.ends[i]) - self.starts[i]) / 60

    def at(self, x: float) -> datetime:
        i = min(bisect_left(self.cum_end, x), len(self.cum) - 1)
        return datetime.fromtimestamp(self.starts[i] + max(x - self.cum[i], 0) * 60, timezone.utc)


class PlainTime:
    """The 24/7 clock of emergencies in the same interface."""

    day_minutes = 24 * 60

    @staticmethod
    def minutes(t: datetime) -> float:
        return t.timestamp() / 60

    @staticmethod
    def at(x: float) -> datetime:
        return datetime.fromtimestamp(x * 60, timezone.utc)


@dataclass
class GenerateResult:
    cases: int
    seconds: float
    by_variant: dict[str, int]
    open_tasks: int


def generate_cases(sessions: sessionmaker, rt: Runtime, n: int, *, seed: int | None = None,
                   echo: Callable[[str], None] = lambda _: None, window_days: int | None = None) -> GenerateResult:
    """Insert ``n`` generated cases (added to what is there), closed ones within the past
    ``window_days`` (by default as many as the database's size asks, see above); return counts
    and the time taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    with sessions() as session:
        version_id = deployed_version_id(session, rt)
        templates = build_templates(session, sessions, rt)
        echo(f"{len(templates)} templates driven through the engine in {time.perf_counter() - started:.1f} s")
        total = (session.scalar(select(func.count()).select_from(Case)) or 0) + n
        world = _World(session, rt, version_id, rng, templates, total, window_days)
        echo(f"closed cases over {world.window_days} days, {world.open_share:.1%} open")
    by_variant: dict[str, int] = {}
    open_tasks = 0
    with sessions() as session:
        conn = session.connection()
        next_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
        counters = {d: last for d, last in session.execute(select(CaseCodeCounter.day, CaseCodeCounter.last))}
        touched: set[date] = set()
        done = 0
        while done < n:
            size = min(BATCH, n - done)
            cases, tasks, events = [], [], []
            for i in range(size):
                row, trows, erows, variant = world.make(next_id, counters, touched)
                next_id += 1
                cases.append(row)
                tasks += trows
                events += erows
                by_variant[variant] = by_variant.get(variant, 0) + 1
                open_tasks += sum(1 for t in trows if t["status"] == "open")
            conn.execute(insert(Case.__table__), cases)
            conn.execute(insert(Task.__table__), tasks)
            conn.execute(insert(CaseEvent.__table__), events)
            done += size
            echo(f"  {done}/{n} cases ({time.perf_counter() - started:.0f} s)")
        for day in touched:
            if session.execute(update(CaseCodeCounter).where(CaseCodeCounter.day == day)
                               .values(last=counters[day])).rowcount == 0:
                session.add(CaseCodeCounter(day=day, last=counters[day]))
        if conn.dialect.name == "postgresql":  # ids were given explicitly; move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('grid_case', 'id'), "
                              "(SELECT max(id) FROM grid_case))"))
        session.commit()
    analyze(sessions)
    return GenerateResult(n, round(time.perf_counter() - started, 1), by_variant, open_tasks)


def analyze(sessions: sessionmaker) -> None:
    """Refresh the planner's statistics after a bulk insert (SQLite needs them to pick the inbox indexes)."""
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        # VACUUM also sets the visibility map, without which PostgreSQL cannot answer the
        # inbox counts from the index alone after a bulk insert.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) grid_case, task, case_event"))
        return
    with sessions() as session:
        session.execute(text("ANALYZE"))
        session.commit()


class _World:
    """What a generated case is drawn from, and how one is made."""

    def __init__(self, session: Session, rt: Runtime, version_id: int, rng: random.Random,
                 templates: dict[tuple[str, bool, int], Template], total: int, window_days: int | None = None):
        self.rt, self.rng, self.version_id, self.templates = rt, rng, version_id, templates
        self.bundle = rt.bundle(session, version_id)
        self.cycles: dict[str, tuple[int, float]] = {}  # recurring timers: (cycles, seconds)
        self.timer_exprs = {k: dict(v) for k, v in rt.workflows.boundary_timers(self.bundle).items()}
        self.limits = category_values(session, rt, version_id)
        self.now = rt.clock()
        self.window_days = window_days or max(WINDOW_DAYS, -(-total // DAILY_INTAKE))
        today = self.now.astimezone(rt.calendar.tz).date()
        self.work = WorkingTime(rt, today - timedelta(days=self.window_days + 120), today + timedelta(days=240))
        self.units = {u.code: u for u in session.scalars(select(OrgUnit))}
        self.grids = [u for u in self.units.values() if u.level == "grid"]
        self.categories = list(session.scalars(select(Category).where(Category.active.is_(True))))
        self.cat_weights = [0.3 if c.emergency else 1.0 for c in self.categories]
        self.departments = {d.code for d in session.scalars(select(Department))}
        self.memberships = session.execute(select(Membership.role, Membership.scope_key, Membership.user_id)
                                           .order_by(Membership.user_id)).all()
        self._actors: dict[tuple[str, str], int | None] = {}
        self.variants = list(MIX)
        self.variant_weights, self.open_share = _mix(total)
        self.last_by_street: dict[str, tuple[int, str]] = {}
        self.prefix = rt.settings["CASE_CODE_PREFIX"]

    def actor(self, role: str, scope: str) -> int | None:
        key = (role, scope)
        if key not in self._actors:  # the nearest holder of the role: the street's clerk before the district's
            holders = sorted((-len(s), uid) for r, s, uid in self.memberships if r == role and scope_covers(s, scope))
            self._actors[key] = holders[0][1] if holders else None
        return self._actors[key]

    def ancestors(self, grid: OrgUnit) -> dict[str, OrgUnit]:
        codes = [c for c in grid.path.split("/") if c]
        return {self.units[c].level: self.units[c] for c in codes}

    # -- one case -------------------------------------------------------------------------------
    def make(self, case_id: int, counters: dict, touched: set):
        rng = self.rng
        grid = rng.choice(self.grids)
        units = self.ancestors(grid)
        street = units["street"]
        category = rng.choices(self.categories, self.cat_weights)[0]
        source = rng.choices(list(SOURCES), list(SOURCES.values()))[0]
        resident = source in self.rt.settings["RESIDENT_SOURCES"]
        urgency = "urgent" if rng.random() < 0.1 else "normal"
        variant = rng.choices(self.variants, self.variant_weights)[0]
        if variant == "callback" and not resident:
            variant = "verify"
        original = self.last_by_street.get(street.code)
        if variant == "duplicate" and original is None:
            variant = "cancelled"
        name = variant if resident or variant not in ("verify", "close", "closed", "closed_late") else variant + "/patrol"
        limits = self.limits[category.code, urgency, street.area_type]
        level = limits["level"] or "department"
        dept = limits["department_code"] or category.default_department
        if level == "department" and dept not in self.departments:
            level = "street"
        handler_scope = {"grid": grid.path, "community": units["community"].path,
                         "street": street.path}.get(level, f"dept:{dept}")
        values = case_service.case_data(self.rt, "", category, units | {"grid": grid}, source, urgency)
        values.update({k: v for k, v in limits.items() if k not in ("level", "department_code")})
        values.update(level=level, department_code=dept if level == "department" else None,
                      handler_scope=handler_scope, approval_scope=street.path, verify_scope=grid.path,
                      recommended_level=level, recommended_department=dept if level == "department" else None,
                      duplicate_of=original[1] if original else None)
        clock = PlainTime if category.emergency else self.work
        first = self.templates[name, VARIANTS[name][1], 0]
        times, template, timer_times = self._times(first, clock, values, rng)
        created = times[0]
        day = created.astimezone(self.rt.calendar.tz).date()
        counters[day] = seq = counters.get(day, 0) + 1
        touched.add(day)
        code = values["case_code"] = f"{self.prefix}{day:%Y%m%d}{seq:05d}"
        self.last_by_street[street.code] = (case_id, code)
        return self._rows(case_id, code, template, times, timer_times, values, clock, grid, category, source,
                          urgency, original, variant)

    def _times(self, template: Template, clock, values: dict, rng: random.Random):
        """Place the template's steps in time; return their times and the template version that fits."""
        steps, tasks = template.steps, template.tasks
        rel = [0.0] * len(steps)
        late = {s.bpmn_id for s in steps if s.kind == "fire"}
        for j, step in enumerate(steps):
            if step.kind != "task":
                rel[j] = rel[j - 1] if j else 0.0
                continue
            task = next(t for t in tasks if t["finished_step"] == j and t["bpmn_id"] == step.bpmn_id)
            limit = self._limit(task["bpmn_id"], values, clock) or clock.day_minutes
            begin = rel[task["created_step"]]
            if step.bpmn_id in late:
                rel[j] = begin + limit + rng.uniform(5, 100)
            else:
                rel[j] = begin + limit * rng.uniform(0.05, 0.75)
        now_x = clock.minutes(self.now)
        if template.row["status"] != "open":
            end = now_x - rng.uniform(60, self.window_days * clock.day_minutes * 5 / 7 if clock is self.work
                                      else self.window_days * clock.day_minutes)
            shift = end - rel[-1]
        else:
            open_row = next((t for t in tasks if t["status"] == "open" and t["bpmn_id"] == template.open_task), None)
            limit = self._limit(template.open_task, values, clock) if open_row else None
            if open_row is None or limit is None:  # waiting for the reporter, or parked: no clock
                shift = now_x - rng.uniform(0.1, 10) * clock.day_minutes - rel[-1]
            else:
                elapsed = rng.choices([rng.uniform(0.02, 0.8), rng.uniform(0.8, 1.0), rng.uniform(1.0, 4.0)],
                                      [62, 16, 22])[0]
                shift = now_x - elapsed * limit - rel[open_row["created_step"]]
        times = [clock.at(x + shift) for x in rel]
        self._clock_values(template, times, values, clock, rel, shift)
        timer_times = self._timer_times(template, values)
        if template.timers:
            k = sum(1 for t in timer_times.values() if t < self.now)
            template = self.templates[template.variant, template.resident, k]
            times += [timer_times[t] for t in template.timers[:k]]
        return times, template, timer_times

    def _limit(self, bpmn_id: str | None, values: dict, clock) -> float | None:
        """Working minutes a task has, from its ``due`` property (a stage clock or ``deadline(hours=…)``)."""
        node = self.bundle.node(bpmn_id) if bpmn_id else None
        due = node.properties.get("due", "") if node else ""
        if due.endswith("_due") and due[:-4] in STAGE_CLOCKS:
            hours_key, days_key = STAGE_CLOCKS[due[:-4]]
            return float(values[hours_key] or 0) * 60 + float(values[days_key] or 0 if days_key else 0) * clock.day_minutes
        if due.startswith("deadline(hours=") and due.endswith(")"):
            return float(values[due[len("deadline(hours="):-1]]) * 60
        return None

    def _clock_values(self, template: Template, times, values, clock, rel, shift) -> None:
        """Set <stage>_started / <stage>_due of every stage clock the case went through."""
        for t in template.tasks:
            node = self.bundle.node(t["bpmn_id"])
            due = node.properties.get("due", "")
            if due.endswith("_due") and due[:-4] in STAGE_CLOCKS:
                stage = due[:-4]
                begin = rel[t["created_step"]] + shift
                values[f"{stage}_started"] = clock.at(begin).isoformat()
                values[f"{stage}_due"] = clock.at(begin + self._limit(t["bpmn_id"], values, clock)).isoformat()
                if t["bpmn_id"] == "handle" and t["finished_step"] is not None:
                    end = rel[t["finished_step"]] + shift
                    values["handle_remaining"] = max(begin + self._limit("handle", values, clock) - end, 0) / 60

    def _timer_times(self, template: Template, values: dict) -> dict[str, datetime]:
        if not template.timers:
            return {}
        exprs = self.timer_exprs.get(template.open_task, {})
        times = {}
        for t in template.timers:
            value = str(self.rt.workflows.evaluate(exprs[t], values))
            if value.startswith("R"):  # a timeCycle: its next firing is the interval's start
                cycles, start, seconds = _repeating_interval(value)
                self.cycles[t] = (cycles, seconds)
                times[t] = start
            else:
                times[t] = datetime.fromisoformat(value)
        return times

    def _rows(self, case_id, code, template: Template, times, timer_times, values, clock, grid, category, source,
              urgency, original, variant):
        for t, at in timer_times.items():
            if t in self.cycles:  # the stored form of a recurring timer (engine.workflow)
                cycles, seconds = self.cycles[t]
                values[f"timer:{t}"] = {"cycles": cycles, "next": at.isoformat(), "duration": seconds}
            else:
                values[f"timer:{t}"] = at.isoformat()
        state_raw = bytearray(template.state_parts[0])
        for key, part in zip(template.state_keys, template.state_parts[1:]):
            state_raw += orjson.dumps(values.get(key))
            state_raw += part
        state = self.rt.workflows.STATE_FORMAT + zlib.compress(bytes(state_raw), 1)
        last = times[len(template.steps) - 1] if len(times) >= len(template.steps) else times[-1]
        step_time = lambda j: times[j] if j < len(times) else last
        reporter = self.actor("grid_worker", grid.path) if source == "patrol" else \
            self.actor("acceptance_clerk", values["street_scope"])
        task_rows, due_times, open_dues = [], {}, []
        for t in template.tasks:
            node = self.bundle.node(t["bpmn_id"])
            scope = values.get(node.properties.get("scope", ""))
            created = step_time(t["created_step"])
            limit = self._limit(t["bpmn_id"], values, clock)
            due = clock.at(clock.minutes(created) + limit) if limit is not None else None
            if node.properties.get("sla") and due is not None:
                due_times[node.properties["sla"]] = due.isoformat()
            finished = t["finished_step"]
            if t["status"] == "open" and due is not None:
                open_dues.append(due)
            role = t["role"]
            task_rows.append({
                "case_id": case_id, "spiff_id": t["spiff_id"], "bpmn_id": t["bpmn_id"], "name": t["name"],
                "stage": t["stage"], "role": role, "scope_key": scope, "form_key": t["form_key"],
                "status": t["status"], "created_at": created, "due_at": due, "due_estimated": False,
                "completed_at": step_time(finished) if finished is not None else None,
                "completed_by_id": self.actor(role, scope) if t["status"] == "completed" else None,
                "assignee_id": None, "version": 1})
        completer = {t["finished_step"]: r["completed_by_id"] for t, r in zip(template.tasks, task_rows)
                     if t["status"] == "completed"}
        event_rows = []
        for e in template.events:
            data = dict(e["data"] or {})
            if e["kind"] == "reported":
                data.update(category_code=category.code, grid_code=grid.code, source=source, urgency=urgency)
            elif e["kind"] == "task_completed":
                for key in ("level", "department_code", "duplicate_of"):
                    if key in data:
                        data[key] = values[key]
            elif e["kind"] == "timer" and "due" in data:
                data["due"] = step_time(e["step"]).isoformat()
            actor = reporter if e["kind"] == "reported" else completer.get(e["step"]) \
                if e["kind"] == "task_completed" else None
            event_rows.append({"case_id": case_id, "at": step_time(e["step"]), "actor_id": actor, "kind": e["kind"],
                               "task_bpmn_id": e["task_bpmn_id"], "task_name": e["task_name"],
                               "from_stage": e["from_stage"], "to_stage": e["to_stage"], "data": data})
        event_rows = link(event_rows, 0, "")  # each copied case starts its own hash chain
        row = template.row
        status = row["status"]
        pending = [at for t, at in timer_times.items() if t not in template.timers[:template.fired]]
        lat, lng = self._point(grid)
        case_row = {
            "id": case_id, "code": code, "category_id": category.id, "grid_id": grid.id, "scope_path": grid.path,
            "address": f"{self.rng.choice(STREET_WORDS)}{self.rng.randint(1, 199)}号", "lat": lat, "lng": lng,
            "description": f"{category.name}：{self.rng.choice(PROBLEMS)}", "source": source, "urgency": urgency,
            "reporter_name": self.rng.choice(NAMES) if source in self.rt.settings["RESIDENT_SOURCES"] else "",
            "reporter_phone": f"139{self.rng.randint(0, 99999999):08d}" if source in self.rt.settings["RESIDENT_SOURCES"] else "",
            "self_handled": False, "status": status, "stage": row["stage"],
            "department_code": values["department_code"] if row["dispatched"] else None,
            "due_times": due_times, "due_at": min(open_dues) if open_dues and status == "open" else None,
            "at_risk": row["at_risk"], "overdue": row["overdue"], "escalation_level": row["escalation_level"],
            "calendar_estimated": False, "incident": None,
            "duplicate_of_id": original[0] if variant == "duplicate" else None,
            "reported_by_id": reporter, "process_version_id": self.version_id, "state": state, "version": 1,
            "next_timer_at": min(pending) if pending and status == "open" else None,
            "created_at": times[0], "updated_at": max(times), "closed_at": last if status != "open" else None,
            "event_seq": len(event_rows),
        }
        return case_row, task_rows, event_rows, variant

    def _point(self, grid: OrgUnit):
        if grid.bbox:
            x0, y0, x1, y1 = grid.bbox
            return round(self.rng.uniform(y0, y1), 6), round(self.rng.uniform(x0, x1), 6)
        return grid.lat, grid.lng


CLOSED_VARIANTS = ("closed", "closed_late", "cancelled", "duplicate")


def _mix(total: int) -> tuple[list[float], float]:
    """MIX's weights for a database of ``total`` cases, the open variants scaled down so that at
    most OPEN_BACKLOG of them are open; and the share of open cases that gives."""
    closed = sum(w for v, w in MIX.items() if v in CLOSED_VARIANTS)
    opened = sum(MIX.values()) - closed
    share = min(opened / (closed + opened), OPEN_BACKLOG / max(total, 1))
    factor = share * closed / (opened * (1 - share))
    return [w if v in CLOSED_VARIANTS else w * factor for v, w in MIX.items()], share


def _repeating_interval(text: str) -> tuple[int, datetime, float]:
    """Read ``R[n]/<start>/PT<m>M`` (what ``every()`` gives): cycles (-1 = unbounded), start, seconds."""
    count, start, period = text.split("/")
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", period)
    if match is None:
        raise ValueError(f"unsupported timeCycle interval {period!r}")
    h, m, sec = (int(g or 0) for g in match.groups())
    return (int(count[1:]) if count[1:] else -1), datetime.fromisoformat(start), float(h * 3600 + m * 60 + sec)
