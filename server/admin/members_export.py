"""党员管理's download: the roster of the organisation on the page, in the shape the importer
reads (`services/people/roster_export.py`), with full phones.

Scoped as the page is: the dashboard is open only to secretaries, 总支书记, staff and admins, and
each gets only organisations in their own scope — a secretary her branch, another branch (or an
organisation that does not exist) the same 403 page.  Each download is logged (who, which
organisation: ids, never what the file holds).
"""

from __future__ import annotations

import logging

from aiohttp import web

from server.admin.selection import org_id
from server.admin.signing import signed_in
from server.downloads import XLSX, attachment
from server.services.people.access import organisation_in_scope, scope_of
from server.services.people.roster_export import file_names, roster_workbook
from server.typedefs import CLOCK, SETTINGS

log = logging.getLogger("dangjian.admin")


async def download(request: web.Request) -> web.Response:
    member = await signed_in(request)
    org = await organisation_in_scope(await scope_of(member), org_id(request.query))
    today = request.config_dict[CLOCK].now().astimezone(request.config_dict[SETTINGS].zone).date()
    ascii_name, readable = file_names(org, today)
    # Who took the master data out, and which: ids only, never what the file holds.
    log.info("roster exported", extra={"member_id": member.id, "org_id": org.id})
    return attachment(await roster_workbook(org, today), XLSX, ascii_name, readable)
