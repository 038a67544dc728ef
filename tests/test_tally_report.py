"""The staff member's report: a street's tallies for a period, by organisation or by time.

Staff open the report for the committee (or any organisation) and a period, and read the line
they paste upward plus a table: by direct child, by branch, by day, week or month.  Past days
come from the nightly snapshot, today is counted live; both must give the same figures.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from server.clock import day_start
from server.db import close_database, open_database
from server.errors import ValidationFailed
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, counted_in
from server.models.study import CheckIn, QuizAttempt, Submission, UnitReading
from server.models.tallies import SnapshotDay
from server.services.meetings import attendance
from server.services.study import submissions
from server.services.study.points import PointsRules
from server.services.tallies.report import BREAKDOWNS, TallyReport, TallyRow, tally_report
from server.services.tallies.snapshot import snapshot_day
from tests.conftest import make_branch, make_member, migrated
from tests.tally_oracle import participation
from tests.test_tallies import COMMITTEE, EAST, ONE, TWO, WEST, ZONE

TODAY = date(2026, 3, 20)
NOW = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
YEAR = (date(2026, 1, 1), TODAY)
FIVE_MINUTES = timedelta(minutes=5)
ADDED = (
    "organised_study", "self_study", "check_ins", "submitted", "approved", "returned",
    "pending", "exchange_person_times", "meetings_held", "meetings_scheduled", "expected",
    "present", "leave", "absent",
)  # fmt: skip


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "report.sqlite3"))
    yield
    await close_database()


_BUSY: list[Path] = []


async def busy_quarter_copy(target: Path) -> str:
    """The URL of a SQLite file at `target` holding `a_busy_quarter()` and the snapshot of every
    past day.  They are the same every time (a seeded street, a fixed clock): built once per test
    run (about 3 s), copied for each test that reads them (a millisecond)."""
    if not _BUSY:
        path = Path(tempfile.mkdtemp(prefix="dangjian-busy-")) / "busy.sqlite3"
        await open_database(migrated(path))
        try:
            await a_busy_quarter()
            await snapshot_every_past_day()
        finally:
            await close_database()
        _BUSY.append(path)
    shutil.copyfile(_BUSY[0], target)
    return f"sqlite://{target}"


@pytest.fixture
async def busy(tmp_path: Path) -> AsyncIterator[None]:
    """A database holding the busy quarter, every past day snapshotted."""
    await open_database(await busy_quarter_copy(tmp_path / "busy.sqlite3"))
    yield
    await close_database()


async def org(path: str) -> Organisation:
    return await Organisation.get(path=path)


async def group_of(branch: Organisation, name: str) -> Organisation:
    return await Organisation.create(
        name=name, kind=OrgKind.GROUP, parent=branch, path=f"{branch.path}/{name}"
    )


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


async def meeting(org_id: int, kind: str, starts: datetime, status: str = "held") -> Meeting:
    return await Meeting.create(
        organisation_id=org_id,
        kind=kind,
        topic="学习" if kind in ("党课", "主题党日") else "研究工作",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        status=status,
        study=kind in ("党课", "主题党日"),
    )


async def a_busy_quarter(seed: int = 7) -> list[Member]:
    """Three branches (one with two groups), a committee staff member, ten weeks of activity.

    Includes a transfer mid-way, a 党课 at 23:30 local, a cancelled meeting, undecided
    attendance and leave never granted, returned 心得, abandoned quizzes, digests skimmed past,
    meetings later today — and events today, not yet snapshotted.
    """
    rng = random.Random(seed)
    one, two, west = await make_branch(ONE), await make_branch(TWO), await make_branch(WEST)
    grid = await group_of(one, "第一网格党小组")
    second_grid = await group_of(one, "第二网格党小组")
    committee = await org(COMMITTEE)
    members = [
        await make_member(
            f"党员{n}",
            f"1390000{n:04d}",
            org=[one, two, west][n % 3],
            group=[grid, second_grid, None][n % 9 // 3] if n % 3 == 0 else None,
        )
        for n in range(18)
    ]
    members.append(await make_member("党工委干事", "13900009999", org=committee))
    await make_member("转出者", "13900008888", org=two, status=MemberStatus.TRANSFERRED)
    day = date(2026, 1, 10)
    while day <= TODAY:
        if day == date(2026, 2, 15):  # 党员0 moves from 第一支部's group to 西社区
            members[0].organisation = west
            members[0].group = None
            await members[0].save()
        for m in members:
            org_id = counted_in(m)
            if rng.random() < 0.6:
                await CheckIn.create(member=m, organisation_id=org_id, day=day)
            for unit in rng.sample(range(6), rng.choice((0, 0, 1, 2))):
                await UnitReading.create(
                    member=m,
                    organisation_id=org_id,
                    unit_id=f"u{unit}",
                    day=day,
                    read_full=rng.random() < 0.7,
                )
            if rng.random() < 0.2:
                await QuizAttempt.create(
                    member=m,
                    organisation_id=org_id,
                    day=day,
                    questions=[],
                    finished_at=noon(day) if rng.random() < 0.8 else None,
                )
            if rng.random() < 0.1:
                await Submission.create(
                    member=m,
                    organisation_id=org_id,
                    day=day,
                    content="心得" * 30,
                    length=60,
                    digest=f"{m.id}-{day}",
                    status=rng.choice(("pending", "approved", "approved", "returned")),
                )
        if day.weekday() == 2:  # Wednesdays: a meeting in each branch, a group meeting in one
            for branch in (one, two, west):
                kind = rng.choice(("党课", "主题党日", "支委会", "支部党员大会"))
                starts = (
                    noon(day) if rng.random() < 0.7 else noon(day) + timedelta(hours=11, minutes=30)
                )
                status = "cancelled" if rng.random() < 0.1 else "held"
                held = await meeting(branch.id, kind, starts, status)
                for m in members:
                    if m.organisation_id == branch.id:  # type: ignore[attr-defined]
                        await MeetingAttendee.create(
                            meeting=held,
                            member=m,
                            organisation_id=counted_in(m),
                            attendance=rng.choice(list(Attendance)),
                        )
            group_meeting = await meeting(grid.id, "党小组会", noon(day))
            for m in members:
                if m.group_id == grid.id:  # type: ignore[attr-defined]
                    await MeetingAttendee.create(
                        meeting=group_meeting, member=m, organisation_id=grid.id
                    )
        day += timedelta(days=1)
    # Today, later: a 党课 this evening, not yet held, with a member already on leave.
    tonight = await meeting(one.id, "党课", noon(TODAY) + timedelta(hours=7))
    await MeetingAttendee.create(
        meeting=tonight,
        member=members[3],
        organisation_id=counted_in(members[3]),
        attendance="leave",
    )
    return members


async def snapshot_every_past_day(first: date = date(2026, 1, 1)) -> None:
    """As the nightly job takes them: at 00:05 the next day (a 23:30 meeting is not over yet)."""
    day = first
    while day < TODAY:
        await snapshot_day(day, ZONE, now=day_start(day + timedelta(days=1), ZONE) + FIVE_MINUTES)
        day += timedelta(days=1)


async def report(path: str, start: date, end: date, by: str | None, **kw: object) -> TallyReport:
    kw.setdefault("now", NOW)
    return await tally_report(await org(path), start, end, by=by, today=TODAY, zone=ZONE, **kw)  # type: ignore[arg-type]


def summed(rows: list[TallyRow], name: str) -> int:
    return sum(getattr(r, name) for r in rows)


async def test_every_breakdown_adds_up_to_the_total(busy: None) -> None:
    for path in (COMMITTEE, EAST, ONE):
        for by in BREAKDOWNS:
            r = await report(path, *YEAR, by)
            for name in ADDED:
                assert summed(r.rows, name) == getattr(r.total, name), (path, by, name)
            kinds: dict[str, int] = {}
            for row in r.rows:
                for kind, n in row.meetings.items():
                    kinds[kind] = kinds.get(kind, 0) + n
            assert kinds == r.total.meetings


async def test_the_snapshot_path_and_the_live_path_give_the_same_report(busy: None) -> None:
    spans = [YEAR, (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 18), date(2026, 4, 5))]
    for path in (COMMITTEE, EAST, WEST):
        for by in (None, *BREAKDOWNS):
            for span in spans:
                fast = await report(path, *span, by)
                slow = await report(path, *span, by, use_snapshots=False)
                assert fast == slow, (path, by, span)


async def test_the_total_is_what_participation_counts(busy: None) -> None:
    for path in (COMMITTEE, EAST, ONE, WEST, f"{ONE}/第一网格党小组"):
        live = await participation(await org(path), *YEAR, ZONE, NOW)
        t = (await report(path, *YEAR, None)).total
        assert (t.organised_study, t.members_studied) == (
            live.organised_study,
            live.members_studied,
        ), path
        assert (t.self_study, t.members_self_studied) == (
            live.self_study,
            live.members_self_studied,
        ), path
        assert t.exchange_person_times == live.exchange_person_times
        assert (t.check_ins, t.approved, t.returned) == (
            live.check_ins,
            live.approved,
            live.returned,
        )
        assert (t.meetings_held, t.meetings_scheduled) == (
            live.meetings_held,
            live.meetings_scheduled,
        )
        assert (t.expected, t.present, t.leave, t.absent) == (
            live.expected,
            live.present,
            live.leave,
            live.absent,
        )


async def test_the_committee_by_child_lists_general_branches_and_its_own_row(busy: None) -> None:
    r = await report(COMMITTEE, *YEAR, "child")
    labels = [row.label for row in r.rows]
    assert labels[:2] == ["东社区党总支", "西社区党总支"]
    assert labels[2] == "示范街道党工委（本级）"  # the staff member's own check-ins
    by_branch = await report(COMMITTEE, *YEAR, "branch")
    assert [row.label for row in by_branch.rows][:3] == [
        "东社区第一党支部",
        "东社区第二党支部",
        "西社区第一党支部",
    ]
    assert by_branch.rows[-1].org_id is None  # outside every branch: the committee staff
    assert sum(row.active_members for row in by_branch.rows) == r.total.active_members == 19


async def test_a_branch_by_child_lists_its_party_groups_with_their_own_members_and_deeds(
    busy: None,
) -> None:
    r = await report(ONE, *YEAR, "child")
    rows = {row.label: row for row in r.rows}
    first, second = rows["第一网格党小组"], rows["第二网格党小组"]
    assert first.meetings == {"党小组会": r.total.meetings["党小组会"]}
    assert (first.active_members, second.active_members) == (1, 2)  # 党员0 has moved away
    assert first.self_study > 0 and second.self_study > 0 and first.check_ins > 0
    assert first.expected > 0  # the group's meeting, and the branch's, counted for the group
    own = rows["东社区第一党支部（本级）"]  # members in no group
    assert own.active_members == 2
    assert first.self_study + second.self_study + own.self_study == r.total.self_study


async def test_one_branch_reports_its_own_members_and_events(busy: None) -> None:
    """What a secretary lands on: her branch, not a row of zeros and "支部以外"."""
    for by in ("branch", None):
        r = await report(ONE, *YEAR, by)
        if by == "branch":
            assert [row.label for row in r.rows] == ["东社区第一党支部"]
            (row,) = r.rows
            assert row == dataclasses.replace(r.total, key=row.key, label=row.label)
        assert r.total.active_members == 5
        assert r.total.self_study > 0 and r.total.meetings_held > 0 and r.total.expected > 0
    group = await report(f"{ONE}/第一网格党小组", *YEAR, "branch")
    assert [row.label for row in group.rows] == ["第一网格党小组"]
    assert group.total.active_members == 1 and group.total.meetings == {
        "党小组会": group.total.meetings_held
    }


async def test_events_count_where_the_member_was_at_the_time(db: None) -> None:
    one, west = await make_branch(ONE), await make_branch(WEST)
    wang = await make_member("王芳", "13900000001", org=one)
    await UnitReading.create(
        member=wang, organisation_id=one.id, unit_id="u1", day=date(2026, 2, 1), read_full=True
    )
    wang.organisation = west
    await wang.save()
    await UnitReading.create(
        member=wang, organisation_id=west.id, unit_id="u1", day=date(2026, 3, 1), read_full=True
    )
    await snapshot_every_past_day()
    r = await report(COMMITTEE, *YEAR, "branch")
    rows = {row.label: row for row in r.rows}
    assert rows["东社区第一党支部"].self_study == 1 and rows["西社区第一党支部"].self_study == 1
    assert (
        rows["东社区第一党支部"].members_self_studied
        == rows["西社区第一党支部"].members_self_studied
        == 1
    )
    assert r.total.members_self_studied == 1  # one person, in two places
    assert rows["东社区第一党支部"].active_members == 0  # she is in the west now


async def test_todays_events_show_before_the_snapshot_runs(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await snapshot_every_past_day()
    before = await report(COMMITTEE, *YEAR, "day")
    await UnitReading.create(
        member=wang, organisation_id=counted_in(wang), unit_id="u", day=TODAY, read_full=True
    )
    lecture = await meeting(wang.organisation_id, "党课", noon(TODAY) - timedelta(hours=2))  # type: ignore[attr-defined]
    await MeetingAttendee.create(
        meeting=lecture, member=wang, organisation_id=counted_in(wang), attendance="present"
    )
    after = await report(COMMITTEE, *YEAR, "day")
    assert after.total.organised_study == before.total.organised_study + 1
    assert after.total.self_study == before.total.self_study + 1
    assert after.rows[-1].key == "2026-03-20" and after.rows[-1].label == "3月20日"
    assert (after.rows[-1].self_study, after.rows[-1].organised_study) == (1, 1)
    assert after.rows[-1].members_studied == 1 and after.rows[-1].meetings == {"党课": 1}


async def test_a_meeting_not_yet_over_is_scheduled_and_in_no_attendance_rate(db: None) -> None:
    """A 支委会 at 11:50, looked at in 本月 at 11:30: not 会议召开 1 with everyone absent."""
    one = await make_branch(ONE)
    committee = [
        await make_member(f"支委{n}", f"1390000000{n}", org=one, role=Role.COMMITTEE_MEMBER)
        for n in range(5)
    ]
    at = datetime(2026, 3, 20, 3, 50, tzinfo=UTC)  # 11:50 in Shanghai
    m = await meeting(one.id, "支委会", at, status="planned")
    for member in committee:
        await MeetingAttendee.create(meeting=m, member=member, organisation_id=one.id)
    month = (date(2026, 3, 1), date(2026, 3, 31))  # a period reaching past today
    for by in (None, "branch", "day", "child"):
        early = await report(ONE, *month, by, now=at - timedelta(minutes=20))
        assert (early.total.meetings_held, early.total.meetings_scheduled) == (0, 1), by
        assert early.total.attendance_rate is None and early.total.expected == 0
    await attendance_signs_in(m, committee[0])
    late = await report(ONE, *month, None, now=at + timedelta(hours=2))
    assert (late.total.meetings_held, late.total.meetings_scheduled) == (1, 0)
    assert (late.total.present, late.total.absent, late.total.attendance_rate) == (1, 4, 0.2)


async def attendance_signs_in(m: Meeting, member: Member) -> None:
    await MeetingAttendee.filter(meeting_id=m.id, member_id=member.id).update(
        attendance=Attendance.PRESENT
    )


async def test_a_meeting_past_midnight_is_counted_once_it_is_over(db: None) -> None:
    """The 00:05 snapshot cannot count a 党课 still going on; the day stays live until it can."""
    one = await make_branch(ONE)
    wang = await make_member("王芳", "13900000001", org=one)
    day = date(2026, 3, 10)
    starts = day_start(day, ZONE) + timedelta(hours=23, minutes=30)
    lecture = await meeting(one.id, "党课", starts, status="planned")  # until 00:30
    await MeetingAttendee.create(
        meeting=lecture, member=wang, organisation_id=one.id, attendance="present"
    )
    await snapshot_day(day, ZONE, now=day_start(day + timedelta(days=1), ZONE) + FIVE_MINUTES)
    assert not await SnapshotDay.exists(day=day)  # not current: counted from the events
    r = await report(ONE, day, day, None)
    assert (r.total.meetings_held, r.total.organised_study) == (1, 1)
    assert r == await report(ONE, day, day, None, use_snapshots=False)


async def test_an_invitee_is_not_expected_and_their_presence_is_not_a_lesson(db: None) -> None:
    # As the snapshot counts it (snapshot_day): only expected attendees.
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    guest = await make_member("列席者", "13900000002", org=await make_branch(TWO))
    lecture = await meeting(wang.organisation_id, "党课", noon(date(2026, 3, 2)))  # type: ignore[attr-defined]
    await MeetingAttendee.create(
        meeting=lecture, member=wang, organisation_id=counted_in(wang), attendance="absent"
    )
    await MeetingAttendee.create(
        meeting=lecture,
        member=guest,
        organisation_id=counted_in(guest),
        attendance="present",
        role=AttendeeRole.INVITED,
    )
    await snapshot_every_past_day()
    for use in (True, False):
        t = (await report(COMMITTEE, *YEAR, None, use_snapshots=use)).total
        assert (t.expected, t.present, t.absent, t.organised_study, t.attendance_rate) == (
            1,
            0,
            1,
            0,
            0.0,
        )


async def test_time_buckets_are_iso_weeks_and_months_clipped_to_the_period(db: None) -> None:
    await make_branch(ONE)
    weeks = await report(COMMITTEE, date(2026, 3, 4), date(2026, 3, 20), "week")
    assert [(r.key, r.label, r.start, r.end) for r in weeks.rows] == [
        ("2026-W10", "第10周（3月2日起）", date(2026, 3, 4), date(2026, 3, 8)),
        ("2026-W11", "第11周（3月9日起）", date(2026, 3, 9), date(2026, 3, 15)),
        ("2026-W12", "第12周（3月16日起）", date(2026, 3, 16), date(2026, 3, 20)),
    ]
    months = await report(COMMITTEE, date(2026, 1, 15), date(2026, 3, 20), "month")
    assert [(r.key, r.label) for r in months.rows] == [
        ("2026-01", "2026年1月"),
        ("2026-02", "2026年2月"),
        ("2026-03", "2026年3月"),
    ]
    assert months.rows[0].start == date(2026, 1, 15) and months.rows[1].end == date(2026, 2, 28)


async def test_the_sentence_since_new_year_and_for_any_other_span(busy: None) -> None:
    year = await report(COMMITTEE, *YEAR, None)
    t = year.total
    assert year.sentence == (
        f"2026年以来，共组织党员学习{t.organised_study}人次，"
        f"交流体会{t.exchange_person_times}人次（另有党员线上自学{t.self_study}人次）"
    )
    spring = await report(COMMITTEE, date(2026, 3, 1), date(2026, 5, 31), None)
    assert spring.sentence.startswith("2026年3月1日至2026年5月31日，共组织党员学习")
    closed = await report(COMMITTEE, date(2026, 1, 1), date(2026, 2, 28), None)
    assert closed.sentence.startswith("2026年1月1日至2026年2月28日")  # the year is not over


async def test_the_report_as_json(busy: None) -> None:
    data = (await report(COMMITTEE, *YEAR, "month")).as_dict()
    assert data["start"] == "2026-01-01" and data["by"] == "month"
    assert data["rows"][0]["start"] == "2026-01-01" and data["total"]["key"] == "total"
    assert set(data["total"]) == set(asdict(next(iter([(await report(ONE, *YEAR, None)).total]))))


@pytest.mark.parametrize(
    ("start", "end", "by", "field"),
    [
        (date(2026, 5, 1), date(2026, 4, 1), None, "from"),
        (date(2016, 1, 1), date(2026, 1, 1), None, "to"),
        (date(2023, 3, 20), date(2026, 3, 20), None, "to"),
        (date(2026, 1, 1), date(2026, 2, 1), "quarter", "by"),
        (date(2026, 1, 1), date(2026, 2, 1), "branch; DROP TABLE member", "by"),
    ],
)
async def test_hostile_input_is_refused_naming_the_field(
    db: None, start: date, end: date, by: str | None, field: str
) -> None:
    await make_branch(ONE)
    with pytest.raises(ValidationFailed) as refused:
        await report(COMMITTEE, start, end, by)
    assert refused.value.field == field


async def test_three_years_exactly_is_allowed(db: None) -> None:
    await make_branch(ONE)
    r = await report(COMMITTEE, date(2023, 3, 21), date(2026, 3, 20), "month")
    assert len(r.rows) == 37


async def test_no_own_row_when_nothing_is_attributed_to_the_organisation_itself(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await UnitReading.create(
        member=wang, organisation_id=counted_in(wang), unit_id="u", day=TODAY, read_full=True
    )
    for by in ("child", "branch"):
        r = await report(COMMITTEE, *YEAR, by)
        assert not any(row.label.endswith("（本级）") or row.key == "other" for row in r.rows)
        assert summed(r.rows, "self_study") == r.total.self_study == 1


async def test_days_the_snapshot_missed_are_counted_from_the_events(db: None) -> None:
    await a_busy_quarter()
    # The server was down for most of February: no snapshot for those nights.
    await snapshot_every_past_day()
    await SnapshotDay.filter(day__gte=date(2026, 2, 3), day__lte=date(2026, 2, 24)).delete()
    for by in (None, "branch", "week"):
        fast = await report(COMMITTEE, *YEAR, by)
        slow = await report(COMMITTEE, *YEAR, by, use_snapshots=False)
        assert fast == slow, by


async def test_a_review_after_the_snapshot_shows_in_the_report_at_once(busy: None) -> None:
    pending = await Submission.filter(
        status="pending", organisation__path=ONE, day__lt=TODAY - timedelta(days=3)
    ).first()
    assert pending is not None
    secretary = await make_member("李书记", "13900007777", role=Role.SECRETARY, org=await org(ONE))
    before = (await report(ONE, *YEAR, None)).total.approved

    await submissions.approve(secretary, pending.id, noon(TODAY), TODAY, PointsRules())

    after = await report(ONE, *YEAR, None)
    assert after.total.approved == before + 1
    assert after == await report(ONE, *YEAR, None, use_snapshots=False)


async def test_an_attendance_corrected_after_the_snapshot_shows_at_once(busy: None) -> None:
    row = await MeetingAttendee.filter(
        attendance=Attendance.ABSENT,
        meeting__organisation__path=ONE,
        meeting__status="held",
        meeting__starts_at__lt=noon(TODAY - timedelta(days=3)),
    ).first()
    assert row is not None
    secretary = await make_member("李书记", "13900007777", role=Role.SECRETARY, org=await org(ONE))
    before = (await report(ONE, *YEAR, None)).total.present
    by_month = await report(ONE, *YEAR, "month")  # what is kept in memory, by month too

    await attendance.correct(
        secretary, row.meeting_id, row.member_id, Attendance.PRESENT, "签到机故障", noon(TODAY)
    )

    after = await report(ONE, *YEAR, None)
    assert after.total.present == before + 1
    assert after == await report(ONE, *YEAR, None, use_snapshots=False)
    months = await report(ONE, *YEAR, "month")
    assert months != by_month
    assert months == await report(ONE, *YEAR, "month", use_snapshots=False)


async def test_a_quiz_finished_after_midnight_counts_on_the_day_it_began(db: None) -> None:
    from server.services.study import quiz
    from study_content.corpus import SHIPPED, load_corpus

    corpus = load_corpus(SHIPPED)
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    began = TODAY - timedelta(days=1)
    attempt = await quiz.start_quiz(wang, corpus, began)
    await snapshot_day(began, ZONE)  # the night's snapshot: the quiz is not finished yet
    for position in range(len(attempt.questions)):
        await quiz.answer(attempt, position, "A", corpus, noon(TODAY), TODAY, PointsRules())

    after = await report(ONE, began, began, None)
    assert after.total.self_study == 1
    assert after == await report(ONE, began, began, None, use_snapshots=False)


async def test_a_report_opened_again_is_read_from_memory_and_is_the_same(busy: None) -> None:
    from server.services.tallies.report_cache import CACHE

    for by in (None, *BREAKDOWNS):
        first = await report(EAST, *YEAR, by)
        hits = CACHE.hits
        again = await report(EAST, *YEAR, by)
        assert CACHE.hits > hits, by  # the days already taken were not read again
        assert again == first == await report(EAST, *YEAR, by, use_snapshots=False), by


async def test_a_day_changed_and_taken_again_is_not_read_from_memory(busy: None) -> None:
    """Another process reviews a 心得 of last week and the night's job takes the day again
    (with the same clock reading): this process's memory of the period must not be used."""
    from server.services.tallies.snapshot import touched

    before = await report(ONE, *YEAR, "child")
    pending = await Submission.filter(
        status="pending", organisation__path__startswith=ONE, day__lt=TODAY - timedelta(days=3)
    ).first()
    assert pending is not None
    await Submission.filter(id=pending.id).update(status="approved")
    await touched(pending.day)
    await snapshot_day(
        pending.day, ZONE, now=day_start(pending.day + timedelta(days=1), ZONE) + FIVE_MINUTES
    )

    after = await report(ONE, *YEAR, "child")
    assert after.total.approved == before.total.approved + 1
    assert after == await report(ONE, *YEAR, "child", use_snapshots=False)


async def test_this_months_members_so_far_are_kept_and_todays_are_added_once(busy: None) -> None:
    """By month, March is under way: its members up to yesterday come from memory, and a
    member who studies today counts in March once, whether or not she studied in March before."""
    from server.services.tallies.report_cache import CACHE

    march = (await report(EAST, *YEAR, "month")).rows[-1]
    assert march.key == "2026-03" and march.members_self_studied > 0
    already = (
        await UnitReading.filter(
            organisation__path__startswith=EAST, day__gte=date(2026, 3, 1), read_full=True
        )
        .first()
        .prefetch_related("member")
    )
    assert already is not None
    newcomer = await make_member("周新", "13900000077", org=await org(ONE))  # never studied
    for member in (already.member, newcomer):
        await UnitReading.create(
            member=member,
            organisation_id=counted_in(member),
            unit_id="today",
            day=TODAY,
            read_full=True,
        )

    hits = CACHE.hits
    after = await report(EAST, *YEAR, "month")
    assert CACHE.hits > hits  # March 1..19 were not read again
    assert after.rows[-1].members_self_studied == march.members_self_studied + 1
    assert after == await report(EAST, *YEAR, "month", use_snapshots=False)


async def test_a_branch_renamed_is_reported_under_its_new_name_at_once(busy: None) -> None:
    """The rows kept in memory carry the branches' names: a new name shows on the next view."""
    before = await report(COMMITTEE, *YEAR, "branch")
    two = await org(TWO)
    assert two.name in {row.label for row in before.rows}
    two.name = "东社区第二党支部（更名）"
    await two.save(update_fields=["name"])

    after = await report(COMMITTEE, *YEAR, "branch")
    labels = {row.label for row in after.rows}
    assert "东社区第二党支部（更名）" in labels and "东社区第二党支部" not in labels
    assert after == await report(COMMITTEE, *YEAR, "branch", use_snapshots=False)


async def test_organisations_given_as_ranges_of_ids_are_exactly_those(db: None) -> None:
    from server.services.tallies.counting import within

    await a_busy_quarter()
    every = sorted(await Organisation.all().values_list("id", flat=True))
    for chosen in (every, every[1:-1], every[::2], [every[0], *every[3:]], [every[-1]], []):
        found = await Organisation.filter(within(chosen, "id")).values_list("id", flat=True)
        assert sorted(found) == sorted(chosen), chosen


async def test_a_branch_moved_to_another_general_branch_is_reported_under_it_at_once(
    busy: None,
) -> None:
    """The rows a report keeps in memory follow the tree as it is now, not as it was."""
    before = await report(COMMITTEE, *YEAR, "child")
    west = await Organisation.get(path=WEST.rsplit("/", 1)[0])
    two = await org(TWO)
    moved = f"{west.path}/{two.name}"
    for o in await Organisation.filter(path__startswith=TWO):
        o.path = moved + o.path[len(TWO) :]
        await o.save(update_fields=["path"])
    two = await Organisation.get(id=two.id)
    two.parent_id = west.id  # type: ignore[attr-defined]
    await two.save(update_fields=["parent_id"])

    after = await report(COMMITTEE, *YEAR, "child")
    assert after == await report(COMMITTEE, *YEAR, "child", use_snapshots=False)
    rows = {row.label: row for row in after.rows}
    was = {row.label: row for row in before.rows}
    east, west_name = EAST.rsplit("/", 1)[1], west.name
    assert rows[east].organised_study < was[east].organised_study
    assert rows[west_name].organised_study > was[west_name].organised_study
