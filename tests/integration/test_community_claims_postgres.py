"""Fifty reported members tap the last place of one order at once on the real PostgreSQL:
exactly one claim is written and the order holds no more than its capacity.

The claims run on ten pooled connections, so they truly overlap: without the conditional
UPDATE that takes a place only while `taken < capacity`, several would read one free place
and all of them would take it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from server.db import close_database, open_database
from server.errors import Conflict
from server.models.community import ClaimStatus, OrderClaim, ServiceEvent, ServiceOrder
from server.services.community import orders
from tests.community_world import outside_volunteers, spec, street

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


async def test_fifty_members_tapping_the_last_place_at_once_leave_one_claim(db: str) -> None:
    s = await street(NOW)
    everyone = await outside_volunteers(s, s.hongxing, 3 + 50 * 3, NOW)
    for round_, capacity in enumerate((1, 2, 3)):
        crowd = everyone[round_ * 50 + 3 : (round_ + 1) * 50 + 3]
        order = await orders.dispatch(s.people["hong"], spec(NOW, capacity=capacity), NOW)
        for early in everyone[: capacity - 1]:  # all places but the last are taken
            await orders.claim(early, order.id, NOW)
        results = await asyncio.gather(
            *(orders.claim(v, order.id, NOW) for v in crowd), return_exceptions=True
        )
        won = [r for r in results if isinstance(r, OrderClaim)]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert len(won) == 1 and len(lost) == 49, results
        assert {c.code for c in lost} == {"ORDER_FULL"}
        fresh = await ServiceOrder.get(id=order.id)
        assert fresh.taken == fresh.capacity == capacity
        held = OrderClaim.filter(order_id=order.id, status=ClaimStatus.CLAIMED)
        assert await held.count() == capacity
        # The losers left no trace: one 接单 on the timeline for each place.
        assert await ServiceEvent.filter(order_id=order.id, action="接单").count() == capacity
