"""Impact simulation: what a draft would have done to the cases of the last N days. Writes nothing.

For the cases reported in the period (by the engine's clock) it reads what the engine recorded —
the case row, its task completions with their answers, messages and timer firings (case events),
and, where a deadline moves, the due and completion times of its tasks — and compares:

- routing: the routing decision (the table a department field is prefilled from) of the version
  new cases start on now against the draft's, on each case's own inputs; dispatched cases as a
  from → to table, cases never dispatched counted apart;
- decisions: every decision table that reads only a case's starting data, current against draft;
- flow: each case's history replayed in memory through its own version and through the draft
  (engine.process.replay): the same path, another path (after which element), a stop (where, why),
  or a history its own version does not reproduce (``not_replayed``);
- deadlines: every due time both replays make, worked out again over each case's own step times
  with the working-hour calendar, against the recorded one; closed cases whose last handling
  (assessment.toml ``due_to_close.on_time_by``) was on time and would be late, and the reverse.

Alike cases are replayed once: the same version, the same recorded steps (a free-text answer by its
length unless a condition reads it), the same starting data apart from the case's code and place
(which decide who works on it, not the path) and from what only decision tables read (the tables'
outputs count instead). Each distinct input of a decision table is evaluated once.

Under 500 lines: reading the history, grouping and the per-case results are one pass that must
agree on what a case is; the replay is engine.process.replay and storing a run simulation_runs.
"""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import orjson
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Category, OrgUnit, ProcessVersion, Task, User

from engine.errors import InputError, Message, NotFound
from engine.lifecycle.cases import case_data
from engine.process import deploy as deploying
from engine.process.assessment import definitions_of
from engine.process.replay import Comparison, ReplayClock, Step, compare, due_at
from engine.process.variables import CASE_START_VARIABLES, variable_uses
from engine.runtime import Runtime
from engine.spiff import ProcessBundle, ProcessError, WorkflowEngine, flow_graph

# The recorded steps a replay takes, and the start variables that say which case it is and where:
# they decide who works on it (scopes, the reporter), not where it goes.
HISTORY_KINDS = ("task_completed", "message", "timer")
PLACE_VARIABLES = frozenset({"case_code", "reported_by", "grid_code", "community_code", "street_code",
                             "district_code", "grid_scope", "community_scope", "street_scope", "district_scope"})
# Read by the expression functions themselves (an emergency runs on the 24/7 clock).
IMPLICIT_VARIABLES = frozenset({"emergency"})
CHUNK = 900


@dataclass
class CaseResult:
    case_id: int
    code: str
    status: str
    dispatched: bool
    route_from: str | None      # department code the current routing recommends ("@level" without one)
    route_to: str | None        # ... and the draft's
    decisions: tuple[str, ...]  # business-rule tasks whose outputs the draft changes for this case
    flow: str                   # same, other_path, stops, not_replayed
    flow_element: str | None
    flow_detail: dict[str, Any]
    deadlines: list[tuple[str, int, str | None, str | None]] = field(default_factory=list)  # task, visit, old, new
    closing: str | None = None  # on_time_to_late or late_to_on_time


@dataclass
class Simulation:
    key: str
    days: int
    since: datetime
    until: datetime
    version: int                # the version new cases start on now
    cases: list[CaseResult]
    groups: int                 # replays made (each for a group of alike cases)
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)   # seconds spent reading, replaying, on results
    names: dict[str, str] = field(default_factory=dict)      # element id → name (the draft's, else now's)

    def summary(self) -> dict[str, Any]:
        """The counts the report, the page and the command's last line show."""
        routing: dict[tuple, int] = {}
        decisions: dict[str, int] = {}
        flows: dict[tuple, int] = {}
        deadlines: dict[str, list[int]] = {}
        closing = {"on_time_to_late": 0, "late_to_on_time": 0}
        for c in self.cases:
            if c.dispatched:
                routing[c.route_from, c.route_to] = routing.get((c.route_from, c.route_to), 0) + 1
            for d in c.decisions:
                decisions[d] = decisions.get(d, 0) + 1
            if c.flow != "same":
                flows[c.flow, c.flow_element] = flows.get((c.flow, c.flow_element), 0) + 1
            for task in {t for t, *_ in c.deadlines}:
                moved_later = any(t == task and later(old, new) for t, _, old, new in c.deadlines)
                deadlines.setdefault(task, [0, 0])[0 if moved_later else 1] += 1
            if c.closing:
                closing[c.closing] += 1
        dispatched = sum(c.dispatched for c in self.cases)
        not_replayed = sum(c.flow == "not_replayed" for c in self.cases)
        return {
            "cases": len(self.cases), "cases_replayed": len(self.cases) - not_replayed, "not_replayed": not_replayed,
            "dispatched": dispatched, "not_dispatched": len(self.cases) - dispatched,
            "department_changes": sum(c.dispatched and c.route_from != c.route_to for c in self.cases),
            "routing": [[a, b, n] for (a, b), n in sorted(routing.items(), key=lambda x: (-x[1], str(x[0])))],
            "decisions": decisions,
            "flow": {"same": sum(c.flow == "same" for c in self.cases),
                     "other_path": sum(c.flow == "other_path" for c in self.cases),
                     "stops": sum(c.flow == "stops" for c in self.cases), "not_replayed": not_replayed,
                     "where": [[f, e, n] for (f, e), n in sorted(flows.items(), key=lambda x: (-x[1], str(x[0])))]},
            "deadline_changes": sum(bool(c.deadlines) for c in self.cases),
            "deadlines": {t: {"later": v[0], "earlier": v[1]} for t, v in sorted(deadlines.items())},
            "on_time_to_late": closing["on_time_to_late"], "late_to_on_time": closing["late_to_on_time"],
            "groups": self.groups, "seconds": self.seconds, "days": self.days, "version": self.version,
            "names": {e: n for e, n in self.names.items()
                      if e in deadlines or e in decisions or any(e == w for _, w in flows)},
        }


def later(old: str | None, new: str | None) -> bool:
    """Whether a deadline moves later (or goes away) rather than earlier."""
    return new is None or (old is not None and new > old)


@dataclass
class _Case:
    """A case of the period while it is read: what its results need, not its whole history."""

    id: int
    code: str
    status: str
    version_id: int
    times: array                  # POSIX times of its steps (0: reported)
    start: dict[str, Any] | None  # the start data of a case like it (shared: read only); its own for
    # the first case of each group, which keeps it and its steps for the replay
    kind: tuple                   # what of the start data counts apart from the case's code and place
    steps: list[Step] | None
    actors: list | None           # who did each step (user ids; names for the replay of a group's first)
    made: tuple = ()              # what its start data is made of (to make its own for the replay)
    decided: "_Decided | None" = None
    on_time_step: int = -1        # the step of its last (or first) `on_time_by` completion
    dispatched: bool = False
    group: int = -1


@dataclass(frozen=True)
class _Decided:
    """What the start-data decisions give for one kind of case (one place, category, source …)."""

    start: tuple                  # the start values that tell replays apart
    steering: tuple               # the decisions' outputs that tell replays apart
    outputs: dict                 # bundle (id) → business-rule task → outputs
    route_from: str | None
    route_to: str | None
    changed: tuple[str, ...]
    emergency: bool


class _Process:
    """What grouping needs to know of one process version (or the draft)."""

    def __init__(self, engine: WorkflowEngine, bundle: ProcessBundle, functions):
        self.bundle = bundle
        graph = flow_graph(bundle)
        self.uses = variable_uses(graph, bundle.node, functions)
        starts = set(CASE_START_VARIABLES)
        self.start_decisions = {t: d for t, d in self.uses.decision_inputs.items() if d <= starts}
        self.inputs = {s.bpmn_id: s.decision.inputs for s in graph.steps.values()
                       if s.decision is not None and s.bpmn_id in self.start_decisions}
        self.outputs = {s.bpmn_id: s.decision.outputs for s in graph.steps.values() if s.bpmn_id in self.inputs}
        dept = [(n, f) for n in bundle.nodes() if n.kind == "userTask" for f in n.fields
                if "department" in dict(f.constraints)]
        self.dispatch_tasks = {n.bpmn_id for n, _ in dept}
        prefilled = {dict(f.properties).get("prefill") for _, f in dept} - {None}
        self.routing = next(((s.bpmn_id, o) for s in graph.steps.values() if s.bpmn_id in self.inputs
                             for o in s.decision.outputs if o in prefilled), None)
        # Start variables read by a table that needs more than the start data count as they are.
        self.keyed = self.uses.elsewhere | IMPLICIT_VARIABLES | set().union(
            *(d for t, d in self.uses.decision_inputs.items() if t not in self.start_decisions))
        self.engine = engine
        self._cache: dict[tuple, dict] = {}
        self.texts: dict[tuple, set[str]] = {}

    def decide(self, task: str, data: dict[str, Any]) -> dict[str, Any]:
        """A start-data decision's outputs for ``data``; each distinct input is evaluated once."""
        values = tuple(data.get(e) if e.isidentifier() else self.engine.evaluate(e, data) for e in self.inputs[task])
        found = self._cache.get((task, values))
        if found is None:
            try:
                found = self.engine.decide(self.bundle, task, data) or {}
            except ProcessError as exc:
                found = {"error": str(exc)}
            self._cache[task, values] = found
        return found

    def route(self, outputs: dict[str, dict]) -> str | None:
        """The department the routing decision names ("@" and its other outputs when it names none)."""
        if self.routing is None:
            return None
        decided = outputs.get(self.routing[0], {})
        value = decided.get(self.routing[1])
        return value if value else "@" + ",".join(str(v) for k, v in decided.items() if k != self.routing[1] and v)


def simulate(session: Session, rt: Runtime, files: dict[str, str], days: int, key: str | None = None) -> Simulation:
    """Replay the cases reported in the last ``days`` days against the draft ``files``; write nothing.

    The files are checked first as `gridflow processes deploy` checks them (InputError naming the
    file and the rule)."""
    started = time.perf_counter()
    key = key or rt.settings["CASE_PROCESS"]
    if days < 1:
        raise InputError({"days": [Message("a simulation covers at least one day")]})
    problems = deploying.validate(rt, files, required=key, session=session)
    if problems:
        raise InputError({"files": problems}, "the draft cannot be simulated")
    current = deploying.latest_version(session, key)
    if current is None:
        raise NotFound(f"{key} has no deployed version")
    until = rt.clock()
    since = until - timedelta(days=days)
    clock = ReplayClock(rt.calendar)
    engine = WorkflowEngine(clock.functions, decision_hook=clock.decided)
    functions = set(rt.expression_functions({}))
    draft = _Process(engine, rt.workflows.parse(deploying.diagrams(files))[key], functions)
    now = _Process(engine, rt.bundle(session, current.id), functions)
    bases: dict[int, _Process] = {current.id: now}
    definitions = definitions_of(files, rt.settings["PROCESSES_DIR"])
    matchers = definitions.facts.get(definitions.on_time_by, ())
    world = _World(session, rt)
    groups: dict[tuple, int] = {}
    firsts: list[_Case] = []
    cases: list[_Case] = []
    kinds: dict[tuple, _Decided] = {}
    step_keys: dict[tuple, tuple] = {}
    placed = set().union(*now.start_decisions.values(), *draft.start_decisions.values()) & PLACE_VARIABLES
    for case in _read(session, key, since, until, world, placed):
        base = bases.get(case.version_id)
        if base is None:
            base = bases[case.version_id] = _Process(engine, rt.bundle(session, case.version_id), functions)
        sort = (case.version_id, case.kind)
        case.decided = kinds.get(sort)
        if case.decided is None:
            case.decided = kinds[sort] = _decide(case.start, base, draft, now)
        steps = case.steps
        case.dispatched = any(s.kind == "task" and s.target in base.dispatch_tasks for s in steps)
        for k, s in enumerate(steps, 1):
            if s.kind == "task" and any(m.task == s.target and m.matches(s.answer) for m in matchers):
                if case.on_time_step < 0 or any(m.keep != "first" for m in matchers):
                    case.on_time_step = k
        signature = (case.version_id, case.decided.start, case.decided.steering,
                     tuple(_step_key(s, case.version_id, base, draft, step_keys) for s in steps))
        case.group = groups.setdefault(signature, len(groups))
        if case.group == len(firsts):
            firsts.append(case)
            case.start = world.start_data(*case.made)
            case.steps = [replace(s, actor=world.users.get(a, "")) for s, a in zip(steps, case.actors)]
        else:
            case.start = case.steps = None
        case.actors = case.made = None
        cases.append(case)
    read = time.perf_counter()
    comparisons = []
    for first in firsts:
        base = bases[first.version_id]
        clock.limits = {t: frozenset(o) - base.uses.plain - draft.uses.plain
                        for p in (base, draft) for t, o in p.outputs.items()}
        clock.times = [datetime.fromtimestamp(t, timezone.utc) for t in first.times]
        comparisons.append(compare(engine, clock, base.bundle, draft.bundle, first.start, first.steps))
    replayed = time.perf_counter()
    results = _results(session, rt, cases, comparisons, bases, draft)
    done = time.perf_counter()
    names = {n.bpmn_id: n.name for p in (now, draft) for n in p.bundle.nodes()}
    return Simulation(key, days, since, until, current.version, results, len(groups), round(done - started, 2),
                      {"read": round(read - started, 2), "replay": round(replayed - read, 2),
                       "results": round(done - replayed, 2)}, names)


def _decide(start: dict[str, Any], base: _Process, draft: _Process, now: _Process) -> _Decided:
    """Everything the start-data decisions say about one kind of case, worked out once."""
    keyed = base.keyed | draft.keyed
    outputs = {id(p): {t: p.decide(t, start) for t in p.inputs} for p in {id(x): x for x in (base, draft, now)}.values()}
    plain = base.uses.plain | draft.uses.plain
    steering = tuple((id(p), t, tuple(sorted((k, v) for k, v in outputs[id(p)][t].items() if k in plain)))
                     for p in (base, draft) for t in sorted(p.inputs))
    changed = tuple(t for t in sorted(set(now.inputs) | set(draft.inputs))
                    if outputs[id(now)].get(t) != outputs[id(draft)].get(t))
    return _Decided(tuple((k, start[k]) for k in CASE_START_VARIABLES if k in keyed and k not in PLACE_VARIABLES),
                    steering, outputs, now.route(outputs[id(now)]), draft.route(outputs[id(draft)]), changed,
                    bool(start.get("emergency")))


def _step_key(step: Step, version_id: int, base: _Process, draft: _Process, known: dict) -> tuple:
    """What of a recorded step can change a replay: free text only by its length, unless a condition
    reads it. Worked out once per recorded step text (``known`` holds the step, so its id stays its own)."""
    found = known.get((id(step), version_id))
    if found is None:
        found = known[id(step), version_id] = (step, _what_counts(step, base, draft,
                                                                   base.uses.steering | draft.uses.steering))
    return found[1]


def _what_counts(step: Step, base: _Process, draft: _Process, steering: frozenset) -> tuple:
    if step.kind == "timer":
        return ("timer", step.timers)
    if step.kind == "message" and step.target in steering:
        return ("message", step.target, orjson.dumps(step.answer, option=orjson.OPT_SORT_KEYS))
    texts = _texts(step.target, base, draft) if step.kind == "task" else set(step.answer)
    return (step.kind, step.target, tuple(sorted(
        (k, ("text", len(v), bool(v.strip())) if isinstance(v, str) and k not in steering and k in texts
         else orjson.dumps(v)) for k, v in step.answer.items())))


def _texts(task: str, base: _Process, draft: _Process) -> set[str]:
    """The fields of ``task`` that are free text in both versions (what a form checks is their length)."""
    found = base.texts.get((task, id(draft)))
    if found is None:
        kinds = [{f.id for f in p.bundle.node(task).fields if f.type == "string"} if p.bundle.node(task) else None
                 for p in (base, draft)]
        found = base.texts[task, id(draft)] = (kinds[0] or set()) & (kinds[1] if kinds[1] is not None else kinds[0] or set())
    return found


class _World:
    """The city's categories, places and people, read once."""

    def __init__(self, session: Session, rt: Runtime):
        self.rt = rt
        self.categories = {c.id: c for c in session.scalars(select(Category))}
        units = {u.id: u for u in session.scalars(select(OrgUnit))}
        by_code = {u.code: u for u in units.values()}
        self.places = {u.id: {**{by_code[c].level: by_code[c] for c in u.path.split("/") if c in by_code}, "grid": u}
                       for u in units.values() if u.level == "grid"}
        self.users = dict(session.execute(select(User.id, User.name)).all())
        self.usernames = dict(session.execute(select(User.id, User.username)).all())

    def start_data(self, code, category_id, grid_id, source, urgency, self_handled, reporter_id) -> dict[str, Any]:
        """A case's start data as the engine made it when the case was reported."""
        return case_data(self.rt, code, self.categories[category_id], self.places[grid_id], source, urgency,
                         self_handled, self.usernames.get(reporter_id, ""))


_EPOCH = datetime(1970, 1, 1)


def _moment(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _stamp(value) -> float:
    """POSIX time of a stored time: SQLite's naive UTC text as it comes, or an aware datetime."""
    if isinstance(value, str):
        return (datetime.fromisoformat(value) - _EPOCH).total_seconds()
    return _moment(value).timestamp()


def _read(session: Session, key: str, since: datetime, until: datetime, world: _World,
          placed: set[str]) -> Iterator[_Case]:
    """The cases of the period with their recorded steps, a chunk at a time (raw columns, parsed here once).

    Cases of one category, grid, source, urgency and self-handling have the same start data but for
    their code and reporter (which count only where a decision reads them: ``placed``)."""
    conn = session.connection()
    rows = conn.execute(
        select(Case.id, Case.code, Case.status, Case.process_version_id, Case.category_id, Case.grid_id,
               Case.source, Case.urgency, Case.self_handled, Case.reported_by_id, type_coerce(Case.created_at, String))
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(ProcessVersion.key == key, Case.created_at >= since, Case.created_at <= until)
        .order_by(Case.id)).all()
    parsed: dict[tuple, Step] = {}
    alike: dict[tuple, tuple[dict, tuple]] = {}
    for start in range(0, len(rows), CHUNK * 5):
        chunk = rows[start:start + CHUNK * 5]
        events: dict[int, list] = {}
        for part in range(0, len(chunk), CHUNK):
            ids = [r[0] for r in chunk[part:part + CHUNK]]
            for e in conn.execute(
                    select(CaseEvent.case_id, type_coerce(CaseEvent.at, String), CaseEvent.kind, CaseEvent.task_bpmn_id,
                           type_coerce(CaseEvent.data, String), CaseEvent.actor_id)
                    .where(CaseEvent.case_id.in_(ids), CaseEvent.kind.in_(HISTORY_KINDS))
                    .order_by(CaseEvent.case_id, CaseEvent.seq)).fetchall():
                events.setdefault(e[0], []).append(e)
        for case_id, code, status, version_id, category_id, grid_id, source, urgency, self_handled, \
                reporter_id, created_at in chunk:
            made = (code, category_id, grid_id, source, urgency, self_handled, reporter_id)
            found = alike.get(made[1:6]) if not placed else None
            if found is None:
                start_data = world.start_data(*made)
                found = alike[made[1:6]] = (start_data, tuple(
                    start_data[k] for k in CASE_START_VARIABLES if k not in PLACE_VARIABLES or k in placed))
            steps, actors, times = [], [], array("d", [_stamp(created_at)])
            for _, at, kind, task, raw, actor in events.get(case_id, ()):
                times.append(_stamp(at))
                text = raw if isinstance(raw, str) else orjson.dumps(raw)
                step = parsed.get((kind, task, text))
                if step is None:
                    step = _step(kind, task, orjson.loads(text) if text else {})
                    if len(parsed) < 100_000:
                        parsed[kind, task, text] = step
                steps.append(step)
                actors.append(actor)
            yield _Case(case_id, code, status, version_id, times, found[0], found[1], steps, actors, made)


def _step(kind: str, task: str | None, data: dict) -> Step:
    if kind == "task_completed":
        return Step("task", task or "", data)
    if kind == "message":
        return Step("message", str(data.get("message", "")), {k: v for k, v in data.items() if k != "message"})
    return Step("timer", "", {}, tuple(data.get("timers") or ()))


def _results(session: Session, rt: Runtime, cases: list[_Case], comparisons: list[Comparison],
             bases: dict[int, _Process], draft: _Process) -> list[CaseResult]:
    """Each case's result: its group's flow, its own routing, and the deadlines that move over its own
    step times and its own decisions' limits."""
    pairs = []
    for comparison in comparisons:
        drafted = {(v.task, v.ordinal, v.opened): v for v in comparison.draft}
        pairs.append([(v, drafted[v.task, v.ordinal, v.opened]) for v in comparison.base
                      if (v.task, v.ordinal, v.opened) in drafted and (v.recipe or drafted[v.task, v.ordinal, v.opened].recipe)])
    results, moving, moves = [], [], {}
    for case in cases:
        d, comparison = case.decided, comparisons[case.group]
        result = CaseResult(case.id, case.code, case.status, case.dispatched, d.route_from, d.route_to, d.changed,
                            comparison.outcome, comparison.element, comparison.detail)
        results.append(result)
        mine, theirs = d.outputs[id(bases[case.version_id])], d.outputs[id(draft)]
        moves_here = moves.get((case.group, id(d)))
        if moves_here is None:  # alike cases of one kind: the same limits, so the same verdict
            moves_here = moves[case.group, id(d)] = any(
                b.recipe != n.recipe or _limits(b.recipe, mine) != _limits(n.recipe, theirs) for b, n in pairs[case.group])
        if moves_here:
            moving.append((case, result, mine, theirs))
    rows = _task_rows(session, [c.id for c, *_ in moving])
    for case, result, mine, theirs in moving:
        times = [datetime.fromtimestamp(t, timezone.utc) for t in case.times]
        for old_visit, new_visit in pairs[case.group]:
            recorded = rows.get(case.id, {}).get(old_visit.task, [])
            row = recorded[old_visit.ordinal] if old_visit.ordinal < len(recorded) else None
            old = row[0] if row else _due(old_visit.recipe, times, rt, case.decided.emergency, mine)
            new = _due(new_visit.recipe, times, rt, case.decided.emergency, theirs)
            if old == new or (old_visit.recipe == new_visit.recipe and _limits(old_visit.recipe, mine)
                              == _limits(new_visit.recipe, theirs)):
                continue
            result.deadlines.append((old_visit.task, old_visit.ordinal, old.isoformat() if old else None,
                                     new.isoformat() if new else None))
            if case.status == "closed" and old_visit.completed and old_visit.completed == case.on_time_step:
                done = times[old_visit.completed]
                was, would = old is None or done <= old, new is None or done <= new
                if was != would:
                    result.closing = "on_time_to_late" if was else "late_to_on_time"
    return results


def _due(recipe, times, rt: Runtime, emergency: bool, outputs) -> datetime | None:
    return due_at(recipe, times, rt.calendar, emergency, outputs) if recipe else None


def _limits(recipe, outputs: dict[str, dict]) -> tuple:
    """The values of the decision outputs a recipe uses, for this case."""
    if not isinstance(recipe, tuple):
        return ()
    if recipe and recipe[0] == "out":
        return ((recipe[1], recipe[2], outputs.get(recipe[1], {}).get(recipe[2])),)
    return tuple(x for part in recipe for x in _limits(part, outputs))


def _task_rows(session: Session, ids: list[int]) -> dict[int, dict[str, list[tuple]]]:
    """The recorded (due, completed) of each task visit of these cases, by task in the order opened."""
    found: dict[int, dict[str, list[tuple]]] = {}
    conn = session.connection()
    for start in range(0, len(ids), CHUNK):
        for case_id, bpmn_id, due, done in conn.execute(
                select(Task.case_id, Task.bpmn_id, Task.due_at, Task.completed_at)
                .where(Task.case_id.in_(ids[start:start + CHUNK])).order_by(Task.case_id, Task.created_at, Task.id)):
            found.setdefault(case_id, {}).setdefault(bpmn_id, []).append((_moment(due) if due else None, done))
    return found
