"""The daily points cap holds when deeds arrive together (SQLite; PostgreSQL in integration)."""

from __future__ import annotations

import asyncio
from datetime import date

from aiohttp.test_utils import TestClient

from server.models.study import PointsEntry, PointsReason
from server.services.study.points import PointsRules, award, points_on
from tests.conftest import make_member

DAY = date(2026, 11, 25)


async def test_deeds_at_once_pay_up_to_the_cap_and_no_further(client: TestClient) -> None:
    wang = await make_member("王芳", "13900000002")
    rules = PointsRules(daily_cap=10)
    paid = await asyncio.gather(
        *(award(wang, PointsReason.QUIZ, f"quiz:{n}", 3, DAY, rules) for n in range(8))
    )
    assert sum(paid) == 10 and await points_on(wang, DAY) == 10
    # The next day starts again; the same deed is never paid twice.
    tomorrow = date(2026, 11, 26)
    assert await award(wang, PointsReason.QUIZ, "quiz:0", 3, tomorrow, rules) == 0
    assert await award(wang, PointsReason.QUIZ, "quiz:new", 3, tomorrow, rules) == 3
    assert await PointsEntry.filter(member_id=wang.id).count() == 5


async def test_a_day_with_points_from_before_the_counter_keeps_them(client: TestClient) -> None:
    """Entries written before the per-day row existed (or by the demo) count toward the cap."""
    wang = await make_member("王芳", "13900000002")
    await PointsEntry.create(
        member_id=wang.id, organisation_id=wang.organisation_id, day=DAY,  # type: ignore[attr-defined]
        reason=PointsReason.MEETING, deed="meeting:1", points=8,
    )  # fmt: skip
    assert await award(wang, PointsReason.QUIZ, "quiz:1", 3, DAY, PointsRules(daily_cap=10)) == 2
