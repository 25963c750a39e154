"""An engine-level driver: report cases and complete tasks as demo users, no Flask."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.lifecycle import cases as case_service
from engine.assembly import make_runtime
from engine.scheduler import drain
from models import Case, Notification, Task, User

GRID = "110101001001001"          # 东华门街道 / 南池子社区 / 第1网格 (core area)
FRINGE_GRID = "110101003001001"   # 交道口街道 (fringe area)
GARBAGE = "E0102"                 # 暴露垃圾 → 环卫 HW
SMALL_ADS = "E0201"               # 非法小广告 → grid level
ILLEGAL_BUILD = "E0101"           # 私搭乱建 → 城管 CG; street level in fringe areas


class Driver:
    def __init__(self, sessions, settings):
        self.rt = make_runtime(settings)
        self.sessions = sessions
        self.session = sessions()

    def user(self, username: str) -> User:
        return self.user_in(self.session, username)

    @staticmethod
    def user_in(session, username: str) -> User:
        return session.scalars(select(User).where(User.username == username)).one()

    def report(self, username: str = "grid_dhm_01", **fields) -> Case:
        report = {"category_code": GARBAGE, "grid_code": GRID, "address": "南池子大街12号",
                  "description": "路边堆放生活垃圾", "source": "patrol"}
        report.update(fields)
        case = case_service.report_case(self.session, self.rt, self.user(username), report)
        self.session.commit()
        self.check_round_trip(case)
        return case

    def open_tasks(self, case: Case) -> list[Task]:
        return case_service.open_tasks(self.session, case)

    def task(self, case: Case, bpmn_id: str) -> Task:
        tasks = [t for t in self.open_tasks(case) if t.bpmn_id == bpmn_id]
        assert len(tasks) == 1, f"expected one open {bpmn_id}, open: {[t.bpmn_id for t in self.open_tasks(case)]}"
        return tasks[0]

    def do(self, case: Case, bpmn_id: str, username: str, **data) -> Case:
        task = self.task(case, bpmn_id)
        case_service.complete_task(self.session, self.rt, self.user(username), task.id, data)
        self.session.commit()
        self.check_round_trip(case)
        return case

    def check_round_trip(self, case: Case) -> None:
        """Load the stored state, serialize it again and load that: the same tasks are ready."""
        wf = self.rt.workflows
        bundle = self.rt.bundle(self.session, case.process_version_id)
        first = wf.load_state(bundle, case.state)
        second = wf.load_state(bundle, wf.dump_state(first))
        ids = lambda w: sorted((t.spiff_id, t.node.bpmn_id) for t in wf.ready_tasks(w, bundle))
        assert ids(first) == ids(second)
        assert wf.data(first) == wf.data(second)
        assert {t.spiff_id for t in self.open_tasks(case)} == {s for s, _ in ids(first)}

    def events(self, case: Case):
        return case_service.timeline(self.session, case)

    def close(self):
        self.session.close()


@pytest.fixture
def driver(demo_db, settings):
    d = Driver(demo_db, settings)
    yield d
    d.close()


@pytest.fixture
def handling(driver, clock):
    """A garbage case (4 working hours to handle) in handling at Wednesday 10:00."""
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    return case


def renamed(files, old, new):
    """The files with task ``old`` renamed ``new``: in the diagram, and in the assessment facts and
    the scenario files that name it (deploying refuses a fact or a scenario naming a missing task)."""
    out = {name: (text.replace(f'"{old}"', f'"{new}"') if name == "assessment.toml" or name.startswith("scenarios/")
                  else text) for name, text in files.items()}
    out["grid_case.bpmn"] = files["grid_case.bpmn"].replace(f'"{old}"', f'"{new}"').replace(f">{old}<", f">{new}<")
    return out


def sweep_at(driver, clock, moment):
    clock.move_to(moment)
    result = drain(driver.sessions, driver.rt)
    driver.session.expire_all()
    return result


def kinds(driver, case, *wanted):
    return [e.kind for e in driver.events(case) if e.kind in wanted]


def notified(driver, case, kind):
    rows = driver.session.execute(select(User.username).join(Notification, Notification.user_id == User.id)
                                  .where(Notification.case_id == case.id, Notification.kind == kind)).scalars()
    return set(rows)
