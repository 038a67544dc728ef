"""A 报到单位's 联系卡: for the committee's staff and the communities' managers in the API, and
for the unit's contact through the link sent in chat.

`GET /api/v1/community/units/{id}/card?quarter=2026Q4[&format=xlsx]`: staff see every unit, a
community's manager the units paired with the communities they run, anyone else 403 (a unit not
theirs is refused as one that does not exist).  `GET /unit-card/{unit}/{quarter}?t=…` is the
link's address, outside the API because a browser opens it: the token must have been issued
for that very unit and quarter (403 otherwise) and be less than a week old (410); the refusal is
a short page saying what to do.
"""

from __future__ import annotations

import html
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.api import replies
from server.api.spec import Call, Input, Routes, iso, not_found
from server.downloads import XLSX, attachment
from server.errors import PermissionDenied, ValidationFailed
from server.models.community import ReportUnit, UnitCommunity
from server.models.people import Role
from server.services.community import card_links, roles
from server.services.community.contact_card import (
    ContactCard,
    Quarter,
    quarter_card,
    summary,
)
from server.services.community.contact_card_file import card_file
from server.services.people.access import Hidden
from server.typedefs import CACHE, CLOCK, SETTINGS

routes = Routes("社区双报到：联系卡")
EVERY_UNIT = frozenset({Role.STAFF, Role.ADMIN})


class CardQuery(Input):
    quarter: str | None = Field(
        None, pattern=r"^\d{4}Q[1-4]$", description="季度，如 2026Q4；默认本季度（到目前为止）"
    )
    format: Literal["json", "xlsx"] = Field("json", description="json，或 xlsx 下载打印用的表")


class Expected(replies.Out):
    orders: int = Field(description="年度要求：完成服务次数")
    hours: float = Field(description="年度要求：服务时长（小时）；两者达到其一即可")
    text: str


class CardMember(replies.Out):
    id: int = Field(description="报到党员编号")
    name: str
    community: str = Field(description="报到社区")
    grid: str = Field(description="网格")
    claims: int = Field(description="认领（人次）")
    completed: int = Field(description="完成（社区在本季度确认办结）")
    hours: float = Field(description="服务时长（小时）")
    average_rating: float | None = Field(description="所完成服务单的居民评价均分")
    rated: int = Field(description="已评价的条数")
    year_completed: int = Field(description="本年累计完成次数")
    year_hours: float = Field(description="本年累计服务时长")
    met: bool = Field(description="是否达到年度要求")
    served: bool = Field(description="本季度是否参加了服务（有完成的服务）")


class CardTotalsOut(replies.Out):
    members: int
    claims: int
    claimers: int
    completed: int
    hours: float
    orders_completed: int = Field(description="本季度办结、有本单位党员完成的服务单")
    rated: int
    average_rating: float | None
    served: int
    met: int


class UnitCard(replies.Out):
    unit: replies.Ref
    quarter: str = Field(description="2026Q4")
    period: str = Field(description="2026年第四季度")
    start: replies.Time
    end: replies.Time = Field(description="不含")
    so_far: bool = Field(description="季度尚未结束：数字到现在为止")
    expectation: Expected
    members: list[CardMember] = Field(description="按报到先后排列，不作排名")
    not_served: list[replies.Ref] = Field(description="本季度未参加服务的报到党员")
    totals: CardTotalsOut
    summary: str


async def _unit_for(call: Call[Any], unit_id: int) -> ReportUnit:
    """The unit, if the caller may read its card."""
    member = call.member
    if member.role in EVERY_UNIT:
        unit = await ReportUnit.get_or_none(id=unit_id)
        if unit is None:
            raise not_found("报到单位")
        return unit
    mine = await roles.managed_by(member)
    if not mine:
        raise PermissionDenied("只有社区党组织书记和党工委工作人员可以查看报到单位的联系卡。")
    paired = await UnitCommunity.exists(unit_id=unit_id, community_id__in=[c.id for c in mine])
    if not paired:
        raise Hidden()
    return await ReportUnit.get(id=unit_id)


def card_json(card: ContactCard, quarter: Quarter) -> dict[str, Any]:
    t = card.totals
    return {
        "unit": {"id": card.unit_id, "name": card.unit_name},
        "quarter": quarter.key,
        "period": card.period,
        "start": iso(card.start, card.zone),
        "end": iso(card.end, card.zone),
        "so_far": card.so_far,
        "expectation": {
            "orders": card.expectation.orders,
            "hours": float(card.expectation.hours),
            "text": card.expectation.text,
        },
        "members": [
            {
                "id": m.volunteer_id,
                "name": m.name,
                "community": m.community,
                "grid": m.grid,
                "claims": m.claims,
                "completed": m.completed,
                "hours": float(m.hours),
                "average_rating": m.average_rating,
                "rated": m.rated,
                "year_completed": m.year.completed if m.year else 0,
                "year_hours": float(m.year.hours) if m.year else 0.0,
                "met": bool(m.year and m.year.met),
                "served": m.served,
            }
            for m in card.members
        ],
        "not_served": [{"id": m.volunteer_id, "name": m.name} for m in card.not_served],
        "totals": {
            "members": t.members,
            "claims": t.claims,
            "claimers": t.claimers,
            "completed": t.completed,
            "hours": float(t.hours),
            "orders_completed": t.orders_completed,
            "rated": t.rated,
            "average_rating": t.average_rating,
            "served": t.served,
            "met": t.met,
        },
        "summary": summary(card),
    }


@routes.get(
    "/community/units/{id}/card",
    response=UnitCard,
    summary="报到单位的联系卡：本单位在职党员一个季度的报到服务情况",
    query=CardQuery,
)
async def unit_card(call: Call[Any]) -> dict[str, Any] | web.Response:
    """每季度发给单位联络人、供单位党组织民主评议参考的联系卡：每位报到党员的认领、完成、
    服务时长、居民评价、本年累计及是否达到年度要求，以及本季度未参加服务的党员。名单按报到
    先后排列，不作排名。党工委工作人员可看全部单位，社区党组织书记可看与本社区结对的单位，
    其他人 403。`format=xlsx` 下载打印用的表（A4 纵向）。"""
    unit = await _unit_for(call, call.number())
    clock, settings = call.deps.clock, call.deps.settings
    now = clock.now()
    current = Quarter.of(now, settings.zone)
    quarter = Quarter.parse(call.query.quarter) if call.query.quarter else current
    if quarter > current:
        raise ValidationFailed("这个季度还没有到。", field="quarter")
    card = await quarter_card(unit, quarter, now, settings)
    if call.query.format == "xlsx":
        made = await card_file(card, quarter, clock.today())
        return attachment(made.data, XLSX, made.filename, made.readable)
    return card_json(card, quarter)


# ---- the contact's link ------------------------------------------------------------------------

_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<title>{title}</title></head><body style="font-family:sans-serif;padding:1.5em">'
    "<h3>{title}</h3><p>{text}</p></body></html>"
)
INVALID = (
    "链接无效",
    "这个下载链接无效，只能打开发给本单位联络人的那一季度的联系卡。"
    "请在公众号发送 联系卡（或 联系卡 上季度）获取新的链接。",
)
EXPIRED = (
    "链接已过期",
    "下载链接7天内有效，这个已经过期。请在公众号发送 联系卡（或 联系卡 上季度）获取新的链接。",
)


def _refusal(status: int, words: tuple[str, str]) -> web.Response:
    page = _PAGE.format(title=html.escape(words[0]), text=html.escape(words[1]))
    return web.Response(text=page, content_type="text/html", status=status)


async def download(request: web.Request) -> web.Response:
    raw_unit, raw_quarter = request.match_info["unit_id"], request.match_info["quarter"]
    if not raw_unit.isascii() or not raw_unit.isdigit() or not 0 < int(raw_unit) < 2**31:
        return _refusal(403, INVALID)
    try:
        quarter = Quarter.parse(raw_quarter)
    except ValidationFailed:
        return _refusal(403, INVALID)
    clock, settings = request.app[CLOCK], request.app[SETTINGS]
    try:
        await card_links.check(
            request.app[CACHE], request.query.get("t"), int(raw_unit), quarter, clock.now()
        )
    except card_links.LinkRefused as refused:
        return _refusal(410, EXPIRED) if refused.expired else _refusal(403, INVALID)
    unit = await ReportUnit.get_or_none(id=int(raw_unit))
    if unit is None:  # removed since the link was sent
        return _refusal(403, INVALID)
    card = await quarter_card(unit, quarter, clock.now(), settings)
    made = await card_file(card, quarter, clock.today())
    response = attachment(made.data, XLSX, made.filename, made.readable)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def setup_links(app: web.Application) -> None:
    app.router.add_get(card_links.PATH, download)
