"""A 报到单位's 联系卡 on the dashboard: the card the unit's contact receives each quarter.

`/admin/community/units/{id}/card?quarter=2026Q4` shows it (the current quarter so far by
default; a quarter to come, or one not written as 2026Q4, is a 400 naming 季度), and
`…/card.xlsx?quarter=` downloads the very workbook the chat's link gives.  The page's table is
the workbook's: the same columns and values (`contact_card_file`), the members in the card's
order — by when they reported, never by how much they did.

Who may read it is the API's rule: staff every unit, a community's manager the units paired
with the communities they run, everyone else the dashboard's refusal before anything is read;
a unit not theirs is refused exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from server.admin.community_forms import is_staff, managed, number
from server.admin.pages import render
from server.admin.signing import signed_in
from server.downloads import XLSX, attachment
from server.errors import ValidationFailed
from server.models.community import Community, ReportUnit, UnitCommunity
from server.models.people import Member
from server.services.community.contact_card import (
    ContactCard,
    Quarter,
    number_text,
    quarter_card,
)
from server.services.community.contact_card_file import (
    COLUMNS,
    NONE,
    card_file,
    footnote,
    heading,
    row_values,
    totals_values,
)
from server.services.people.access import Hidden
from server.services.tallies.workbook import CellValue
from server.typedefs import CLOCK, SETTINGS

QUARTERS_OFFERED = 8  # the select: this quarter and the seven before it


@dataclass(frozen=True)
class Reading:
    """Whose card, for which quarter, and the desk to go back to."""

    unit: ReportUnit
    quarter: Quarter
    current: Quarter
    back: Community | None  # a community of the reader's paired with the unit


async def _unit_for(member: Member, raw_id: str) -> tuple[ReportUnit, list[Community]]:
    """The unit, if `member` may read its card, and the reader's communities paired with it."""
    mine = await managed(member)  # no community run: the dashboard's refusal, nothing read
    unit_id = number(raw_id, "id")
    paired_ids = set(
        await UnitCommunity.filter(unit_id=unit_id).values_list("community_id", flat=True)
    )
    paired = [c for c in mine if c.id in paired_ids]
    unit = await ReportUnit.get_or_none(id=unit_id) if paired or is_staff(member) else None
    if unit is None:
        raise Hidden()
    return unit, paired


def _quarter(raw: str, current: Quarter) -> Quarter:
    if not raw.strip():
        return current
    quarter = Quarter.parse(raw)
    if quarter > current:
        raise ValidationFailed(
            f"{quarter.name}还没有到，只能查看本季度（到目前为止）和以前的季度。", field="quarter"
        )
    return quarter


async def _reading(request: web.Request, member: Member) -> Reading:
    unit, paired = await _unit_for(member, request.match_info["id"])
    now = request.config_dict[CLOCK].now()
    current = Quarter.of(now, request.config_dict[SETTINGS].zone)
    quarter = _quarter(request.query.get("quarter", ""), current)
    wanted = request.query.get("c", "")
    back = next((c for c in paired if str(c.id) == wanted), paired[0] if paired else None)
    return Reading(unit, quarter, current, back)


def shown(value: CellValue) -> str:
    """A workbook cell as the page writes it: hours as 1.5 or 12, never 12.0."""
    if isinstance(value, float | Decimal):
        return number_text(Decimal(str(value)))
    return NONE if value is None else str(value)


def offered(quarter: Quarter, current: Quarter) -> list[Quarter]:
    """The select's quarters, newest first; an older one asked for by address is kept too."""
    found = [current]
    while len(found) < QUARTERS_OFFERED:
        found.append(found[-1].previous)
    return found if quarter in found else [*found, quarter]


def context(member: Member, reading: Reading, card: ContactCard) -> dict[str, Any]:
    quarter, current = reading.quarter, reading.current
    return {
        "title": f"联系卡 · {reading.unit.name} · {quarter.name}",
        "member": member,
        "runs_community": True,
        "unit": reading.unit,
        "back": reading.back,
        "quarter": quarter,
        "quarters": offered(quarter, current),
        "previous": quarter.previous,
        "next": quarter.next if quarter < current else None,
        "card": card,
        "heading": heading(card),
        "columns": [c.name for c in COLUMNS],
        "rows": [
            (line, [shown(v) for v in row_values(n, line)])
            for n, line in enumerate(card.members, start=1)
        ],
        "totals": [shown(v) for v in totals_values(card)],
        "hours": number_text(card.totals.hours),
        "footnote": footnote(card),
    }


async def card_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    reading = await _reading(request, member)
    now = request.config_dict[CLOCK].now()
    card = await quarter_card(reading.unit, reading.quarter, now, request.config_dict[SETTINGS])
    return render(request, "community_card.html", context(member, reading, card))


async def card_download(request: web.Request) -> web.Response:
    """The chat link's workbook, sent as the dashboard's other exports are."""
    member = await signed_in(request)
    reading = await _reading(request, member)
    clock = request.config_dict[CLOCK]
    card = await quarter_card(
        reading.unit, reading.quarter, clock.now(), request.config_dict[SETTINGS]
    )
    made = await card_file(card, reading.quarter, clock.today())
    return attachment(made.data, XLSX, made.filename, made.readable)
