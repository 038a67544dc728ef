"""Two bookings at the same moment on the real PostgreSQL: a 支委会 and a 党小组会 that share a
member, each confirmed by a different person in its own transaction; exactly one is written.

Each round starts both confirmations together on two pooled connections.  Without the lock on
the branch's row both clash checks would read an empty hour and both inserts would succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from server.db import close_database, open_database
from server.errors import Conflict
from server.models.meetings import Meeting
from server.models.people import Organisation, OrgKind, Role
from server.services.meetings import scheduling
from tests.conftest import make_branch, make_member

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


async def test_a_committee_and_a_group_sharing_a_member_booked_at_once_leave_one(
    db: str,
) -> None:
    branch = await make_branch()
    group = await Organisation.create(
        name="第一网格党小组",
        kind=OrgKind.GROUP,
        parent=branch,
        path=branch.path + "/第一网格党小组",
    )
    secretary = await make_member(
        "李书记", "13700000001", role=Role.SECRETARY, org=branch, group=group
    )
    leader = await make_member(
        "吴组长", "13700000003", role=Role.GROUP_LEADER, org=branch, group=group
    )
    for round_ in range(6):
        at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC) + timedelta(hours=2 * round_)
        committee = await scheduling.prepare(secretary, "支委会", at, "研究", "书记室", NOW, 90)
        grouped = await scheduling.prepare(leader, "党小组会", at, "学习", "活动室", NOW, 90)
        results = await asyncio.gather(
            scheduling.schedule(secretary, committee, NOW),
            scheduling.schedule(leader, grouped, NOW),
            return_exceptions=True,
        )
        written = [r for r in results if isinstance(r, Meeting)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(written) == 1 and len(refused) == 1, results
        assert "李书记" in refused[0].user_message  # the shared member is named
    assert await Meeting.all().count() == 6


async def test_two_meetings_in_one_room_booked_at_once_leave_one(db: str) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch)
    first = await Organisation.create(
        name="一组", kind=OrgKind.GROUP, parent=branch, path=branch.path + "/一组"
    )
    second = await Organisation.create(
        name="二组", kind=OrgKind.GROUP, parent=branch, path=branch.path + "/二组"
    )
    one = await make_member(
        "吴组长", "13700000003", role=Role.GROUP_LEADER, org=branch, group=first
    )
    two = await make_member(
        "郑组长", "13700000004", role=Role.GROUP_LEADER, org=branch, group=second
    )
    assert secretary.group_id is None  # type: ignore[attr-defined]
    at = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    drafts = [
        (one, await scheduling.prepare(one, "党小组会", at, "学习", "会议室", NOW, 90)),
        (two, await scheduling.prepare(two, "党小组会", at, "学习", "会议室", NOW, 90)),
    ]
    results = await asyncio.gather(
        *(scheduling.schedule(who, draft, NOW) for who, draft in drafts), return_exceptions=True
    )
    assert sum(isinstance(r, Meeting) for r in results) == 1, results
    assert await Meeting.all().count() == 1
