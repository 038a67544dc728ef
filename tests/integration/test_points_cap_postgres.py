"""The daily points cap under deeds at the same moment, on PostgreSQL's many connections."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from server.app import create_app
from server.models.study import PointsEntry, PointsReason
from server.services.study.points import PointsRules, award, points_on
from tests.conftest import make_member

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 25)


async def test_twenty_deeds_at_once_pay_exactly_the_cap(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    await aiohttp_client(create_app(settings))
    wang = await make_member("王芳", "13900000002")
    rules = PointsRules(daily_cap=10)
    # Twenty quiz answers worth 3 each, all at once: 10 is paid, not 11 or 60.
    paid = await asyncio.gather(
        *(award(wang, PointsReason.QUIZ, f"quiz:{n}", 3, DAY, rules) for n in range(20))
    )
    assert sum(paid) == 10
    assert await points_on(wang, DAY) == 10
    assert sorted(p for p in paid if p) == [1, 3, 3, 3]
    # The same deed twice at once pays once, and takes room once.
    again = await asyncio.gather(
        *(award(wang, PointsReason.QUIZ, "quiz:x", 3, date(2026, 11, 26), rules) for _ in range(5))
    )
    assert sum(again) == 3
    assert await points_on(wang, date(2026, 11, 26)) == 3
    later = await award(wang, PointsReason.QUIZ, "quiz:y", 9, date(2026, 11, 26), rules)
    assert later == 7  # the room given back by the repeats is there
    assert await PointsEntry.filter(member_id=wang.id, deed="quiz:x").count() == 1
