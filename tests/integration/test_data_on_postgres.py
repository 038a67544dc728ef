"""The roster commands on PostgreSQL: the same code as on SQLite, the same exact figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.people import Member, Organisation, OrgKind
from server.services.demo.street import seed_demo
from server.services.people.importer import import_members

pytestmark = pytest.mark.integration


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url)
    yield pg_url
    await close_database()


async def test_seed_demo_on_postgres_is_exact_and_idempotent(pg: str) -> None:
    first = await seed_demo(2023)
    assert (first.members, first.women, first.college_or_above, first.aged_35_or_under) == (
        1231,
        216,
        332,
        314,
    )
    assert await Member.all().count() == 1231
    assert await Organisation.filter(kind=OrgKind.BRANCH).count() == 54
    assert await Organisation.filter(kind=OrgKind.GROUP).count() == 168
    again = await seed_demo(2023)
    assert not again.changed and again.unchanged == 1231


async def test_import_on_postgres_is_all_or_nothing_and_rerunnable(pg: str, tmp_path: Path) -> None:
    header = "姓名,手机号,性别,出生日期,学历,入党日期,所在组织,党小组,职务\n"
    org = "示范街道党工委/第一党支部"
    good = f"张三,13800001234,男,1980-01-02,本科,2005-07-01,{org},第一党小组,支部书记\n"
    bad = f"李四,13800005678,女,2030-01-02,大专,2015-07-01,{org},,党员\n"
    roster = tmp_path / "roster.csv"
    roster.write_text(header + good + bad, encoding="utf-8")
    report = await import_members(roster)
    assert (3, "出生日期") in [(e.line, e.field) for e in report.errors]
    assert await Member.all().count() == 0  # nothing half-written

    roster.write_text(header + good, encoding="utf-8")
    assert (await import_members(roster)).created == 1
    rerun = await import_members(roster)
    assert (rerun.created, rerun.updated, rerun.unchanged) == (0, 0, 1)
    member = await Member.get(phone="13800001234").prefetch_related("group")
    assert member.group is not None and member.group.name == "第一党小组"
