"""The demo city has the promised shape, and org codes are checked against their level."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.access.org import check_org_code
from engine.process.policy import load_policy
from models import Category, Department, Membership, OrgUnit


def test_demo_city_has_every_level_role_and_enough_categories(demo_db, settings):
    with demo_db() as session:
        levels = dict(session.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
        assert levels["district"] == 1 and levels["street"] == 3
        assert levels["community"] >= 9 and levels["grid"] >= 30
        assert session.scalar(select(func.count()).select_from(Department)) >= 8
        assert session.scalar(select(func.count()).select_from(Category)) >= 40
        roles = set(session.scalars(select(Membership.role).distinct()))
        assert roles == set(load_policy(settings["PROCESSES_DIR"]).roles)
        for grid in session.scalars(select(OrgUnit).where(OrgUnit.level == "grid")):
            assert len(grid.code) == 15 and grid.code.startswith(grid.parent.code)
            workers = session.scalars(select(Membership).where(
                Membership.role == "grid_worker", Membership.scope_key == grid.path)).all()
            assert len(workers) == 1, f"grid {grid.code} needs exactly one grid worker (一格一员)"


def test_org_code_shapes_follow_the_standard():
    assert check_org_code("district", "110101", None, 15) is None
    assert check_org_code("street", "110101001", "110101", 15) is None
    assert check_org_code("street", "110101", "110101", 15) == "street code must be 9 digits: district + 001-399"
    assert check_org_code("street", "110102001", "110101", 15) == "street code must start with its parent's code"
    assert check_org_code("community", "110101001450", "110101001", 15) is not None  # 450 is out of range
    assert check_org_code("grid", "110101001001001", "110101001001", 15) is None
    assert check_org_code("grid", "11010100100101", "110101001001", 15) == "grid code must be 15 digits"
    assert check_org_code("grid", "11010200100101", "110101001001", 14) == "grid code must start with its community's code"
