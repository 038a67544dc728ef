"""流动党员 on the real PostgreSQL: the same stories as on SQLite, and the races that only a
pool of connections can run — two secretaries marking one member 流出 at once, two taps on
确认流入, two first searches for one lost member — each leaving exactly one row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest

from server.channels import Channel
from server.db import close_database, open_database
from server.errors import Conflict
from server.models.mobility import FlowReason, LostAttempt, LostCase, MobileMember
from server.models.people import Member, Role, WeChatIdentity
from server.services.mobility import incoming, lost, outgoing
from server.services.mobility.outgoing import Outgoing
from tests import test_mobility as stories
from tests.conftest import make_branch, make_member

pytestmark = pytest.mark.integration
TODAY = date(2026, 12, 7)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


@pytest.mark.parametrize(
    "story",
    [
        stories.test_a_member_leaves_is_kept_in_touch_with_and_the_silence_is_a_question,
        stories.test_the_search_its_outcomes_and_the_two_year_reminder,
        stories.test_a_member_from_elsewhere_reports_in_and_the_branch_confirms,
        stories.test_yearly_report_and_a_group_of_three,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_the_stories_hold_on_postgres(db: str, story) -> None:  # type: ignore[no-untyped-def]
    await story(None)


async def test_races_leave_one_row_each(db: str) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    deputy = await make_member("钱副书记", "13800000002", role=Role.DEPUTY_SECRETARY, org=branch)
    wang = await make_member("王强", "13800000003", org=branch)
    now = stories.moment(TODAY)

    marked = await asyncio.gather(
        *(
            outgoing.mark_out(who, wang, Outgoing("江苏苏州", FlowReason.WORK), TODAY, now)
            for who in (secretary, deputy) * 4
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, MobileMember) for r in marked) == 1
    assert all(isinstance(r, (MobileMember, Conflict)) for r in marked), marked
    assert await MobileMember.filter(member_id=wang.id).count() == 1

    report = incoming.Incoming(
        "陈流入", "13900000011", "安徽某村党支部", "0550-1234567", "3栋", FlowReason.WORK
    )
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, branch, report, TODAY, now
    )
    decided = await asyncio.gather(
        *(incoming.decide_in(secretary, record.id, True, "", now) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, MobileMember) for r in decided) == 1, decided
    assert await Member.filter(phone="13900000011").count() == 1
    assert await WeChatIdentity.filter(appid="app", openid="o-1").count() == 1

    await asyncio.gather(
        *(lost.search(secretary, wang, f"电话 第{i}次", TODAY, now) for i in range(6))
    )
    assert await LostCase.filter(member_id=wang.id).count() == 1
    assert await LostAttempt.filter(case__member_id=wang.id).count() == 6
