"""Replay one case's recorded steps through two processes in memory, side by side: the version the
case ran on (to reproduce what happened) and a draft (to see what would have happened).

Nothing here reads or writes the database, and no workflow is ever serialized. The replays run on
a :class:`ReplayClock`: an expression's ``now()`` is the time of the recorded step being replayed,
and every time the calendar functions make is a :class:`Moment` that remembers how it was made
(``deadline(hours=4)`` at step 3 is "step 3's time plus 4 working hours"). So a due time worked out
once for a group of alike cases can be worked out again for each of them from its own step times,
exactly as the engine would (:func:`due_at`). Timers do not fire by themselves during a replay
(the engine's clock is held on 2 January 1970): a recorded firing fires the timers it names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from marshmallow import ValidationError

from engine import clock as engine_clock
from engine.calendar.working_time import BusinessCalendar
from engine.errors import Message
from engine.process.forms import validate_submission
from engine.runtime import expression_functions
from engine.spiff import NotWaiting, ProcessBundle, ProcessError, WorkflowEngine

# What the timers see as "now" during a replay: earlier than any due time, so none fires by itself.
NO_TIME = datetime(1970, 1, 2, tzinfo=timezone.utc)


class Moment(str):
    """An ISO time made by a calendar function in a replay, with the recipe it was made by."""

    recipe: tuple

    def __new__(cls, text: str, recipe: tuple):
        moment = super().__new__(cls, text)
        moment.recipe = recipe
        return moment

    def __reduce__(self):  # the library deep-copies task data (a signal's payload): keep the recipe
        return (Moment, (str(self), self.recipe))

    def __deepcopy__(self, memo):
        return self


class Hours(float):
    """A number a replay traces: working hours it measured (``working_hours_between``), or a limit a
    decision table gave (``("out", task, output)``), and what arithmetic makes of them."""

    recipe: tuple

    def __new__(cls, value: float, recipe: tuple):
        hours = super().__new__(cls, value)
        hours.recipe = recipe
        return hours

    def __reduce__(self):
        return (Hours, (float(self), self.recipe))

    def __deepcopy__(self, memo):
        return self


def _arithmetic(name: str, swapped: bool = False):
    plain = getattr(float, name)

    def op(self, other):
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return NotImplemented
        value = plain(self, other)
        if value is NotImplemented:
            return value
        a, b = (_recipe(other), self.recipe) if swapped else (self.recipe, _recipe(other))
        return Hours(value, ("op", name.strip("_").removeprefix("r"), a, b))
    return op


for _name in ("__add__", "__sub__", "__mul__", "__truediv__"):
    setattr(Hours, _name, _arithmetic(_name))
    setattr(Hours, _name.replace("__", "__r", 1), _arithmetic(_name.replace("__", "__r", 1), swapped=True))
_OPS = {"add": float.__add__, "sub": float.__sub__, "mul": float.__mul__, "truediv": float.__truediv__}


def _recipe(value: Any) -> Any:
    """The recipe of a value handed to a calendar function: a traced one's, else the value itself."""
    if isinstance(value, (Moment, Hours)):
        return value.recipe
    if isinstance(value, str):
        return ("fixed", value)
    return float(value or 0)


class ReplayClock:
    """The times of one case's recorded steps (0: reported); ``step`` is the one being replayed."""

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self.times: list[datetime] = []
        self.step = 0
        self.limits: dict[str, frozenset[str]] = {}  # business-rule task → outputs to trace
        self._sets = {flag: self._traced(flag) for flag in (False, True)}

    def decided(self, task: str, outputs: dict[str, Any]) -> dict[str, Any]:
        """Mark the limits a table gives (numbers only read to make times) with where they came from."""
        traced = self.limits.get(task)
        if not traced:
            return outputs
        return {k: Hours(v, ("out", task, k)) if k in traced and isinstance(v, (int, float))
                and not isinstance(v, bool) else v for k, v in outputs.items()}

    def functions(self, data: dict) -> dict[str, Callable]:
        return self._sets[bool(data.get("emergency"))]

    def _traced(self, emergency: bool) -> dict[str, Callable]:
        plain = expression_functions(self.calendar, lambda: self.times[self.step], emergency)

        def now():
            return Moment(plain["now"](), ("at", self.step))

        def deadline(hours=0, days=0):
            return Moment(plain["deadline"](hours, days), ("add", ("at", self.step), _recipe(hours), _recipe(days)))

        def deadline_from(start, hours=0, days=0):
            return Moment(plain["deadline_from"](start, hours, days),
                          ("add", _recipe(start), _recipe(hours), _recipe(days)))

        def working_hours_between(start, end):
            return Hours(plain["working_hours_between"](start, end), ("between", _recipe(start), _recipe(end)))

        def warn_at(start, due, fraction):
            return Moment(plain["warn_at"](start, due, fraction),
                          ("warn", _recipe(start), _recipe(due), _recipe(fraction)))

        return {**plain, "now": now, "deadline": deadline, "deadline_from": deadline_from,
                "working_hours_between": working_hours_between, "warn_at": warn_at}


def due_at(recipe: tuple, times: list[datetime], calendar: BusinessCalendar, emergency: bool,
           outputs: dict[str, dict[str, Any]]) -> datetime:
    """Work a due time's recipe out again over another case's step times and its own decisions'
    ``outputs`` (business-rule task → outputs)."""
    def moment(r) -> datetime:
        kind = r[0]
        if kind == "at":
            return times[r[1]]
        if kind == "fixed":
            return datetime.fromisoformat(r[1])
        if kind == "add":
            return calendar.add(moment(r[1]), hours=number(r[2]), days=number(r[3]), emergency=emergency)
        if kind == "warn":
            begin = moment(r[1])
            hours = calendar.working_hours_between(begin, moment(r[2]), emergency=emergency)
            return calendar.add(begin, hours=hours * number(r[3]), emergency=emergency)
        raise ValueError(f"not a time recipe: {r!r}")

    def number(r) -> float:
        if not isinstance(r, tuple):
            return r
        if r[0] == "out":
            return float(outputs.get(r[1], {}).get(r[2]) or 0)
        if r[0] == "op":
            return _OPS[r[1]](float(number(r[2])), float(number(r[3])))
        if r[0] == "between":
            return calendar.working_hours_between(moment(r[1]), moment(r[2]), emergency=emergency)
        raise ValueError(f"not a number recipe: {r!r}")

    return moment(recipe)


@dataclass(frozen=True)
class Step:
    """One recorded step of a case: a task completed with its answer, a message, timers fired."""

    kind: str                      # "task", "message" or "timer"
    target: str                    # the task's BPMN id, the message's name, "" for timers
    answer: dict[str, Any]         # the recorded form values, or the message's payload
    timers: tuple[str, ...] = ()   # the timers that fired
    actor: str = ""                # display name of who did it (a task's ``actor`` property)


@dataclass
class Visit:
    """One time a user task became ready: when (the step), its due time's recipe, when completed."""

    task: str
    ordinal: int
    opened: int
    recipe: tuple | None
    completed: int | None = None


@dataclass
class Stop:
    step: int
    element: str
    reason: str                    # "no_answer", "refused", "failed"
    detail: dict[str, Any] = field(default_factory=dict)


class NotApplicable(Exception):
    """The recorded step finds nothing waiting for it in this replay."""


class Replay:
    """One process replaying a case's steps in memory."""

    def __init__(self, engine: WorkflowEngine, bundle: ProcessBundle):
        self.engine, self.bundle = engine, bundle
        self.workflow = None
        self.visits: list[Visit] = []
        self._open: dict[str, Visit] = {}    # spiff id → its visit, while ready
        self.step = 0

    def start(self, data: dict[str, Any]) -> list[str]:
        ran: list[str] = []
        self.workflow = self.engine.start(self.bundle, data, ran)
        return ran + self._note_ready()

    def apply(self, k: int, step: Step) -> list[str]:
        """Replay step ``k``; return what ran. NotApplicable, ValidationError, ProcessError say why not."""
        self.step = k
        if step.kind == "task":
            task = next((t for t in self.engine.ready_tasks(self.workflow, self.bundle)
                         if t.node.bpmn_id == step.target), None)
            if task is None:
                raise NotApplicable(step.target)
            fields = task.node.fields
            known = {f.id for f in fields}
            data = validate_submission(fields, {k2: v for k2, v in step.answer.items() if k2 in known})
            if task.node.properties.get("actor"):
                data[task.node.properties["actor"]] = step.actor
            visit = self._open.pop(task.spiff_id, None)
            if visit is not None:
                visit.completed = k
            ran = []
            self.engine.complete(self.workflow, task.spiff_id, data, ran)
        elif step.kind == "message":
            ran = []
            try:
                self.engine.send_message(self.workflow, step.target, step.answer, ran)
            except NotWaiting:
                raise NotApplicable(step.target) from None
        else:
            armed = self.engine.armed_timers(self.workflow)
            missing = [t for t in step.timers if t not in armed]
            if missing:
                raise NotApplicable(missing[0])
            ran = self.engine.replay_timers(self.workflow, list(step.timers))
        return ran + self._note_ready()

    def wants(self) -> tuple[list[str], list[str]]:
        """The user tasks ready and the messages waited for, by BPMN id and message name."""
        snap = self.engine.snapshot(self.workflow, self.bundle)
        return [t.node.bpmn_id for t in snap.ready], [n.message for n in snap.waiting]

    def position(self) -> tuple:
        snap = self.engine.snapshot(self.workflow, self.bundle)
        return (snap.completed, tuple(sorted(t.node.bpmn_id for t in snap.ready)),
                tuple(sorted(n.bpmn_id for n in snap.waiting)))

    def _note_ready(self) -> list[str]:
        """Record the user tasks that became ready in this step (with their due recipes); return their ids."""
        opened = []
        for task in self.engine.ready_tasks(self.workflow, self.bundle):
            if task.spiff_id in self._open:
                continue
            due = task.node.properties.get("due")
            recipe = None
            if due:
                value = self.engine.evaluate(due, task.data)
                recipe = value.recipe if isinstance(value, Moment) else ("fixed", str(value))
            ordinal = sum(1 for v in self.visits if v.task == task.node.bpmn_id)
            visit = Visit(task.node.bpmn_id, ordinal, self.step, recipe)
            self.visits.append(visit)
            self._open[task.spiff_id] = visit
            opened.append(task.node.bpmn_id)
        return opened


@dataclass
class Comparison:
    """A case's history replayed through its own version and through the draft."""

    outcome: str                   # "same", "other_path", "stops", "not_replayed"
    element: str | None = None     # where it takes another path (the last element both passed) or stops
    detail: dict[str, Any] = field(default_factory=dict)
    base: list[Visit] = field(default_factory=list)
    draft: list[Visit] = field(default_factory=list)


def compare(engine: WorkflowEngine, clock: ReplayClock, base_bundle: ProcessBundle, draft_bundle: ProcessBundle,
            data: dict[str, Any], history: list[Step]) -> Comparison:
    """Replay ``history`` (reported with ``data``) through both bundles; say where the draft parts
    from what the case did: the first element that differs, where it stops and why."""
    with engine_clock.held(NO_TIME):
        return _compare(engine, clock, base_bundle, draft_bundle, data, history)


def _compare(engine, clock, base_bundle, draft_bundle, data, history) -> Comparison:
    base, draft = Replay(engine, base_bundle), Replay(engine, draft_bundle)
    clock.step = 0
    try:
        ran_b = base.start(dict(data))
    except ProcessError as exc:
        return Comparison("not_replayed", exc.element, {"reason": "failed", "error": str(exc)})
    parted: dict[str, Any] | None = None
    stop: Stop | None = None
    try:
        ran_d = draft.start(dict(data))
        parted = _parting(ran_b, ran_d)
    except ProcessError as exc:
        stop = Stop(0, exc.element or "", "failed", {"error": str(exc)})
    for k, step in enumerate(history, 1):
        clock.step = k
        try:
            ran_b = base.apply(k, step)
        except NotApplicable as exc:
            return Comparison("not_replayed", str(exc), {"reason": "no_task", "step": k}, base.visits)
        except ValidationError as exc:
            return Comparison("not_replayed", step.target, {"reason": "refused", "errors": _texts(exc)}, base.visits)
        except ProcessError as exc:
            return Comparison("not_replayed", exc.element or step.target, {"reason": "failed", "error": str(exc)},
                              base.visits)
        if stop is not None:
            break
        try:
            ran_d = draft.apply(k, step)
        except NotApplicable:
            tasks, messages = draft.wants()
            if draft.position()[0]:
                break  # the draft's case has ended; history goes on
            later = {s.target for s in history[k:]}
            if (tasks or messages) and not later & (set(tasks) | set(messages)):
                stop = Stop(k, (tasks or messages)[0], "no_answer")
                break
            if parted is None:
                parted = {"after": step.target, "draft": None, "case": step.target}
            continue
        except ValidationError as exc:
            stop = Stop(k, step.target, "refused", {"errors": _texts(exc)})
            break
        except ProcessError as exc:
            stop = Stop(k, exc.element or step.target, "failed", {"error": str(exc)})
            break
        if parted is None:
            parted = _parting(ran_b, ran_d)
    if stop is None:
        end_b, end_d = base.position(), draft.position()
        if end_b != end_d:
            tasks, messages = draft.wants()
            if end_b[0] and (tasks or messages):
                stop = Stop(len(history), (tasks or messages)[0], "no_answer")
            elif parted is None:
                parted = {"after": None, "draft": (list(end_d[1]) + list(end_d[2]) or ["end"])[0],
                          "case": (list(end_b[1]) + list(end_b[2]) or ["end"])[0]}
    if stop is not None:
        return Comparison("stops", stop.element, {"reason": stop.reason, "step": stop.step, **stop.detail},
                          base.visits, draft.visits)
    if parted is not None:
        return Comparison("other_path", parted["after"], parted, base.visits, draft.visits)
    return Comparison("same", None, {}, base.visits, draft.visits)


def _parting(ran_b: list[str], ran_d: list[str]) -> dict[str, Any] | None:
    """Where two runs of one step part: the last element both passed and where each went next."""
    for i, (b, d) in enumerate(zip(ran_b, ran_d)):
        if b != d:
            return {"after": ran_b[i - 1] if i else None, "draft": d, "case": b}
    if len(ran_b) == len(ran_d):
        return None
    i = min(len(ran_b), len(ran_d))
    return {"after": ran_b[i - 1] if i else None, "draft": ran_d[i] if i < len(ran_d) else None,
            "case": ran_b[i] if i < len(ran_b) else None}


def _texts(exc: ValidationError) -> dict[str, list]:
    """A refused answer's errors by field, as Messages (template and parameters) the page can translate."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return {str(k): [_plain(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()}


def _plain(message) -> dict[str, Any]:
    if isinstance(message, Message):
        return {"template": message.template, "params": {k: str(v) for k, v in message.params.items()}}
    return {"template": str(message), "params": {}}
