"""A year of the demo street's 流动党员: the branch's working record of the members it cannot
see, written once after the eight weeks of activity (it reads who did what in them).

- Each member the roll marks 流动党员 (32 with seed 2023) has a 流出 record: where, why, how to
  reach them, a 联系人 from the branch's 支委, recorded when the branch began keeping the
  register about thirteen months ago (or when they left, if later).
- The contact log keeps the cadence (DANGJIAN_MOBILE_CONTACT_DAYS) with a little slack; a few
  contacts lapsed, so they are due today.  党费 received by the quarter for most, and last
  year's 年度报告 for about half.  A few who took part in a held meeting did so online.
- 流入: six members of other organisations who work or live in the street, confirmed by their
  branch, and two reports waiting — one in the branch shown to newcomers.
- 失联, one member in each stage: 可能失联 (a member who did nothing in the eight weeks, silent
  for more than six months, no case), 查找中 with dated attempts, 已恢复联系, 已停止党籍 at a
  held 支部党员大会 of the eight weeks, and one stopped more than two years ago whose 除名
  reminder is due.

The 流入 members and the two whose 党籍 was stopped are people besides the 1,231 在册 (phones
1730000xxxx), so the roll's figures stay the report's.  Everything is drawn from
`random.Random(f"{seed}:f")` and written in bulk; a street with any 流动党员 row gets no more.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.channels import Channel
from server.clock import Clock
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingType,
    held,
)
from server.models.mobility import (
    Direction,
    DuesPaid,
    FlowReason,
    FlowStatus,
    LostAttempt,
    LostCase,
    LostStage,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, WeChatIdentity
from server.models.study import CheckIn, QuizAttempt, Submission, UnitReading
from server.services.demo import mobility_texts as texts
from server.services.demo.activity import _now
from server.services.demo.rows import at, insert, insert_with_ids
from server.services.demo.street import (
    COMMITTEE,
    DEMO_CODE_TTL,
    PHONE_BLOCK,
    SampleMember,
    _name,
)
from server.services.mobility import counts, lost
from server.services.mobility.reminders import contacts_due
from server.services.mobility.standing import SILENT_MONTHS, Standing
from server.services.mobility.words import months_before, years_after
from server.services.people.bind_codes import issue_code
from server.services.people.orgs import SEPARATOR

MOBILE_BLOCK = "1730000"  # 流入 members, their home organisations, the two stopped
INCOMING = 6
PENDING = 2
LAPSED = 4  # contacts due today
ONLINE = 4  # meeting sign-ins from afar
APPID = "demo"  # a pending 流入's WeChat user: never a real appid
COMPANIES = "非公企业党总支"


@dataclass
class MobilityReport:
    today: date
    written: bool = False
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # counts.COLUMNS' keys
    restored: int = 0
    removals_due: int = 0
    contacts_due: int = 0
    # For trying it in chat: a secretary of a branch with mobile members.
    secretary: str = ""
    branch: str = ""
    bind: str = ""
    mobile_name: str = ""
    pending_id: int | None = None

    def summary(self) -> str:
        t = self.totals
        head = (
            f"示范流动党员 demo 流动党员：流出 outgoing {t.get('outgoing', 0)}，流入 incoming "
            f"{t.get('incoming', 0)}（待确认 pending {t.get('pending', 0)}），本季度已联系 "
            f"contacted this quarter {t.get('contacted', 0)}，今天应联系 contacts due "
            f"{self.contacts_due}"
        )
        written = f"（共写入 {self.rows:,} 行 rows）"
        head += written if self.written else "（已有数据，未再添加 / already seeded）"
        return (
            f"{head}\n  失联 out of contact：可能失联 possibly {t.get('possibly_lost', 0)}，"
            f"查找中 searching {t.get('searching', 0)}，已恢复联系 restored {self.restored}，"
            f"停止党籍 stopped {t.get('stopped', 0)}（满两年待提醒除名 due for 除名 "
            f"{self.removals_due}）"
        )

    def try_it(self) -> str:
        if not self.secretary:
            return ""
        lines = [
            "试用流动党员 / try 流动党员（在公众号里发送 / send in chat）：",
            f"  支部书记 {self.secretary}（{self.branch}）：{self.bind}，再发 流动党员"
            " / then 流动党员",
        ]
        if self.mobile_name:
            lines.append(f"  记一次联系 log a contact：联系 {self.mobile_name} 电话 了解近况")
        if self.pending_id is not None:
            lines.append(f"  确认流入报到 confirm a 流入 report：确认流入 {self.pending_id}")
        return "\n".join(lines)


async def _demo_branches() -> dict[int, Organisation]:
    return {
        o.id: o
        for o in await Organisation.filter(
            path__startswith=COMMITTEE + SEPARATOR, kind=OrgKind.BRANCH
        ).order_by("path")
    }


async def seeded(branch_ids: Sequence[int]) -> bool:
    ids = list(branch_ids)
    return (
        await MobileMember.filter(branch_id__in=ids).exists()
        or await LostCase.filter(branch_id__in=ids).exists()
    )


async def seed_mobility(
    today: date,
    zone: ZoneInfo,
    *,
    seed: int = 2023,
    now: datetime | None = None,
    cadence_days: int = 30,
    samples: Sequence[SampleMember] = (),
) -> MobilityReport:
    """Write the year up to `now` (nothing if the street has any 流动党员 row), then count it
    as staff see it.  `samples`: the 绑定 lines printed already (a code issued again for one
    of them would retire the printed one)."""
    now = _now(today, zone, now)
    report = MobilityReport(today)
    branches = await _demo_branches()
    if not branches:
        return report
    if not await seeded(list(branches)):
        year = _Year(random.Random(f"{seed}:f"), today, now, zone, cadence_days, branches)
        await year.read()
        async with in_transaction():
            report.rows = await year.write()
        report.written = True
    lines = await _figures(report, list(branches.values()), now, zone, cadence_days)
    await _showcase(report, branches, samples, lines)
    return report


async def _figures(
    report: MobilityReport,
    branches: list[Organisation],
    now: datetime,
    zone: ZoneInfo,
    cadence_days: int,
) -> list[Standing]:
    """The counts staff see (`counts.overview`), and each member's line."""
    today = report.today
    seen = await counts.overview(branches, today, now, zone, cadence_days)
    report.totals = {
        key: value for (key, _), value in zip(counts.COLUMNS, seen.total(), strict=True)
    }
    report.contacts_due = len(contacts_due(seen.lines, today))
    ids = [b.id for b in branches]
    report.restored = await LostCase.filter(branch_id__in=ids, stage=LostStage.RESTORED).count()
    report.removals_due = sum(c.branch_id in ids for c in await lost.removals_due(today))
    return seen.lines


async def _showcase(
    report: MobilityReport,
    branches: dict[int, Organisation],
    samples: Sequence[SampleMember],
    lines: Sequence[Standing],
) -> None:
    """The branch newcomers are shown: where a 流入 report waits (else the most 流出 members),
    its 书记's 绑定 line, a member whose contact is due there and the report's number."""
    pending = await MobileMember.filter(
        branch_id__in=list(branches), direction=Direction.IN, status=FlowStatus.PENDING
    ).order_by("id")
    outgoing = await MobileMember.filter(
        branch_id__in=list(branches), direction=Direction.OUT, status=FlowStatus.ACTIVE
    ).order_by("id")
    if pending:
        branch_id = pending[0].branch_id
    elif outgoing:
        per = [r.branch_id for r in outgoing]
        branch_id = max(dict.fromkeys(per), key=per.count)
    else:
        return
    secretary = await Member.filter(
        organisation_id=branch_id, role=Role.SECRETARY, status=MemberStatus.ACTIVE
    ).first()
    if secretary is None:
        return
    report.secretary, report.branch = secretary.name, branches[branch_id].name
    if any(s.phone == secretary.phone for s in samples):
        report.bind = "用上面的支部书记绑定行绑定 / bind with the 支部书记 line above"
    elif await WeChatIdentity.exists(member_id=secretary.id):
        report.bind = "已绑定 / already bound"
    else:
        code = await issue_code(secretary, Clock().now(), DEMO_CODE_TTL, None)
        report.bind = f"绑定 {code}"
    # A member there whose contact is due (logging it clears the to-do), else any of them.
    mine = [
        ln
        for ln in lines
        if ln.record is not None
        and ln.record.branch_id == branch_id
        and ln.record.direction == Direction.OUT
    ]
    due = contacts_due(mine, report.today)
    if due or mine:
        report.mobile_name = (due or mine)[0].member.name
    report.pending_id = next((r.id for r in pending if r.branch_id == branch_id), None)


# --- the plan -----------------------------------------------------------------------------------


def _city(place: str) -> str:
    return place[-2:]


def _month_start(day: date, ahead: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + ahead
    return date(index // 12, index % 12 + 1, 1)


async def _busy(ids: list[int], now: datetime) -> set[int]:
    """Members who did anything the record counts as word of them: study, a 心得, a meeting."""
    found: set[int] = set()
    for model in (CheckIn, UnitReading, QuizAttempt, Submission):
        rows = await model.filter(member_id__in=ids).values_list("member_id", flat=True)
        found.update(cast("list[int]", rows))  # flat=True: the ids themselves
    rows = await MeetingAttendee.filter(
        held(now, "meeting__"), member_id__in=ids, attendance=Attendance.PRESENT
    ).values_list("member_id", flat=True)
    found.update(cast("list[int]", rows))
    return found


class _Year:
    """Read the street, then build and write the rows in the order they point to each other."""

    def __init__(
        self,
        rng: random.Random,
        today: date,
        now: datetime,
        zone: ZoneInfo,
        cadence: int,
        branches: dict[int, Organisation],
    ) -> None:
        self.rng, self.today, self.now, self.zone, self.cadence = rng, today, now, zone, cadence
        self.branches = branches
        self.yesterday = today - timedelta(days=1)
        self.mobile: list[Member] = []
        self.busy: set[int] = set()
        self.secretary: dict[int, Member] = {}
        self.committee: dict[int, list[Member]] = {}
        self.meetings: dict[int, Meeting] = {}  # a held 支部党员大会 per branch, the latest
        self.phones: list[str] = []
        self.shown: int | None = None  # the branch newcomers are shown
        self.records: list[MobileMember] = []
        self.cases: list[tuple[LostCase, list[LostAttempt]]] = []
        self.contacts: list[MobileContact] = []
        self.dues: list[DuesPaid] = []
        self.reports: list[YearlyReport] = []
        self.staged: set[int] = set()  # members in a stage of 失联

    async def read(self) -> None:
        ids = list(self.branches)
        self.mobile = await Member.filter(
            organisation_id__in=ids,
            phone__startswith=PHONE_BLOCK,
            is_mobile=True,
            status=MemberStatus.ACTIVE,
        ).order_by("phone")
        officers = await Member.filter(
            organisation_id__in=ids,
            role__in=[Role.SECRETARY, Role.COMMITTEE_MEMBER],
            status=MemberStatus.ACTIVE,
        ).order_by("phone")
        for m in officers:
            if m.role == Role.SECRETARY:
                self.secretary.setdefault(m.organisation_id, m)
            else:
                self.committee.setdefault(m.organisation_id, []).append(m)
        self.mobile = [m for m in self.mobile if m.organisation_id in self.secretary]
        self.busy = await _busy([m.id for m in self.mobile], self.now)
        # Held at least three days ago: a decision recorded after the meeting, not during it.
        for meeting in await Meeting.filter(
            held(self.now - timedelta(days=3)),
            organisation_id__in=ids,
            kind=MeetingType.BRANCH_MEETING,
        ).order_by("starts_at"):
            self.meetings[meeting.organisation_id] = meeting
        taken = set(
            cast(
                "list[str]",  # flat=True: the phones themselves
                await Member.filter(phone__startswith=MOBILE_BLOCK).values_list("phone", flat=True),
            )
        )
        drawn = [f"{MOBILE_BLOCK}{n:04d}" for n in self.rng.sample(range(10_000), 100)]
        self.phones = [p for p in drawn if p not in taken]

    # --- helpers -------------------------------------------------------------------------------

    def _moment(self, day: date) -> datetime:
        """A working-hours moment on `day` (never after now)."""
        moment = at(day, time(self.rng.randint(9, 20), self.rng.choice((5, 20, 35, 50))), self.zone)
        return min(moment, self.now - timedelta(minutes=5))

    def _days(self, first: date, last: date, cadence: int) -> list[date]:
        """Contact days from `first` to `last`, each a few days inside the cadence: the last
        is then never a full cadence before `last`, so a log kept up to yesterday is not due."""
        days, day = [], first
        while day <= last:
            days.append(day)
            day += timedelta(days=cadence - self.rng.randint(2, max(2, cadence // 4)))
        return days

    def _contact(self, record: MobileMember, day: date) -> None:
        channel, note = self.rng.choice(texts.CONTACT_NOTES)
        self.contacts.append(
            MobileContact(
                member_id=record.member_id,
                day=day,
                channel=channel,
                note=note,
                by_id=record.keeper_id or record.created_by_id,
                created_at=self._moment(day),
            )
        )

    def _dues(self, record: MobileMember, first: date, last: date, amount: Decimal) -> None:
        """党费 received a quarter ahead, about every three months."""
        day = first
        while day <= last:
            self.dues.append(
                DuesPaid(
                    member_id=record.member_id,
                    day=day,
                    through=_month_start(day, 2),
                    amount=amount,
                    by_id=record.created_by_id,
                    created_at=self._moment(day),
                )
            )
            day += timedelta(days=self.rng.randint(84, 98))

    def _record(self, member: Member, since: date, began: date) -> MobileMember:
        rng = self.rng
        place = rng.choices([p for p, _ in texts.PLACES], [w for _, w in texts.PLACES])[0]
        reason = rng.choices([r for r, _ in texts.REASONS], [w for _, w in texts.REASONS])[0]
        keepers = self.committee.get(member.organisation_id, [])
        other = rng.choice(texts.OTHER_ORGS).format(city=_city(place))
        record = MobileMember(
            member_id=member.id,
            direction=Direction.OUT,
            branch_id=member.organisation_id,
            status=FlowStatus.ACTIVE,
            current=f"member:{member.id}",
            since=since,
            place=place,
            reason=reason,
            reach=rng.choice(texts.REACH),
            other_org=other if rng.random() < 0.3 else "",
            certificate=f"LD{since.year}{rng.randint(1000, 9999)}" if rng.random() < 0.5 else "",
            keeper_id=rng.choice(keepers).id if keepers else None,
            cadence_days=60 if rng.random() < 0.12 else None,
            created_by_id=self.secretary[member.organisation_id].id,
            created_at=self._moment(began),
        )
        self.records.append(record)
        return record

    def _case(
        self,
        member: Member,
        opened: date,
        steps: Sequence[tuple[str, str]],
        before: date,
    ) -> LostCase:
        """A case opened with its first attempt, the others spread out before `before`."""
        by = self.secretary[member.organisation_id].id
        case = LostCase(
            member_id=member.id,
            branch_id=member.organisation_id,
            stage=LostStage.SEARCHING,
            current=f"member:{member.id}",
            opened_on=opened,
            opened_by_id=by,
            created_at=self._moment(opened),
        )
        span = max(1, (before - opened).days)
        later = sorted(opened + timedelta(days=self.rng.randint(1, span)) for _ in steps[1:])
        attempts = [
            LostAttempt(day=day, method=method, note=note, by_id=by, created_at=self._moment(day))
            for day, (method, note) in zip([opened, *later], steps, strict=True)
        ]
        self.cases.append((case, attempts))
        self.staged.add(member.id)
        return case

    # --- 流出 and the stages of 失联 among them ---------------------------------------------------

    def _outgoing(self) -> None:
        rng = self.rng
        order = list(self.mobile)
        rng.shuffle(order)
        # 可能失联 and 查找中 need members with no word of them in the eight weeks.  The branch
        # newcomers are shown has the 可能失联 and others besides: the silent of branches with
        # more mobile members first (a stable sort keeps the draw among equals).
        size = Counter(m.organisation_id for m in self.mobile)
        order.sort(key=lambda m: -size[m.organisation_id])
        silent = [m for m in order if m.id not in self.busy]
        heard = [m for m in order if m.id in self.busy]
        possibly = silent[0] if silent else None
        self.shown = (
            possibly.organisation_id if possibly else next((m.organisation_id for m in order), None)
        )
        # The other stages elsewhere, so that branch's list shows the cadence kept as well.
        away = [m for m in order if m.organisation_id != self.shown]
        searching = next((m for m in silent + heard if m in away), None)
        restored = next((m for m in heard + silent if m in away and m is not searching), None)
        ordinary = [m for m in order if m not in (possibly, searching, restored)]
        # The contacts lapsed: first in the branch newcomers are shown, then anywhere.
        lapsed = [m for m in ordinary if m.organisation_id == self.shown]
        lapsed = (lapsed + [m for m in ordinary if m not in lapsed])[:LAPSED]
        recent = [m for m in ordinary if m not in lapsed][:2]
        register = {b: self.today - timedelta(days=rng.randint(380, 420)) for b in self.branches}
        for member in order:
            if member in recent:  # left a few weeks ago, recorded days after
                since = self.today - timedelta(days=rng.randint(15, 25))
                began = since + timedelta(days=rng.randint(1, 3))
            else:
                since = self.today - timedelta(days=rng.randint(430, 2000))
                began = register[member.organisation_id]
            record = self._record(member, since, began)
            cadence = record.cadence_days or self.cadence
            amount = Decimal(rng.choice(("6.00", "15.00", "30.00", "60.00", "90.00")))
            first = began + timedelta(days=rng.randint(1, 6))
            if member is possibly or member is searching:
                months = 2 * SILENT_MONTHS if member is searching else SILENT_MONTHS + 2
                end = months_before(self.today, months) - timedelta(days=rng.randint(0, 20))
                last = self.yesterday
            elif member is restored:
                end = first  # one contact, then nothing until the search found them
                last = self._restore(member)
            else:
                end = last = self.yesterday
                if member in lapsed:
                    end = self.today - timedelta(days=cadence + rng.randint(0, 10))
            for day in self._days(first, end, cadence):
                self._contact(record, day)
            if member is restored:  # contact restored, then kept on cadence
                for day in self._days(last, self.yesterday, cadence):
                    self._contact(record, day)
                self._dues(record, last, self.yesterday, amount)  # 补交, then by the quarter
            elif member is possibly or member is searching or rng.random() < 0.85:
                self._dues(record, first + timedelta(days=rng.randint(5, 25)), end, amount)
            if member in ordinary and member not in recent and rng.random() < 0.5:
                self._yearly(record)
            if member is searching:
                opened = months_before(self.today, 2) - timedelta(days=rng.randint(0, 10))
                self._case(member, opened, texts.SEARCH_STEPS, last)

    def _restore(self, member: Member) -> date:
        """Searched for and found: the case, and the day contact was restored."""
        opened = months_before(self.today, 5)
        back = opened + timedelta(days=self.rng.randint(15, 25))
        case = self._case(member, opened, texts.RESTORED_STEPS, back - timedelta(days=1))
        case.stage, case.current, case.restored_on = LostStage.RESTORED, None, back
        case.handling = texts.HANDLING
        return back

    def _yearly(self, record: MobileMember) -> None:
        """Last year's 年度报告, sent in January or February."""
        day = date(self.today.year, 1, 3) + timedelta(days=self.rng.randint(0, 55))
        if day >= self.today:
            return
        moment = self._moment(day)
        self.reports.append(
            YearlyReport(
                member_id=record.member_id,
                year=self.today.year - 1,
                org_life=self.rng.choice(texts.ORG_LIFE).format(city=_city(record.place)),
                dues="已交清" if self.rng.random() < 0.85 else "部分交纳",
                dues_where=self.rng.choice(texts.DUES_WHERE),
                created_at=moment,
                updated_at=moment,
            )
        )

    # --- people besides the roll: 流入, and the two whose 党籍 was stopped ------------------------

    def _person(self, branch_id: int, *, incoming: bool, young: int, old: int) -> Member:
        rng = self.rng
        female = rng.random() < 0.3
        birth = date(self.today.year - rng.randint(young, old), rng.randint(1, 12), 1)
        birth += timedelta(days=rng.randint(0, 27))
        joined = years_after(birth, rng.randint(20, young - 2))
        return Member(
            name=_name(rng, female),
            phone=self.phones.pop(),
            gender="女" if female else "男",
            birth_date=birth,
            education=rng.choice(("初中", "高中", "中专", "大专")),
            joined_on=joined,
            organisation_id=branch_id,
            role=Role.MEMBER,
            status=MemberStatus.ACTIVE,
            incoming=incoming,
        )

    def _in_place(self, branch: Organisation) -> str:
        if COMPANIES in branch.path:
            return branch.name.removesuffix("党支部") + self.rng.choice(texts.IN_PLACES)
        community = branch.name.split("第")[0]
        if community.endswith("村"):
            return f"{community}{self.rng.randint(1, 8)}组"
        return f"{community}{self.rng.choice(texts.IN_HOMES)}{self.rng.randint(1, 12)}栋"

    def _incoming(self) -> list[tuple[Member, MobileMember]]:
        """Six confirmed (working at the street's companies or living in its communities) and
        two reports waiting, one in the branch newcomers are shown."""
        rng = self.rng
        ready = [b for b in self.branches.values() if b.id in self.secretary]
        companies = [b for b in ready if COMPANIES in b.path]
        communities = [b for b in ready if "社区" in b.name]
        chosen = [rng.choice(companies) for _ in range(INCOMING // 2)]
        chosen += [rng.choice(communities) for _ in range(INCOMING - len(chosen))]
        out = []
        for branch in chosen:
            person = self._person(branch.id, incoming=True, young=25, old=55)
            since = self.today - timedelta(days=rng.randint(60, 700))
            reported = min(since + timedelta(days=rng.randint(3, 30)), self.today - timedelta(5))
            decided = self._moment(reported + timedelta(days=rng.randint(1, 3)))
            person.created_at = decided
            company = COMPANIES in branch.path
            record = MobileMember(
                direction=Direction.IN,
                branch_id=branch.id,
                status=FlowStatus.ACTIVE,
                since=since,
                place=self._in_place(branch),
                reason=FlowReason.WORK if company or rng.random() < 0.5 else FlowReason.RESIDENCE,
                other_org=rng.choice(texts.HOMES),
                other_contact=self.phones.pop(),
                name=person.name,
                phone=person.phone,
                decided_by_id=self.secretary[branch.id].id,
                decided_at=decided,
                created_at=self._moment(reported),
            )
            out.append((person, record))
        shown = self.branches[self.shown] if self.shown in self.branches else communities[0]
        for n, branch in enumerate((shown, rng.choice(communities)), start=1):
            phone = self.phones.pop()
            self.records.append(
                MobileMember(
                    direction=Direction.IN,
                    branch_id=branch.id,
                    status=FlowStatus.PENDING,
                    current=f"phone:{phone}",
                    since=self.today - timedelta(days=rng.randint(10, 60)),
                    place=self._in_place(branch),
                    reason=FlowReason.WORK,
                    other_org=rng.choice(texts.HOMES),
                    other_contact=self.phones.pop(),
                    name=_name(rng, rng.random() < 0.3),
                    phone=phone,
                    appid=APPID,
                    openid=f"demo-incoming-{n}",
                    channel=Channel.OFFICIAL_ACCOUNT.value,
                    created_at=self.now - timedelta(hours=rng.randint(2, 40)),
                )
            )
        return out

    def _stopped(self) -> list[tuple[Member, date, Meeting | None]]:
        """One stopped at a 支部党员大会 of the eight weeks; one more than two years ago."""
        rng = self.rng
        recent = [b for b in sorted(self.meetings) if b != self.shown and b in self.secretary]
        others = sorted(b for b in self.secretary if b != self.shown)
        first = rng.choice(recent or others)
        meeting = self.meetings.get(first)
        # Without a 支部党员大会 in the weeks written (a street seeded another way), months ago.
        stopped_on = (
            meeting.starts_at.astimezone(self.zone).date()
            if meeting
            else self.today - timedelta(days=rng.randint(100, 300))
        )
        second = rng.choice([b for b in others if b != first])
        long_ago = years_after(self.today, -2) - timedelta(days=rng.randint(10, 40))
        out: list[tuple[Member, date, Meeting | None]] = []
        for branch_id, day, held_at in ((first, stopped_on, meeting), (second, long_ago, None)):
            person = self._person(branch_id, incoming=False, young=30, old=50)
            person.status = MemberStatus.STOPPED
            out.append((person, day, held_at))
        return out

    def _stop(self, person: Member, stopped_on: date, meeting: Meeting | None) -> None:
        opened = stopped_on - timedelta(days=self.rng.randint(90, 120))
        steps = texts.SEARCH_STEPS if meeting else texts.SEARCH_STEPS[:3]
        case = self._case(person, opened, steps, stopped_on - timedelta(days=7))
        case.stage, case.current, case.stopped_on = LostStage.STOPPED, None, stopped_on
        case.meeting_id = meeting.id if meeting else None
        day = f"{stopped_on.year}年{stopped_on.month}月{stopped_on.day}日"
        case.decision = texts.DECISION if meeting else texts.OLD_DECISION.format(day=day)

    async def _online(self) -> int:
        """A few mobile members who came to a held meeting did so online, the meeting having
        an online part (腾讯会议): what the ledger shows as 线上参会."""
        ids = [r.member_id for r in self.records if r.direction == Direction.OUT]
        rows = await MeetingAttendee.filter(
            held(self.now, "meeting__"),
            member_id__in=[i for i in ids if i not in self.staged],
            attendance=Attendance.PRESENT,
            signed_at__not_isnull=True,
        ).order_by("id")
        chosen = self.rng.sample(rows, min(ONLINE, len(rows)))
        for row in chosen:
            room = "-".join(str(self.rng.randint(100, 999)) for _ in range(3))
            await MeetingAttendee.filter(id=row.id).update(mode="online")
            await Meeting.filter(id=row.meeting_id, online__isnull=True).update(
                online=f"腾讯会议 {room}"
            )
        return len(chosen)

    async def _incoming_at_meetings(self, incoming: list[tuple[Member, MobileMember]]) -> int:
        """流入 members at their branch's meetings since they were confirmed, as scheduling
        puts them (without a vote; not at a 支委会 or a 党小组会): most came to those held."""
        rows = []
        for person, record in incoming:
            since = record.decided_at or record.created_at
            meetings = await Meeting.filter(
                organisation_id=record.branch_id, starts_at__gte=since
            ).exclude(kind__in=[MeetingType.COMMITTEE_MEETING, MeetingType.GROUP_MEETING])
            for meeting in meetings:
                over = meeting.ends_at <= self.now and meeting.status != "cancelled"
                came = over and self.rng.random() < 0.75
                rows.append(
                    MeetingAttendee(
                        meeting_id=meeting.id,
                        member_id=person.id,
                        organisation_id=record.branch_id,
                        role=AttendeeRole.INCOMING,
                        attendance=(
                            Attendance.PRESENT
                            if came
                            else Attendance.ABSENT
                            if over
                            else Attendance.UNKNOWN
                        ),
                        signed_at=meeting.starts_at + timedelta(minutes=5) if came else None,
                    )
                )
        return await insert(MeetingAttendee, rows)

    # --- writing -------------------------------------------------------------------------------

    async def write(self) -> int:
        self._outgoing()
        incoming = self._incoming()
        stopped = self._stopped()
        people = [p for p, _ in incoming] + [p for p, _, _ in stopped]
        rows = await insert_with_ids(Member, people)
        for person, record in incoming:
            record.member_id, record.current = person.id, f"member:{person.id}"
            self.records.append(record)
        for person, stopped_on, meeting in stopped:
            self._stop(person, stopped_on, meeting)
        rows += await insert(MobileMember, self.records)
        rows += await insert_with_ids(LostCase, [case for case, _ in self.cases])
        attempts = []
        for case, tries in self.cases:
            for attempt in tries:
                attempt.case_id = case.id
                attempts.append(attempt)
        rows += await insert(LostAttempt, attempts)
        rows += await insert(MobileContact, self.contacts)
        rows += await insert(DuesPaid, self.dues)
        rows += await insert(YearlyReport, self.reports)
        rows += await self._incoming_at_meetings(incoming)
        return rows + await self._online()
