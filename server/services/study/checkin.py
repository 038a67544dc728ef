"""打卡: one check-in per member per day (in DANGJIAN_TZ), enforced by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from server.models.people import Member, counted_in
from server.models.study import CheckIn, PointsReason
from server.services.study.points import PointsRules, award, points_on

STREAK_WINDOW = 400  # days looked back for the streak: more than a year of check-ins


@dataclass(frozen=True)
class CheckInResult:
    first_today: bool  # False: this member had already checked in today
    streak: int  # consecutive days up to and including today
    month_days: int  # days checked in this calendar month
    points_awarded: int  # by this check-in (0 on a repeat, or at the daily cap)
    points_today: int


# The busiest message of the day, as one statement on PostgreSQL: the check-in, the points it
# earns within the daily cap, and the days that make the streak, in a single round trip.  The
# unique keys decide exactly as the portable path's do: ON CONFLICT DO NOTHING where it catches
# IntegrityError.  The final SELECT sees the snapshot from before the insert, so today is added
# to the days in Python.
_CHECK_IN_POSTGRES = """
WITH new AS (
    INSERT INTO check_in (member_id, organisation_id, day, created_at)
    VALUES ($1, $2, $3, now())
    ON CONFLICT (member_id, day) DO NOTHING
    RETURNING day
), earned AS (
    SELECT coalesce(sum(points), 0)::int AS n
    FROM points_entry WHERE member_id = $1 AND day = $3
), award AS (
    INSERT INTO points_entry (member_id, organisation_id, day, reason, deed, points, created_at)
    SELECT $1, $2, $3, $4, $5, least($6::int, $7::int - earned.n), now()
    FROM new, earned
    WHERE least($6::int, $7::int - earned.n) > 0
    ON CONFLICT (member_id, deed) DO NOTHING
    RETURNING points
)
SELECT
    EXISTS (SELECT 1 FROM new) AS first,
    (SELECT n FROM earned) AS earned,
    coalesce((SELECT points FROM award), 0) AS awarded,
    ARRAY(SELECT day FROM check_in WHERE member_id = $1 AND day BETWEEN $8 AND $3) AS days
"""


async def check_in(member: Member, today: date, rules: PointsRules) -> CheckInResult:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        return await _check_in_postgres(conn, member, today, rules)
    # Four statements for a first check-in, three for a repeat.
    try:
        await CheckIn.create(
            member_id=member.id,
            organisation_id=counted_in(member),
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
            _deed(today),
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


async def _check_in_postgres(
    conn: BaseDBAsyncClient, member: Member, today: date, rules: PointsRules
) -> CheckInResult:
    _, rows = await conn.execute_query(
        _CHECK_IN_POSTGRES,
        [
            member.id,
            counted_in(member),
            today,
            PointsReason.CHECK_IN.value,
            _deed(today),
            rules.check_in if rules.enabled else 0,  # points off: the statement awards none
            rules.daily_cap,
            today - timedelta(days=STREAK_WINDOW),
        ],
    )
    row = rows[0]
    # Today's row exists either way: this statement wrote it, or a concurrent one did (whose
    # commit this statement's snapshot may predate).
    days = set(row["days"]) | {today}
    return CheckInResult(
        first_today=row["first"],
        streak=_streak(days, today),
        month_days=sum(1 for d in days if d >= today.replace(day=1)),
        points_awarded=row["awarded"],
        points_today=row["earned"] + row["awarded"],
    )


def _deed(today: date) -> str:
    return f"check_in:{today.isoformat()}"


async def _recent_days(member: Member, today: date) -> set[date]:
    """Check-in days back far enough for any streak a year can hold, and this month."""
    days = await CheckIn.filter(
        member_id=member.id, day__gte=today - timedelta(days=STREAK_WINDOW), day__lte=today
    ).values_list("day", flat=True)
    return set(cast("list[date]", days))  # flat=True: dates (Tortoise 1.1 types them as tuples)


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
