"""Writers of one case at the same moment never fork its hash chain: each append takes the case
row's lock, so the second writer continues after the first commits. Real concurrent transactions
need PostgreSQL (GRIDFLOW_TEST_DATABASE_URL); SQLite lets one writer in at a time anyway."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from engine.assessment.trail import verify_chain
from engine.lifecycle import comments as comment_service
from models import Case, CaseEvent, User

pytestmark = pytest.mark.skipif(not os.environ.get("GRIDFLOW_TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="concurrent writers need PostgreSQL (GRIDFLOW_TEST_DATABASE_URL)")

WRITERS, EACH = 6, 15


def test_concurrent_writers_of_one_case_and_of_many_keep_every_chain_whole(driver, clock):
    shared = driver.report()
    own = [driver.report() for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    failures = []

    def write(n: int):
        try:
            with driver.sessions() as session:
                user = session.scalars(select(User).where(User.username == "clerk_dhm")).one()
                start.wait()
                for i in range(EACH):
                    for case_id in (shared.id, own[n].id):
                        case = session.get(Case, case_id)
                        comment_service.add_comment(session, driver.rt, user, case, f"writer {n} note {i}")
                        session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    driver.session.expire_all()
    seqs = driver.session.scalars(select(CaseEvent.seq).where(CaseEvent.case_id == shared.id)
                                  .order_by(CaseEvent.seq)).all()
    assert seqs == list(range(1, 2 + WRITERS * EACH))          # the report, then every note, no gap, no fork
    assert driver.session.get(Case, shared.id).event_seq == len(seqs)
    result = verify_chain(driver.session, driver.rt)
    assert result.problems == []
    assert result.record.events_checked == len(seqs) + WRITERS * (1 + EACH)
