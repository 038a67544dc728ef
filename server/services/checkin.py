"""打卡: one check-in per member per day (in DANGJIAN_TZ), enforced by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError

from server.activity import CheckIn, PointsReason
from server.models import Member
from server.services.points import PointsRules, award, points_on


@dataclass(frozen=True)
class CheckInResult:
    first_today: bool  # False: this member had already checked in today
    streak: int  # consecutive days up to and including today
    month_days: int  # days checked in this calendar month
    points_awarded: int  # by this check-in (0 on a repeat, or at the daily cap)
    points_today: int


async def check_in(member: Member, today: date, rules: PointsRules) -> CheckInResult:
    # Four statements for a first check-in, three for a repeat: this is the busiest message.
    try:
        await CheckIn.create(
            member_id=member.id,
            organisation_id=member.organisation_id,  # type: ignore[attr-defined]
            day=today,
        )
        first = True
    except IntegrityError:
        first = False  # the unique (member, day) key: a retry or a second tap changes nothing
    days = await _recent_days(member, today)
    earned = await points_on(member, today)
    awarded = 0
    if first:
        awarded = await award(
            member,
            PointsReason.CHECK_IN,
            f"check_in:{today.isoformat()}",
            rules.check_in,
            today,
            rules,
            earned_today=earned,
        )
    return CheckInResult(
        first_today=first,
        streak=_streak(days, today),
        month_days=sum(1 for d in days if d >= today.replace(day=1)),
        points_awarded=awarded,
        points_today=earned + awarded,
    )


async def _recent_days(member: Member, today: date) -> set[date]:
    """Check-in days back far enough for any streak a year can hold, and this month."""
    return set(
        await CheckIn.filter(
            member_id=member.id, day__gte=today - timedelta(days=400), day__lte=today
        ).values_list("day", flat=True)
    )


def _streak(days: set[date], today: date) -> int:
    """Consecutive check-in days ending today (or yesterday, before today's check-in)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


async def streak(member: Member, today: date) -> int:
    return _streak(await _recent_days(member, today), today)


async def month_check_ins(member: Member, today: date) -> int:
    return await CheckIn.filter(
        member_id=member.id, day__gte=today.replace(day=1), day__lte=today
    ).count()
