"""The tally as a file, for the period and organisation on the page (as the API's export)."""

from __future__ import annotations

from aiohttp import web

from server.admin.selection import Selection, selection
from server.admin.signing import signed_in
from server.downloads import CSV, XLSX, attachment
from server.errors import ValidationFailed
from server.services.people.access import scope_of
from server.services.tallies import report as tallies
from server.services.tallies import report_file
from server.typedefs import CLOCK, SETTINGS

FORMATS = ("xlsx", "csv")


def links(sel: Selection, by: str) -> dict[str, str]:
    return {fmt: "/admin/export?" + sel.query(format=fmt, by=by) for fmt in FORMATS}


async def export(request: web.Request) -> web.Response:
    member = await signed_in(request)
    scope = await scope_of(member)
    fmt = request.query.get("format", "xlsx")
    if fmt not in FORMATS:
        raise ValidationFailed("导出格式只能是 Excel（xlsx）或 CSV（csv）。", field="format")
    by = request.query.get("by", "branch") or "branch"
    sel = await selection(request, scope, by=by)
    settings = request.config_dict[SETTINGS]
    report = await tallies.tally_report(
        sel.org,
        sel.start,
        sel.end,
        by=by,
        today=sel.today,
        zone=settings.zone,
        now=request.config_dict[CLOCK].now(),
    )
    # The same file as the API's: 所属党总支 beside each branch, 填报单位 and 填报日期.
    body, name, readable = await report_file.export_file(report, fmt, sel.today)
    return attachment(body, XLSX if fmt == "xlsx" else CSV, name, readable)
