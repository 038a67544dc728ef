"""seed-demo: the report's figures hold exactly, the street is deterministic and idempotent;
and its eight weeks look like a real street's: every meeting a branch holds, chairs at their own
meetings, organised study on the seed report's scale, varied 心得 with a few genuine copies that
the product flags, points that follow from the deeds, and newcomers who can make their first
打卡."""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from server.cli import main
from server.db import close_database, open_database
from server.errors import ValidationFailed
from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
)
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, counted_in
from server.models.study import (
    CheckIn,
    PointsEntry,
    PointsReason,
    QuizAttempt,
    Submission,
    SubmissionStatus,
    UnitReading,
)
from server.services.demo import street as demo
from server.services.demo.activity import ActivityReport, seed_activity
from server.services.demo.calendar import holiday
from server.services.demo.people import Person
from server.services.demo.points import Deed, pay
from server.services.demo.street import COMMITTEE, age_on, build_demo, seed_demo
from server.services.demo.writing import compose
from server.services.meetings.scheduling import COMMITTEE_ROLES
from server.services.people.importer import add_years, import_members
from server.services.people.orgs import ensure_path
from server.services.study import similarity
from server.services.study.points import PointsRules
from server.services.tallies.report import tally_report
from tests.conftest import migrated
from tests.demo_street import DAY, NOW, ZONE, seeded_street

TODAY = date(2024, 2, 29)
COLLEGE = {"大专", "本科", "研究生"}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "t.sqlite3"))
    yield
    await close_database()


# --- the generated street, without a database ---------------------------------------------------


# The whole year of 2024 must give the same counts: its first day, a leap day, its last day.
@pytest.mark.parametrize("today", [date(2024, 1, 1), TODAY, date(2024, 12, 31)])
def test_generated_figures_are_exact(today: date) -> None:
    street = build_demo(2023, date(2024, 6, 1))
    people = street.records

    assert len(people) == 1231
    assert len({p.phone for p in people}) == 1231
    assert sum(p.gender == "女" for p in people) == 216
    assert sum(p.education in COLLEGE for p in people) == 332
    assert sum(age_on(p.birth_date, today) <= 35 for p in people) == 314
    for p in people:
        assert re.fullmatch(r"1700000\d{4}", p.phone)
        assert p.status is MemberStatus.ACTIVE
        assert add_years(p.birth_date, 18) <= p.joined_on <= today


def test_generated_tree_matches_the_report() -> None:
    street = build_demo(2023, TODAY)
    kinds = Counter(
        OrgKind.COMMITTEE
        if path == COMMITTEE
        else OrgKind.GROUP
        if path.endswith("党小组")
        else OrgKind.GENERAL_BRANCH
        if path.endswith("总支")
        else OrgKind.BRANCH
        for path in street.org_paths
    )
    assert kinds == {
        OrgKind.COMMITTEE: 1,
        OrgKind.GENERAL_BRANCH: 14,
        OrgKind.BRANCH: 54,
        OrgKind.GROUP: 168,
    }
    assert len(demo.COMMUNITIES) == 12 and demo.RELOCATION_COMMUNITY in demo.COMMUNITIES

    roles = Counter((p.org_path, p.role) for p in street.records)
    branches = [path for path in street.org_paths if path.endswith("党支部")]
    assert all(roles[(branch, Role.SECRETARY)] == 1 for branch in branches)
    assert sum(roles[(b, Role.DEPUTY_SECRETARY)] for b in branches) > 0
    generals = [path for path in street.org_paths if path.endswith("总支")]
    assert all(roles[(g, Role.GENERAL_SECRETARY)] == 1 for g in generals)
    assert roles[(COMMITTEE, Role.STAFF)] >= 3
    leaders = Counter((p.org_path, p.group) for p in street.records if p.role is Role.GROUP_LEADER)
    grouped = {(p.org_path, p.group) for p in street.records if p.group}
    assert len(grouped) == 168 and all(leaders[g] == 1 for g in grouped)


def test_same_seed_same_street_other_seed_other_people() -> None:
    first, again = build_demo(2023, TODAY), build_demo(2023, date(2024, 11, 3))
    other = build_demo(7, TODAY)

    assert [(p.name, p.phone, p.birth_date) for p in first.records] == [
        (p.name, p.phone, p.birth_date) for p in again.records
    ]
    assert [p.phone for p in first.records] != [p.phone for p in other.records]
    assert first.org_paths == other.org_paths


# --- seeding the database -----------------------------------------------------------------------


async def test_seed_writes_exact_figures_and_second_run_is_a_no_op(db: None) -> None:
    report = await seed_demo(2023, today=TODAY)

    assert (report.created, report.updated, report.organisations_created) == (1231, 0, 237)
    orgs = Counter(o.kind for o in await Organisation.all())
    assert orgs == {
        OrgKind.COMMITTEE: 1,
        OrgKind.GENERAL_BRANCH: 14,
        OrgKind.BRANCH: 54,
        OrgKind.GROUP: 168,
    }
    members = await Member.all()
    assert len(members) == 1231
    assert sum(m.gender == "女" for m in members) == 216
    assert sum(m.education in COLLEGE for m in members) == 332
    assert sum(age_on(m.birth_date, TODAY) <= 35 for m in members) == 314
    secretaries = Counter(m.organisation_id for m in members if m.role is Role.SECRETARY)
    branch_ids = {o.id for o in await Organisation.filter(kind=OrgKind.BRANCH)}
    assert set(secretaries) == branch_ids and set(secretaries.values()) == {1}
    assert (report.members, report.women, report.college_or_above) == (1231, 216, 332)
    assert (report.aged_35_or_under, report.secretaries, report.groups) == (314, 54, 168)
    assert (report.communities, report.general_branches, report.branches) == (12, 14, 54)
    stamps = {m.phone: m.updated_at for m in members}

    again = await seed_demo(2023, today=date(2024, 12, 31))  # later the same year

    assert (again.created, again.updated, again.organisations_created) == (0, 0, 0)
    assert again.unchanged == 1231 and not again.changed
    assert "nothing changed" in again.summary()
    assert {m.phone: m.updated_at for m in await Member.all()} == stamps


async def test_sample_bind_lines_are_unambiguous(db: None) -> None:
    # Plant a real member whose 绑定 line would collide with the first demo secretary's.
    first_secretary = next(r for r in build_demo(2023, TODAY).records if r.role is Role.SECRETARY)
    branch = await ensure_path(f"{COMMITTEE}/测试党支部")
    await Member.create(
        name=first_secretary.name, phone=f"1391234{first_secretary.phone[-4:]}", organisation=branch
    )

    report = await seed_demo(2023, today=TODAY)

    samples = report.sample_members
    assert 3 <= len(samples) <= 5
    assert Role.SECRETARY in {s.role for s in samples}
    assert first_secretary.phone not in {s.phone for s in samples}
    summary = report.summary()
    for sample in samples:
        assert sample.bind_line in summary
        if sample.role is not Role.MEMBER:
            # Leadership never binds by name and digits: the demo prints a one-time code.
            assert sample.code and sample.bind_line == f"绑定 {sample.code}"
            assert sample.name not in sample.bind_line
            continue
        name, digits = sample.bind_line.removeprefix("绑定 ").split(" ")
        assert (name, digits) == (sample.name, sample.phone[-4:])
        matches = [m for m in await Member.filter(name=name) if m.phone.endswith(digits)]
        assert [m.phone for m in matches] == [sample.phone]
        assert (await Organisation.get(id=matches[0].organisation_id)).path == sample.org_path


async def test_refuses_a_database_with_another_committee(db: None) -> None:
    await ensure_path("真实街道党工委/一支部")
    with pytest.raises(ValidationFailed):
        await seed_demo(2023, today=TODAY)
    assert await Member.all().count() == 0
    assert await Organisation.all().count() == 2


async def test_demo_roll_passes_the_importer_unchanged(db: None, tmp_path: Path) -> None:
    """What seed-demo writes is what import-members accepts: exported and re-imported, no-op."""
    await seed_demo(2023, today=TODAY)
    paths = {o.id: o.path for o in await Organisation.all()}
    path = tmp_path / "roll.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["姓名", "手机号", "性别", "出生日期", "学历", "入党日期", "所在组织",
                      "党小组", "职务", "状态", "流动党员"])  # fmt: skip
        for m in await Member.all():
            group = paths[m.group_id].rsplit("/", 1)[1] if m.group_id else ""
            out.writerow([m.name, m.phone, m.gender, m.birth_date, m.education, m.joined_on,
                          paths[m.organisation_id], group, m.role.value,
                          "转出" if m.status is MemberStatus.TRANSFERRED else "在册",
                          "是" if m.is_mobile else "否"])  # fmt: skip

    report = await import_members(path, today=TODAY)

    assert report.errors == []
    assert (report.rows, report.unchanged, report.organisations_created) == (1231, 1231, 0)


# --- the eight weeks of activity ----------------------------------------------------------------


@pytest.fixture
async def lived_in(tmp_path: Path) -> AsyncIterator[ActivityReport]:
    """The demo street after `serve --demo` on Thursday 26 November 2026 at 18:00."""
    url, _, activity = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield activity
    await close_database()


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZONE)


async def test_every_branch_holds_every_kind_of_meeting_and_chairs_attend_their_own(
    lived_in: ActivityReport,
) -> None:
    meetings = await Meeting.all()
    held = [m for m in meetings if m.status is MeetingStatus.HELD]
    assert {m.kind for m in held} >= {
        "支委会",
        "党小组会",
        "支部党员大会",
        "党课",
        "主题党日",
        "集中学习",
    }
    branches = await Organisation.filter(kind=OrgKind.BRANCH)
    groups = await Organisation.filter(kind=OrgKind.GROUP)
    for branch in branches:  # a 支委会 and a 主题党日 every month, a 支部党员大会 in the window
        mine = Counter(m.kind for m in held if m.organisation_id == branch.id)
        assert mine["支委会"] >= 1 and mine["主题党日"] >= 1 and mine["支部党员大会"] >= 1
    group_meetings = Counter(m.organisation_id for m in held if m.kind == "党小组会")
    assert set(group_meetings) == {g.id for g in groups}  # each 党小组 met, in its own name

    members = {m.id: m for m in await Member.all()}
    rows = await MeetingAttendee.all()
    by_meeting: dict[int, list[MeetingAttendee]] = {}
    for row in rows:
        by_meeting.setdefault(row.meeting_id, []).append(row)
    for m in held:
        roster = {r.member_id: r for r in by_meeting[m.id]}
        chair = members[m.chair_id]
        assert roster[chair.id].attendance is Attendance.PRESENT, (m.id, m.kind, chair.name)
        expected = {members[i] for i in roster}
        if m.kind == "党小组会":  # the group's own members, the 党小组长 in the chair
            assert chair.role is Role.GROUP_LEADER and chair.group_id == m.organisation_id
            assert all(p.group_id == m.organisation_id for p in expected)
        elif m.kind == "支委会":
            assert all(p.role in COMMITTEE_ROLES for p in expected)
        else:
            assert chair.role is Role.SECRETARY
        if m.kind == "党课":
            assert m.speaker and m.study
        if m.kind == "主题党日":  # the street's fixed day
            assert _local(m.starts_at).day == 15 and m.study
    # Most came; leave was granted for a reason; some absences were explained afterwards.
    held_ids = {m.id for m in held}
    states = Counter(r.attendance for r in rows if r.meeting_id in held_ids)
    present = states[Attendance.PRESENT] / sum(states.values())
    assert 0.7 < present < 0.92
    assert all(r.reason for r in rows if r.attendance is Attendance.LEAVE)
    assert any(r.reason for r in rows if r.attendance is Attendance.ABSENT)
    assert sum(1 for m in held if m.minutes) > len(held) / 2
    assert sum(1 for m in held if m.recorder_id) > len(held) / 2


async def test_the_coming_week_is_scheduled_and_one_meeting_was_called_off(
    lived_in: ActivityReport,
) -> None:
    meetings = await Meeting.all()
    coming = [m for m in meetings if m.status is MeetingStatus.PLANNED]
    assert coming and all(NOW < _local(m.starts_at) <= NOW + timedelta(days=8) for m in coming)
    waiting = await MeetingAttendee.filter(attendance=Attendance.REQUESTED)
    assert waiting and all(r.reason for r in waiting)
    assert {r.meeting_id for r in waiting} <= {m.id for m in coming}
    # The secretary printed for newcomers has a leave request to decide in her branch.
    secretary = next(
        s for s in (await seed_demo(2023, today=DAY)).sample_members if s.role is Role.SECRETARY
    )
    branch = await Organisation.get(path=secretary.org_path)
    hers = {branch.id} | set(
        await Organisation.filter(parent_id=branch.id).values_list("id", flat=True)
    )
    assert any(m.organisation_id in hers for m in coming if m.id in {r.meeting_id for r in waiting})
    called_off = [m for m in meetings if m.status is MeetingStatus.CANCELLED]
    assert called_off
    for m in called_off:
        change = await MeetingChange.get(meeting_id=m.id, action="cancelled")
        assert change.detail["reason"] and change.by_id == m.chair_id
    scheduled = Counter(c.meeting_id for c in await MeetingChange.filter(action="scheduled"))
    assert set(scheduled) == {m.id for m in meetings} and set(scheduled.values()) == {1}


async def test_organised_study_is_on_the_seed_reports_scale(lived_in: ActivityReport) -> None:
    """学习7,058人次 over about three years for 1,231 members is organised study: people at
    党课, 主题党日, 集中学习 and study meetings, once each.  Eight weeks of a branch calendar
    with a 主题党日 a month give each member about one to three of those; tapping through units
    gives none of them (that is 自学, counted apart)."""
    committee = await Organisation.get(path=COMMITTEE)
    report = await tally_report(
        committee, DAY - timedelta(days=56), DAY, by=None, today=DAY, zone=ZONE, now=NOW
    )
    total = report.total
    assert total.active_members == 1231
    assert 0.8 * 1231 <= total.organised_study <= 3.5 * 1231
    assert total.self_study < 10 * 1231  # not the tens of thousands of a tap counter
    assert 60 <= total.exchange_person_times <= 400  # the report: 2,426 in about three years
    assert total.meetings_held > 500 and 0.7 < (total.attendance_rate or 0) < 0.92


async def test_near_copies_are_a_few_and_flagged_by_the_products_own_check(
    lived_in: ActivityReport,
) -> None:
    submissions = await Submission.all().order_by("id").prefetch_related("member")
    flagged = [s for s in submissions if s.resembles]
    assert 2 <= len(flagged) <= 6
    by_id = {s.id: s for s in submissions}
    branch_of = {m.id: m.organisation_id for m in await Member.all()}
    for copy in flagged:
        original = by_id[int(copy.resembles.removeprefix("submission:"))]
        assert original.id < copy.id and original.member_id != copy.member_id
        assert branch_of[original.member_id] == branch_of[copy.member_id]
        score = similarity.containment(
            similarity.shingles(copy.content), similarity.shingles(original.content)
        )
        assert score >= 0.6 and round(score, 3) == copy.similarity
    # Nobody else happens to write like an earlier colleague of the same branch.
    for later in submissions:
        if later.resembles:
            continue
        mine = similarity.shingles(later.content)
        for earlier in submissions:
            if earlier.id >= later.id or branch_of[earlier.member_id] != branch_of[later.member_id]:
                continue
            if earlier.member_id == later.member_id and earlier.status is SubmissionStatus.RETURNED:
                continue  # a revision of one's own returned text
            score = similarity.containment(mine, similarity.shingles(earlier.content))
            assert score < 0.6, (later.id, earlier.id)


async def test_thoughts_are_varied_and_in_every_state(lived_in: ActivityReport) -> None:
    submissions = await Submission.all().order_by("id")
    texts = [s.content for s in submissions]
    assert len(set(texts)) == len(texts)
    first_sentences = {t.split("。")[0] for t in texts}
    assert len(first_sentences) >= max(40, len(texts) // 2)
    assert all(len(similarity.words_only(t)) >= 50 for t in texts)
    states = Counter(s.status for s in submissions)
    assert states[SubmissionStatus.APPROVED] > len(texts) / 2
    pending = [s for s in submissions if s.status is SubmissionStatus.PENDING]
    assert any((DAY - s.day).days >= 14 for s in pending)  # a slow branch's backlog
    returned = [s for s in submissions if s.status is SubmissionStatus.RETURNED]
    assert returned and all(s.return_reason for s in returned)
    resubmitted = [
        r for r in returned if any(s.member_id == r.member_id and s.id > r.id for s in submissions)
    ]
    assert resubmitted  # handed in again, revised
    assert all(s.reviewer_id != s.member_id for s in submissions if s.reviewer_id)


def test_documents_are_cited_only_once_they_exist() -> None:
    rng = random.Random(1)
    person = Person(1, "甲", "17000000001", Role.MEMBER, 1, None, 1, "community", 66, 40, False)
    early = [compose(person, date(2024, 3, 1), rng) for _ in range(300)]
    assert not any("三中全会" in t or "四中全会" in t for t in early)
    assert not any("防汛" in t for t in early)  # out of season in March
    late = [compose(person, date(2026, 7, 1), rng) for _ in range(300)]
    assert any("四中全会" in t for t in late) and any("防汛" in t for t in late)


def _cap(deeds: list[tuple[datetime, str, int]], rules: PointsRules) -> dict[str, tuple[date, int]]:
    """Independently of the demo: each deed paid once, in time order, within the daily cap."""
    paid: dict[str, tuple[date, int]] = {}
    earned: Counter[date] = Counter()
    for moment, deed, points in sorted(deeds):
        day = _local(moment).date()
        granted = min(points, rules.daily_cap - earned[day])
        if granted > 0 and deed not in paid:
            paid[deed] = (day, granted)
            earned[day] += granted
    return paid


async def _deeds(member: Member, rules: PointsRules) -> list[tuple[datetime, str, int]]:
    deeds = [
        (c.created_at, f"check_in:{c.day}", rules.check_in)
        for c in await CheckIn.filter(member_id=member.id)
    ]
    first_read: dict[date, datetime] = {}
    for r in await UnitReading.filter(member_id=member.id, read_full=True):
        first_read[r.day] = min(first_read.get(r.day, r.created_at), r.created_at)
    deeds += [(at, f"reading:{day}", rules.reading) for day, at in first_read.items()]
    deeds += [
        (q.finished_at, f"quiz:{q.id}", q.score * rules.quiz_correct)
        for q in await QuizAttempt.filter(member_id=member.id, finished_at__isnull=False)
    ]
    deeds += [
        (s.reviewed_at, f"submission:{s.id}", rules.submission)
        for s in await Submission.filter(member_id=member.id, status=SubmissionStatus.APPROVED)
    ]
    deeds += [
        (a.signed_at, f"meeting:{a.meeting_id}", rules.meeting)
        for a in await MeetingAttendee.filter(member_id=member.id, signed_at__isnull=False)
    ]
    return deeds


async def test_each_members_points_are_what_the_rules_give_for_their_deeds(
    lived_in: ActivityReport,
) -> None:
    rules = PointsRules()
    members = await Member.all().order_by("phone")
    entries = await PointsEntry.all()
    totals = Counter(e.member_id for e in entries)
    per_day: Counter[tuple[int, date]] = Counter()
    for e in entries:
        per_day[(e.member_id, e.day)] += e.points
    capped = {member for (member, _), n in per_day.items() if n == rules.daily_cap}
    assert capped  # the daily cap was reached somewhere, so it is tested below
    sample = members[::25] + [m for m in members if m.id in capped][:10]
    sample += sorted(members, key=lambda m: -totals[m.id])[:5]
    for member in sample:
        expected = _cap(await _deeds(member, rules), rules)
        mine = [e for e in entries if e.member_id == member.id]
        assert {e.deed: (e.day, e.points) for e in mine} == expected, member.name
        assert all(e.organisation_id == counted_in(member) for e in mine)


def test_no_points_at_all_when_points_are_switched_off() -> None:
    deed = Deed(1, 2, NOW, PointsReason.CHECK_IN, "check_in:2026-11-26", 1)
    assert pay([deed], PointsRules(enabled=False), ZONE) == []
    assert len(pay([deed, deed], PointsRules(), ZONE)) == 1


async def test_some_are_active_today_and_the_printed_members_have_not_checked_in_yet(
    lived_in: ActivityReport,
) -> None:
    checked_in = await CheckIn.filter(day=DAY).count()
    assert 0.10 * 1231 <= checked_in <= 0.25 * 1231
    read_today = len(
        set(await UnitReading.filter(day=DAY, read_full=True).values_list("member_id", flat=True))
    )
    assert 0 < read_today < checked_in
    # Weekends are quieter, and some members never use the app: allowed, not a failure.
    per_day = Counter(await CheckIn.all().values_list("day", flat=True))
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5 and not holiday(d)]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)
    users = set(await CheckIn.all().values_list("member_id", flat=True))
    assert 0.15 * 1231 < 1231 - len(users) < 0.5 * 1231

    report = await seed_demo(2023, today=DAY)  # what `serve --demo` prints again
    assert {s.role for s in report.sample_members} >= {Role.SECRETARY, Role.MEMBER, Role.STAFF}
    for sample in report.sample_members:
        member = await Member.get(phone=sample.phone)
        for model in (CheckIn, UnitReading, QuizAttempt, Submission):
            assert not await model.filter(member_id=member.id, day=DAY).exists(), sample.name
        assert not await MeetingAttendee.filter(
            member_id=member.id, attendance=Attendance.REQUESTED
        ).exists()


async def test_seeding_again_adds_nothing(lived_in: ActivityReport) -> None:
    assert lived_in.rows > 10_000
    counts = [await model.all().count() for model in (CheckIn, Submission, Meeting, PointsEntry)]
    again = await seed_activity(DAY + timedelta(days=1), ZONE)
    assert again.rows == 0 and "未再添加" in again.summary()
    assert [await model.all().count() for model in (CheckIn, Submission, Meeting, PointsEntry)] == (
        counts
    )


def test_serve_demo_prints_the_figures_and_how_to_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer starts the demo (on a street seeded before), and is told the eight weeks'
    figures, a 绑定 line per role, and the exact commands that open the dashboard."""
    seeded_street(tmp_path / "dangjian.sqlite3")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))

    async def no_server(settings: object) -> None:
        return None

    monkeypatch.setattr("server.serving.serve", no_server)
    assert main(["serve", "--demo"]) == 0
    out = capsys.readouterr().out
    commands = re.findall(r"dangjian admin-link (1700000\d{4})", out)
    assert commands and "党工委工作人员" in out.split(f"dangjian admin-link {commands[0]}")[1]
    assert re.search(r"绑定 [2-9A-Z]{4}-[2-9A-Z]{4}\s+支部书记", out)  # leaders: a code
    assert re.search(r"绑定 \S+ \d{4}\s+党员", out)  # plain 党员: name and digits, as ever
    assert "组织党员学习" in out and "自学" in out and "交流体会" in out and "已安排" in out

    assert main(["admin-link", commands[0]]) == 0  # the printed command works as printed
    assert "/admin/login?t=" in capsys.readouterr().out
