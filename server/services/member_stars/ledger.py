"""The branch's 星级党员台账: one row per member and year, decided by the branch.

Who: the branch's leaders (书记, 副书记), its 总支书记 and the committee's staff within their
scope read and decide (`access.is_leader` over a scope covering the branch); nobody else.  A
decision is a star from 1 to 5 or 免评, each with who and when; a reason is required when the
star differs from the suggestion, for every 免评, and for every change once the year is
confirmed.  Confirming needs every member decided and makes the year final.

Nothing here changes a star by itself: gathering refreshes only the evidence and the
suggestion, and only while the year is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.clock import day_span
from server.errors import Conflict, ValidationFailed
from server.models.meetings import Meeting, MeetingType, held
from server.models.member_stars import STARS, MemberStar, MemberStarChange, StarStatus, StarYear
from server.models.people import Member, MemberStatus, Organisation, OrgKind
from server.services.member_stars.evidence import Evidence, gather
from server.services.member_stars.rule import Suggestion, suggest
from server.services.member_stars.words import status_text
from server.services.people.access import Hidden, NotAllowed, is_leader, scope_of
from server.settings import Settings

REASON_MAX = 200
FIRST_YEAR = 2000
# The meetings a year's stars may be decided at: the 民主评议, or a 支部党员大会 that held it.
APPRAISAL_KINDS = (MeetingType.APPRAISAL.value, MeetingType.BRANCH_MEETING.value)
LEADERS_ONLY = "星级党员台账由支部书记、副书记和上级党组织查看和评定。"


async def branch_led_by(leader: Member, branch_id: int | None) -> Organisation:
    """The branch `leader` may keep the ledger of: the one named, or their own."""
    if not is_leader(leader):
        raise NotAllowed(LEADERS_ONLY)
    scope = await scope_of(leader)
    wanted = branch_id if branch_id is not None else leader.organisation_id
    branch = await Organisation.get_or_none(id=wanted)
    if branch is None or branch.kind is not OrgKind.BRANCH or not scope.covers(branch.path):
        raise Hidden()
    return branch


def default_year(today: date) -> int:
    """The year a ledger is about unless another is asked for: this year, or last year in
    January–March, when branches hold the 民主评议 of the year just ended."""
    return today.year - 1 if today.month <= 3 else today.year


def check_year(year: int, today: date) -> int:
    if not FIRST_YEAR <= year <= today.year:
        raise ValidationFailed(f"年度应在 {FIRST_YEAR} 年到 {today.year} 年之间。", field="year")
    return year


async def members_of(branch: Organisation) -> list[Member]:
    """Who the ledger lists: the branch's active members with their relationship here (a 流入
    member is assessed where the relationship is), 预备党员 and 流出 members included."""
    return (
        await Member.filter(organisation_id=branch.id, status=MemberStatus.ACTIVE, incoming=False)
        .prefetch_related("group")
        .order_by("name", "id")
    )


@dataclass(frozen=True)
class Entry:
    member: Member
    group: str  # the 党小组's name, "" for none
    row: MemberStar
    evidence: Evidence
    suggestion: Suggestion

    @property
    def status(self) -> str:
        return status_text(self.row)


@dataclass(frozen=True)
class Ledger:
    branch: Organisation
    year: int
    entries: list[Entry]
    confirmed: StarYear | None

    @property
    def final(self) -> bool:
        return self.confirmed is not None and self.confirmed.confirmed_at is not None

    def count(self, status: StarStatus) -> int:
        return sum(1 for e in self.entries if e.row.status == status)


def _evidence_of(row: MemberStar) -> Evidence:
    return Evidence(
        row.expected,
        row.present,
        row.leave,
        row.absent,
        row.submitted,
        row.approved,
        row.services,
        row.service_hours,
        [d for d in row.duties.split("、") if d],
    )


def _store(row: MemberStar, e: Evidence, now: datetime) -> None:
    row.expected, row.present, row.leave, row.absent = e.expected, e.present, e.leave, e.absent
    row.submitted, row.approved = e.submitted, e.approved
    row.services, row.service_hours = e.services, e.service_hours
    row.duties = "、".join(e.duties)[:300]
    row.suggested = suggest(e).level
    row.gathered_at = now


async def _year(branch: Organisation, year: int) -> StarYear | None:
    return await StarYear.get_or_none(branch_id=branch.id, year=year)


async def ledger(branch: Organisation, year: int, now: datetime, settings: Settings) -> Ledger:
    """The year's ledger of `branch`, by 党小组 and then by name (never by star).

    While the year is open the evidence is gathered afresh from the records; once confirmed,
    the rows keep what the decisions were taken on.
    """
    confirmed = await _year(branch, year)
    final = confirmed is not None and confirmed.confirmed_at is not None
    members = await members_of(branch)
    rows = {
        r.member_id: r
        for r in await MemberStar.filter(member_id__in=[m.id for m in members], year=year)
    }
    fresh = await gather(members, year, now, settings) if not final else {}
    entries: list[Entry] = []
    for m in members:
        row = rows.get(m.id)
        if row is None:
            row = MemberStar(member_id=m.id, branch_id=branch.id, year=year)
            _store(row, fresh.get(m.id) or (await gather([m], year, now, settings))[m.id], now)
            await MemberStar.bulk_create([row], ignore_conflicts=True)
            row = await MemberStar.get(member_id=m.id, year=year)
        elif m.id in fresh:
            if row.branch_id != branch.id and row.status == StarStatus.PENDING:
                row.branch_id = branch.id  # moved here before any decision: ours now
            _store(row, fresh[m.id], now)
            await row.save()
        e = _evidence_of(row)
        group = m.group.name if isinstance(m.group, Organisation) else ""
        entries.append(Entry(m, group, row, e, suggest(e)))
    # 党小组 in the order the branch set them up (第一, 第二, 第三 …: by name, 第三 would come
    # before 第二), members in none last, then members by name: an order of the list, not of merit.
    entries.sort(key=lambda x: (x.group == "", x.member.group_id or 0, x.member.name, x.member.id))
    return Ledger(branch, year, entries, confirmed)


async def _row_in(branch: Organisation, member_id: int, year: int) -> MemberStar:
    member = await Member.get_or_none(id=member_id)
    if (
        member is None
        or member.organisation_id != branch.id
        or member.status != MemberStatus.ACTIVE
        or member.incoming
    ):
        raise Hidden()  # another branch's member is refused as one that does not exist
    row = await MemberStar.get_or_none(member_id=member_id, year=year)
    if row is None:
        raise Conflict("请先打开本年度的星级党员台账，再作评定。")
    return row


def _reason(raw: str) -> str:
    reason = raw.strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"理由最多 {REASON_MAX} 个字。", field="reason")
    return reason


async def decide(
    leader: Member,
    branch: Organisation,
    member_id: int,
    year: int,
    *,
    star: int | None,
    exempt: bool,
    reason: str,
    now: datetime,
) -> MemberStar:
    """Set a member's star for the year (1–5), or 免评; logged with who, when and why."""
    if (await branch_led_by(leader, branch.id)).id != branch.id:
        raise Hidden()
    why = _reason(reason)
    if exempt:
        star = None
    elif star is None or star not in STARS:
        raise ValidationFailed("星级应为 1 到 5 星。", field="star")
    async with in_transaction():
        row = await _row_in(branch, member_id, year)
        # Two decisions at once on PostgreSQL: one waits for the other, then reads what it left.
        row = await MemberStar.select_for_update().get(id=row.id)
        confirmed = await _year(branch, year)
        final = confirmed is not None and confirmed.confirmed_at is not None
        if exempt and not why:
            raise ValidationFailed("免评须写明理由（如年老体弱、长期卧床）。", field="reason")
        if star is not None and star != row.suggested and not why:
            raise ValidationFailed(
                f"评定与建议（{row.suggested} 星）不同，请写明理由。", field="reason"
            )
        if final and not why:
            raise ValidationFailed("本年度台账已确认，修改须写明理由。", field="reason")
        before = status_text(row)
        row.status = StarStatus.EXEMPT if exempt else StarStatus.RATED
        row.star = star
        row.reason = why
        row.decided_by_id = leader.id
        row.decided_at = now
        if final and confirmed is not None and row.meeting_id is None:
            row.meeting_id = confirmed.meeting_id
        await row.save()
        await MemberStarChange.create(
            row_id=row.id,
            by_id=leader.id,
            at=now,
            before=before,
            after=status_text(row),
            reason=why,
            suggested=row.suggested,
            after_final=final,
        )
    return row


async def appraisal_meetings(
    branch: Organisation, year: int, now: datetime, zone: ZoneInfo
) -> list[Meeting]:
    """The branch's held 民主评议 and 支部党员大会 of `year` and the next (where the year's
    stars are normally decided, early in the next), newest first."""
    begin, after = day_span(date(year, 1, 1), date(year + 1, 12, 31), zone)
    return await Meeting.filter(
        held(now),
        organisation_id=branch.id,
        kind__in=APPRAISAL_KINDS,
        starts_at__gte=begin,
        starts_at__lt=after,
    ).order_by("-starts_at", "-id")


async def confirm(
    leader: Member,
    branch: Organisation,
    year: int,
    meeting_id: int | None,
    now: datetime,
    zone: ZoneInfo,
) -> StarYear:
    """The branch confirms the year: every member decided, then final."""
    if (await branch_led_by(leader, branch.id)).id != branch.id:
        raise Hidden()
    meeting = None
    if meeting_id is not None:
        held_there = await appraisal_meetings(branch, year, now, zone)
        meeting = next((m for m in held_there if m.id == meeting_id), None)
        if meeting is None:
            raise ValidationFailed(
                "请选择本支部已召开的民主评议党员会议或支部党员大会。", field="meeting"
            )
    async with in_transaction():
        members = [m.id for m in await members_of(branch)]
        decided = await MemberStar.filter(
            member_id__in=members, year=year, status__in=(StarStatus.RATED, StarStatus.EXEMPT)
        ).count()
        if decided < len(members):
            raise Conflict(
                f"还有 {len(members) - decided} 名党员待评定，全部评定（或免评）后才能确认。"
            )
        await StarYear.bulk_create(
            [StarYear(branch_id=branch.id, year=year)], ignore_conflicts=True
        )
        mark = await StarYear.filter(
            branch_id=branch.id, year=year, confirmed_at__isnull=True
        ).update(
            confirmed_at=now, confirmed_by_id=leader.id, meeting_id=meeting.id if meeting else None
        )
        if not mark:
            raise Conflict(f"{year} 年度的星级党员台账已经确认过了。")
        if meeting is not None:
            await MemberStar.filter(member_id__in=members, year=year, meeting_id=None).update(
                meeting_id=meeting.id
            )
    return await StarYear.get(branch_id=branch.id, year=year)


@dataclass(frozen=True)
class Mine:
    """A member's own: the star of the latest confirmed year, if any."""

    decided: MemberStar | None
    meeting: Meeting | None


async def my_star(member: Member) -> Mine:
    for row in await MemberStar.filter(
        member_id=member.id, status__in=(StarStatus.RATED, StarStatus.EXEMPT)
    ).order_by("-year"):
        final = StarYear.filter(branch_id=row.branch_id, year=row.year, confirmed_at__isnull=False)
        if await final.exists():
            meeting = await Meeting.get_or_none(id=row.meeting_id) if row.meeting_id else None
            return Mine(row, meeting)
    return Mine(None, None)


async def history(member_id: int) -> list[tuple[MemberStar, list[MemberStarChange]]]:
    """Every year of one member's ledger, newest first, with every decision in order."""
    out = []
    for row in await MemberStar.filter(member_id=member_id).order_by("-year"):
        changes = await MemberStarChange.filter(row_id=row.id).prefetch_related("by")
        out.append((row, sorted(changes, key=lambda c: (c.at, c.id))))
    return out


@dataclass(frozen=True)
class Progress:
    """How far a branch is with the year: counts only, never who has how many stars."""

    branch: Organisation
    members: int
    rated: int
    exempt: int
    pending: int
    confirmed: bool


async def progress(branches: list[Organisation], year: int) -> list[Progress]:
    out = []
    final = {
        y.branch_id
        for y in await StarYear.filter(
            branch_id__in=[b.id for b in branches], year=year, confirmed_at__isnull=False
        )
    }
    for branch in branches:
        members = [m.id for m in await members_of(branch)]
        statuses = await MemberStar.filter(member_id__in=members, year=year).values_list(
            "status", flat=True
        )
        words = [str(getattr(s, "value", s)) for s in statuses]
        rated = words.count(StarStatus.RATED.value)
        exempt = words.count(StarStatus.EXEMPT.value)
        out.append(
            Progress(
                branch,
                len(members),
                rated,
                exempt,
                len(members) - rated - exempt,
                branch.id in final,
            )
        )
    return out
