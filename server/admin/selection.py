"""What a page is asked for: an organisation in the caller's scope and a period.

Query values are checked here and refused with a 400 page naming the field in words; an
organisation outside the caller's scope and one that does not exist get the same 403 page
(`Hidden`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from server.days import check_day
from server.errors import ValidationFailed
from server.models.people import Member, Organisation, OrgKind
from server.services.community.roles import managed_by
from server.services.meetings.compliance_status import STATE_WORDS, period
from server.services.people.access import Scope, organisation_in_scope
from server.services.people.scope import subtree
from server.services.tallies import report as tallies
from server.typedefs import CLOCK

SHORTCUTS = (("year", "今年", 12), ("quarter", "本季度", 3), ("month", "本月", 1))
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"[1-9]\d{0,9}")


@dataclass(frozen=True)
class Selection:
    org: Organisation
    start: date
    end: date
    today: date
    shortcut: str | None  # year, quarter or month when the period is one of those

    def query(self, **extra: str) -> str:
        """This selection as a query string, with `extra` values added or replaced."""
        values = {
            "org": str(self.org.id),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }
        return urlencode({**values, **extra})

    def page_of(self, org_id: int) -> str:
        """The page of another organisation, for the same period."""
        return "/admin?" + self.query(org=str(org_id))

    @property
    def period_text(self) -> str:
        return f"{_chinese(self.start)}至{_chinese(self.end)}"

    def shortcuts(self) -> list[tuple[str, str, str]]:
        """(key, name, query) of 今年 / 本季度 / 本月."""
        return [
            (key, name, self.query(**_span(self.today, months))) for key, name, months in SHORTCUTS
        ]


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def org_id(query: Any) -> int | None:
    raw = query.get("org", "").strip()
    if not raw:
        return None
    if not _ID.fullmatch(raw):
        raise ValidationFailed("组织编号应为正整数。", field="org")
    return int(raw)


def date_value(query: Any, name: str) -> date | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    if not _DATE.fullmatch(raw):
        raise ValidationFailed("日期应写成 年-月-日，例如 2026-03-01。", field=name)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("没有这一天，请检查日期。", field=name) from None
    return check_day(day, name)


def shortcut_span(today: date, months: int) -> tuple[date, date]:
    """今年 / 本季度 / 本月: from the period's first day to today."""
    return period(today, months)[0], today


def _span(today: date, months: int) -> dict[str, str]:
    start, end = shortcut_span(today, months)
    return {"from": start.isoformat(), "to": end.isoformat()}


async def selection(request: web.Request, scope: Scope, by: str | None = None) -> Selection:
    query = request.query
    today = request.config_dict[CLOCK].today()
    wanted = org_id(query)
    start, end = date_value(query, "from"), date_value(query, "to")
    start, end = tallies.default_period(start, end, today)  # none given: 今年 so far
    tallies.validate(start, end, by)
    org = await organisation_in_scope(scope, wanted)
    shortcut = next(
        (key for key, _, months in SHORTCUTS if shortcut_span(today, months) == (start, end)),
        None,
    )
    return Selection(org, start, end, today, shortcut)


def pickable(scope: Scope) -> Any:
    """The organisations a caller may pick: everything in scope down to branches (no groups)."""
    query = Organisation.exclude(kind=OrgKind.GROUP)
    if not scope.everything:
        query = query.filter(subtree(scope.path or ""))
    return query


async def page_context(
    member: Member, scope: Scope, sel: Selection, zone: ZoneInfo
) -> dict[str, Any]:
    """What every organisation's page has: who, the period, the picker, the breadcrumb.

    The picker only when there is something to pick: a secretary with one branch has none.
    """
    return {
        "member": member,
        "sel": sel,
        "shortcuts": sel.shortcuts(),
        "picker": await pickable(scope).count() > 1,
        "trail": await ancestors(scope, sel.org),
        "zone": zone,
        "words": STATE_WORDS,
        # 社区服务 in the header: exactly those who run a community (not a role's guess).
        "runs_community": bool(await managed_by(member)),
    }


async def ancestors(scope: Scope, org: Organisation) -> list[Organisation]:
    """The organisations above `org` that the caller may open, top first (the breadcrumb)."""
    parts = org.path.split("/")
    paths = ["/".join(parts[:n]) for n in range(1, len(parts))]
    above = await Organisation.filter(path__in=paths).order_by("path") if paths else []
    return [o for o in above if scope.covers(o.path)]
