"""The daily tally snapshot: every organisation's counts for one day, replacing that day's rows.

Counted by `services.counting`, as the staff report counts its live days (organised study,
自学, 交流体会人次, distinct members at organised study), per organisation the events were
attributed to, plus meetings held by type and their attendance.
A day is a local day in DANGJIAN_TZ.  Re-running a day deletes and rewrites it in one
transaction: it replaces, never adds.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.models.people import Organisation
from server.models.tallies import SnapshotDay, TallySnapshot
from server.services.tallies.counting import COUNTS, count_events, studied_pairs


async def snapshot_day(day: date, zone: ZoneInfo, *, now: datetime | None = None) -> int:
    """Write `day`'s rows and mark the day taken; the number of organisations with anything.

    A day with a meeting not yet over at `now` (one that runs past midnight) is written but not
    marked current: reports count it live until a later run finds the meeting over.
    """
    started = (now or datetime.now(UTC)).astimezone(UTC)
    # The same counting as the report's live days: a snapshot cannot drift from a live count.
    # flat=True gives the ids themselves; Tortoise 1.1 types them as tuples.
    ids = cast("list[int]", await Organisation.all().values_list("id", flat=True))
    parts = await count_events(ids, day, day, zone, "organisation_id", started)
    studied = await studied_pairs(ids, day, day, zone, started)
    organised: dict[int, int] = Counter(org for org, _member in studied.organised)
    orgs = {org for org, tally in parts.items() if tally.counts or tally.meetings}
    complete = not any(tally.counts["scheduled"] for tally in parts.values())
    async with in_transaction():
        await SnapshotDay.filter(day=day).delete()
        if complete:
            await SnapshotDay.create(day=day, taken_at=started)
        await TallySnapshot.filter(day=day).delete()
        await TallySnapshot.bulk_create(
            [
                TallySnapshot(
                    organisation_id=org,
                    day=day,
                    members_studied=organised[org],
                    meetings=dict(parts[org].meetings),
                    **{name: parts[org].counts[name] for name in COUNTS},
                )
                for org in sorted(orgs)
            ]
        )
    return len(orgs)


async def touched(day: date) -> None:
    """Something on `day` changed after the fact: reports count it live until it is retaken."""
    await SnapshotDay.filter(day=day).delete()


async def touched_around(moment: datetime) -> None:
    """Something at `moment` changed: its local day is the UTC day, or the one either side."""
    day = moment.astimezone(UTC).date()
    await SnapshotDay.filter(
        day__gte=day - timedelta(days=1), day__lte=day + timedelta(days=1)
    ).delete()


async def fresh_days(first: date, last: date) -> set[date]:
    """The days in [first, last] whose snapshot is complete and current."""
    return set(await taken_days(first, last))


async def taken_days(first: date, last: date) -> dict[date, str]:
    """The days in [first, last] whose snapshot is complete and current, each with a stamp that
    differs every time the day is taken (the row's id, never reused, and when it was taken)."""
    rows = await SnapshotDay.filter(day__gte=first, day__lte=last).values_list(
        "day", "id", "taken_at"
    )
    return {
        (d if isinstance(d, date) else date.fromisoformat(str(d))): f"{row_id}@{at}"
        for d, row_id, at in rows
    }


async def catch_up(
    today: date, zone: ZoneInfo, *, back: int = 400, most: int = 60, now: datetime | None = None
) -> list[date]:
    """Take the days before today (up to `back` days ago) that are not current.

    Yesterday, days missed while no process was up, and days changed since they were taken:
    the most recent `most` of them a run, so one night after a long outage does not hold the
    database for long (the next nights take the rest).
    """
    first = today - timedelta(days=back)
    fresh = await fresh_days(first, today - timedelta(days=1))
    due = [
        first + timedelta(days=n) for n in range(back) if first + timedelta(days=n) not in fresh
    ][-most:]
    for day in due:
        await snapshot_day(day, zone, now=now)
    return due
