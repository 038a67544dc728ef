"""`dangjian duties carry | export`: 五张清单 at the operator's terminal.

- `carry --year 2026 --deadline 2027-06-30 [--committee]`: copy the year's unfinished items (not
  done, not carried yet) into the next year, each linked to its original — what staff do with
  结转 on the dashboard, as the operator (no actor: trusted).  Run again, it copies nothing more.
- `export [--year] [--committee] [-o FILE]`: the committee's table as XLSX (序号、问题、任务、
  责任人、措施、时限、进展情况、完成情况).

A refusal goes to stderr naming the argument, exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from typing import TYPE_CHECKING

from server.cli_running import in_database, write_file
from server.settings import Settings

if TYPE_CHECKING:
    from server.models.people import Organisation

ARGUMENTS = {"year": "--year", "deadline": "--deadline", "committee": "--committee"}


async def _committee(given: str | None) -> Organisation:
    from server.errors import ValidationFailed
    from server.models.people import Organisation, OrgKind
    from server.services.people.org_lookup import organisation_named

    found = (
        await organisation_named(given, "committee")
        if given is not None
        else await Organisation.filter(kind=OrgKind.COMMITTEE).order_by("id").first()
    )
    if found is None or found.kind is not OrgKind.COMMITTEE:
        raise ValidationFailed("expected a 党工委 (committee)", field="committee")
    return found


def cmd_carry(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.errors import ValidationFailed
    from server.services.duty_lists.carry import carry_over

    clock = Clock(settings.zone)

    async def work() -> str:
        try:
            deadline = date.fromisoformat(args.deadline)
        except ValueError:
            raise ValidationFailed("expected a date such as 2027-06-30", field="deadline") from None
        committee = await _committee(args.committee)
        made = await carry_over(None, committee, args.year, deadline, clock.now(), clock.today())
        if not made:
            return f"{args.year}年没有需要结转的未完成事项。"
        return f"已将{args.year}年未完成的 {len(made)} 项结转至{args.year + 1}年：" + "、".join(
            f"第 {m.id} 项（原第 {m.carried_from_id} 项）" for m in made
        )

    return in_database(settings, work, arguments=ARGUMENTS, fallback="duties")


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.db import database
    from server.errors import DangjianError
    from server.models.duty_lists import DutyItem
    from server.services.duty_lists import reading
    from server.services.duty_lists.export import workbook
    from server.services.tallies.workbook import file_name_part

    clock = Clock(settings.zone)

    async def work() -> tuple[str, bytes, str] | str:
        today = clock.today()
        year = args.year or today.year
        try:
            committee = await _committee(args.committee)
        except DangjianError as exc:
            return f"--committee: {exc.user_message}"
        found = await DutyItem.filter(committee_id=committee.id, year=year).order_by(
            "deadline", "id"
        )
        lines = await reading.described(found, today)
        heading = f"{committee.name}{year}年度抓基层党建工作“五张清单”"
        body = await workbook(heading, f"{year}年度", lines, today)
        c = reading.counts(lines, today)
        said = f"{year}年 {c.total} 项（已完成 {c.done}，已逾期 {c.late}，临期 {c.at_risk}）"
        return said, body, f"五张清单-{file_name_part(committee.name)}-{year}.xlsx"

    async def run() -> tuple[str, bytes, str] | str:
        async with database(settings.database_url):
            return await work()

    return write_file(asyncio.run(run()), args.out)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    duties = sub.add_parser("duties", help="五张清单: carry a year over, export the table")
    actions = duties.add_subparsers(dest="duties_command", required=True, metavar="ACTION")

    carry = actions.add_parser("carry", help="copy a year's unfinished items into the next")
    carry.add_argument("--year", type=int, required=True, help="the year to carry over")
    carry.add_argument("--deadline", required=True, help="the new 时限, e.g. 2027-06-30")
    carry.add_argument("--committee", help="id, full path or unique name (default: the first)")
    carry.set_defaults(func=cmd_carry)

    export = actions.add_parser("export", help="write the committee's table as XLSX")
    export.add_argument("--year", type=int, help="the year (default: this year)")
    export.add_argument("--committee", help="id, full path or unique name (default: the first)")
    export.add_argument("-o", "--out", help="the XLSX file (default: 五张清单-<committee>-<year>)")
    export.set_defaults(func=cmd_export)
