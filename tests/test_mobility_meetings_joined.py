"""A 流入 member's meetings as they come and go: confirmed, they are told of the branch's
meetings already scheduled (and reminded) as anyone added to a meeting is; leaving the street,
they are taken off those still to come and nothing more is sent.  And a member who moved on
from one 流动党员党小组 to another returns, back home, to the group they first came from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.channels import Channel
from server.db import close_database, open_database
from server.models.mobility import FlowReason
from server.models.notices import Notice, NoticeStatus
from server.models.people import Member, Role
from server.services.meetings import scheduling
from server.services.mobility import groups, incoming, outgoing
from server.services.mobility.outgoing import Outgoing
from tests.conftest import make_branch, make_group, make_member, migrated
from tests.test_mobility import START, moment

REPORT = incoming.Incoming(
    name="陈流入", phone="13900000011", home_org="安徽省XX县XX镇XX村党支部",
    home_contact="", place="第一社区3栋", reason=FlowReason.WORK,
)  # fmt: skip
DAY_BEFORE = [("1d", 86400)]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "joined.sqlite3"))
    yield
    await close_database()


async def test_a_confirmed_newcomer_is_told_of_meetings_already_scheduled_and_a_leaver_is_not(
    db: None,
) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    await make_member("王党员", "13800000002", org=branch)
    now = moment(START)
    draft = await scheduling.prepare(
        secretary, "党课", moment(START + timedelta(days=3)), "党课", "会议室", now, 60
    )
    meeting = await scheduling.schedule(secretary, draft, now, DAY_BEFORE)
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, branch, REPORT, START, now
    )
    confirmed = await incoming.decide_in(secretary, record.id, True, "", now, None, DAY_BEFORE)
    member = await Member.get(id=confirmed.member_id)
    assert await meeting.attendees.filter(member_id=member.id).exists()
    kinds = set(
        await Notice.filter(meeting_id=meeting.id, member_id=member.id).values_list(
            "kind", flat=True
        )
    )
    assert "scheduled" in kinds and any(k.startswith("reminder:1d") for k in kinds)

    # He leaves the street: off the 党课 still to come, and nothing more is sent to him.
    await outgoing.end(secretary, member, "已离开本街道", START, now)
    assert not await meeting.attendees.filter(member_id=member.id).exists()
    assert not await Notice.filter(
        meeting_id=meeting.id, member_id=member.id, status=NoticeStatus.PENDING
    ).exists()
    assert await meeting.attendees.filter(member__name="王党员").exists()  # nobody else moved


async def test_from_one_mobile_group_to_another_and_home_to_the_first_group(db: None) -> None:
    branch = await make_branch()
    home = await make_group(branch, "第一党小组")
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    people = []
    for n in range(3):
        m = await make_member(f"流出{n}", f"1390000002{n}", org=branch, group=home)
        await outgoing.mark_out(
            secretary, m, Outgoing("江苏苏州", FlowReason.WORK), START, moment(START)
        )
        people.append(m)
    await groups.form_group(secretary, branch, "苏州", people)
    people = [await Member.get(id=m.id) for m in people]
    for m in people:  # they all moved on
        await outgoing.amend(secretary, m, place="浙江杭州")
    await groups.form_group(secretary, branch, "杭州", people)
    first = await Member.get(id=people[0].id)
    await outgoing.end(secretary, first, "已返回本地居住", START, moment(START))
    back = await Member.get(id=first.id)
    assert back.group_id == home.id
