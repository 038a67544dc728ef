"""`dangjian plan`: each branch's yearly 三会一课 calendar, from the rules, as planned meetings.

A 支委会, each group's 党小组会 and a 主题党日 every month; a 支部党员大会 every quarter; a 党课
at DANGJIAN_LECTURE_EVERY; a 组织生活会 and a 民主评议党员 once a year.  Rows have a period, not
a time: the secretary gives the time with 安排.  Running it again adds nothing already planned.
"""

from __future__ import annotations

from datetime import date

from server.models.meetings import PlannedMeeting
from server.models.people import Organisation, OrgKind
from server.services.meetings.compliance import PERIOD_MONTHS, period
from server.services.meetings.compliance_status import obligations


def periods(year: int, months: int) -> list[tuple[date, date]]:
    return [period(date(year, m, 1), months) for m in range(1, 13, months)]


async def plan_year(year: int, lecture_every: str) -> int:
    """Plan the year for every branch; the number of planned meetings added."""
    rows: list[PlannedMeeting] = []
    for branch in await Organisation.filter(kind=OrgKind.BRANCH).order_by("id"):
        groups = await Organisation.filter(parent_id=branch.id, kind=OrgKind.GROUP)
        wanted = [
            (org, o.kind, o.months)
            for o in obligations(PERIOD_MONTHS[lecture_every])
            for org in (groups if o.per_group else [branch])
        ]
        for org, kind, months in wanted:
            rows += [
                PlannedMeeting(organisation=org, kind=kind, period_start=s, period_end=e)
                for s, e in periods(year, months)
            ]
    this_year = PlannedMeeting.filter(
        period_start__gte=date(year, 1, 1), period_start__lt=date(year + 1, 1, 1)
    )
    before = await this_year.count()
    await PlannedMeeting.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return await this_year.count() - before
