"""Every change gridflow makes to SpiffWorkflow's own behaviour, applied once by :func:`apply`.

Several of these replace private library internals, so they hold only for the version they
were written against: :func:`check_version` refuses any other installed version. After an
upgrade, read each patch below against the new library, then add its version to
``SUPPORTED_VERSIONS``. None of them changes what a stored state or spec looks like.

Two kinds of change live here: global ones, where the library builds its own objects and
leaves no hook (``Task`` is created by name inside the library, the timer module calls
``datetime.now`` itself), and per-workflow ones (:func:`tune`, :func:`engine_steps`).
"""
from __future__ import annotations

import logging
import time
from copy import copy
from datetime import datetime
from importlib import metadata
from types import MethodType

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.task import Task, TaskState

from engine import clock

DISTRIBUTION = "SpiffWorkflow"
SUPPORTED_VERSIONS = ("3.2.0",)


class UnsupportedSpiffWorkflow(RuntimeError):
    """The installed SpiffWorkflow is not a version the patches were written for."""


def installed_version() -> str | None:
    """Return the installed SpiffWorkflow version, or None when it is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def check_version() -> None:
    """Raise UnsupportedSpiffWorkflow unless the installed library is a supported version."""
    found = installed_version()
    if found in SUPPORTED_VERSIONS:
        return
    supported = ", ".join(SUPPORTED_VERSIONS)
    raise UnsupportedSpiffWorkflow(
        f"SpiffWorkflow {found or '(not installed)'} is installed, but gridflow's engine supports "
        f"only SpiffWorkflow {supported}: engine/spiff/patches.py changes library internals of "
        f"that version. Install it (pip install 'SpiffWorkflow=={SUPPORTED_VERSIONS[-1]}'), or "
        f"check every patch in engine/spiff/patches.py against {found} and add it to "
        f"SUPPORTED_VERSIONS there.")


# -- the timer clock -------------------------------------------------------------------------
class EngineDatetime(datetime):
    """``datetime`` whose ``now`` is the engine's clock.

    The library's timers call ``datetime.now(timezone.utc)`` themselves, so time-machine in
    tests and any clock the engine is given would not reach them. The timer classes offer no
    clock hook and a subclass would have to copy their methods, so the timer module's own
    ``datetime`` name is pointed here; nothing else in the library sees it.
    """

    @classmethod
    def now(cls, tz=None):
        current = clock.now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


# -- Task --------------------------------------------------------------------------------------
# The library creates Task objects by name (Task(...) in task.py and workflow.py), so a
# subclass would never be used: these two replace methods on the class itself.
_task_logger = logging.getLogger("spiff.task")
_library: dict[str, object] = {}  # the library's own methods, saved by the first apply()
_MUTABLE = (dict, list, set)


def _set_state(self, value: int) -> None:
    """Task._set_state without building its log record's extras when nobody logs them.

    The library collects a dict of task details for every state change (a dozen per task
    run) before handing it to ``logger.info``, whatever the log level.
    """
    if _task_logger.isEnabledFor(logging.INFO):
        _library["_set_state"](self, value)
    elif value != self._state:
        self.last_state_change = time.time()
        self._state = value


def parent_data_copy(parent_data: dict) -> dict:
    """Return what the library's ``DeepMerge.merge({}, parent_data)`` returns, without its key walk.

    That merge into an empty dict copies each value, mutable ones (dicts, lists, sets) one
    level deep.
    """
    return {k: (copy(v) if isinstance(v, _MUTABLE) else v) for k, v in parent_data.items()}


def _inherit_data(self) -> None:
    """Task._inherit_data with a fast path for a task that has no data of its own yet.

    The library deep-merges the parent's data into the task's, comparing every key; a new
    task (the usual case) has nothing to compare with.
    """
    if self.data:
        _library["_inherit_data"](self)
    else:
        self.data = parent_data_copy(self.parent.data)


def apply() -> None:
    """Check the library version, then install the global patches (a second call changes nothing)."""
    check_version()
    if _library:
        return
    _library["_set_state"] = Task._set_state
    _library["_inherit_data"] = Task._inherit_data
    Task._set_state = _set_state
    Task._inherit_data = _inherit_data
    _timer_module.datetime = EngineDatetime


# -- per workflow ------------------------------------------------------------------------------
def _flat_update_waiting_tasks(workflow) -> None:
    # The library re-checks every WAITING task after every task completes, finding them by
    # walking the whole tree; a pass over the task dict (creation order) finds the same ones.
    waiting = TaskState.WAITING
    for task in [t for t in workflow.tasks.values() if t.state == waiting]:
        task.task_spec._update(task)


def tune(workflow):
    """Give a workflow the flat WAITING-task refresh (top-level workflows without subprocesses).

    Set on the instance: subprocess workflows, which the library creates itself, keep its own.
    """
    if not workflow.subprocesses:
        workflow.update_waiting_tasks = MethodType(_flat_update_waiting_tasks, workflow)
    return workflow


def engine_steps(workflow, did_complete) -> None:
    """Run READY engine tasks (scripts, gateways, events) until only waits are left.

    Same outcome as BpmnWorkflow.do_engine_steps, which walks the whole task tree once per
    round; with every finished task kept in the tree (rework loops, timers) those walks
    became most of a step's cost. A flat pass over the task dict finds the same READY tasks.
    Workflows with subprocesses take the library's path.
    """
    if workflow.subprocesses:
        workflow.do_engine_steps(did_complete_task=did_complete)
        return
    ready_state = TaskState.READY
    while True:
        ready = [t for t in workflow.tasks.values() if t.state == ready_state and not t.task_spec.manual]
        if not ready:
            break
        for task in ready:
            if task.state == ready_state:  # an earlier one in this round may have cancelled it
                task.run()
                did_complete(task)
    workflow.refresh_timers()
