"""星级党员 on the real PostgreSQL: the same stories as on SQLite, and what only a pool of
connections can race — two leaders opening the year's ledger at once (one row per member),
two decisions on one member at once (both logged, each from what the other left), two taps on
确认 (one confirmation)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest

from server.db import close_database, open_database
from server.errors import Conflict
from server.models.member_stars import MemberStar, MemberStarChange, StarYear
from server.models.people import Role
from server.services.member_stars import ledger
from tests import test_member_stars as stories
from tests.conftest import make_member

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


@pytest.mark.parametrize(
    "story",
    [
        stories.test_the_ledger_gathers_the_years_records_and_suggests_by_the_rule,
        stories.test_the_secretary_sets_adjusts_exempts_confirms_and_a_later_change_is_logged,
        stories.test_hostile_decisions_are_refused_and_change_nothing,
        stories.test_points_make_no_star,
        stories.test_committee_staff_see_counts_per_branch_not_stars,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_the_stories_hold_on_postgres(db: str, story) -> None:  # type: ignore[no-untyped-def]
    await story(None)


async def test_races_leave_one_row_each(db: str) -> None:
    b = await stories.build()
    deputy = await make_member("钱副书记", "13800000031", role=Role.DEPUTY_SECRETARY, org=b.one)
    settings = stories.settings()
    await asyncio.gather(*(ledger.ledger(b.one, 2026, stories.NOW, settings) for _ in range(6)))
    assert await MemberStar.filter(year=2026, branch_id=b.one.id).count() == 5

    reasons = ("经支部党员大会评议", "群众评议较好")
    await asyncio.gather(
        *(
            ledger.decide(
                who,
                b.one,
                b.li.id,
                2026,
                star=star,
                exempt=False,
                reason=reasons[star % 2],
                now=stories.NOW,
            )
            for who, star in ((b.secretary, 3), (deputy, 4), (b.secretary, 5), (deputy, 3))
        )
    )
    changes = await MemberStarChange.filter(row__member_id=b.li.id).order_by("id")
    assert len(changes) == 4
    # Each decision started from what the one before it left: the log is one unbroken chain.
    assert changes[0].before == "待评定"
    assert all(a.after == c.before for a, c in pairwise(changes))
    row = await MemberStar.get(member_id=b.li.id, year=2026)
    assert f"已评定 {'★' * (row.star or 0)}" == changes[-1].after

    for who in (b.wang, b.secretary, b.zhao, deputy):
        await ledger.decide(
            b.secretary, b.one, who.id, 2026, star=None, exempt=True, reason="测试", now=stories.NOW
        )
    tapped = await asyncio.gather(
        *(
            ledger.confirm(b.secretary, b.one, 2026, None, stories.LATER, stories.ZONE)
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(t, StarYear) for t in tapped) == 1, tapped
    assert all(isinstance(t, (StarYear, Conflict)) for t in tapped), tapped
    assert await StarYear.filter(branch_id=b.one.id, year=2026).count() == 1
