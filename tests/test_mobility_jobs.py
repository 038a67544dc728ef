"""The morning's 流动党员 to-dos, as a branch lives them on the moved clock (nobody sleeps): a
联系人 is told once when contacts fall due, the secretary is asked once when a member has been
silent six months, and reminded once of the 除名 procedure two years after a 党籍 was stopped —
each letter private to whoever acts on it, written to the outbox and sent outside the quiet
hours.  And the demo street: one member in each stage of 失联, its counts as staff see them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.leadership import Leadership
from scheduler.mobility import mobility_reminders
from scheduler.periodic import PeriodicRuns, leader_check
from scheduler.runner import timed_jobs
from server.cache import MemoryCache
from server.channels import Channel
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.community import CommunityMessage
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingType
from server.models.mobility import FlowReason, LostCase, LostStage, MobileMember
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, WeChatIdentity
from server.services.demo.mobility import INCOMING, LAPSED, PENDING, seed_mobility
from server.services.demo.street import seed_demo
from server.services.mobility import contacts, counts, lost, outgoing
from server.services.mobility.outgoing import Outgoing
from server.services.mobility.reminders import (
    CONTACT_KIND,
    LOST_KIND,
    REMOVAL_KIND,
    contacts_due,
    possibly_lost,
)
from server.services.mobility.words import months_before, years_after
from server.services.tallies.report import tally_report
from server.settings import Settings
from tests.conftest import APPID, make_branch, make_member, migrated
from tests.demo_street import DAY, NOW, seeded_street
from tests.mobility_helpers import quorate

ZONE = ZoneInfo("Asia/Shanghai")
START = date(2026, 1, 5)
SECRETARY, KEEPER = "o_mobile_secretary", "o_mobile_keeper"


def moment(day: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "jobs.sqlite3"))
    yield
    await close_database()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(scheduler=False)  # quiet hours 22:00–07:00, contacts every 30 days


async def bind(member: Member, openid: str) -> None:
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )


@dataclass
class Branch:
    org: Organisation
    secretary: Member
    keeper: Member  # a 支委委员, 联系人 of 王强 and 孙群
    wang: Member
    sun: Member
    liu: Member  # no 联系人 named: the secretary keeps in touch


async def branch_with_mobile_members(*, everyone: bool = True) -> Branch:
    org = await make_branch()
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=org)
    keeper = await make_member("赵委员", "13800000002", role=Role.COMMITTEE_MEMBER, org=org)
    await bind(secretary, SECRETARY)
    await bind(keeper, KEEPER)
    wang = await make_member("王强", "13800000003", org=org)
    sun = await make_member("孙群", "13800000004", org=org)
    liu = await make_member("刘芳", "13800000005", org=org)
    away = {wang: ("江苏苏州", keeper.id), sun: ("浙江宁波", keeper.id), liu: ("广东深圳", None)}
    for member, (place, keeper_id) in away.items():
        if everyone or member is wang:
            out = Outgoing(place, FlowReason.WORK, keeper_id=keeper_id)
            await outgoing.mark_out(secretary, member, out, START, moment(START, 10))
    return Branch(org, secretary, keeper, wang, sun, liu)


async def letters(kind: str | None = None) -> list[CommunityMessage]:
    rows = await CommunityMessage.all().order_by("id")
    return [r for r in rows if kind is None or r.kind == kind]


# --- 联系提醒 -------------------------------------------------------------------------------------


async def test_nothing_due_writes_nothing_and_a_keeper_is_told_once_per_due_date(
    db: None, settings: Settings
) -> None:
    b = await branch_with_mobile_members()
    clock = FrozenClock(moment(START + timedelta(days=29)))
    told = await mobility_reminders(clock, settings)
    assert (told.contacts, told.questions, told.removals) == (0, 0, 0)
    assert await letters() == []

    # A month on: one letter to each 联系人, naming only the members they keep in touch with.
    clock.set(moment(START + timedelta(days=30)))
    assert (await mobility_reminders(clock, settings)).contacts == 2
    to_keeper, to_secretary = await letters(CONTACT_KIND)
    assert to_keeper.openid == KEEPER and to_secretary.openid == SECRETARY
    assert "王强（江苏苏州）" in to_keeper.text and "孙群（浙江宁波）" in to_keeper.text
    assert "刘芳" not in to_keeper.text and "还没有联系记录" in to_keeper.text
    assert "刘芳（广东深圳）" in to_secretary.text and "王强" not in to_secretary.text
    assert "联系 王强 电话" in to_keeper.text and to_keeper.title == "联系提醒"
    assert to_keeper.not_before == clock.now()  # 09:30: not in the quiet hours

    # A second run, and the next mornings while the contacts are still due: nothing twice.
    assert (await mobility_reminders(clock, settings)).contacts == 0
    clock.advance(days=1)
    assert (await mobility_reminders(clock, settings)).contacts == 0
    assert len(await letters()) == 2

    # 王强 is contacted; a month later his next contact falls due and is told in its turn.
    day = START + timedelta(days=31)
    await contacts.log_contact(b.keeper, b.wang, "电话 了解近况", day, moment(day))
    clock.set(moment(day + timedelta(days=29)))
    assert (await mobility_reminders(clock, settings)).contacts == 0
    clock.set(moment(day + timedelta(days=30)))
    assert (await mobility_reminders(clock, settings)).contacts == 1
    latest = (await letters(CONTACT_KIND))[-1]
    assert latest.openid == KEEPER and "王强（江苏苏州），上次联系 2月5日" in latest.text
    assert "孙群" not in latest.text and "另有 1 名同志此前已提醒" in latest.text


async def test_the_job_runs_each_morning_once_on_the_leader(db: None, settings: Settings) -> None:
    await branch_with_mobile_members()
    clock = FrozenClock(moment(START + timedelta(days=30), 9, 29))
    leader = Leadership(MemoryCache(clock), ttl=30)
    runs = PeriodicRuns(clock, leader.me)
    jobs = timed_jobs(settings, clock, {}, leader.fence)
    assert "mobility" not in await leader_check(leader, runs, jobs)  # due at 09:30
    clock.set(moment(START + timedelta(days=30), 9, 30))
    assert "mobility" in await leader_check(leader, runs, jobs)
    clock.advance(60)
    assert "mobility" not in await leader_check(leader, runs, jobs)  # once a day
    assert len(await letters(CONTACT_KIND)) == 2


async def test_quiet_hours_hold_a_letter_until_the_morning(db: None, settings: Settings) -> None:
    await branch_with_mobile_members()
    late = moment(START + timedelta(days=30), 23, 0)  # run by hand late at night
    await mobility_reminders(FrozenClock(late), settings)
    rows = await letters(CONTACT_KIND)
    assert len(rows) == 2
    morning = moment(START + timedelta(days=31), 7, 0).astimezone(UTC)
    assert {r.not_before for r in rows} == {morning}


async def test_a_keeper_never_bound_gets_nothing_and_nobody_else_is_told_instead(
    db: None, settings: Settings
) -> None:
    b = await branch_with_mobile_members()
    await WeChatIdentity.filter(member_id=b.keeper.id).delete()
    clock = FrozenClock(moment(START + timedelta(days=30)))
    assert (await mobility_reminders(clock, settings)).contacts == 1  # the secretary's own
    [row] = await letters()
    assert row.openid == SECRETARY and "王强" not in row.text


# --- 可能失联 -------------------------------------------------------------------------------------


async def test_six_months_silent_is_one_question_to_the_secretary(
    db: None, settings: Settings
) -> None:
    b = await branch_with_mobile_members(everyone=False)
    six = months_before(START, -6)
    clock = FrozenClock(moment(six - timedelta(days=1)))
    assert (await mobility_reminders(clock, settings)).questions == 0
    clock.set(moment(six))
    told = await mobility_reminders(clock, settings)
    assert (told.questions, told.contacts) == (1, 0)  # the branch's question, not a to-do
    [question] = await letters(LOST_KIND)
    assert question.openid == SECRETARY  # the leaders only: not the 联系人, nobody else
    assert "王强（江苏苏州）" in question.text and "请支部研究是否开展查找" in question.text
    assert "2026年1月5日" in question.text and "不是对本人的认定" in question.text
    assert (await Member.get(id=b.wang.id)).status == MemberStatus.ACTIVE  # never a status
    clock.advance(days=1)
    assert (await mobility_reminders(clock, settings)).questions == 0

    # Heard of again, then silent for another six months: a new question.
    back = six + timedelta(days=3)
    await contacts.log_contact(b.keeper, b.wang, "电话 已联系上", back, moment(back))
    clock.set(moment(months_before(back, -6) - timedelta(days=1)))
    assert (await mobility_reminders(clock, settings)).questions == 0
    clock.set(moment(months_before(back, -6)))
    assert (await mobility_reminders(clock, settings)).questions == 1
    assert len(await letters(LOST_KIND)) == 2


# --- 除名程序 -------------------------------------------------------------------------------------


async def test_two_years_after_the_stop_the_branch_is_reminded_once(
    db: None, settings: Settings
) -> None:
    b = await branch_with_mobile_members(everyone=False)
    day = months_before(START, -7)
    await lost.search(b.secretary, b.wang, "电话 拨打两次无人接听", day, moment(day))
    meeting = await Meeting.create(
        organisation_id=b.org.id,
        kind=MeetingType.BRANCH_MEETING,
        topic="研究失联党员处置",
        starts_at=moment(day + timedelta(days=10), 9, 0).astimezone(UTC),
        ends_at=moment(day + timedelta(days=10), 11, 0).astimezone(UTC),
    )
    await quorate(meeting, away=[b.wang])
    stopped = day + timedelta(days=11)
    case = await lost.stop(
        b.secretary, b.wang, meeting.id, "决定停止其党籍", stopped, moment(stopped), ZONE
    )
    due = years_after(stopped, 2)

    clock = FrozenClock(moment(due - timedelta(days=1)))
    assert (await mobility_reminders(clock, settings)).removals == 0
    # Due, but nobody of the branch's leaders is bound: asked again the next morning.
    await WeChatIdentity.filter(member_id=b.secretary.id).delete()
    clock.set(moment(due))
    assert (await mobility_reminders(clock, settings)).removals == 0
    assert (await LostCase.get(id=case.id)).removal_reminded_at is None
    await bind(b.secretary, SECRETARY)
    clock.advance(days=1)
    assert (await mobility_reminders(clock, settings)).removals == 1
    [reminder] = await letters()
    assert reminder.kind == REMOVAL_KIND and reminder.openid == SECRETARY
    assert "王强" in reminder.text and "第二十四条" in reminder.text and "除名" in reminder.text
    assert (await LostCase.get(id=case.id)).removal_reminded_at == clock.now()
    clock.advance(days=1)
    told = await mobility_reminders(clock, settings)
    assert (told.removals, told.contacts, told.questions) == (0, 0, 0)  # stopped: no to-dos
    assert len(await letters()) == 1


# --- the demo street ------------------------------------------------------------------------------


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[str]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield url
    await close_database()


async def test_the_demo_street_has_each_stage_of_losing_touch_once(
    demo: str, settings: Settings
) -> None:
    report = await seed_mobility(DAY, ZONE, now=NOW)
    assert report.written and report.rows > 300

    branches = await Organisation.filter(kind=OrgKind.BRANCH).order_by("path")
    seen = await counts.overview(branches, DAY, NOW, ZONE, 30)
    totals = dict(zip([key for key, _ in counts.COLUMNS], seen.total(), strict=True))
    assert report.totals == totals
    assert {k: v for k, v in totals.items() if k != "contacted"} == {
        "outgoing": 32,
        "incoming": INCOMING,
        "possibly_lost": 1,
        "searching": 1,
        "stopped": 2,
        "pending": PENDING,
    }
    assert 20 <= totals["contacted"] <= 30  # the two silent ones were not contacted
    assert len(contacts_due(seen.lines, DAY)) == report.contacts_due == LAPSED

    # 可能失联: silent more than six months, and no case — a question, not a status.
    [silent] = possibly_lost(seen.lines)
    assert silent.case is None and silent.member.status == MemberStatus.ACTIVE
    since = silent.silent_since
    assert since is not None and since <= months_before(DAY, 6)
    # One case in each stage; the search dated step by step.
    cases = await LostCase.all().order_by("id")
    assert Counter(c.stage for c in cases) == {
        LostStage.SEARCHING: 1,
        LostStage.RESTORED: 1,
        LostStage.STOPPED: 2,
    }
    for case in cases:
        tries = [a.day for a in await case.attempts.all().order_by("id")]
        assert len(tries) >= 2 and tries == sorted(tries) and tries[0] == case.opened_on
        assert tries[-1] <= DAY
    [restored] = [c for c in cases if c.stage == LostStage.RESTORED]
    assert restored.restored_on and restored.handling and restored.current is None
    # Stopped: one at a held 支部党员大会 of the member's branch, within two years; one more
    # than two years ago, whose 除名 reminder is due.
    stopped = sorted((c for c in cases if c.stage == LostStage.STOPPED), key=lambda c: c.id)
    recent = next(c for c in stopped if c.meeting_id is not None)
    meeting = await Meeting.get(id=recent.meeting_id)
    member = await Member.get(id=recent.member_id)
    assert meeting.kind == MeetingType.BRANCH_MEETING and meeting.ends_at <= NOW
    assert meeting.organisation_id == member.organisation_id == recent.branch_id
    assert recent.stopped_on and years_after(recent.stopped_on, 2) > DAY
    assert [c.id for c in await lost.removals_due(DAY)] == [c.id for c in stopped if c != recent]
    assert report.removals_due == 1 and report.restored == 1
    for case in stopped:
        assert (await Member.get(id=case.member_id)).status == MemberStatus.STOPPED
    # 流入 members take part in their branch's meetings since they were confirmed, never as
    # expected (no vote), and most came to those held.
    newcomers = await Member.filter(incoming=True, status=MemberStatus.ACTIVE)
    assert len(newcomers) == INCOMING
    at_meetings = await MeetingAttendee.filter(member_id__in=[m.id for m in newcomers])
    assert at_meetings and {r.role for r in at_meetings} == {AttendeeRole.INCOMING}
    assert {r.member_id for r in at_meetings} == {m.id for m in newcomers}
    assert any(r.attendance == Attendance.PRESENT for r in at_meetings)

    # The roll's figures are the report's still: 流入 and stopped members are besides them.
    street = await seed_demo(2023, today=DAY)
    assert (street.members, street.mobile, street.created, street.updated) == (1231, 32, 0, 0)
    committee = await Organisation.get(kind=OrgKind.COMMITTEE)
    tallied = await tally_report(committee, DAY, DAY, by=None, today=DAY, zone=ZONE, now=NOW)
    assert tallied.total.active_members == 1231

    # Seeded once; the branch shown to newcomers has a report waiting and a contact due.
    again = await seed_mobility(DAY, ZONE, now=NOW)
    assert not again.written and again.totals == totals
    assert await MobileMember.all().count() == 32 + INCOMING + PENDING
    shown = await Organisation.get(name=report.branch)
    pending = await MobileMember.get(id=report.pending_id)
    assert pending.branch_id == shown.id and pending.status == "pending"
    trial = report.try_it()
    assert f"确认流入 {pending.id}" in trial and f"联系 {report.mobile_name} 电话" in trial
    assert report.bind.startswith("绑定 ") and "流动党员" in trial


async def test_the_demo_streets_to_dos_reach_the_keepers_and_the_secretaries(
    demo: str, settings: Settings
) -> None:
    await seed_mobility(DAY, ZONE, now=NOW)
    officers = await Member.filter(
        role__in=[Role.SECRETARY, Role.COMMITTEE_MEMBER], status=MemberStatus.ACTIVE
    )
    for n, officer in enumerate(officers):
        await bind(officer, f"o_demo_officer_{n:04d}")
    told = await mobility_reminders(FrozenClock(NOW), settings)
    assert 1 <= told.contacts <= LAPSED  # keepers of the lapsed, one letter each
    assert told.questions == 1 and told.removals == 1  # each branch has one secretary
    named = sum(r.text.count("· ") for r in await letters(CONTACT_KIND))
    assert named == LAPSED
    again = await mobility_reminders(FrozenClock(NOW + timedelta(hours=1)), settings)
    assert (again.contacts, again.questions, again.removals) == (0, 0, 0)


def test_seed_demo_prints_how_to_try_mobility(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded_street(tmp_path / "dangjian.sqlite3")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    assert main(["seed-demo", "--activity"]) == 0
    out = capsys.readouterr().out
    assert "党员 members 1231" in out and "可能失联 possibly 1" in out
    assert "试用流动党员" in out and "再发 流动党员" in out and "确认流入" in out
