"""`dangjian mobile report | list | export | out | contact`: 流动党员 at the operator's terminal.

- `report [--org]`: the figures by branch (流出, 流入, 本季度已联系, 可能失联, 查找中, 停止党籍,
  待确认流入), as the dashboard and the form count them, by path — never ranked.
- `list [--branch]`: each member the branches keep in touch with: last contact, last
  organisational life, 党费, and what is due.
- `export [--org] [-o FILE]`: the upper-level forms as an XLSX (`services/mobility/export.py`).
- `out NAME_OR_PHONE --place --reason`: mark a member 流出, as the operator (no actor: trusted).
- `contact NAME_OR_PHONE TEXT`: log a contact (`电话 了解近况` reads the way from the text).

A refusal goes to stderr naming the argument, exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli_running import in_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.models.people import Organisation

# The services' names for what was wrong, as the command line's arguments.
ARGUMENTS = {
    "place": "--place",
    "reason": "--reason",
    "since": "--since",
    "keeper": "--keeper",
    "cadence_days": "--cadence",
    "channel": "--channel",
    "day": "--day",
    "note": "TEXT",
    "name": "NAME_OR_PHONE",
}
NONE = "—"


def _run(settings: Settings, work: Callable[[], Awaitable[str]]) -> int:
    return in_database(settings, work, arguments=ARGUMENTS, fallback="mobile")


def _day(given: str | None, name: str) -> date | None:
    from server.errors import ValidationFailed

    try:
        return date.fromisoformat(given) if given else None
    except ValueError:
        raise ValidationFailed(
            f"expected a date such as 2026-03-05, got {given!r}", field=name
        ) from None


async def _organisation(given: str | None, argument: str) -> Organisation:
    """The organisation named (id, full path or unique name), or the committee."""
    from server.errors import ValidationFailed
    from server.models.people import Organisation
    from server.services.people.org_lookup import organisation_named

    if given is not None:
        return await organisation_named(given, argument)
    top = await Organisation.filter(parent_id=None).order_by("id").first()
    if top is None:
        raise ValidationFailed("there is no organisation yet", field=argument)
    return top


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.services.mobility.counts import COLUMNS, branches_of, overview
    from server.services.mobility.words import quarter_start
    from server.services.people.access import Scope

    clock = Clock(settings.zone)

    async def work() -> str:
        org = await _organisation(args.org, "--org")
        branches = await branches_of(Scope(0, None, everything=True), org)
        today = clock.today()
        seen = await overview(
            branches, today, clock.now(), settings.zone, settings.mobile_contact_days
        )
        lines = [
            f"{org.path}（{today}，本季度自 {quarter_start(today)}）",
            "党支部  " + "  ".join(label for _, label in COLUMNS),
        ]
        for b in seen.branches:
            lines.append(f"  {b.branch.name}  " + "  ".join(str(v) for v in b.values()))
        lines.append("  合计  " + "  ".join(str(v) for v in seen.total()))
        lines.append("按支部排列，不作排名；可能失联是提请支部研究的问题，不是党员的状态。")
        return "\n".join(lines)

    return _run(settings, work)


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.services.mobility.counts import branches_of
    from server.services.mobility.due import todo
    from server.services.mobility.standing import open_cases, open_records, standings
    from server.services.people.access import Scope

    clock = Clock(settings.zone)

    async def work() -> str:
        within = await _organisation(args.branch, "--branch") if args.branch else None
        branches = await branches_of(Scope(0, None, everything=True), within)
        ids = [b.id for b in branches]
        names = {b.id: b.name for b in branches}
        today = clock.today()
        lines = await standings(
            await open_records(ids), await open_cases(ids), today, clock.now(), settings.zone,
            settings.mobile_contact_days,
        )  # fmt: skip
        if not lines:
            return "没有在册的流动党员 / no mobile members"
        out = []
        for s in lines:
            r = s.record
            if r is not None:
                kind = "流出" if r.direction.value == "out" else "流入"
                head = f"{s.member.name}（{names.get(r.branch_id, '')}）{kind} {r.place} {r.reason}"
            else:
                head = f"{s.member.name}（{names.get(s.case.branch_id if s.case else 0, '')}）"
            through = f"{s.dues_through:%Y-%m}" if s.dues_through else NONE
            out.append(
                f"{head}｜最近联系 {s.last_contact or NONE}｜最近组织生活 {s.last_life or NONE}"
                f"｜党费交至 {through}"
            )
            out.extend(f"    待办：{t}" for t in todo(s, today))
        return "\n".join(out)

    return _run(settings, work)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.errors import ValidationFailed
    from server.services.mobility.counts import branches_of
    from server.services.mobility.export import mobility_workbook
    from server.services.people.access import Scope
    from server.services.tallies.workbook import file_name_part

    clock = Clock(settings.zone)

    async def work() -> str:
        org = await _organisation(args.org, "--org")
        branches = await branches_of(Scope(0, None, everything=True), org)
        today = clock.today()
        data = await mobility_workbook(
            branches, today, clock.now(), settings.zone, settings.mobile_contact_days,
            organisation=org,
        )  # fmt: skip
        out = Path(args.out or f"流动党员-{file_name_part(org.name)}-{today:%Y%m%d}.xlsx")
        try:
            await asyncio.to_thread(out.write_bytes, data)
        except OSError as exc:
            raise ValidationFailed(f"cannot write {out} ({exc.strerror})", field="--out") from None
        return f"wrote {out}: {org.path}，{len(branches)} 个支部"

    return _run(settings, work)


def cmd_out(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.services.mobility.outgoing import Outgoing, mark_out
    from server.services.mobility.who import named
    from server.services.mobility.words import check_reason

    clock = Clock(settings.zone)

    async def work() -> str:
        target = await named(None, args.who)
        keeper = await named(None, args.keeper) if args.keeper else None
        move = Outgoing(
            place=args.place,
            reason=check_reason(args.reason),
            since=_day(args.since, "since"),
            reach=args.reach or "",
            other_org=args.other_org or "",
            certificate=args.certificate or "",
            keeper_id=keeper.id if keeper else None,
            cadence_days=args.cadence,
        )
        record = await mark_out(None, target, move, clock.today(), clock.now())
        kept = f"，联系人 {keeper.name}" if keeper else ""
        return (
            f"已登记流出 marked out: {target.name} → {record.place}（{record.reason}），"
            f"外出时间 {record.since}{kept}"
        )

    return _run(settings, work)


def cmd_contact(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.services.mobility.contacts import log_contact
    from server.services.mobility.who import named

    clock = Clock(settings.zone)

    async def work() -> str:
        target = await named(None, args.who)
        logged = await log_contact(
            None, target, args.text, clock.today(), clock.now(),
            channel=args.channel, day=_day(args.day, "day"),
        )  # fmt: skip
        return f"已记录联系 logged: {target.name} {logged.day} {logged.channel}：{logged.note}"

    return _run(settings, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mobile = sub.add_parser("mobile", help="流动党员: figures, the list, the forms, 流出, contacts")
    actions = mobile.add_subparsers(dest="mobile_command", required=True, metavar="ACTION")

    report = actions.add_parser("report", help="the 流动党员 figures by branch")
    report.add_argument("--org", help="id, full path or unique name (default: the committee)")
    report.set_defaults(func=cmd_report)

    listing = actions.add_parser("list", help="each mobile member: last contact and what is due")
    listing.add_argument("--branch", help="a branch or an organisation above (id, path or name)")
    listing.set_defaults(func=cmd_list)

    export = actions.add_parser("export", help="write the upper-level forms as XLSX")
    export.add_argument("--org", help="id, full path or unique name (default: the committee)")
    export.add_argument(
        "-o", "--out", help="the XLSX file (default: 流动党员-<org>-<YYYYMMDD>.xlsx)"
    )
    export.set_defaults(func=cmd_export)

    out = actions.add_parser("out", help="mark a member 流出 (as the operator)")
    out.add_argument("who", metavar="NAME_OR_PHONE", help="the member's name, or phone if shared")
    out.add_argument("--place", required=True, help="where they went (流向地), e.g. 江苏苏州")
    out.add_argument(
        "--reason",
        required=True,
        help="外出务工经商, 单位改制, 毕业去向, 工作单位改变, 出国（境）, 居住地改变, 其他",
    )
    out.add_argument("--since", help="when they left, e.g. 2026-02-20 (default: today)")
    out.add_argument("--reach", help="how to reach them")
    out.add_argument("--other-org", dest="other_org", help="the receiving organisation, if known")
    out.add_argument("--certificate", help="the 流动党员活动证 number")
    out.add_argument("--keeper", help="the 联系人 (a member of the branch), by name or phone")
    out.add_argument("--cadence", type=int, help="days between contacts (7–366; default: monthly)")
    out.set_defaults(func=cmd_out)

    contact = actions.add_parser("contact", help="log a contact with a member")
    contact.add_argument("who", metavar="NAME_OR_PHONE")
    contact.add_argument("text", metavar="TEXT", help="what was said; may begin with 电话, 微信 …")
    contact.add_argument("--channel", help="电话, 微信, 视频, 走访, 信函, 短信, 其他")
    contact.add_argument("--day", help="the day of the contact (default: today)")
    contact.set_defaults(func=cmd_contact)
