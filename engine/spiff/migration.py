"""Move a stored instance state from one deployed spec onto another, keeping what it has done.

Tasks map by BPMN id and by the designer's own mapping; the library's ``SpecDiff`` tells
which mapped specs changed and whether one became another kind of element.
Its ``migrate_workflow`` resets every waiting task, which would give READY tasks new ids
and re-arm timers from now; gridflow instead rewrites the task-spec names of the stored
state and loads it onto the new spec, so task ids, task data and the due times held in
timers' internal data all survive. Predicted branches (MAYBE/LIKELY) below a task whose
successor was removed are dropped: the library predicts them again when the task runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.task import TaskState

_PREDICTED = TaskState.PREDICTED_MASK
_WAITING = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
_RAN = TaskState.COMPLETED
_FUTURE = TaskState.FUTURE


@dataclass(frozen=True)
class SpecMapping:
    """Which task spec of the old version becomes which of the new one (None: no counterpart)."""

    names: dict[str, str | None]
    # Specs whose kind differs in the new version (a user task became a script task, say).
    kind_changed: frozenset[str]
    # Specs with changed attributes (its form, its outputs, its expression ...), by old name.
    changed: dict[str, tuple[str, ...]]
    # Specs whose incoming flow differs beyond the mapping's renames (a boundary timer added ...).
    reshaped: frozenset[str] = frozenset()
    subprocess_names: frozenset[str] = field(default_factory=frozenset)

    def target(self, name: str) -> str | None:
        return self.names.get(name, name if name in self.subprocess_names else None)


@dataclass(frozen=True)
class Unfit:
    """Why a state cannot move: ``reason`` is one of ``waits_in_removed``, ``waits_in_changed_kind``,
    ``waits_in_reshaped`` (what leads into it changed, e.g. a boundary timer was added),
    ``ran_removed``, ``ran_changed_kind``, ``next_removed``; ``task`` the BPMN id in the old version
    (of the task a helper spec such as "X.BoundaryEventSplit" belongs to)."""

    reason: str
    task: str


def map_specs(registry, old, new, chosen: dict[str, str]) -> SpecMapping:
    """Map ``old``'s top-level task specs onto ``new``'s by BPMN id, then by ``chosen`` (old id →
    new id). The library also aligns renamed tasks by the shape of the flow around them; that
    guess is left to the designer. Subprocess specs must keep their task ids (checked per case)."""
    diff = SpecDiff(registry, old.spec, new.spec)
    names: dict[str, str | None] = {name: (name if name in new.spec.task_specs else None)
                                    for name in old.spec.task_specs}
    names.update(chosen)
    for name in old.spec.task_specs:  # the library's helper specs of a mapped task ("X.BoundaryEventSplit")
        base, dot, suffix = name.partition(".")
        if dot and base in chosen and f"{chosen[base]}.{suffix}" in new.spec.task_specs:
            names[name] = f"{chosen[base]}.{suffix}"
    kind_changed, changed = set(), {}
    for spec, attributes in diff.changed.items():
        aligned = diff.alignment.get(spec)
        if aligned is not None and aligned.name == spec.name and spec.name not in chosen:
            changed[spec.name] = tuple(attributes)
            if "typename" in attributes:
                kind_changed.add(spec.name)
    for old_name, new_name in chosen.items():
        old_spec, new_spec = old.spec.task_specs.get(old_name), new.spec.task_specs.get(new_name)
        if old_spec is not None and new_spec is not None and type(old_spec) is not type(new_spec):
            kind_changed.add(old_name)
    reshaped = set()
    for name, target in names.items():
        old_spec, new_spec = old.spec.task_specs.get(name), new.spec.task_specs.get(target or "")
        if old_spec is None or new_spec is None:
            continue
        inputs = [names.get(i.name) for i in old_spec.inputs]
        # An input that is gone is reported for itself (the case ran it or waits in it).
        if None not in inputs and sorted(inputs) != sorted(i.name for i in new_spec.inputs):
            reshaped.add(name)
    subs = set().union(*(s.task_specs for s in new.subprocess_specs.values())) if new.subprocess_specs else set()
    return SpecMapping(names, frozenset(kind_changed), changed, frozenset(reshaped), frozenset(subs))


def unfit(dct: dict, mapping: SpecMapping) -> list[Unfit]:
    """List what stops the stored state ``dct`` (the serializer's dict) from moving: one reason
    per BPMN element, the strongest of its tasks' (waiting in it, then having run it, then next)."""
    found: dict[str, tuple[int, str]] = {}
    for tasks in _task_maps(dct):
        for task in tasks.values():
            spec_name, state = task["task_spec"], task["state"]
            if state & _PREDICTED:
                continue
            removed = mapping.target(spec_name) is None
            other_kind = spec_name in mapping.kind_changed
            reshaped = spec_name in mapping.reshaped
            if state & _WAITING and reshaped and not (removed or other_kind):
                rank, reason = 0, "waits_in_reshaped"
            elif not (removed or other_kind):
                continue
            elif state & _WAITING:
                rank, reason = 0, "waits_in_removed" if removed else "waits_in_changed_kind"
            elif state & _RAN:
                rank, reason = 1, "ran_removed" if removed else "ran_changed_kind"
            elif state & _FUTURE and removed:
                rank, reason = 2, "next_removed"
            else:
                continue
            name = spec_name.partition(".")[0] or spec_name
            if name not in found or rank < found[name][0]:
                found[name] = (rank, reason)
    return sorted((Unfit(reason, name) for name, (_, reason) in found.items()), key=lambda u: (u.reason, u.task))


def rewrite(dct: dict, mapping: SpecMapping) -> bool:
    """Rename the state's task specs to the new version's, dropping predicted tasks whose spec
    is gone; call only on a state :func:`unfit` found nothing wrong with. Return whether
    anything changed (most moves rename nothing: the stored bytes stay as they are)."""
    changed = False
    for tasks in _task_maps(dct):
        gone = [tid for tid, t in tasks.items() if t["state"] & _PREDICTED and mapping.target(t["task_spec"]) is None]
        for tid in gone:
            _drop(tasks, tid)
        changed = changed or bool(gone)
        for task in tasks.values():
            target = mapping.target(task["task_spec"])
            if target != task["task_spec"]:
                task["task_spec"] = target
                changed = True
    return changed


def _drop(tasks: dict, tid: str) -> None:
    task = tasks.pop(tid, None)
    if task is None:
        return
    for child in task.get("children", ()):
        _drop(tasks, child)
    parent = tasks.get(task.get("parent"))
    if parent is not None and tid in parent["children"]:
        parent["children"].remove(tid)


def _task_maps(dct: dict):
    yield dct["tasks"]
    for sub in dct.get("subprocesses", {}).values():
        yield sub.get("tasks", {})
