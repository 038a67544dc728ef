"""报到单位 from a spreadsheet: 单位名称, 类别, 联系人, 联系电话, 结对社区 (、-separated).

Like the member importer, every row is checked before anything is written, and one bad row
writes nothing: each problem names its row (the sheet's own number) and its column.  A unit
already registered, or named twice in the file, is a problem too — a file is imported once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tortoise.transactions import in_transaction

from server.errors import DangjianError, ValidationFailed
from server.models.community import Community, ReportUnit
from server.services.community.units import UNIT_KINDS, check_name, check_phone, register_unit
from server.services.people.roster.fields import blank
from server.services.people.roster.report import RowError
from server.services.people.roster.table import open_table

NAME, KIND, CONTACT, PHONE, COMMUNITIES = "单位名称", "类别", "联系人", "联系电话", "结对社区"
HEADERS = (NAME, KIND, CONTACT, PHONE, COMMUNITIES)
REQUIRED = (NAME, COMMUNITIES)
HEADER_ROWS_TRIED = 5  # a title row above the header is tolerated
SPLIT = re.compile(r"[、，,;；/\s]+")


@dataclass(frozen=True)
class UnitRow:
    line: int
    name: str
    kind: str
    contact_name: str
    contact_phone: str
    communities: list[Community]


@dataclass
class UnitImport:
    file: str
    rows: list[UnitRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: list[ReportUnit] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(value: Any) -> str:
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed as a number
    return str(value).strip()


def _header(numbered: list[tuple[int, list[Any]]]) -> tuple[int, dict[str, int]]:
    for line, cells in numbered[:HEADER_ROWS_TRIED]:
        found = {_text(c): i for i, c in enumerate(cells) if _text(c) in HEADERS}
        if all(h in found for h in REQUIRED):
            return line, found
    raise ValidationFailed(
        f"没有找到表头：需要“{NAME}”和“{COMMUNITIES}”两列（可选：{KIND}、{CONTACT}、{PHONE}）。",
        field="file",
    )


async def read_units(path: Path) -> UnitImport:
    """Every row parsed and checked against the database; nothing is written."""
    result = UnitImport(str(path))
    with open_table(path) as (table, _):
        numbered = [
            (n, list(cells))
            for n, cells in enumerate(table, start=1)
            if not all(blank(c) for c in cells)
        ]
    line_of_header, columns = _header(numbered)
    checker = _Checker(
        columns,
        await Community.all(),
        # flat=True: the names themselves (Tortoise 1.1 types them as tuples)
        set(cast("list[str]", await ReportUnit.all().values_list("name", flat=True))),
    )
    for line, cells in numbered:
        if line > line_of_header:
            row = checker.check(line, cells, result.errors)
            if row is not None:
                result.rows.append(row)
    if not result.rows and not result.errors:
        raise ValidationFailed("表格里没有单位（表头下面是空的）。", field="file")
    return result


class _Checker:
    """One row's checks, against the communities and the units already registered."""

    def __init__(
        self, columns: dict[str, int], communities: list[Community], registered: set[str]
    ) -> None:
        self.columns = columns
        self.communities = communities
        self.by_name = {c.name: c for c in communities}
        self.registered = registered
        self.first_line: dict[str, int] = {}  # of each name in the file

    def check(self, line: int, cells: list[Any], errors: list[RowError]) -> UnitRow | None:
        before = len(errors)

        def cell(header: str) -> str:
            i = self.columns.get(header)
            return _text(cells[i]) if i is not None and i < len(cells) else ""

        def bad(header: str, reason: str) -> None:
            errors.append(RowError(line, header, reason))

        name = cell(NAME)
        try:
            name = check_name(name, NAME, 100)
        except DangjianError as exc:
            bad(NAME, exc.user_message)
        if name in self.registered:
            bad(NAME, f"报到单位“{name}”已登记。")
        elif name in self.first_line:
            bad(NAME, f"与第{self.first_line[name]}行重复。")
        elif name:
            self.first_line[name] = line
        kind = cell(KIND)
        if kind and kind not in UNIT_KINDS:
            bad(KIND, f"类别应为：{'、'.join(UNIT_KINDS)}。")
        contact = cell(CONTACT)
        if len(contact) > 50:
            bad(CONTACT, "联系人不能超过50字。")
        phone = cell(PHONE)
        if phone:
            try:
                phone = check_phone(phone, PHONE)
            except DangjianError as exc:
                bad(PHONE, exc.user_message)
        paired: list[Community] = []
        named = [n for n in SPLIT.split(cell(COMMUNITIES)) if n]
        if not named:
            bad(COMMUNITIES, "请至少写一个结对社区，多个用“、”分隔。")
        for wanted in named:
            found = self.by_name.get(wanted) or _unique_prefix(wanted, self.communities)
            if found is None:
                known = (
                    "、".join(sorted(self.by_name)) or "还没有社区（先运行 dangjian community add）"
                )
                bad(COMMUNITIES, f"没有社区“{wanted}”。可选：{known}")
            elif found not in paired:
                paired.append(found)
        if len(errors) > before:
            return None
        return UnitRow(line, name, kind, contact, phone, paired)


def _unique_prefix(name: str, communities: list[Community]) -> Community | None:
    """红星 for 红星村, as `units.community_named` allows."""
    candidates = [c for c in communities if c.name.startswith(name)]
    return candidates[0] if len(candidates) == 1 else None


async def import_units(path: Path) -> UnitImport:
    """Read and check the whole file; register every unit only when no row has a problem."""
    result = await read_units(path)
    if result.errors:
        return result
    async with in_transaction():
        for row in result.rows:
            result.created.append(
                await register_unit(
                    row.name,
                    kind=row.kind,
                    contact_name=row.contact_name,
                    contact_phone=row.contact_phone,
                    communities=row.communities,
                )
            )
    return result
