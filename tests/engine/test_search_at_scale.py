"""Case search at scale: pages by a stable cursor, updated_since, words through the trigram index
(kept in step with every change), short words by the fallback, a capped count, scope filters and
text search that use an index on SQLite and PostgreSQL (their plans are checked), no state loaded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from engine.errors import InputError
from engine.queries import search
from engine.queries.scope import under
from models import Case

from tests.engine.conftest import FRINGE_GRID

pytestmark = pytest.mark.usefixtures("clock")


def parse(args):
    return search.CaseFilter.parse(args)


def reported(driver, clock, n, **fields):
    cases = []
    for i in range(n):
        cases.append(driver.report(**fields))
        clock.shift(timedelta(minutes=1))
    return cases


def test_cursor_pages_walk_every_case_once_newest_first_while_new_cases_arrive(driver, clock):
    made = reported(driver, clock, 7)
    admin = driver.user("admin")
    first = search.search_cases(driver.session, driver.rt, admin, now=driver.rt.clock(), limit=3)
    assert [c.code for c in first.items] == [c.code for c in made[::-1][:3]] and first.total == 7
    newcomer = driver.report()  # arrives between pages: the next pages neither repeat nor skip
    seen = [c.code for c in first.items]
    cursor = first.next_cursor
    while cursor:
        page = search.search_cases(driver.session, driver.rt, admin, now=driver.rt.clock(), limit=3, cursor=cursor)
        seen += [c.code for c in page.items]
        cursor = page.next_cursor
    assert seen == [c.code for c in made[::-1]] and newcomer.code not in seen
    # Older clients' offsets still page the same list.
    by_offset = search.search_cases(driver.session, driver.rt, admin, now=driver.rt.clock(), limit=3, offset=3)
    assert [c.code for c in by_offset.items] == [newcomer.code, *seen][3:6]


def test_a_bad_cursor_or_cursor_with_offset_names_the_field(driver):
    admin = driver.user("admin")
    for cursor, offset, field in (("not-a-cursor", 0, "cursor"), ("MjAyNnww", 0, "cursor")):
        with pytest.raises(InputError) as raised:
            search.search_cases(driver.session, driver.rt, admin, now=driver.rt.clock(), cursor=cursor, offset=offset)
        assert set(raised.value.errors) == {field}
    case = driver.report()
    with pytest.raises(InputError) as raised:
        search.search_cases(driver.session, driver.rt, admin, now=driver.rt.clock(), offset=1,
                            cursor=search.encode_cursor(case))
    assert set(raised.value.errors) == {"offset"}


def test_updated_since_lists_only_cases_changed_since(driver, clock):
    old, changed = reported(driver, clock, 2)
    since = driver.rt.clock()
    clock.shift(timedelta(minutes=5))
    driver.do(changed, "accept", "clerk_dhm", decision="file")
    admin = driver.user("admin")
    page = search.search_cases(driver.session, driver.rt, admin, parse({"updated_since": since.isoformat()}),
                               now=driver.rt.clock())
    assert [c.code for c in page.items] == [changed.code]
    with pytest.raises(InputError) as raised:
        parse({"updated_since": "2026-11-25T10:00:00"})  # no time zone
    assert set(raised.value.errors) == {"updated_since"}


def test_words_are_found_through_the_index_and_follow_every_change(driver):
    case = driver.report(description="南池子大街井盖丢失，行人有危险")
    driver.report(description="路边堆放生活垃圾")
    admin = driver.user("admin")
    find = lambda q: [c.code for c in search.search_cases(driver.session, driver.rt, admin, parse({"q": q}),
                                                          now=driver.rt.clock()).items]
    assert find("井盖丢失") == [case.code] and find("行人有") == [case.code]
    assert find("井盖") == [case.code]       # two characters: the fallback
    assert find("丢") == [case.code]         # one character too
    case.description = "路灯不亮已经三天"     # changed in the same transaction as the index
    driver.session.commit()
    assert find("井盖丢失") == [] and find("路灯不亮") == [case.code]
    driver.session.delete(case)
    driver.session.commit()
    assert find("路灯不亮") == []


def test_the_count_stops_at_search_count_limit(driver, clock):
    reported(driver, clock, 4)
    driver.rt.settings["SEARCH_COUNT_LIMIT"] = 3
    page = search.search_cases(driver.session, driver.rt, driver.user("admin"), now=driver.rt.clock(), limit=2)
    assert (page.total, page.total_exact, len(page.items)) == (3, False, 2)
    driver.rt.settings["SEARCH_COUNT_LIMIT"] = 4
    page = search.search_cases(driver.session, driver.rt, driver.user("admin"), now=driver.rt.clock(), limit=2)
    assert (page.total, page.total_exact) == (4, True)


def test_search_never_loads_the_workflow_state(driver):
    driver.report()
    driver.session.expunge_all()
    page = search.search_cases(driver.session, driver.rt, driver.user("admin"), now=driver.rt.clock())
    assert page.items and all("state" in inspect(c).unloaded for c in page.items)


def test_scope_ranges_are_exactly_the_prefix(driver):
    mine = driver.report()
    other = driver.report(grid_code=FRINGE_GRID, username="clerk_jdk")
    prefix = mine.scope_path.rsplit("/", 3)[0] + "/"  # its street's path
    codes = set(driver.session.scalars(select(Case.code).where(under(Case.scope_path, prefix))))
    assert mine.code in codes and other.code not in codes


def plan(session, statement) -> str:
    """The database's plan for ``statement``, as one string."""
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        return " | ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a handful of rows would always be scanned
    return " | ".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))


def test_scope_filters_and_words_use_an_index_on_this_database(driver):
    """The plans behind the scope filter and text search: fail when a full scan of cases replaces the index."""
    driver.report()
    session = driver.session
    street = select(Case.id).where(under(Case.scope_path, "110101/110101001/"))
    scope_plan = plan(session, street)
    words_plan = plan(session, select(Case.id).where(search._words(session, "生活垃圾")))
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        assert "USING COVERING INDEX ix_grid_case_scope_path (scope_path>? AND scope_path<?)" in scope_plan, scope_plan
        assert "VIRTUAL TABLE INDEX" in words_plan and "SCAN grid_case" not in words_plan, words_plan
    else:
        assert "Index Cond" in scope_plan and ">= '110101/110101001/'" in scope_plan and "Seq Scan" not in scope_plan, \
            scope_plan
        assert "ix_case_text_description" in words_plan and "ix_case_text_address" in words_plan, words_plan
