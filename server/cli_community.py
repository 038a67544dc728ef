"""`dangjian community add | units | add-unit | report`: the operator sets up 党员双报到.

- `add ORG`: a 村（社区）'s Party organisation takes part (its name without 党总支/党支部).
- `units [--import FILE.xlsx]`: the 报到单位 with their 报到码 and paired communities; with
  `--import`, registered from a spreadsheet first — all of it, or nothing when a row is bad.
- `add-unit NAME --community X [--community Y]`: one unit, and the 报到码 its members type.
- `staff COMMUNITY [--add PHONE | --remove PHONE]`: the members it names to run its business.
- `report [--org] [--from --to]`: the figures by community, as the staff report counts them.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path

from server.cli_running import in_database
from server.settings import Settings


def _run(settings: Settings, work: Callable[[], Awaitable[tuple[int, str]]]) -> int:
    return in_database(settings, work, fallback="community")


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.models.community import Community
    from server.services.community.units import add_community
    from server.services.people.org_lookup import organisation_named

    async def work() -> tuple[int, str]:
        org = await organisation_named(args.org, "org")
        existed = await Community.exists(organisation_id=org.id)
        community = await add_community(org, args.name)
        state = "已是社区 / already a community" if existed else "已加入 / added"
        return 0, f"社区 {community.name}（{org.path}）{state}"

    return _run(settings, work)


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.services.community import roles
    from server.services.community.units import community_named

    async def work() -> tuple[int, str]:
        community = await community_named(args.community)
        if args.add:
            named = await roles.name_staff(
                None, community, args.add, Clock(settings.zone).now(), operator=True
            )
            return 0, f"已指定 named {named.name} 为{community.name}的社区工作人员"
        if args.remove:
            removed = await roles.remove_staff(None, community, args.remove, operator=True)
            return 0, f"已取消 removed {removed.name}"
        names = "、".join(m.name for m in await roles.staff_of(community)) or "（无 none）"
        return 0, f"{community.name}的社区工作人员 staff: {names}"

    return _run(settings, work)


async def _unit_lines() -> str:
    from server.models.community import ReportUnit, UnitCommunity, Volunteer, VolunteerStatus

    units = await ReportUnit.all().order_by("id")
    if not units:
        return "还没有报到单位 / no units yet: dangjian community add-unit NAME --community X"
    pairs = await UnitCommunity.all().prefetch_related("community")
    paired: dict[int, list[str]] = {}
    for pair in pairs:
        paired.setdefault(pair.unit_id, []).append(pair.community.name)
    counts: dict[int, int] = {}
    for unit_id in await Volunteer.filter(status=VolunteerStatus.CONFIRMED).values_list(
        "unit_id", flat=True
    ):
        if isinstance(unit_id, int):
            counts[unit_id] = counts.get(unit_id, 0) + 1
    lines = [
        f"报到单位 units {len(units)}（报到码 code  名称 name  类别 kind  结对社区  报到党员）"
    ]
    for unit in units:
        lines.append(
            f"  {unit.code}  {unit.name}  {unit.kind or '—'}  "
            f"{'、'.join(sorted(paired.get(unit.id, []))) or '—'}  {counts.get(unit.id, 0)}"
        )
    return "\n".join(lines)


def cmd_units(settings: Settings, args: argparse.Namespace) -> int:
    from server.services.community.unit_import import import_units

    async def work() -> tuple[int, str]:
        head = ""
        if args.import_file is not None:
            result = await import_units(args.import_file)
            if not result.ok:
                problems = "\n".join(f"  {e}" for e in result.errors)
                return 1, (
                    f"{result.file}: {len(result.errors)} 处问题，未写入任何单位 / "
                    f"{len(result.errors)} problems, nothing written:\n{problems}"
                )
            head = f"{result.file}: 新登记 {len(result.created)} 个单位 / units registered\n"
        return 0, head + await _unit_lines()

    return _run(settings, work)


def cmd_add_unit(settings: Settings, args: argparse.Namespace) -> int:
    from server.services.community.units import community_named, register_unit

    async def work() -> tuple[int, str]:
        communities = [await community_named(name) for name in args.community]
        unit = await register_unit(
            args.name,
            kind=args.kind or "",
            contact_name=args.contact or "",
            contact_phone=args.phone or "",
            communities=communities,
        )
        names = "、".join(c.name for c in communities)
        return 0, (
            f"报到单位 {unit.name} 已登记，结对 {names}。报到码 code: {unit.code}\n"
            f"其党员在公众号发送 / members send: 报到 {unit.code} 姓名 手机号"
        )

    return _run(settings, work)


def _day(given: str | None, default: date, name: str) -> date:
    from server.errors import ValidationFailed

    try:
        return date.fromisoformat(given) if given else default
    except ValueError:
        raise ValidationFailed(
            f"expected a date such as 2026-11-25, got {given!r}", field=f"--{name}"
        ) from None


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import ValidationFailed
    from server.models.people import Organisation
    from server.services.people.org_lookup import organisation_named
    from server.services.tallies.report import span_words, validate
    from server.services.tallies.service import service_summary

    now = datetime.now(settings.zone)
    today = now.date()

    async def work() -> tuple[int, str]:
        start = _day(args.start, today.replace(month=1, day=1), "from")
        end = _day(args.end, today, "to")
        validate(start, end, None)
        if args.org is None:
            org = await Organisation.filter(parent_id=None).order_by("id").first()
            if org is None:
                raise ValidationFailed("there is no organisation yet", field="--org")
        else:
            org = await organisation_named(args.org, "--org")
        summary = await service_summary(
            org, start, end, span=span_words(start, end, today), zone=settings.zone, now=now
        )
        if summary is None:
            return 1, f"{org.path}: 没有参与双报到的社区 / no community takes part here"
        header = "社区 community  单位 units  报到党员  点单 needs  下单  认领  完成  时长h  评分"
        lines = [f"{org.path}（{start} 至 {end}）", header]
        for f in [*summary.communities, summary.total]:
            rating = "—" if f.average_rating is None else f"{f.average_rating}"
            lines.append(
                f"  {f.name}  {f.units}  {f.volunteers}  {f.needs}  {f.dispatched}  "
                f"{f.claims}  {f.completed}  {f.hours}  {rating}"
            )
        lines.append(summary.sentence)
        return 0, "\n".join(lines)

    return _run(settings, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    community = sub.add_parser("community", help="党员双报到: communities, 报到单位, the figures")
    actions = community.add_subparsers(dest="community_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="make an organisation a community that takes part")
    add.add_argument("org", help="the 社区党总支/党支部: its id, full path or unique name")
    add.add_argument(
        "--name", help="the community's name (default: the organisation's, less 党总支)"
    )
    add.set_defaults(func=cmd_add)

    units = actions.add_parser("units", help="list 报到单位 with their 报到码 (or import them)")
    units.add_argument(
        "--import",
        dest="import_file",
        type=Path,
        help="XLSX (or CSV) with 单位名称, 类别, 联系人, 联系电话, 结对社区 (、-separated)",
    )
    units.set_defaults(func=cmd_units)

    unit = actions.add_parser("add-unit", help="register one 报到单位 and print its 报到码")
    unit.add_argument("name")
    unit.add_argument(
        "--community", action="append", required=True, help="a paired community (repeat for more)"
    )
    unit.add_argument(
        "--kind", help="区直机关, 驻区企事业单位, 学校, 医院, 非公企业, 社会组织, 其他"
    )
    unit.add_argument("--contact", help="the contact's name")
    unit.add_argument("--phone", help="the contact's phone")
    unit.set_defaults(func=cmd_add_unit)

    staff = actions.add_parser(
        "staff", help="the members a community names to run its 双报到 business (list, add, remove)"
    )
    staff.add_argument("community", help="the community's name")
    which = staff.add_mutually_exclusive_group()
    which.add_argument("--add", metavar="PHONE", help="name the member with this phone")
    which.add_argument("--remove", metavar="PHONE", help="no longer name them")
    staff.set_defaults(func=cmd_staff)

    report = actions.add_parser("report", help="the 双报到 figures by community")
    report.add_argument("--org", help="id, full path or unique name (default: the committee)")
    report.add_argument("--from", dest="start", help="first day (default: 1 January this year)")
    report.add_argument("--to", dest="end", help="last day (default: today in DANGJIAN_TZ)")
    report.set_defaults(func=cmd_report)
