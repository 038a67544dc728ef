"""流动党员 at the service layer, as a branch lives it: 王强 leaves for work in Suzhou, his
联系人 keeps in touch, the months pass on the clock (no sleeping), a silent member is put to
the branch as 可能失联, searched for, found — or, after a branch meeting, his 党籍 stopped and
two years on the branch reminded of 除名.  A member from elsewhere reports in (流入) and takes
part without a vote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.channels import Channel
from server.db import close_database, open_database
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingType
from server.models.mobility import FlowReason, FlowStatus, LostStage, MobileMember
from server.models.people import Member, MemberStatus, Role, WeChatIdentity
from server.services.mobility import contacts, counts, groups, incoming, lost, outgoing, standing
from server.services.mobility.outgoing import Outgoing
from server.services.mobility.words import check_reason, day_of, months_before
from server.services.people.access import scope_of
from tests.conftest import make_branch, make_group, make_member, migrated

ZONE = ZoneInfo("Asia/Shanghai")
START = date(2026, 1, 5)


def moment(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "mobile.sqlite3"))
    yield
    await close_database()


async def lines(today: date) -> list[standing.Standing]:
    records = await standing.open_records(None)
    cases = await standing.open_cases(None)
    return await standing.standings(records, cases, today, moment(today), ZONE, 30)


async def branch_meeting(
    branch_id: int, day: date, present: int = 3, by_writing: int = 0
) -> Meeting:
    """A 支部党员大会 of the branch's active members: the first `present` came (the next
    `by_writing` of them took part by an approved 心得 instead), the rest did not — the newest
    members first, so those marked 流出 at the start are among those who did not come."""
    meeting = await Meeting.create(
        organisation_id=branch_id,
        kind=MeetingType.BRANCH_MEETING,
        topic="研究失联党员处置",
        starts_at=moment(day, 9).astimezone(UTC),
        ends_at=moment(day, 11).astimezone(UTC),
    )
    members = await Member.filter(organisation_id=branch_id, status=MemberStatus.ACTIVE).order_by(
        "-id"
    )
    for i, m in enumerate(members):
        came = i < present + by_writing
        await MeetingAttendee.create(
            meeting=meeting,
            member=m,
            organisation_id=branch_id,
            role=AttendeeRole.EXPECTED,
            attendance=Attendance.PRESENT if came else Attendance.ABSENT,
            mode="writing" if present <= i < present + by_writing else None,
        )
    return meeting


async def test_a_member_leaves_is_kept_in_touch_with_and_the_silence_is_a_question(
    db: None,
) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    committee = await make_member("赵委员", "13800000002", role=Role.COMMITTEE_MEMBER, org=branch)
    wang = await make_member("王强", "13800000003", org=branch)
    plain = await make_member("孙群", "13800000004", org=branch)

    # Only the branch's leaders mark someone 流出; the wrong reason is named.
    with pytest.raises(PermissionDenied):
        await outgoing.mark_out(
            plain, wang, Outgoing("江苏苏州", FlowReason.WORK), START, moment(START)
        )
    with pytest.raises(ValidationFailed) as bad:
        check_reason("旅游")
    assert bad.value.field == "reason"
    with pytest.raises(ValidationFailed):
        await outgoing.mark_out(
            secretary, wang, Outgoing("  ", FlowReason.WORK), START, moment(START)
        )

    await outgoing.mark_out(
        secretary,
        wang,
        Outgoing("江苏苏州", FlowReason.WORK, keeper_id=committee.id, reach="微信同号"),
        START,
        moment(START),
    )
    assert (await Member.get(id=wang.id)).is_mobile
    with pytest.raises(Conflict):  # twice is once
        await outgoing.mark_out(
            secretary, wang, Outgoing("浙江", FlowReason.WORK), START, moment(START)
        )
    assert await MobileMember.filter(member_id=wang.id).count() == 1

    # A month on, the contact is due — the keeper's to-do.
    [line] = await lines(START + timedelta(days=29))
    assert line.due_on == START + timedelta(days=30) and not line.contact_due(
        START + timedelta(days=29)
    )
    assert line.contact_due(START + timedelta(days=30))

    # The committee member logs a contact; a plain member may not.
    with pytest.raises(PermissionDenied):
        await contacts.log_contact(plain, wang, "电话 聊了聊", START, moment(START))
    day = START + timedelta(days=31)
    logged = await contacts.log_contact(
        committee, wang, "电话 了解近况，提醒交党费", day, moment(day)
    )
    assert logged.channel == "电话" and logged.note == "了解近况，提醒交党费"
    [line] = await lines(day)
    assert line.last_contact == day and line.due_on == day + timedelta(days=30)

    # Six months of silence after that contact: a question for the branch, not a status.
    silent = months_before(day, -6)
    [line] = await lines(silent - timedelta(days=1))
    assert not line.possibly_lost
    [line] = await lines(silent)
    assert line.possibly_lost and not line.contact_due(silent)
    assert (await Member.get(id=wang.id)).status == MemberStatus.ACTIVE
    scope = await scope_of(secretary)
    seen = await counts.overview(await counts.branches_of(scope), silent, moment(silent), ZONE, 30)
    assert seen.total() == [1, 0, 0, 1, 0, 0, 0]

    # 党费 received resets the silence; so would any contact.
    await contacts.record_dues(
        secretary,
        wang,
        date(silent.year, silent.month, 1),
        silent,
        moment(silent),
        Decimal("12.50"),
    )
    [line] = await lines(silent)
    assert not line.possibly_lost and line.last_dues == silent


async def test_the_search_its_outcomes_and_the_two_year_reminder(db: None) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    wang = await make_member("王强", "13800000003", org=branch)
    liu = await make_member("刘芳", "13800000005", org=branch)
    for who in (wang, liu):
        await outgoing.mark_out(
            secretary, who, Outgoing("广东深圳", FlowReason.WORK), START, moment(START)
        )

    # 刘芳 is found: contact restored, and how it was handled.
    d1 = START + timedelta(days=200)
    case, attempt = await lost.search(secretary, liu, "电话 拨打两次无人接听", d1, moment(d1))
    assert case.stage == LostStage.SEARCHING and attempt.method == "电话"
    again, _ = await lost.search(secretary, liu, "亲属 联系其母亲", d1, moment(d1))
    assert again.id == case.id  # one case, two attempts
    restored = await lost.restore(secretary, liu, "已取得联系，批评教育，补交党费", d1, moment(d1))
    assert restored.stage == LostStage.RESTORED
    with pytest.raises(NotFound):
        await lost.restore(secretary, liu, "again", d1, moment(d1))

    # 王强: no stopping 党籍 without a search, without a held 支部党员大会 since the search
    # began and with a quorum of those with a vote, or within six months.
    for i in range(3):
        await make_member(f"在家党员{i}", f"1380000001{i}", org=branch)
    early = START + timedelta(days=60)
    before = await branch_meeting(branch.id, early - timedelta(days=1), present=4)
    with pytest.raises(Conflict):
        await lost.stop(secretary, wang, before.id, "决定停止党籍", early, moment(early), ZONE)
    await lost.search(secretary, wang, "原单位 已离职", early, moment(early))
    after = early + timedelta(days=1)
    soon = await branch_meeting(branch.id, after, present=4)
    with pytest.raises(Conflict, match="不满6个月"):
        await lost.stop(secretary, wang, soon.id, "决定停止党籍", after, moment(after, 12), ZONE)
    later = START + timedelta(days=220)
    with pytest.raises(ValidationFailed, match="查找开始"):  # decided before the search began
        await lost.stop(secretary, wang, before.id, "决定", later, moment(later), ZONE)
    committee_meeting = await Meeting.create(
        organisation_id=branch.id,
        kind=MeetingType.COMMITTEE_MEETING,
        topic="x",
        starts_at=moment(later - timedelta(days=2)).astimezone(UTC),
        ends_at=moment(later - timedelta(days=2), 11).astimezone(UTC),
    )
    with pytest.raises(ValidationFailed):  # a 支委会 does not decide it
        await lost.stop(secretary, wang, committee_meeting.id, "决定", later, moment(later), ZONE)
    # Two of six there and two more by 心得: a 心得 cannot vote, so no quorum.
    thin = await branch_meeting(branch.id, later - timedelta(days=2), present=2, by_writing=2)
    with pytest.raises(ValidationFailed, match="有表决权的到会人数"):
        await lost.stop(secretary, wang, thin.id, "决定", later, moment(later), ZONE)
    decided = await branch_meeting(branch.id, later - timedelta(days=1), present=4)
    case = await lost.stop(
        secretary, wang, decided.id, "经支部党员大会讨论，停止其党籍", later, moment(later), ZONE
    )
    assert case.stage == LostStage.STOPPED and case.meeting_id == decided.id
    assert (await Member.get(id=wang.id)).status == MemberStatus.STOPPED
    # No longer counted 流出: the case is the branch's business now.
    assert await outgoing.open_record(wang.id) is None
    assert not (await Member.get(id=wang.id)).is_mobile
    seen = await counts.overview([branch], later, moment(later), ZONE, 30)
    # 刘芳 still 流出, and contacted (found again is a contact); 王强 stopped.
    assert seen.total() == [1, 0, 1, 0, 0, 1, 0]

    # Two years on, the branch is reminded of 除名 — once the day comes, not before.
    assert lost.removal_due_on(case) == date(later.year + 2, later.month, later.day)
    assert await lost.removals_due(later + timedelta(days=729)) == []
    assert [c.id for c in await lost.removals_due(later + timedelta(days=731))] == [case.id]
    closed = await lost.close(
        secretary, wang, "经党委批准，按自行脱党予以除名", later + timedelta(days=740)
    )
    assert closed.stage == LostStage.CLOSED


async def test_a_member_from_elsewhere_reports_in_and_the_branch_confirms(db: None) -> None:
    branch = await make_branch()
    other = await make_branch("示范街道党工委/第二社区党总支/第二社区第一党支部")
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    stranger = await make_member("周书记", "13800000009", role=Role.SECRETARY, org=other)
    found = await incoming.branches_named("第一社区")
    assert [b.id for b in found] == [branch.id]

    report = incoming.Incoming(
        name="陈流入",
        phone="13900000011",
        home_org="安徽省XX县XX镇XX村党支部",
        home_contact="0550-1234567",
        place="第一社区3栋",
        reason=FlowReason.WORK,
    )
    with pytest.raises(ValidationFailed):
        await incoming.report_in(
            "app",
            "o-1",
            Channel.OFFICIAL_ACCOUNT,
            branch,
            incoming.Incoming(**{**report.__dict__, "phone": "123"}),
            START,
            moment(START),
        )
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, branch, report, START, moment(START)
    )
    assert record.status == FlowStatus.PENDING
    again = await incoming.report_in(  # sent twice: one report
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, branch, report, START, moment(START)
    )
    assert again.id == record.id
    # Someone else gives the same phone: told nothing of it, but the secretary sees two.
    other = await incoming.report_in(
        "app", "o-2", Channel.OFFICIAL_ACCOUNT, branch, report, START, moment(START)
    )
    assert other.id != record.id
    assert await incoming.warnings(record) == ["⚠ 另有 1 份流入报到用了同一手机号，请核实是谁本人"]
    # Another branch's secretary neither sees nor decides it.
    assert await incoming.pending_for(stranger) == []
    with pytest.raises(PermissionDenied):
        await incoming.decide_in(stranger, record.id, True, "", moment(START))
    assert [r.id for r in await incoming.pending_for(secretary)] == [record.id, other.id]

    coming = await Meeting.create(
        organisation_id=branch.id, kind=MeetingType.PARTY_LECTURE, topic="党课",
        starts_at=moment(START + timedelta(days=3)).astimezone(UTC),
        ends_at=moment(START + timedelta(days=3), 12).astimezone(UTC),
    )  # fmt: skip
    committee = await Meeting.create(
        organisation_id=branch.id, kind=MeetingType.COMMITTEE_MEETING, topic="支委会",
        starts_at=moment(START + timedelta(days=4)).astimezone(UTC),
        ends_at=moment(START + timedelta(days=4), 12).astimezone(UTC),
    )  # fmt: skip
    confirmed = await incoming.decide_in(secretary, record.id, True, "", moment(START))
    member = await Member.get(id=confirmed.member_id)
    # Confirmed today, they take part in the 党课 already scheduled — not in the 支委会.
    joined = await MeetingAttendee.filter(member_id=member.id).values_list("meeting_id", "role")
    assert joined == [(coming.id, AttendeeRole.INCOMING)] and committee.id
    assert member.incoming and member.organisation_id == branch.id
    assert await WeChatIdentity.exists(appid="app", openid="o-1", member_id=member.id)
    with pytest.raises(Conflict):
        await incoming.decide_in(secretary, record.id, True, "", moment(START))
    # The other report with that phone cannot be confirmed now, and says why.
    [warned] = await incoming.warnings(other)
    assert "已是本街道党员陈流入" in warned
    with pytest.raises(Conflict):
        await incoming.decide_in(secretary, other.id, True, "", moment(START))
    await incoming.decide_in(
        secretary, other.id, False, "手机号与已确认的流入党员相同", moment(START)
    )
    # A 流入 member is no one to mark 流出, nor is their 党籍 this branch's to stop.
    with pytest.raises(Conflict):
        await outgoing.mark_out(
            secretary, member, Outgoing("x", FlowReason.OTHER), START, moment(START)
        )
    with pytest.raises(Conflict, match="组织关系所在党组织"):
        await lost.search(secretary, member, "电话 无人接听", START, moment(START))

    refused = await incoming.report_in(
        "app",
        "o-3",
        Channel.OFFICIAL_ACCOUNT,
        branch,
        incoming.Incoming(**{**report.__dict__, "phone": "13900000012", "name": "假冒"}),
        START,
        moment(START),
    )
    with pytest.raises(ValidationFailed):  # refusing needs a reason
        await incoming.decide_in(secretary, refused.id, False, " ", moment(START))
    done = await incoming.decide_in(
        secretary, refused.id, False, "经联系原党组织，查无此人", moment(START)
    )
    assert done.status == FlowStatus.REFUSED and done.member_id is None
    seen = await counts.overview([branch], START, moment(START), ZONE, 30)
    assert seen.total() == [0, 1, 0, 0, 0, 0, 0]


async def test_yearly_report_and_a_group_of_three(db: None) -> None:
    branch = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=branch)
    people = [await make_member(f"党员{i}", f"1380000010{i}", org=branch) for i in range(3)]
    with pytest.raises(NotFound):  # only a 流出 member reports yearly
        await contacts.yearly_report(people[0], 2026, "x", "已交清", "", moment(START))
    for who in people:
        await outgoing.mark_out(
            secretary, who, Outgoing("江苏苏州", FlowReason.WORK), START, moment(START)
        )
    report = await contacts.yearly_report(
        people[0], 2026, "在苏州XX公司党支部参加主题党日", "是", "苏州", moment(START)
    )
    assert report.dues == "已交清"
    again = await contacts.yearly_report(
        people[0], 2026, "在苏州参加组织生活", "部分", "", moment(START)
    )
    assert again.id == report.id and again.org_life == "在苏州参加组织生活"
    with pytest.raises(ValidationFailed):
        await contacts.yearly_report(people[0], 2026, "x", "也许", "", moment(START))

    with pytest.raises(ValidationFailed):
        await groups.form_group(secretary, branch, "苏州", people[:2])
    with pytest.raises(ValidationFailed, match="不在上海"):  # one place, as the rule says
        await groups.form_group(secretary, branch, "上海", people)
    grid = await make_group(branch, "第一网格党小组")
    await Member.filter(id=people[0].id).update(group_id=grid.id)
    people[0] = await Member.get(id=people[0].id)
    group = await groups.form_group(secretary, branch, "苏州", people)
    assert group.name == "流动党员党小组（苏州）"
    assert {m.group_id for m in await Member.filter(id__in=[p.id for p in people])} == {group.id}
    # Back home: out of the 流动党员党小组, into the group they came from (or none).
    for who in people[:2]:
        fresh = await Member.get(id=who.id)
        await outgoing.end(secretary, fresh, "已返回本地居住", START, moment(START))
    back = {m.name: m.group_id for m in await Member.filter(id__in=[p.id for p in people[:2]])}
    assert back == {"党员0": grid.id, "党员1": None}


def test_dates_as_secretaries_write_them() -> None:
    today = date(2026, 12, 7)
    assert day_of("2026-03-05", today) == date(2026, 3, 5)
    assert day_of("2026年3月", today) == date(2026, 3, 1)
    with pytest.raises(ValidationFailed):
        day_of("2027-01-01", today)
    with pytest.raises(ValidationFailed):
        day_of("2026-02-30", today)
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
