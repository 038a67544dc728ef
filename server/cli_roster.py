"""`dangjian export-members [--org] [--out]`: the roster as the importer reads it back.

The workbook is `services/people/roster_export.py`'s: the 党员花名册 sheet `import-members`
takes as it is, then the organisations, the 流入 members and those whose 党籍 was stopped (listed
for reference, never imported).  The organisation is named as `dangjian tally --org` names it
(an id, a full path or a unique name; the committee by default).  It holds full phones: the
file says 内部资料，含个人信息 on every sheet and in its properties.
"""

from __future__ import annotations

import argparse
import asyncio

from server.cli_running import write_file
from server.settings import Settings


def cmd_export_members(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _tally_org
    from server.clock import Clock
    from server.db import database
    from server.services.people.roster_export import file_names, read_roster, roster_xlsx

    today = Clock(settings.zone).today()

    async def run() -> tuple[str, bytes, str] | str:
        async with database(settings.database_url):
            org = await _tally_org(args.org)
            if isinstance(org, str):
                return org
            roster = await read_roster(org)
        data = await asyncio.to_thread(roster_xlsx, roster, today)
        summary = (
            f"{org.path}：党员花名册 {roster.rows} 人（可用 dangjian import-members 原样导入）；"
            f"另表列出、不导入的：流入党员 {len(roster.incoming)} 人，"
            f"停止党籍 {len(roster.stopped)} 人"
        )
        return summary, data, file_names(org, today)[1]

    return write_file(asyncio.run(run()), args.out, "（内部资料，含个人信息：请妥善保管）")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export-members", help="write the roster as XLSX, in the shape import-members reads"
    )
    export.add_argument("--org", help="id, full path or unique name (default: the whole committee)")
    export.add_argument("--out", help="the XLSX file (default: 党员花名册-<org>-<YYYYMMDD>.xlsx)")
    export.set_defaults(func=cmd_export_members)
