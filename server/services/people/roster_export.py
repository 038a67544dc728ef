"""The roster (党员花名册) taken out in the shape `dangjian import-members` reads it back.

The committee's master data — its organisations and members — leaves the product as the roll it
came in as, so that staff can hand it upward or keep it, and importing it again changes nothing
(tests/test_roster_export.py imports the demo street's and counts no change).

`roster_workbook(org, today)` — the whole committee, or one organisation's subtree:

1. 党员花名册, the sheet the importer reads (its first): a title and a notice line (内部资料，
   含个人信息), then the importer's own header — `roster.COLUMNS`' canonical labels, in their
   order — and one row per member on the roll (在册 or 转出), by the tree's order.  Phones in
   full (rows are matched by them), dates as real dates, the 流出 details of an open record.
   Nothing under the table: every non-blank row below the header is a member to the importer,
   which finds its header among the first five non-blank rows.
2. 组织: every organisation in the subtree with its kind and who leads it.  Reference only:
   an import makes organisations from the members' paths, so one with no one on the roll is
   marked as one an import would not make.
3. 流入党员（不导入）: members of other organisations taking part here (`Member.incoming`).  The
   importer refuses their phones while the 流入 lasts, and would take an ended one over (and
   unbind their WeChat), so they are listed apart and never read.
4. 停止党籍（不导入）: 停止党籍 is the 失联 steps' decision; the importer refuses it as a 状态 and
   keeps it whatever the roll says, so these members are listed apart too.

Text is written through `tallies.workbook.put` (a name is never a formula); the sheets print on
A4 with their header repeated, as every file staff hand on.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import NamedStyle
from openpyxl.worksheet.worksheet import Worksheet
from tortoise.expressions import Q

from server.models.mobility import Direction, LostCase, LostStage, MobileMember
from server.models.people import (
    ORG_KIND_LABELS,
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
)
from server.models.privacy import Erasure
from server.services.mobility.export import filed_line, fit_rows, paragraph
from server.services.people.org_order import in_tree_order
from server.services.people.orgs import SEPARATOR
from server.services.people.roster.columns import COLUMNS
from server.services.people.scope import subtree, under
from server.services.tallies.workbook import (
    BODY,
    BOLD,
    BOX,
    CENTRED,
    DATE,
    LEFT,
    POINTS_PER_LINE,
    TOP_CENTRED,
    CellValue,
    Column,
    body_row,
    clean,
    file_name_part,
    header_rows,
    lines_needed,
    print_setup,
    put,
    sheet_title,
    title,
)

HEADER_ROW = 3  # rows 1–2: the title and the 填报单位 / notice line
NONE = "—"
ROLL_SHEET = "党员花名册"
ORG_SHEET = "组织"
INCOMING_SHEET = "流入党员（不导入）"
STOPPED_SHEET = "停止党籍（不导入）"
PRIVATE = "内部资料　含个人信息，妥善保管，不得外传"
STATUS_WORDS = {MemberStatus.ACTIVE: "在册", MemberStatus.TRANSFERRED: "转出"}

# The importer's header, word for word: the sheet is its input.  Widths for what the cells hold.
_WIDTHS = {
    "name": 8,
    "phone": 13,
    "gender": 5,
    "birth_date": 13,
    "education": 8,
    "joined_on": 13,
    "organisation": 44,
    "group": 16,
    "role": 11,
    "status": 6,
    "is_mobile": 8,
    "probationary": 9,
    "mobile_place": 14,
    "mobile_reason": 12,
    "mobile_since": 13,
}
_CENTRED_KEYS = {"gender", "status", "is_mobile", "probationary", "role"}
_DATE_KEYS = {"birth_date", "joined_on", "mobile_since"}
ROLL_COLUMNS = [
    Column(
        c.label,
        _WIDTHS[c.key],
        align=TOP_CENTRED if c.key in _CENTRED_KEYS | _DATE_KEYS else LEFT,
        number_format=DATE if c.key in _DATE_KEYS else None,
    )
    for c in COLUMNS
]
ORG_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("组织（完整路径）", 52),
    Column("类型", 8, align=TOP_CENTRED),
    Column("负责人", 22),
    Column("备注", 30),
]
INCOMING_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 8, align=TOP_CENTRED),
    Column("手机号", 13, align=TOP_CENTRED),
    Column("所在组织", 40),
    Column("党小组", 14),
    Column("原组织关系所在党组织", 24),
    Column("流入时间", 13, align=TOP_CENTRED, number_format=DATE),
    Column("情况", 22),
]
STOPPED_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 8, align=TOP_CENTRED),
    Column("手机号", 13, align=TOP_CENTRED),
    Column("所在组织", 40),
    Column("党小组", 14),
    Column("停止党籍日期", 13, align=TOP_CENTRED, number_format=DATE),
    Column("情况", 30),
]
# Who leads each kind of organisation, as its row on the 组织 sheet names them.
_LEADERS = {
    OrgKind.GENERAL_BRANCH: (Role.GENERAL_SECRETARY,),
    OrgKind.BRANCH: (Role.SECRETARY, Role.DEPUTY_SECRETARY),
    OrgKind.GROUP: (Role.GROUP_LEADER,),
}


@dataclass
class Roster:
    """What the workbook holds, read from the database; `members` in the roll's order."""

    org: Organisation
    members: list[Member] = field(default_factory=list)
    orgs: list[Organisation] = field(default_factory=list)  # the subtree, in the tree's order
    paths: dict[int, Organisation] = field(default_factory=dict)  # every org a member names
    outgoing: dict[int, MobileMember] = field(default_factory=dict)  # open 流出, by member
    incoming: list[Member] = field(default_factory=list)
    came_from: dict[int, MobileMember] = field(default_factory=dict)  # latest 流入, by member
    stopped: list[Member] = field(default_factory=list)
    stop_cases: dict[int, LostCase] = field(default_factory=dict)  # latest stopped, by member

    @property
    def rows(self) -> int:
        return len(self.members)


def members_under(org: Organisation) -> Q:
    """A 党小组's members are found by their group (they belong to its branch), others by
    their organisation's place in the tree — as the 党员管理 page finds them."""
    return Q(group_id=org.id) if org.kind is OrgKind.GROUP else under(org.path)


async def read_roster(org: Organisation) -> Roster:
    """Everyone under `org` (on the roll, 流入, 停止党籍) and the organisations they name."""
    # A member erased on request (services/privacy) is on no roll: a row kept for the counts,
    # whose placeholder phone the importer would refuse.
    erased = await Erasure.all().values_list("member_id", flat=True)
    everyone = await Member.filter(members_under(org)).exclude(id__in=erased).order_by("id")
    orgs = await in_tree_order(await Organisation.filter(subtree(org.path)))
    named = {m.organisation_id for m in everyone} | {m.group_id for m in everyone if m.group_id}
    paths = {o.id: o for o in orgs}
    missing = named - paths.keys()
    if missing:  # a group's members belong to the branch above it
        paths |= {o.id: o for o in await Organisation.filter(id__in=list(missing))}
    place = {o.id: n for n, o in enumerate(await in_tree_order(paths.values()))}

    def order(m: Member) -> tuple[int, int, int]:
        group = place.get(m.group_id, -1) if m.group_id else -1  # no group first
        return place.get(m.organisation_id, len(place)), group, m.id

    roster = Roster(org, orgs=orgs, paths=paths)
    for m in sorted(everyone, key=order):
        if m.incoming:
            roster.incoming.append(m)
        elif m.status is MemberStatus.STOPPED:
            roster.stopped.append(m)
        else:
            roster.members.append(m)
    mobile = [m.id for m in roster.members if m.is_mobile]
    if mobile:
        for record in await MobileMember.filter(
            member_id__in=mobile, direction=Direction.OUT, current__not_isnull=True
        ):
            roster.outgoing[int(record.member_id or 0)] = record
    if roster.incoming:
        for record in await MobileMember.filter(
            member_id__in=[m.id for m in roster.incoming], direction=Direction.IN
        ).order_by("id"):
            roster.came_from[int(record.member_id or 0)] = record  # the latest wins
    if roster.stopped:
        for case in await LostCase.filter(
            member_id__in=[m.id for m in roster.stopped],
            stage__in=[LostStage.STOPPED, LostStage.CLOSED],
        ).order_by("id"):
            roster.stop_cases[case.member_id] = case
    return roster


async def roster_workbook(org: Organisation, today: date) -> bytes:
    """The roster of `org` (the committee, or any organisation's subtree) as XLSX bytes."""
    roster = await read_roster(org)
    return await asyncio.to_thread(roster_xlsx, roster, today)


def file_names(org: Organisation, today: date) -> tuple[str, str]:
    """The file's names: ASCII for old clients, and the one staff read."""
    return (
        f"roster-{org.id}-{today:%Y%m%d}.xlsx",
        f"党员花名册-{file_name_part(org.name)}-{today:%Y%m%d}.xlsx",
    )


# --- the rows ----------------------------------------------------------------------------------


def _path(roster: Roster, org_id: int) -> str:
    found = roster.paths.get(org_id)
    return found.path if found is not None else ""


def _group(roster: Roster, member: Member) -> str | None:
    """The group's name as the importer's 党小组 column names it: the last level of its path
    under the member's branch (its name, should it sit elsewhere: a path is no group name)."""
    group = roster.paths.get(member.group_id) if member.group_id else None
    if group is None:
        return None
    branch = _path(roster, member.organisation_id) + SEPARATOR
    return group.path.removeprefix(branch) if group.path.startswith(branch) else group.name


def roll_row(roster: Roster, m: Member) -> list[CellValue]:
    """One member as `roster.COLUMNS` reads them (records.parse_row gives back these values)."""
    record = roster.outgoing.get(m.id) if m.is_mobile else None
    values: dict[str, CellValue] = {
        "name": m.name,
        "phone": m.phone,
        "gender": m.gender or None,
        "birth_date": m.birth_date,
        "education": m.education or None,
        "joined_on": m.joined_on,
        "organisation": _path(roster, m.organisation_id),
        "group": _group(roster, m),
        "role": m.role.value,
        "status": STATUS_WORDS[m.status],
        "is_mobile": "是" if m.is_mobile else "否",
        "probationary": "预备党员" if m.probationary else "正式党员",
        # Only for a member marked 是: the importer refuses details beside a 否.
        "mobile_place": record.place if record else None,
        "mobile_reason": record.reason.value if record else None,
        "mobile_since": record.since if record else None,
    }
    return [values[c.key] for c in COLUMNS]


def _leaders(roster: Roster) -> dict[int, list[str]]:
    led: dict[int, list[str]] = {}
    for m in roster.members:
        if m.status is not MemberStatus.ACTIVE:
            continue
        for org_id in (m.organisation_id, m.group_id):
            org = roster.paths.get(org_id) if org_id else None
            if org is not None and m.role in _LEADERS.get(org.kind, ()):
                led.setdefault(org.id, []).append(f"{m.name}（{m.role.value}）")
    return led


def _named_on_roll(roster: Roster) -> set[str]:
    """Every path an import of the roll would make: each member's levels and group."""
    named: set[str] = set()
    for m in roster.members:
        for org_id in (m.organisation_id, m.group_id):
            if org_id and org_id in roster.paths:
                parts = roster.paths[org_id].path.split(SEPARATOR)
                named.update(SEPARATOR.join(parts[:n]) for n in range(1, len(parts) + 1))
    return named


def org_rows(roster: Roster) -> list[list[CellValue]]:
    led, named = _leaders(roster), _named_on_roll(roster)
    return [
        [
            n,
            o.path,
            ORG_KIND_LABELS[o.kind],
            "、".join(led.get(o.id, [])) or NONE,
            None if o.path in named else "花名册中没有党员，导入时不会建立",
        ]
        for n, o in enumerate(roster.orgs, start=1)
    ]


def incoming_rows(roster: Roster) -> list[list[CellValue]]:
    rows: list[list[CellValue]] = []
    for n, m in enumerate(roster.incoming, start=1):
        record = roster.came_from.get(m.id)
        if m.status is MemberStatus.ACTIVE:
            state = "在本支部参加组织生活"
        elif record is not None and record.ended_on is not None:
            state = f"{record.ended_on:%Y-%m-%d} 结束流动"
        else:
            state = "已结束流动"
        rows.append(
            [
                n,
                m.name,
                m.phone,
                _path(roster, m.organisation_id),
                _group(roster, m),
                (record.other_org or NONE) if record else NONE,
                record.since if record else None,
                state,
            ]
        )
    return rows


def stopped_rows(roster: Roster) -> list[list[CellValue]]:
    rows: list[list[CellValue]] = []
    for n, m in enumerate(roster.stopped, start=1):
        case = roster.stop_cases.get(m.id)
        state = "已停止党籍"
        if case is not None and case.stage is LostStage.CLOSED:
            closed = f"{case.closed_on:%Y-%m-%d} " if case.closed_on else ""
            state = f"{closed}办结：{case.closed_note}" if case.closed_note else "已办结"
        rows.append(
            [
                n,
                m.name,
                m.phone,
                _path(roster, m.organisation_id),
                _group(roster, m),
                case.stopped_on if case else None,
                state,
            ]
        )
    return rows


# --- the workbook ------------------------------------------------------------------------------


def roster_xlsx(roster: Roster, today: date) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    name = roster.org.name
    heading = f"{name}党员花名册"
    # Also in the file's properties, which travel with it wherever its sheets are copied.
    book.properties.title = heading
    book.properties.subject = "党员花名册（内部资料，含个人信息）"
    book.properties.keywords = "内部资料;含个人信息"
    book.properties.description = (
        f"{PRIVATE}。第一张表可用 dangjian import-members 原样导入；流入党员和停止党籍的党员"
        "另表列出，不导入。"
    )
    book.properties.creator = "dangjian"

    roll = book.create_sheet(ROLL_SHEET)
    _head(roll, heading, name, today, ROLL_COLUMNS, right=PRIVATE)
    styles = _column_styles(book, ROLL_COLUMNS)
    for row, m in enumerate(roster.members, start=HEADER_ROW + 1):
        _styled_row(roll, row, ROLL_COLUMNS, styles, roll_row(roster, m))
    _finish(roll, heading)

    _reference(
        book, ORG_SHEET, f"{name}组织名录", name, today, ORG_COLUMNS, org_rows(roster),
        "说明：导入时按党员的“所在组织”和“党小组”建立组织，本表仅供核对。负责人为在册的"
        "总支书记、支部书记（副书记）和党小组长。",
    )  # fmt: skip
    _reference(
        book, INCOMING_SHEET, f"{name}流入党员", name, today, INCOMING_COLUMNS,
        incoming_rows(roster),
        "说明：流入党员的组织关系在原党组织，不在本街道的党员花名册中，在本支部没有表决权、"
        "选举权和被选举权；导入时其手机号会被拒绝，故另表列出，不导入。",
    )  # fmt: skip
    _reference(
        book, STOPPED_SHEET, f"{name}停止党籍的党员", name, today, STOPPED_COLUMNS,
        stopped_rows(roster),
        "说明：停止党籍须按失联党员的程序（查找、支部党员大会决定）办理，不能由花名册导入或"
        "恢复，故另表列出，不导入。组织关系以全国党员管理信息系统为准。",
    )  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _column_styles(book: Workbook, columns: Sequence[Column]) -> list[str]:
    """Each column's body cell (`body_row`'s font, box, alignment and date format) as a named
    style: a street's roll is 20,000 cells, and openpyxl hashes a font, a border and an
    alignment for every one set apart (3.5 s for the demo street, 0.3 s by name)."""
    names = []
    for n, col in enumerate(columns, start=1):
        style = NamedStyle(
            name=f"花名册-{n}",
            font=BODY,
            alignment=col.align,
            border=BOX,
            number_format=col.number_format or "General",
        )
        book.add_named_style(style)
        names.append(style.name)
    return names


def _styled_row(
    sheet: Worksheet,
    row: int,
    columns: Sequence[Column],
    styles: Sequence[str],
    values: Sequence[CellValue],
) -> None:
    """`body_row` with the column's named style: the same cells, text and height."""
    lines = 1
    for n, (col, style, value) in enumerate(zip(columns, styles, values, strict=True), start=1):
        sheet.cell(row=row, column=n).style = style  # first: `put` may add a quote prefix
        put(sheet, row, n, value)
        if isinstance(value, str):
            lines = max(lines, lines_needed(clean(value), col.width))
    sheet.row_dimensions[row].height = max(18.0, lines * POINTS_PER_LINE + 4)


def _head(
    sheet: Worksheet, heading: str, name: str, today: date, columns: Sequence[Column], right: str
) -> None:
    title(sheet, 1, heading, len(columns))
    when = f"{today.year}年{today.month}月{today.day}日"
    filed_line(sheet, 2, f"填报单位：{name}　导出日期：{when}", right, columns)
    header_rows(sheet, HEADER_ROW, columns)


def _finish(sheet: Worksheet, heading: str) -> None:
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=2).coordinate
    print_setup(sheet, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", footer=f"{heading}　{PRIVATE}")
    fit_rows(sheet)


def _reference(
    book: Workbook,
    wanted: str,
    heading: str,
    name: str,
    today: date,
    columns: Sequence[Column],
    rows: Iterable[Sequence[CellValue]],
    note: str,
) -> None:
    sheet = book.create_sheet(sheet_title(wanted, book.sheetnames))
    _head(sheet, heading, name, today, columns, right=PRIVATE)
    row = HEADER_ROW + 1
    for values in rows:
        body_row(sheet, row, columns, values)
        row += 1
    if row == HEADER_ROW + 1:
        put(sheet, row, 1, "无", font=BOLD, alignment=CENTRED)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
        row += 1
    paragraph(sheet, row + 1, note, columns)
    _finish(sheet, heading)
