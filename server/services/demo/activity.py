"""Eight weeks of the demo street's life, so a newcomer's chat, dashboard, report and ledger
show what a real street would: written once (a street with any activity gets none added).

- Study in the app (demo_study): a member's own habits; some never use it, weekends quieter.
- Meetings (demo_calendar, demo_meetings): every type a branch holds, with what became of them.
- 心得 (demo_writing): composed texts handed in through `submissions.submit`, then reviewed.
- Points (demo_points): what `points.award` pays for those deeds, within the daily cap.

Each row is counted for the organisation the member was counted in (their 党小组, if any).
The members printed for newcomers to bind as have done nothing today, so their first 打卡 is
a first; their secretary's branch has a 心得 to review and a leave request to decide.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.models.meetings import Meeting
from server.models.people import Member, Organisation, Role
from server.models.study import CheckIn, PointsEntry, Submission
from server.models.tallies import SnapshotDay
from server.services.demo.calendar import AHEAD, plan_branch
from server.services.demo.meetings import write_meetings
from server.services.demo.people import load_street
from server.services.demo.points import pay
from server.services.demo.rows import insert
from server.services.demo.street import COMMITTEE, PHONE_BLOCK, sample_members
from server.services.demo.study import plan_study, write_study
from server.services.demo.thoughts import hand_in, plan_writing
from server.services.people.orgs import SEPARATOR
from server.services.study.points import PointsRules
from server.services.tallies.report import tally_report
from study_content.corpus import SHIPPED, load_corpus

DAYS = 56


@dataclass
class ActivityReport:
    first: date
    today: date
    rows: int = 0
    check_ins: int = 0
    full_readings: int = 0
    quizzes: int = 0
    submissions: int = 0
    meetings: int = 0
    points: int = 0

    def summary(self) -> str:
        if not self.rows:
            return "示范活动 demo activity: 已有活动，未再添加 / the street has activity already"
        return (
            f"示范活动 demo activity（{self.first} 至 {self.today}）：打卡 check-ins "
            f"{self.check_ins:,}，读完全文 full readings {self.full_readings:,}，答题 quizzes "
            f"{self.quizzes:,}，心得 {self.submissions}，会议 meetings {self.meetings}，积分记录 "
            f"points entries {self.points:,}（共 {self.rows:,} 行 rows）"
        )


def _now(today: date, zone: ZoneInfo, now: datetime | None) -> datetime:
    if now is not None:
        return now.astimezone(zone)
    current = datetime.now(zone)
    return current if current.date() == today else datetime.combine(today, time(20), zone)


async def has_activity() -> bool:
    """Whether the demo street has anything done in it already (by the demo or by anyone)."""
    return (
        await CheckIn.filter(member__phone__startswith=PHONE_BLOCK).exists()
        or await Submission.filter(member__phone__startswith=PHONE_BLOCK).exists()
        or await Meeting.filter(organisation__path__startswith=COMMITTEE + SEPARATOR).exists()
    )


async def seed_activity(
    today: date,
    zone: ZoneInfo,
    *,
    seed: int = 2023,
    rules: PointsRules | None = None,
    now: datetime | None = None,
    copy_threshold: float = 0.6,
    days: int = DAYS,
) -> ActivityReport:
    """Write the eight weeks up to `now` (and the week's meetings ahead); nothing if any exist."""
    rules = rules or PointsRules()
    now = _now(today, zone, now)
    first = today - timedelta(days=days)
    report = ActivityReport(first, today)
    if not await Member.filter(phone__startswith=PHONE_BLOCK).exists() or await has_activity():
        return report
    street = await load_street(seed, today)
    showcase = await sample_members(seed, today)
    quiet = {s.phone for s in showcase}
    for person in street.people:
        person.quiet_today = person.phone in quiet
    paths = {o.path: i for i, o in street.branches.items()}
    showcase_branch = next(
        (paths.get(s.org_path) for s in showcase if s.role is Role.SECRETARY), None
    )
    units = list(load_corpus(SHIPPED))

    study = plan_study(street.people, first, now, zone, units, rules, random.Random(f"{seed}:s"))
    rng = random.Random(f"{seed}:m")
    calendar = [
        meeting
        for branch in sorted(street.branches, key=lambda i: street.branches[i].path)
        for meeting in plan_branch(
            street, branch, first, now, zone, rng, showcase=branch == showcase_branch
        )
    ]
    writing = plan_writing(
        street, first, now, zone, units, random.Random(f"{seed}:w"), showcase_branch
    )
    async with in_transaction():
        report.rows = await write_study(study, rules)
        written, meeting_deeds = await write_meetings(
            calendar, now, zone, rules, rng, showcase_branch
        )
        report.rows += written
        handed_in, approvals = await hand_in(writing, street, units, zone, rules, copy_threshold)
        report.rows += handed_in
        points = pay(study.deeds + meeting_deeds + approvals, rules, zone)
        report.rows += await insert(PointsEntry, points)
        # Any snapshot of these days was taken without them: count them live until retaken.
        await SnapshotDay.filter(
            day__gte=first - timedelta(days=7), day__lte=today + timedelta(days=1)
        ).delete()
    report.check_ins = len(study.check_ins)
    report.full_readings = sum(r.read_full for r in study.readings)
    report.quizzes = sum(q.finished_at is not None for q in study.quizzes)
    report.submissions = handed_in
    report.meetings = await Meeting.filter(
        organisation__path__startswith=COMMITTEE + SEPARATOR
    ).count()
    report.points = len(points)
    return report


@dataclass
class DemoFigures:
    """The eight weeks as the staff report counts them: what the dashboard shows."""

    first: date
    today: date
    organised_study: int
    self_study: int
    exchanges: int
    held: int
    scheduled: int
    checked_in_today: int
    members: int
    sentence: str

    def summary(self) -> str:
        share = self.checked_in_today / self.members if self.members else 0
        return "\n".join(
            (
                f"近八周数据 the eight weeks as the dashboard counts them（{self.first} 至 "
                f"{self.today}）：",
                f"  组织党员学习 organised study {self.organised_study:,} 人次"
                "（党课、主题党日、集中学习等到会 / present at organised study）",
                f"  自学 self-study {self.self_study:,} 人次"
                "（读完全文或完成答题，每人每天至多一次 / at most once a member a day）",
                f"  交流体会 experience exchanges {self.exchanges:,} 人次",
                f"  会议召开 meetings held {self.held}，已安排 scheduled（未来{AHEAD}天 next "
                f"{AHEAD} days）{self.scheduled}",
                f"  今天已打卡 checked in today {self.checked_in_today} 人（{share:.0%}）",
                f"  {self.sentence}",
            )
        )


async def demo_figures(
    today: date, zone: ZoneInfo, now: datetime | None = None, days: int = DAYS
) -> DemoFigures | None:
    """Counted by `report.tally_report` for the committee, as the dashboard counts them."""
    committee = await Organisation.get_or_none(path=COMMITTEE)
    if committee is None:
        return None
    now = _now(today, zone, now)
    first = today - timedelta(days=days)
    past = await tally_report(committee, first, today, by=None, today=today, zone=zone, now=now)
    ahead = await tally_report(
        committee, today, today + timedelta(days=AHEAD), by=None, today=today, zone=zone, now=now
    )
    total = past.total
    return DemoFigures(
        first=first,
        today=today,
        organised_study=total.organised_study,
        self_study=total.self_study,
        exchanges=total.exchange_person_times,
        held=total.meetings_held,
        scheduled=ahead.total.meetings_scheduled,
        checked_in_today=await CheckIn.filter(
            day=today, member__phone__startswith=PHONE_BLOCK
        ).count(),
        members=total.active_members,
        sentence=past.sentence,
    )
