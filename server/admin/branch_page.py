"""A 党支部's page: its numbers, its 三会一课 month by month, its meetings, its 心得, its 台账.

What a secretary lands on, and what a branch row of the overview opens.  The meetings of the
period with date, type, topic, 已召开 / 已安排 / 已取消 (held by `server.meetings.held`, the
tallies' rule) and attendance; those not yet over link to the sign-in screen
(`/admin/meetings/{id}/screen`).  The ledger of a year downloads as `ledger_xlsx` makes it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from tortoise.functions import Count

from server.admin import charts, exports, lights, numbers, pending
from server.admin.pages import render
from server.admin.selection import Selection, org_id, page_context
from server.admin.signing import signed_in
from server.clock import WEEKDAYS, day_span
from server.downloads import XLSX, attachment
from server.errors import ValidationFailed
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingStatus, held, scheduled
from server.models.people import BRANCH_LEADERS, Member, OrgKind
from server.services.meetings.compliance_status import branch_lights
from server.services.meetings.ledger import ledger_xlsx
from server.services.people.access import Scope, organisation_in_scope, scope_of
from server.services.people.scope import under
from server.services.tallies import report as tallies
from server.typedefs import CLOCK, SETTINGS

HELD, SCHEDULED, CANCELLED = "已召开", "已安排", "已取消"
UPCOMING = 10
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True)
class MeetingLine:
    id: int
    when: str  # 11月26日（周四）15:00
    kind: str
    group: str | None  # a 党小组会's group
    topic: str
    status: str  # 已召开, 已安排 or 已取消
    under_way: bool
    expected: int
    present: int | None  # None until held
    leave: int | None
    absent: int | None
    rate: float | None

    @property
    def screen(self) -> str | None:
        """The sign-in screen of a meeting not yet over."""
        return f"/admin/meetings/{self.id}/screen" if self.status == SCHEDULED else None


async def meetings_of(
    branch_path: str, sel: Selection, zone: ZoneInfo, now: datetime
) -> list[MeetingLine]:
    """The branch's meetings (its groups' too) starting in the period, latest first.

    When the period reaches today, the meetings booked after it come too (at most
    `UPCOMING`): the secretary opens their sign-in screen from here.
    """
    first, after = day_span(sel.start, sel.end, zone)
    here = Meeting.filter(under(branch_path))
    found = (
        await here.filter(starts_at__gte=first, starts_at__lt=after)
        .order_by("-starts_at", "-id")
        .prefetch_related("organisation")
    )
    if sel.end >= sel.today:
        coming = (
            await here.filter(scheduled(now), starts_at__gte=after)
            .order_by("starts_at", "id")
            .limit(UPCOMING)
            .prefetch_related("organisation")
        )
        found = list(reversed(coming)) + found
    ids = [m.id for m in found]
    over = set(await Meeting.filter(held(now), id__in=ids).values_list("id", flat=True))
    counts: dict[int, Counter[str]] = {i: Counter() for i in ids}
    rows = (
        await Meeting.filter(id__in=ids)
        .filter(attendees__role=AttendeeRole.EXPECTED)
        .annotate(n=Count("attendees__id"))
        .group_by("id", "attendees__attendance")
        .values("id", "attendees__attendance", "n")
        if ids
        else []
    )
    for row in rows:
        counts[row["id"]][str(row["attendees__attendance"])] += row["n"]
    return [_line(m, counts[m.id], m.id in over, zone, now) for m in found]


def _line(
    meeting: Meeting, count: Counter[str], is_held: bool, zone: ZoneInfo, now: datetime
) -> MeetingLine:
    local = meeting.starts_at.astimezone(zone)
    when = f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"
    expected = sum(count.values())
    status = (
        CANCELLED if meeting.status == MeetingStatus.CANCELLED else HELD if is_held else SCHEDULED
    )
    present = leave = absent = None
    rate = None
    if status == HELD:  # anyone undecided at the end was absent, as in the tallies
        present = count[Attendance.PRESENT.value]
        leave = count[Attendance.LEAVE.value]
        absent = expected - present - leave
        rate = present / expected if expected else None
    org = meeting.organisation
    return MeetingLine(
        id=meeting.id,
        when=when,
        kind=meeting.kind,
        group=org.name if org.kind == OrgKind.GROUP else None,
        topic=meeting.topic,
        status=status,
        under_way=status == SCHEDULED and meeting.starts_at <= now,
        expected=expected,
        present=present,
        leave=leave,
        absent=absent,
        rate=rate,
    )


async def page(request: web.Request, member: Member, scope: Scope, sel: Selection) -> web.Response:
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    now = clock.now()
    when: tallies.ReportTime = {"today": sel.today, "zone": settings.zone, "now": now}
    report = await tallies.tally_report(sel.org, sel.start, sel.end, by="child", **when)
    by_month = await tallies.tally_report(sel.org, sel.start, sel.end, by="month", **when)
    [branch] = await branch_lights(
        [sel.org],
        sel.today,
        settings.zone,
        settings.lecture_every,
        now=now,
        start=sel.start,
        end=sel.end,
    )
    monthly, longer = lights.grids(branch)
    own = member.organisation_id == sel.org.id and member.role in BRANCH_LEADERS
    years = list(range(sel.end.year, sel.start.year - 1, -1))
    context: dict[str, Any] = {
        **await page_context(member, scope, sel, settings.zone),
        "title": sel.org.name,
        "report": report,
        "groups": numbers.headline(report.total),
        "monthly": monthly,
        "longer": longer,
        "legend": lights.LEGEND,
        "detail": lights.detail,
        "lecture_every": lights.EVERY[settings.lecture_every],
        "meetings": await meetings_of(sel.org.path, sel, settings.zone, now),
        "pending": await pending.queue(sel.org, sel.today),
        "own": own,
        "ledgers": [(y, f"/admin/ledger?org={sel.org.id}&year={y}") for y in years],
        "charts": {"months": charts.by_month(by_month)},
        "exports": exports.links(sel, "child"),
    }
    return render(request, "branch.html", context)


async def ledger(request: web.Request) -> web.Response:
    """/admin/ledger?org=&year=: a branch's 三会一课 台账 for a year, as XLSX."""
    member = await signed_in(request)
    scope = await scope_of(member)
    branch = await organisation_in_scope(scope, org_id(request.query))
    if branch.kind is not OrgKind.BRANCH:
        raise ValidationFailed("台账按党支部下载，请先选择一个党支部。", field="org")
    clock, settings = request.config_dict[CLOCK], request.config_dict[SETTINGS]
    raw = request.query.get("year", "").strip() or str(clock.today().year)
    if not _YEAR.fullmatch(raw) or not 2000 <= int(raw) <= clock.today().year + 1:
        raise ValidationFailed("年度应为四位数字，例如 2026。", field="year")
    book = await ledger_xlsx(branch, int(raw), settings.zone, clock.now())
    return attachment(book.data, XLSX, book.filename, book.readable)
