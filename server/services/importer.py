"""`dangjian import-members FILE`: load the member roll (花名册) from CSV or XLSX.

Three phases, so a bad file never leaves half its rows behind:

1. `read_records` parses and validates every row without touching the database (it runs in a
   thread: parsing 10,000 rows is CPU work).  Every bad cell is collected, not just the first.
2. `plan_upsert` compares the rows with the database inside one transaction: organisations are
   preloaded into a cache and existing members fetched by phone in a few chunked queries, so
   the cost does not grow with one query per row.
3. `apply_upsert` writes — only when no row anywhere was bad and this is not a dry run — with
   `bulk_create` / `bulk_update` in batches, touching only members whose fields really changed
   (a re-import leaves `updated_at` alone).

XLSX files are read from their first worksheet.  A title row above the header is tolerated;
line numbers are always the sheet's own row numbers.

Only the columns present in the file are compared: a roll without 职务 does not demote every
secretary to 党员, and one without 状态 does not re-activate transferred members.
`seed-demo` reuses phases 2 and 3 with generated records.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction
from tqdm import tqdm

from server.clock import Clock
from server.errors import ValidationFailed
from server.models import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.orgs import (
    SEPARATOR,
    OrgCache,
    check_group_parent,
    ensure_group,
    ensure_path,
    group_path,
    infer_kinds,
    load_org_cache,
    missing_levels,
    split_path,
    validate_group_name,
)

BATCH = 500  # rows per INSERT/UPDATE: well under SQLite's bound-variable limit
PHONE_CHUNK = 900  # values per `IN (...)` lookup, for the same reason
ROW_FIELD = "整行 row"  # RowError.field when the problem is the row, not one cell


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # as the spreadsheet shows it: the header is line 1
    field: str  # the column header as written in the file
    reason: str

    def __str__(self) -> str:
        return f"第{self.line}行 line {self.line} [{self.field}]: {self.reason}"


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    organisations_created: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self, max_errors: int = 100) -> str:
        lines = [f"导入 Import {self.file}: 共 {self.rows} 行 / {self.rows} rows"]
        if self.ignored_columns:
            lines.append(f"  已忽略的列 ignored columns: {', '.join(self.ignored_columns)}")
        if self.errors:
            lines.append(
                f"发现 {len(self.errors)} 处错误，未写入任何数据 / "
                f"{len(self.errors)} errors found, nothing was written:"
            )
            lines.extend(f"  {error}" for error in self.errors[:max_errors])
            if len(self.errors) > max_errors:
                rest = len(self.errors) - max_errors
                lines.append(f"  …另有 {rest} 处错误 / …and {rest} more")
            return "\n".join(lines)
        verb = "将" if self.dry_run else ""
        lines.append(
            f"  {verb}新建 created {self.created}，{verb}更新 updated {self.updated}，"
            f"未变 unchanged {self.unchanged}，"
            f"{verb}新建组织 organisations created {self.organisations_created}"
        )
        if self.dry_run:
            lines.append("试运行，未写入任何数据 / dry run: nothing was written")
        elif self.created == self.updated == self.organisations_created == 0:
            lines.append("数据已是最新 / already up to date, nothing changed")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# One member as the file (or the demo generator) describes it


@dataclass(slots=True)
class MemberRecord:
    name: str
    phone: str
    org_path: str  # normalised, committee first
    group: str | None = None  # party group name under org_path
    gender: str | None = None
    birth_date: date | None = None
    education: str | None = None
    joined_on: date | None = None
    role: Role = Role.MEMBER
    status: MemberStatus = MemberStatus.ACTIVE
    is_mobile: bool = False
    line: int = 0


# Columns an upsert may leave out; when absent the stored value is kept (or defaulted for new).
OPTIONAL_FIELDS = frozenset(
    {"gender", "birth_date", "education", "joined_on", "group", "role", "status", "is_mobile"}
)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # the canonical Chinese header
    english: str
    aliases: tuple[str, ...]  # compared after `_header_key`
    required: bool = False


COLUMNS = (
    Column("name", "姓名", "name", ("姓名", "name", "fullname"), required=True),
    Column(
        "phone",
        "手机号",
        "phone",
        ("手机号", "手机号码", "手机", "phone", "mobile", "phonenumber", "mobilephone"),
        required=True,
    ),
    Column("gender", "性别", "gender", ("性别", "gender", "sex")),
    Column(
        "birth_date",
        "出生日期",
        "birth_date",
        ("出生日期", "birthdate", "birthday", "dateofbirth", "dob"),
    ),
    Column("education", "学历", "education", ("学历", "文化程度", "education")),
    Column(
        "joined_on",
        "入党日期",
        "joined_on",
        ("入党日期", "入党时间", "joinedon", "joindate", "joined"),
    ),
    Column(
        "organisation",
        "所在组织",
        "organisation",
        ("所在组织", "所在党组织", "组织", "organisation", "organization", "org", "orgpath"),
        required=True,
    ),
    Column("group", "党小组", "group", ("党小组", "group", "partygroup")),
    Column("role", "职务", "role", ("职务", "党内职务", "role")),
    Column("status", "状态", "status", ("状态", "status")),
    Column(
        "is_mobile", "流动党员", "is_mobile", ("流动党员", "ismobile", "mobilemember", "floating")
    ),
)
_ALIASES = {alias: column for column in COLUMNS for alias in column.aliases}


def _header_key(text: Any) -> str:
    """'  *手机号（必填）' and 'Birth-Date ' both reduce to a key found in `_ALIASES`."""
    key = unicodedata.normalize("NFKC", str(text or "")).strip().strip("*").strip()
    key = re.sub(r"\(.*\)$", "", key)  # template hints such as （必填）, NFKC made them ASCII
    return re.sub(r"[\s_\-]", "", key).lower()


@dataclass
class ParsedFile:
    records: list[MemberRecord]
    errors: list[RowError]
    rows: int
    columns: frozenset[str]  # keys of the columns present
    labels: dict[str, str]  # key → header as written in the file, for error messages
    ignored_columns: list[str]


# ---------------------------------------------------------------------------------------------
# Reading the table


def _fail(message_zh: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(f"{message_zh} / {message_en}", field="file")


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")  # what Excel in China saves a CSV as
    except UnicodeDecodeError:
        raise _fail(
            "无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV",
            "cannot decode the file; save it as UTF-8 or GB18030 CSV",
        ) from None


def _csv_rows(path: Path) -> tuple[list[Sequence[Any]], int]:
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        raise _fail("这是一个 Excel 文件，请把扩展名改为 .xlsx", "this is an XLSX file: rename it")
    text = _decode(raw)
    if not text.strip():
        raise _fail("文件为空", "the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _fail("CSV 格式错误", f"malformed CSV: {exc}") from None
    return rows, len(rows)


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[tuple[Iterable[Sequence[Any]], int | None]]:
    from openpyxl import load_workbook  # import cost only for XLSX files

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _fail("不是有效的 XLSX 文件", f"not a valid XLSX file ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        total = sheet.max_row
        # Some generators write a wrong <dimension>; read-only mode would stop there.
        sheet.reset_dimensions()
        yield sheet.iter_rows(min_row=1, values_only=True), total
    finally:
        workbook.close()


@contextmanager
def _open_table(path: Path) -> Iterator[tuple[Iterable[Sequence[Any]], int | None]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise _fail(
            f"不支持的文件类型“{path.suffix or '无扩展名'}”，请使用 .csv 或 .xlsx"
            + ("（.xls 请另存为 .xlsx）" if suffix == ".xls" else ""),
            f"unsupported file type {path.suffix!r}; use .csv or .xlsx",
        )
    if not path.is_file():
        raise _fail(f"找不到文件 {path}", f"file not found: {path}")
    if suffix == ".csv":
        yield _csv_rows(path)
    else:
        with _xlsx_rows(path) as table:
            yield table


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _find_header(
    numbered: Iterator[tuple[int, Sequence[Any]]],
) -> tuple[int, int, dict[int, tuple[Column, str]], list[str]]:
    """(line, width, columns by index, ignored headers) of the header row.

    The header is the first row naming every required column.
    A roll often starts with a title row (“XX街道党员花名册”) above the header, so the first five
    non-blank rows are tried; otherwise the error names what the best candidate lacked.
    """
    best: tuple[int, set[str]] | None = None
    for tried, (line, cells) in enumerate(
        ((n, c) for n, c in numbered if not all(_blank(v) for v in c)), start=1
    ):
        mapping: dict[int, tuple[Column, str]] = {}
        ignored: list[str] = []
        for index, cell in enumerate(cells):
            if _blank(cell):
                continue
            header = str(cell).strip()
            column = _ALIASES.get(_header_key(cell))
            if column is None:
                ignored.append(header)
            elif any(column is seen for seen, _ in mapping.values()):
                raise _fail(
                    f"第{line}行表头中“{column.label}”出现了两次", f"duplicate column {header!r}"
                )
            else:
                mapping[index] = (column, header)
        present = {column.key for column, _ in mapping.values()}
        if all(c.key in present for c in COLUMNS if c.required):
            width = max(i for i, cell in enumerate(cells) if not _blank(cell)) + 1
            return line, width, mapping, ignored
        if best is None or len(present) > len(best[1]):
            best = (line, present)
        if tried == 5:
            break
    if best is None:
        raise _fail("文件为空", "the file is empty")
    missing = [f"{c.label} ({c.english})" for c in COLUMNS if c.required and c.key not in best[1]]
    raise _fail(
        f"缺少必需的列：{'、'.join(missing)}（在第{best[0]}行的表头中）",
        f"missing required column(s): {', '.join(missing)} (header on line {best[0]})",
    )


# ---------------------------------------------------------------------------------------------
# Cells


class _Bad(Exception):
    """One cell's problem; its message becomes RowError.reason."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _norm(value: Any) -> str:
    # NFKC turns full-width digits and letters (１３８, ＭＡＬＥ) into ASCII.
    return unicodedata.normalize("NFKC", _text(value)).strip()


def parse_phone(value: Any) -> str:
    if isinstance(value, bool):
        raise _Bad("手机号应为以1开头的11位数字 / phone must be 11 digits starting with 1")
    text = _norm(value)
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        raise _Bad(
            "手机号被 Excel 显示成了科学计数法，数字已丢失；请把该列设为文本后重新填写 / "
            "phone was saved in scientific notation and lost digits; format the column as text"
        )
    text = re.sub(r"[\s\-()–—]", "", text).removesuffix(".0")
    for prefix in ("+86", "0086"):
        text = text.removeprefix(prefix)
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not re.fullmatch(r"1\d{10}", text):
        raise _Bad("手机号应为以1开头的11位数字 / phone must be 11 digits starting with 1")
    return text


_GENDERS = {"男": "男", "m": "男", "male": "男", "女": "女", "f": "女", "female": "女"}


def parse_gender(value: Any) -> str | None:
    text = _norm(value).lower()
    if not text:
        return None
    if text not in _GENDERS:
        raise _Bad(f"性别“{_text(value)}”应为男或女 / gender must be 男/女 (M/F)")
    return _GENDERS[text]


_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_RES = (
    re.compile(rf"(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}"),
    re.compile(rf"(\d{{4}})(年)(\d{{1,2}})月(\d{{1,2}})日?{_TIME}"),
)
DATE_FORMATS = "YYYY-MM-DD, YYYY/M/D, YYYY.MM.DD, YYYY年M月D日"


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An XLSX date cell that lost its date format arrives as Excel's day number.  Below
        # 2200 (1906) it is more likely a bare year such as 1985, which must not become a date.
        from openpyxl.utils.datetime import from_excel

        if 2200 <= value < 73051:  # 1906-01-08 … 2099-12-31
            return from_excel(value).date()
    text = _norm(value)
    if not text:
        return None
    for pattern in _DATE_RES:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                raise _Bad(f"“{text}”不是有效日期 / {text!r} is not a real date") from None
    raise _Bad(f"无法识别日期“{text}”，请用 {DATE_FORMATS} / unrecognised date, use {DATE_FORMATS}")


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 1 March (the later, safer date)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def parse_role(value: Any) -> Role:
    text = _norm(value)
    if not text:
        return Role.MEMBER
    for role in Role:
        if text in (role.value, role.name) or text.upper() == role.name:
            return role
    choices = "、".join(role.value for role in Role)
    raise _Bad(f"职务“{text}”不存在，可选：{choices} / unknown role, choose one of {choices}")


_STATUSES = {
    "在册": MemberStatus.ACTIVE,
    "正常": MemberStatus.ACTIVE,
    "active": MemberStatus.ACTIVE,
    "转出": MemberStatus.TRANSFERRED,
    "已转出": MemberStatus.TRANSFERRED,
    "transferred": MemberStatus.TRANSFERRED,
}


def parse_status(value: Any) -> MemberStatus:
    text = _norm(value).lower()
    if not text:
        return MemberStatus.ACTIVE
    if text not in _STATUSES:
        raise _Bad(f"状态“{text}”应为在册或转出 / status must be 在册 or 转出")
    return _STATUSES[text]


_YES = {"是", "y", "yes", "true", "1", "√"}
_NO = {"否", "n", "no", "false", "0", "×"}


def parse_yes_no(value: Any) -> bool:
    text = _norm(value).lower()
    if not text or text in _NO:
        return False
    if text in _YES:
        return True
    raise _Bad(f"“{text}”应为是或否 / must be 是 or 否")


def parse_org(value: Any) -> tuple[str, OrgKind]:
    text = _text(value)
    if not text:
        raise _Bad("必填 / required")
    return _org_path(text)


@lru_cache(maxsize=4096)  # a roll names a few hundred organisations over thousands of rows
def _org_path(text: str) -> tuple[str, OrgKind]:
    try:
        segments = split_path(text)
        kinds = infer_kinds(segments)
    except ValidationFailed as exc:
        raise _Bad(exc.user_message) from None
    return SEPARATOR.join(segments), kinds[-1]


_CJK = re.compile(r"[\u3400-\u9fff]")


def parse_name(value: Any) -> str:
    # 张 三 → 张三: the binder matches names with all whitespace removed, and a space inside a
    # Chinese name is always a typo; Latin names keep single spaces between words.
    text = _text(value)
    text = re.sub(r"\s+", "", text) if _CJK.search(text) else " ".join(text.split())
    if not text:
        raise _Bad("必填 / required")
    if len(text) > 50:
        raise _Bad("超过50字 / longer than 50 characters")
    return text


def _optional_text(value: Any, limit: int) -> str | None:
    text = _text(value)
    if len(text) > limit:
        raise _Bad(f"超过{limit}字 / longer than {limit} characters")
    return text or None


# ---------------------------------------------------------------------------------------------
# Rows


def _parse_row(
    line: int,
    values: Mapping[str, Any],
    labels: Mapping[str, str],
    today: date,
    errors: list[RowError],
    seen_phones: dict[str, int],
) -> MemberRecord | None:
    """The row as a record, or None after appending each of its problems to `errors`."""
    before = len(errors)
    parsed: dict[str, Any] = {}

    def cell(key: str, parse: Callable[[Any], Any]) -> None:
        try:
            parsed[key] = parse(values.get(key))
        except _Bad as bad:
            errors.append(RowError(line, labels.get(key, key), str(bad)))

    cell("name", parse_name)
    cell("phone", lambda v: parse_phone(v) if not _blank(v) else _raise("必填 / required"))
    cell("organisation", parse_org)
    cell("gender", parse_gender)
    cell("birth_date", parse_date)
    cell("education", lambda v: _optional_text(v, 20))
    cell("joined_on", parse_date)
    cell("role", parse_role)
    cell("status", parse_status)
    cell("is_mobile", parse_yes_no)
    cell("group", lambda v: validate_group_name(_text(v)) if not _blank(v) else None)

    # Rules across cells, checked only when the cells themselves parsed.
    birth, joined = parsed.get("birth_date"), parsed.get("joined_on")
    born, join = labels["birth_date"], labels["joined_on"]
    if birth is not None and birth > today:
        errors.append(RowError(line, born, "出生日期晚于今天 / birth date in the future"))
    if birth is not None and birth.year < 1900:
        errors.append(RowError(line, born, "出生日期早于1900年 / birth date before 1900"))
    if joined is not None and joined > today:
        errors.append(RowError(line, join, "入党日期晚于今天 / joined date in the future"))
    if joined is not None and birth is not None and joined < (adult := add_years(birth, 18)):
        reason = f"入党时未满18周岁（应不早于{adult}） / joined before the age of 18 ({adult})"
        errors.append(RowError(line, join, reason))
    org = parsed.get("organisation")
    group_name = parsed.get("group")
    if org is not None and group_name:
        try:
            check_group_parent(org[0], org[1])
            group_path(org[0], group_name)
        except ValidationFailed as exc:
            errors.append(RowError(line, labels["group"], exc.user_message))

    # A repeated phone is reported even when either row has other problems too.
    phone = parsed.get("phone")
    if phone is not None:
        first = seen_phones.setdefault(phone, line)
        if first != line:
            reason = f"与第{first}行的手机号重复 / duplicates the phone on line {first}"
            errors.append(RowError(line, labels["phone"], reason))

    if len(errors) > before:
        return None
    return MemberRecord(
        name=parsed["name"],
        phone=parsed["phone"],
        org_path=org[0],
        group=group_name,
        gender=parsed["gender"],
        birth_date=birth,
        education=parsed["education"],
        joined_on=joined,
        role=parsed["role"],
        status=parsed["status"],
        is_mobile=parsed["is_mobile"],
        line=line,
    )


def _raise(reason: str) -> Any:
    raise _Bad(reason)


def read_records(path: Path, *, today: date | None = None, progress: bool = False) -> ParsedFile:
    """Parse and validate the whole file; no database access.  File-level problems raise."""
    today = today or Clock().today()
    with _open_table(path) as (table, total):
        numbered = iter(enumerate(table, start=1))
        header_line, width, mapping, ignored = _find_header(numbered)
        # Errors name the column as the user wrote it, so they can find it in their sheet.
        labels = {c.key: c.label for c in COLUMNS}
        labels.update({column.key: header for column, header in mapping.values()})
        records: list[MemberRecord] = []
        errors: list[RowError] = []
        first_line_of_phone: dict[str, int] = {}
        rows = 0
        bar = tqdm(
            total=(total - header_line) if total else None,
            desc="校验 validating",
            unit="行",
            file=sys.stderr,
            disable=not progress,
        )
        with bar:
            for line, cells in numbered:
                bar.update(1)
                if all(_blank(v) for v in cells):
                    continue  # blank rows are spacing, not members
                rows += 1
                if any(not _blank(v) for v in cells[width:]):
                    errors.append(
                        RowError(
                            line,
                            ROW_FIELD,
                            "该行的内容超出了表头的列，可能有未加引号的逗号 / "
                            "cells beyond the last header column (an unquoted comma?)",
                        )
                    )
                values = {
                    column.key: cells[index] if index < len(cells) else None
                    for index, (column, _) in mapping.items()
                }
                record = _parse_row(line, values, labels, today, errors, first_line_of_phone)
                if record is not None:
                    records.append(record)
    return ParsedFile(
        records=records,
        errors=errors,
        rows=rows,
        columns=frozenset(column.key for column, _ in mapping.values()),
        labels=labels,
        ignored_columns=ignored,
    )


# ---------------------------------------------------------------------------------------------
# Comparing with the database, then writing


@dataclass
class UpsertPlan:
    cache: OrgCache  # every organisation by path; `apply_upsert` adds the new ones
    new_org_paths: list[str]  # parents first, party groups included
    creates: list[MemberRecord]
    updates: list[tuple[int, MemberRecord, frozenset[str]]]  # member id, record, changed fields
    unchanged: int
    errors: list[RowError]


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Stored(NamedTuple):
    """The compared fields of a stored member: building 10,000 full model instances (with their
    timestamps parsed) would cost more than the whole comparison."""

    id: int
    phone: str
    name: str
    organisation_id: int
    group_id: int | None
    gender: str | None
    birth_date: date | None
    education: str | None
    joined_on: date | None
    role: Role
    status: MemberStatus
    is_mobile: bool


async def _members_by_phone(
    phones: Sequence[str], using_db: BaseDBAsyncClient | None
) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    for chunk in _chunks(phones, PHONE_CHUNK):
        query = Member.filter(phone__in=chunk).using_db(using_db)
        for values in await query.values_list(*_Stored._fields):
            stored = _Stored(*values)
            found[stored.phone] = stored
    return found


def _main_committee(records: Sequence[MemberRecord], cache: OrgCache) -> set[str]:
    """The committees rows may name: those in the database, or on an empty one the file's own.

    A street has one committee; a typo in the first segment must not start a second tree.  On an
    empty database the committee most rows name wins, so one mistyped row is the one reported.
    """
    existing = {path for path, org in cache.items() if org.kind is OrgKind.COMMITTEE}
    if existing or not records:
        return existing
    counts: dict[str, int] = {}
    for record in records:
        committee = record.org_path.split(SEPARATOR, 1)[0]
        counts[committee] = counts.get(committee, 0) + 1
    return {max(counts, key=lambda name: counts[name])}


def _check_orgs(
    record: MemberRecord, cache: OrgCache, committees: set[str], new_orgs: dict[str, None]
) -> tuple[str, str] | None:
    """(column key, reason) when the row's organisations clash with the tree; else None."""
    committee = record.org_path.split(SEPARATOR, 1)[0]
    if committee not in committees:
        known = "、".join(sorted(committees))
        return (
            "organisation",
            f"党工委“{committee}”不存在（现有：{known}） / unknown committee, the tree has {known}",
        )
    try:
        for path, _kind in missing_levels(record.org_path, cache):
            new_orgs.setdefault(path)
    except ValidationFailed as exc:
        return "organisation", exc.user_message
    if record.group:
        path = group_path(record.org_path, record.group)
        org = cache.get(path)
        if org is None:
            new_orgs.setdefault(path)
        elif org.kind is not OrgKind.GROUP:
            return "group", f"“{path}”已存在且不是党小组 / “{path}” exists and is not a group"
    return None


_PLAIN_FIELDS = ("gender", "birth_date", "education", "joined_on", "role", "status", "is_mobile")


def _changes(
    member: _Stored, record: MemberRecord, columns: Collection[str], path_by_id: dict[int, str]
) -> frozenset[str]:
    changed: set[str] = set()
    if member.name != record.name:
        changed.add("name")
    if path_by_id.get(member.organisation_id) != record.org_path:
        changed.add("organisation")
    current_group = path_by_id.get(member.group_id) if member.group_id else None
    if "group" not in columns:
        # No 党小组 column: keep the stored group while it still belongs to the member's branch
        # (recorded on the record so that `apply_upsert` writes the same thing).
        prefix = record.org_path + SEPARATOR
        kept = current_group is not None and current_group.startswith(prefix)
        record.group = current_group.removeprefix(prefix) if kept and current_group else None
    wanted_group = group_path(record.org_path, record.group) if record.group else None
    if current_group != wanted_group:
        changed.add("group")
    for name in _PLAIN_FIELDS:
        if name in columns and getattr(member, name) != getattr(record, name):
            changed.add(name)
    return frozenset(changed)


async def plan_upsert(
    records: Sequence[MemberRecord],
    *,
    columns: Collection[str],
    labels: Mapping[str, str] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> UpsertPlan:
    """What writing `records` would do.  Reads only; call inside the writing transaction."""
    labels = labels or {c.key: c.label for c in COLUMNS}
    cache = await load_org_cache(using_db=using_db)
    path_by_id = {org.id: path for path, org in cache.items()}
    committees = _main_committee(records, cache)
    existing = await _members_by_phone([r.phone for r in records], using_db)
    new_orgs: dict[str, None] = {}  # an ordered set: parents are always met before children
    checked: dict[tuple[str, str | None], tuple[str, str] | None] = {}
    plan = UpsertPlan(cache, [], [], [], 0, [])
    for record in records:
        key = (record.org_path, record.group)
        if key not in checked:
            checked[key] = _check_orgs(record, cache, committees, new_orgs)
        problem = checked[key]
        if problem is not None:
            plan.errors.append(RowError(record.line, labels[problem[0]], problem[1]))
            continue
        member = existing.get(record.phone)
        if member is None:
            plan.creates.append(record)
            continue
        changed = _changes(member, record, columns, path_by_id)
        if changed:
            plan.updates.append((member.id, record, changed))
        else:
            plan.unchanged += 1
    plan.new_org_paths = list(new_orgs)
    return plan


async def apply_upsert(
    plan: UpsertPlan, *, using_db: BaseDBAsyncClient | None = None, progress: bool = False
) -> None:
    """Write a plan without errors: new organisations, then new members, then changed ones."""
    if plan.errors:
        raise ValueError("refusing to apply a plan with errors")
    ids: dict[tuple[str, str | None], tuple[int, int | None]] = {}

    async def resolve(record: MemberRecord) -> tuple[int, int | None]:
        key = (record.org_path, record.group)
        if key not in ids:
            org = await ensure_path(record.org_path, using_db=using_db, cache=plan.cache)
            group: Organisation | None = None
            if record.group:
                group = await ensure_group(org, record.group, using_db=using_db, cache=plan.cache)
            ids[key] = (org.id, group.id if group else None)
        return ids[key]

    bar = tqdm(
        total=len(plan.creates) + len(plan.updates),
        desc="写入 writing",
        unit="行",
        file=sys.stderr,
        disable=not progress,
    )
    with bar:
        new: list[Member] = []
        for record in plan.creates:
            org_id, group_id = await resolve(record)
            new.append(
                Member(
                    name=record.name,
                    phone=record.phone,
                    organisation_id=org_id,
                    group_id=group_id,
                    gender=record.gender,
                    birth_date=record.birth_date,
                    education=record.education,
                    joined_on=record.joined_on,
                    role=record.role,
                    status=record.status,
                    is_mobile=record.is_mobile,
                )
            )
        for batch in _chunks(new, BATCH):
            await Member.bulk_create(batch, using_db=using_db)
            bar.update(len(batch))

        fields: set[str] = set()
        changed_members: list[Member] = []
        # Full instances only for the members that change (bulk_update needs them).
        by_id: dict[int, Member] = {}
        for chunk in _chunks([member_id for member_id, _, _ in plan.updates], PHONE_CHUNK):
            by_id.update({m.id: m for m in await Member.filter(id__in=chunk).using_db(using_db)})
        for member_id, record, changed in plan.updates:
            member = by_id[member_id]
            org_id, group_id = await resolve(record)
            for name in changed:
                if name == "organisation":
                    member.organisation_id = org_id
                    fields.add("organisation_id")
                elif name == "group":
                    member.group_id = group_id
                    fields.add("group_id")
                else:
                    setattr(member, name, getattr(record, name))
                    fields.add(name)
            changed_members.append(member)
        if changed_members:
            # bulk_update bypasses save(); naming updated_at makes its auto_now stamp apply.
            fields.add("updated_at")
            for batch in _chunks(changed_members, BATCH):
                await Member.bulk_update(batch, fields=sorted(fields), using_db=using_db)
                bar.update(len(batch))


# ---------------------------------------------------------------------------------------------
# The command


async def import_members(
    path: Path, *, dry_run: bool = False, progress: bool = False, today: date | None = None
) -> ImportReport:
    """Import a member roll.  Any bad row → nothing written and every bad row reported.

    `today` (default: the organisation's local date) bounds birth and joined dates.  File-level
    problems (type, encoding, missing columns, empty file) raise ValidationFailed.
    """
    path = Path(path)
    parsed = await asyncio.to_thread(read_records, path, today=today, progress=progress)
    report = ImportReport(
        file=path.name,
        rows=parsed.rows,
        errors=list(parsed.errors),
        dry_run=dry_run,
        ignored_columns=parsed.ignored_columns,
    )
    if not parsed.records:
        return report
    async with in_transaction() as conn:
        plan = await plan_upsert(
            parsed.records, columns=parsed.columns, labels=parsed.labels, using_db=conn
        )
        report.errors.extend(plan.errors)
        report.errors.sort(key=lambda error: error.line)
        if report.errors:
            return report
        report.created = len(plan.creates)
        report.updated = len(plan.updates)
        report.unchanged = plan.unchanged
        report.organisations_created = len(plan.new_org_paths)
        if not dry_run:
            await apply_upsert(plan, using_db=conn, progress=progress)
    return report
