"""打卡 gives the same answers on SQLite (the ORM path) and PostgreSQL (one statement)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest

from server.db import close_database, open_database
from server.models.study import CheckIn, PointsEntry, PointsReason
from server.services.study.checkin import check_in
from server.services.study.points import PointsRules, award
from tests.conftest import make_member, migrated

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 25)
RULES = PointsRules(check_in=1, daily_cap=10)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))  # a fresh database, dropped afterwards
    return migrated(tmp_path / "checkin.sqlite3")  # the migrations are test_migrations.py's


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    await open_database(db_url)
    yield db_url
    await close_database()


async def test_first_then_repeat(db: str) -> None:
    member = await make_member("王芳", "13900000001")
    first = await check_in(member, TODAY, RULES)
    assert (first.first_today, first.streak, first.month_days) == (True, 1, 1)
    assert (first.points_awarded, first.points_today) == (1, 1)
    again = await check_in(member, TODAY, RULES)
    assert (again.first_today, again.streak, again.month_days) == (False, 1, 1)
    assert (again.points_awarded, again.points_today) == (0, 1)
    assert await CheckIn.all().count() == 1 and await PointsEntry.all().count() == 1


async def test_streak_and_month_count_past_days(db: str) -> None:
    member = await make_member("王芳", "13900000001")
    for back in (1, 2, 3, 5, 30):  # a run of three before today, a gap, last month
        await check_in(member, TODAY - timedelta(days=back), RULES)
    result = await check_in(member, TODAY, RULES)
    assert (result.streak, result.month_days) == (4, 5)


async def test_the_daily_cap_leaves_room_for_part_of_the_award(db: str) -> None:
    member = await make_member("王芳", "13900000001")
    rules = PointsRules(check_in=3, daily_cap=10)
    await award(member, PointsReason.QUIZ, "quiz:1", 8, TODAY, rules)
    result = await check_in(member, TODAY, rules)
    assert (result.points_awarded, result.points_today) == (2, 10)
    full = await check_in(member, TODAY + timedelta(days=1), PointsRules(check_in=0))
    assert (full.first_today, full.points_awarded) == (True, 0)


async def test_ten_at_once_leave_one_check_in_and_one_award(db: str) -> None:
    member = await make_member("王芳", "13900000001")
    results = await asyncio.gather(*(check_in(member, TODAY, RULES) for _ in range(10)))
    assert sum(r.first_today for r in results) == 1
    assert sum(r.points_awarded for r in results) == 1
    assert await CheckIn.all().count() == 1 and await PointsEntry.all().count() == 1


async def test_ten_at_once_after_two_days_all_see_a_three_day_streak(db: str) -> None:
    member = await make_member("王芳", "13900000001")
    for back in (1, 2):
        await check_in(member, TODAY - timedelta(days=back), RULES)
    results = await asyncio.gather(*(check_in(member, TODAY, RULES) for _ in range(10)))
    assert {(r.streak, r.month_days) for r in results} == {(3, 3)}


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url)
    yield pg_url
    await close_database()


async def test_a_check_in_waiting_behind_another_still_counts_today(pg: str) -> None:
    """PostgreSQL: the loser of a race reads a snapshot older than the winner's commit."""
    member = await make_member("王芳", "13900000001")
    await check_in(member, TODAY - timedelta(days=1), RULES)
    other = await asyncpg.connect("postgresql://" + pg.split("://", 1)[1])
    try:
        async with other.transaction():
            await other.execute(
                "INSERT INTO check_in (member_id, organisation_id, day, created_at)"
                " VALUES ($1, $2, $3, now())",
                member.id,
                member.organisation_id,  # type: ignore[attr-defined]
                TODAY,
            )
            waiting = asyncio.create_task(check_in(member, TODAY, RULES))
            for _ in range(1000):  # until it is blocked on the winner's row (at most ~10 s)
                if await other.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the second check-in never waited on the first")
        result = await waiting
    finally:
        await other.close()
    assert (result.first_today, result.streak, result.month_days) == (False, 2, 2)
