"""Points (积分): the member's own encouragement, awarded by the server only, once per deed,
within a daily cap.  They set no star: a member's star is the branch's decision
(`services.member_stars`), never a sum of points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Sum

from server.models.people import Member, counted_in
from server.models.study import PointsDay, PointsEntry, PointsReason
from server.settings import Settings


@dataclass(frozen=True)
class PointsRules:
    check_in: int = 1
    reading: int = 2
    quiz_correct: int = 1
    submission: int = 5
    meeting: int = 3
    daily_cap: int = 10
    enabled: bool = True  # DANGJIAN_POINTS: off, nothing is awarded and nothing shown

    @classmethod
    def from_settings(cls, settings: Settings) -> PointsRules:
        return cls(
            check_in=settings.points_check_in,
            reading=settings.points_reading,
            quiz_correct=settings.points_quiz_correct,
            submission=settings.points_submission,
            meeting=settings.points_meeting,
            daily_cap=settings.points_daily_cap,
            enabled=settings.points,
        )


async def _sum(member: Member, since: date, until: date) -> int:
    row = (
        await PointsEntry.filter(member_id=member.id, day__gte=since, day__lte=until)
        .annotate(total=Sum("points"))
        .first()
        .values("total")
    )
    return int((row or {}).get("total") or 0)


async def points_on(member: Member, day: date) -> int:
    # A day holds a handful of rows: summing them here is cheaper than building an aggregate.
    points = await PointsEntry.filter(member_id=member.id, day=day).values_list("points", flat=True)
    return sum(cast("list[int]", points))  # flat=True: ints (Tortoise 1.1 types them as tuples)


async def award(
    member: Member,
    reason: PointsReason,
    deed: str,
    points: int,
    day: date,
    rules: PointsRules,
    *,
    earned_today: int | None = None,
) -> int:
    """Award up to `points` for `deed` (once ever); returns what was actually awarded.

    `earned_today`: the member's points on `day` when the caller has just read them (a hint: the
    day's row decides).
    """
    if not rules.enabled:
        return 0
    if earned_today is not None and earned_today >= rules.daily_cap:
        return 0
    if await PointsEntry.exists(member_id=member.id, deed=deed):
        return 0  # paid already: take no room for it
    granted = await _take_room(member, day, points, rules.daily_cap)
    if granted == 0:
        return 0
    try:
        await PointsEntry.create(
            member_id=member.id,
            organisation_id=counted_in(member),
            day=day,
            reason=reason,
            deed=deed,
            points=granted,
        )
    except IntegrityError:
        # This deed was paid a moment ago (a double tap, another process): give the room back.
        await PointsDay.filter(member_id=member.id, day=day).update(points=F("points") - granted)
        return 0
    return granted


async def _day_row(member: Member, day: date) -> PointsDay:
    row = await PointsDay.get_or_none(member_id=member.id, day=day)
    if row is not None:
        return row
    # From the day's entries so far: days before this table began have no row.  ON CONFLICT DO
    # NOTHING rather than catching the clash: inside a transaction (a 心得 approved with its
    # points) a failed INSERT would abort it on PostgreSQL.
    made = PointsDay(member_id=member.id, day=day, points=await points_on(member, day))
    await PointsDay.bulk_create([made], ignore_conflicts=True)
    return await PointsDay.get(member_id=member.id, day=day)


async def _take_room(member: Member, day: date, wanted: int, cap: int) -> int:
    """Raise the day's row by up to `wanted` within `cap`; what was granted.

    Compare-and-set: the UPDATE names the value it read, so of two deeds at once one changes
    the row and the other reads again — the same on PostgreSQL and SQLite, with no lock held.
    """
    row = await _day_row(member, day)
    while True:
        granted = max(0, min(wanted, cap - row.points))
        if granted == 0:
            return 0
        changed = await PointsDay.filter(id=row.id, points=row.points).update(
            points=row.points + granted
        )
        if changed:
            return granted
        await row.refresh_from_db()


async def year_total(member: Member, today: date) -> int:
    """The rolling 12 months: the member's own figure, shown to them alone."""
    return await _sum(member, today - timedelta(days=365), today)


async def month_total(member: Member, today: date) -> int:
    return await _sum(member, today.replace(day=1), today)
