"""dangjian plan: the year's 三会一课 calendar for every branch, from the rules, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.meetings import PlannedMeeting
from server.models.people import Organisation, OrgKind
from server.services.meetings.plan import plan_year
from tests.conftest import make_branch, migrated
from tests.test_cli_startup import run_cli


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "plan.sqlite3"))
    yield
    await close_database()


async def test_a_branch_with_one_group_plans_its_year(db: None) -> None:
    branch = await make_branch()
    await Organisation.create(
        name="第一网格党小组",
        kind=OrgKind.GROUP,
        parent=branch,
        path=branch.path + "/第一网格党小组",
    )
    assert await plan_year(2027, "quarter") == 12 + 12 + 4 + 4 + 12 + 1 + 1
    kinds = Counter(await PlannedMeeting.all().values_list("kind", flat=True))
    assert kinds == {
        "支委会": 12,
        "主题党日": 12,
        "支部党员大会": 4,
        "党课": 4,
        "党小组会": 12,
        # The yearly obligations of every branch.
        "组织生活会": 1,
        "民主评议党员": 1,
    }
    yearly = await PlannedMeeting.get(kind="组织生活会")
    assert (yearly.period_start, yearly.period_end) == (date(2027, 1, 1), date(2027, 12, 31))
    q2 = await PlannedMeeting.get(kind="支部党员大会", period_start=date(2027, 4, 1))
    assert q2.period_end == date(2027, 6, 30)
    assert await plan_year(2027, "quarter") == 0  # again: nothing new
    assert await plan_year(2028, "year") == 12 + 12 + 4 + 1 + 12 + 1 + 1


def test_the_plan_command_runs_on_an_empty_database(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0  # nothing but `migrate` makes one
    done = run_cli(tmp_path, "plan", "--year", "2027")
    assert done.returncode == 0 and "planned 0 meetings for 2027" in done.stdout


def test_the_snapshot_command_writes_a_day_and_refuses_a_bad_date(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0
    done = run_cli(tmp_path, "snapshot", "--day", "2026-11-24")
    assert done.returncode == 0 and "tally snapshot for 2026-11-24: 0 organisations" in done.stdout
    bad = run_cli(tmp_path, "snapshot", "--day", "24/11/2026")
    assert bad.returncode == 2 and "--day" in bad.stderr
