"""The roll's columns: their canonical headers, the aliases accepted, and finding the header row."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from server.services.people.roster.fields import blank
from server.services.people.roster.report import file_error


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the record's field, also the English name messages give
    aliases: tuple[str, ...]  # compared after `header_key`; the first is the canonical header
    required: bool = False

    @property
    def label(self) -> str:
        return self.aliases[0]


COLUMNS = (
    Column("name", ("姓名", "name", "fullname"), required=True),
    Column(
        "phone",
        ("手机号", "手机号码", "手机", "phone", "mobile", "phonenumber", "mobilephone"),
        required=True,
    ),
    Column("gender", ("性别", "gender", "sex")),
    Column("birth_date", ("出生日期", "birthdate", "birthday", "dateofbirth", "dob")),
    Column("education", ("学历", "文化程度", "education")),
    Column("joined_on", ("入党日期", "入党时间", "joinedon", "joindate", "joined")),
    Column(
        "organisation",
        ("所在组织", "所在党组织", "组织", "organisation", "organization", "org", "orgpath"),
        required=True,
    ),
    Column("group", ("党小组", "group", "partygroup")),
    Column("role", ("职务", "党内职务", "role")),
    Column("status", ("状态", "status")),
    Column("is_mobile", ("流动党员", "ismobile", "mobilemember", "floating")),
    Column("probationary", ("党员类别", "预备党员", "probationary")),
    # 流出 details for a 流动党员 (roster/mobile.py): where, why, since when.
    Column("mobile_place", ("流出去向", "外出地点", "去向", "流向地", "外出去向", "mobileplace")),
    Column("mobile_reason", ("流动原因", "外出原因", "mobilereason")),
    Column("mobile_since", ("外出时间", "流出时间", "外出日期", "mobilesince")),
)
# Errors name a column by its canonical header when the file's own header is not at hand.
LABELS: Mapping[str, str] = MappingProxyType({c.key: c.label for c in COLUMNS})
_ALIASES = {alias: column for column in COLUMNS for alias in column.aliases}


def header_key(text: Any) -> str:
    """'  *手机号（必填）' and 'Birth-Date ' both reduce to a key found in `_ALIASES`."""
    key = unicodedata.normalize("NFKC", str(text or "")).strip().strip("*").strip()
    key = re.sub(r"\(.*\)$", "", key)  # template hints such as （必填）, NFKC made them ASCII
    return re.sub(r"[\s_\-]", "", key).lower()


class Header(NamedTuple):
    line: int
    width: int  # up to the last non-blank header cell; a row with cells beyond it is suspect
    columns: dict[int, tuple[Column, str]]  # by cell index: the column, its header as written
    ignored: list[str]  # headers that name no column

    def column_keys(self) -> frozenset[str]:
        return frozenset(column.key for column, _ in self.columns.values())

    def labels(self) -> dict[str, str]:
        # Errors name the column as the user wrote it, so they can find it in their sheet.
        return {**LABELS, **{column.key: written for column, written in self.columns.values()}}


def find_header(numbered: Iterator[tuple[int, Sequence[Any]]]) -> Header:
    """The first row naming every required column, consuming `numbered` up to it.

    A roll often starts with a title row (“XX街道党员花名册”) above the header, so the first five
    non-blank rows are tried; otherwise the error names what the best candidate lacked.
    """
    best: tuple[int, set[str]] | None = None
    for tried, (line, cells) in enumerate(
        ((n, c) for n, c in numbered if not all(blank(v) for v in c)), start=1
    ):
        mapping: dict[int, tuple[Column, str]] = {}
        ignored: list[str] = []
        for index, cell in enumerate(cells):
            if blank(cell):
                continue
            header = str(cell).strip()
            column = _ALIASES.get(header_key(cell))
            if column is None:
                ignored.append(header)
            elif any(column is seen for seen, _ in mapping.values()):
                raise file_error(
                    f"第{line}行表头中“{column.label}”出现了两次", f"duplicate column {header!r}"
                )
            else:
                mapping[index] = (column, header)
        present = {column.key for column, _ in mapping.values()}
        if all(c.key in present for c in COLUMNS if c.required):
            width = max(i for i, cell in enumerate(cells) if not blank(cell)) + 1
            return Header(line, width, mapping, ignored)
        if best is None or len(present) > len(best[1]):
            best = (line, present)
        if tried == 5:
            break
    if best is None:
        raise file_error("文件为空", "the file is empty")
    missing = [f"{c.label} ({c.key})" for c in COLUMNS if c.required and c.key not in best[1]]
    raise file_error(
        f"缺少必需的列：{'、'.join(missing)}（在第{best[0]}行的表头中）",
        f"missing required column(s): {', '.join(missing)} (header on line {best[0]})",
    )
