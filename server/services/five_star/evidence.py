"""The items filled from the records: each figure as the existing counts give it, never a second
counting of the same thing, with the evidence behind the number.

- meetings: `compliance_status.branch_lights` for the year so far — the lit obligations met
  (已开) of those owed (已开, and 未开 once their period ended; 待开 and 已安排 are still open);
- study, exchange, org_life, appraisal: `tally_report` for the branch and the same days —
  组织党员学习人次, 交流体会人次, 组织生活会 and 民主评议党员 held, per 党员数 where asked;
- service: the 联系卡's count (`contact_card`) of services completed by the branch's members
  reported to a community (报到党员), confirmed in the year;
- mobile: the 流动党员 figures (`mobility.counts.overview`): 流出 members contacted this quarter.

The score of a record item is its points times the share achieved (at most 1), rounded down;
nothing owed counts as achieved.  A figure is evidence and a suggestion: the branch applies with
it, and reviewers may adjust it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from server.clock import day_span
from server.models.community import Volunteer
from server.models.meetings import Meeting, MeetingType, held
from server.models.people import Member, MemberStatus, Organisation
from server.services.community.contact_card import completed_by
from server.services.five_star.scheme import Item, Scheme
from server.services.meetings.compliance_status import AMBER, DUE, GREEN, RED, branch_lights
from server.services.mobility import counts as mobility_counts
from server.services.people.scope import under
from server.services.tallies.report import TallyReport, tally_report


@dataclass(frozen=True)
class Evidence:
    text: str  # one line: 2026年5月支委会（已开）
    link: str | None = None  # a dashboard page that shows it


@dataclass
class Figure:
    item: Item
    done: int  # what the records show
    owed: int  # what it is measured against (members × target, obligations owed, …)
    score: int
    words: str  # the figure in a sentence
    evidence: list[Evidence] = field(default_factory=list)
    open: bool = False  # something is still to do this year

    @property
    def full(self) -> bool:
        return self.score >= self.item.points


@dataclass(frozen=True)
class Basis:
    """When, and by which settings, the records are read: the lights' 党课 period
    (DANGJIAN_LECTURE_EVERY) and the 流动党员 contact cadence."""

    today: date
    now: datetime
    zone: ZoneInfo
    lecture_every: str
    cadence_days: int


@dataclass(frozen=True)
class Period:
    year: int
    start: date
    end: date  # the last day counted: today within the year, 31 December after it


def period_of(year: int, today: date) -> Period:
    return Period(year, date(year, 1, 1), min(today, date(year, 12, 31)))


def share_score(points: int, done: int, owed: int) -> int:
    if owed <= 0:
        return points
    return int(Fraction(points) * min(Fraction(1), Fraction(done, owed)))


async def figures(
    scheme: Scheme, branch: Organisation, year: int, basis: Basis
) -> dict[str, Figure]:
    """Every record item of `scheme` for `branch` in `year` (to `basis.today`), by item key."""
    today, now, zone = basis.today, basis.now, basis.zone
    lecture_every, cadence_days = basis.lecture_every, basis.cadence_days
    period = period_of(year, today)
    wanted = {i.source for i in scheme.items() if i.auto}
    report: TallyReport | None = None
    if wanted & {"study", "exchange", "org_life", "appraisal"}:
        report = await tally_report(
            branch, period.start, period.end, by=None, today=today, zone=zone, now=now,
            service=False,
        )  # fmt: skip
    out: dict[str, Figure] = {}
    for item in scheme.items():
        if not item.auto:
            continue
        if item.source == "meetings":
            out[item.key] = await _meetings(item, branch, period, today, now, zone, lecture_every)
        elif item.source in ("study", "exchange"):
            assert report is not None
            out[item.key] = _per_member(item, branch, period, report)
        elif item.source in ("org_life", "appraisal"):
            assert report is not None
            out[item.key] = await _held(item, branch, period, report, now, zone)
        elif item.source == "service":
            out[item.key] = await _service(item, branch, period, zone)
        elif item.source == "mobile":
            out[item.key] = await _mobile(item, branch, today, now, zone, cadence_days)
    return out


def _branch_page(branch: Organisation, period: Period) -> str:
    return f"/admin?org={branch.id}&from={period.start.isoformat()}&to={period.end.isoformat()}"


async def _meetings(
    item: Item,
    branch: Organisation,
    period: Period,
    today: date,
    now: datetime,
    zone: ZoneInfo,
    lecture_every: str,
) -> Figure:
    [lights] = await branch_lights(
        [branch], today, zone, lecture_every, now=now, start=period.start, end=period.end
    )
    every = [light for p in lights.periods for light in p.lights]
    met = [light for light in every if light.state == GREEN]
    missed = [light for light in every if light.state == RED]
    still = [light for light in every if light.state in (AMBER, DUE)]
    owed = len(met) + len(missed)
    evidence = [Evidence(f"{light.label}：{light.word}") for light in missed + still]
    evidence.append(
        Evidence(f"已按期召开 {len(met)} 项（按月、按季度的提示灯）", _branch_page(branch, period))
    )
    evidence.append(
        Evidence(
            f"{period.year}年三会一课台账", f"/admin/ledger?org={branch.id}&year={period.year}"
        )
    )
    return Figure(
        item,
        len(met),
        owed,
        share_score(item.points, len(met), owed),
        f"应开 {owed} 项，按期召开 {len(met)} 项，未开 {len(missed)} 项"
        + (f"；尚在期限内 {len(still)} 项" if still else ""),
        evidence,
        open=bool(still or missed),
    )


def _per_member(item: Item, branch: Organisation, period: Period, report: TallyReport) -> Figure:
    total = report.total
    members = total.active_members
    target = item.target or 1
    if item.source == "study":
        done, label = total.organised_study, "组织党员学习"
    else:
        done, label = total.exchange_person_times, "交流体会"
    owed = members * target
    score = share_score(item.points, done, owed)
    return Figure(
        item,
        done,
        owed,
        score,
        f"{label} {done} 人次，党员 {members} 人，满分需 {owed} 人次（每人 {target} 人次）",
        [Evidence(f"统计报表：{report.sentence}", _branch_page(branch, period))],
        open=score < item.points,
    )


async def _held(
    item: Item,
    branch: Organisation,
    period: Period,
    report: TallyReport,
    now: datetime,
    zone: ZoneInfo,
) -> Figure:
    kind = MeetingType.ORG_LIFE if item.source == "org_life" else MeetingType.APPRAISAL
    count = report.total.meetings.get(kind.value, 0)
    after, before = day_span(period.start, period.end, zone)
    rows = await Meeting.filter(
        under(branch.path), held(now), kind=kind.value, starts_at__gte=after, starts_at__lt=before
    ).order_by("starts_at")
    evidence = [
        Evidence(
            f"会议 {m.id}：{_day(m.starts_at, zone)} {m.kind}「{m.topic}」",
            _branch_page(branch, period),
        )
        for m in rows
    ]
    return Figure(
        item,
        count,
        1,
        item.points if count else 0,
        f"本年已召开{kind.value} {count} 次" if count else f"本年尚未召开{kind.value}",
        evidence,
        open=not count,
    )


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


async def _service(item: Item, branch: Organisation, period: Period, zone: ZoneInfo) -> Figure:
    members = Member.filter(organisation_id=branch.id, status=MemberStatus.ACTIVE)
    ids = await members.values_list("id", flat=True)
    volunteers = await Volunteer.filter(
        member_id__in=list(ids), confirmed_at__isnull=False
    ).order_by("id")
    after, before = day_span(date(period.year, 1, 1), date(period.year, 12, 31), zone)
    done = await completed_by([v.id for v in volunteers], after, before)
    completed = sum(n for n, _ in done.values())
    target = item.target or 1
    owed = len(volunteers) * target
    evidence = [Evidence(f"{v.name}：完成服务 {done.get(v.id, (0, 0))[0]} 次") for v in volunteers]
    score = share_score(item.points, completed, owed) if volunteers else 0
    return Figure(
        item,
        completed,
        owed,
        score,
        f"报到党员 {len(volunteers)} 人，本年完成服务 {completed} 次，满分需 {owed} 次"
        if volunteers
        else "本支部尚无到社区报到的党员",
        evidence,
        open=score < item.points,
    )


async def _mobile(
    item: Item,
    branch: Organisation,
    today: date,
    now: datetime,
    zone: ZoneInfo,
    cadence_days: int,
) -> Figure:
    seen = await mobility_counts.overview([branch], today, now, zone, cadence_days)
    row = seen.branches[0]
    score = share_score(item.points, row.contacted, row.outgoing)
    return Figure(
        item,
        row.contacted,
        row.outgoing,
        score,
        f"流出党员 {row.outgoing} 人，本季度已联系 {row.contacted} 人"
        if row.outgoing
        else "本支部没有流出党员",
        [Evidence("流动党员名单和联系记录", f"/admin/mobile?org={branch.id}")],
        open=score < item.points,
    )
