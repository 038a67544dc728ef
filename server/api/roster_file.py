"""The roster as a file (`GET /roster/export`): what `dangjian export-members` and the 党员管理
page's download write, for a secretary's, a 总支书记's or staff's own scope.

Full phones (the importer matches rows by them), so only those who lead a branch or above may
download it — not a 支委委员 or 党小组长, who read the masked roster (`GET /members`).  Another
branch is refused exactly as one that does not exist.  Each download is logged by ids.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import Field

from server.api.leaders import leader_scope
from server.api.spec import Call, Id, Input, Routes
from server.downloads import XLSX, attachment
from server.services.people.access import organisation_in_scope
from server.services.people.roster_export import file_names, roster_workbook

routes = Routes("支部管理：党员与台账")
log = logging.getLogger("dangjian.api")


class RosterQuery(Input):
    org: Id | None = Field(
        None, description="组织 id（党工委、党总支、党支部或党小组）；默认管辖范围的最上级"
    )


@routes.get(
    "/roster/export",
    summary="下载党员花名册（XLSX，可原样导入）",
    query=RosterQuery,
    produces=XLSX,
)
async def roster_export(call: Call[Any]) -> web.Response:
    """第一张表“党员花名册”即 dangjian import-members 读取的格式（表头、完整组织路径、
    完整手机号、状态、党员类别、流动党员及流出去向/流动原因/外出时间），原样导入不产生任何
    变化；另附“组织”“流入党员（不导入）”“停止党籍（不导入）”三张参考表。含个人信息，
    仅支部书记、副书记、总支书记和党工委工作人员可下载，范围为本人管辖的组织。"""
    scope = leader_scope(call)
    org = await organisation_in_scope(scope, call.query.org)
    today = call.deps.clock.today()
    ascii_name, readable = file_names(org, today)
    log.info("roster exported", extra={"member_id": call.member.id, "org_id": org.id})
    return attachment(await roster_workbook(org, today), XLSX, ascii_name, readable)
