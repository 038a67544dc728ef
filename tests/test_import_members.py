"""import-members: the happy paths, and each kind of bad input next to them."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from server.channels import Channel
from server.db import close_database, open_database
from server.errors import ValidationFailed
from server.models.mobility import FlowReason, MobileMember
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.mobility import incoming
from server.services.mobility.outgoing import Outgoing, mark_out
from server.services.people import importer
from server.services.people.importer import ImportReport, import_members
from server.services.people.orgs import ensure_group, ensure_path
from tests.conftest import migrated

TODAY = date(2024, 5, 1)
HEADER = ["姓名", "手机号", "性别", "出生日期", "学历", "入党日期", "所在组织", "党小组", "职务"]
STREET = "示范街道党工委"
BRANCH = f"{STREET}/红星村党总支/红星村第一党支部"
OFFICE = f"{STREET}/机关党支部"

GROUP = "第一网格党小组"
ROWS = [
    ["张三", "138-0000-0001", "男", "1980-01-02", "本科", "2005/7/1", BRANCH, GROUP, "支部书记"],
    ["李四", "+86 138 0000 0002", "F", "1990年3月4日", "", "2015.07.01", BRANCH, "", ""],
    ["王 五", "13800000003", "", "", " 大专 ", "", f" {OFFICE}/ ", "", "党员"],
]


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "t.sqlite3"))
    yield
    await close_database()


async def run(path: Path, **kwargs: Any) -> ImportReport:
    return await import_members(path, today=TODAY, **kwargs)


async def snapshot() -> dict[str, tuple[Any, ...]]:
    return {
        m.phone: (m.name, m.organisation_id, m.group_id, m.role, m.education, m.updated_at)
        for m in await Member.all()
    }


def where(report: ImportReport) -> set[tuple[int, str]]:
    return {(error.line, error.field) for error in report.errors}


# --- happy paths ------------------------------------------------------------------------------


async def test_csv_creates_tree_and_members(db: None, tmp_path: Path) -> None:
    report = await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))

    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert report.organisations_created == 5
    orgs = {o.path: o for o in await Organisation.all()}
    assert {path: o.kind for path, o in orgs.items()} == {
        STREET: OrgKind.COMMITTEE,
        f"{STREET}/红星村党总支": OrgKind.GENERAL_BRANCH,
        BRANCH: OrgKind.BRANCH,
        f"{BRANCH}/{GROUP}": OrgKind.GROUP,
        OFFICE: OrgKind.BRANCH,
    }
    assert orgs[BRANCH].parent_id == orgs[f"{STREET}/红星村党总支"].id
    assert orgs[OFFICE].parent_id == orgs[STREET].id

    zhang = await Member.get(phone="13800000001")
    assert (zhang.name, zhang.gender, zhang.role) == ("张三", "男", Role.SECRETARY)
    assert (zhang.birth_date, zhang.joined_on) == (date(1980, 1, 2), date(2005, 7, 1))
    assert zhang.organisation_id == orgs[BRANCH].id
    assert zhang.group_id == orgs[f"{BRANCH}/{GROUP}"].id
    li = await Member.get(phone="13800000002")
    assert (li.gender, li.birth_date, li.joined_on) == ("女", date(1990, 3, 4), date(2015, 7, 1))
    assert (li.role, li.education, li.group_id) == (Role.MEMBER, None, None)
    wang = await Member.get(phone="13800000003")
    assert (wang.name, wang.education, wang.organisation_id) == ("王五", "大专", orgs[OFFICE].id)
    assert wang.status is MemberStatus.ACTIVE and wang.is_mobile is False
    assert "created 3" in report.summary() and "新建" in report.summary()


async def test_reimport_changes_nothing(db: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [HEADER, *ROWS])
    await run(path)
    before = await snapshot()

    report = await run(path)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert report.organisations_created == 0
    assert await snapshot() == before  # updated_at included
    assert "nothing changed" in report.summary()


async def test_changed_row_is_updated_and_only_it(db: None, tmp_path: Path) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    before = await snapshot()
    changed = [row[:] for row in ROWS]
    changed[1][0] = "李肆"
    changed[1][4] = "研究生"
    changed[1][8] = "支委委员"

    report = await run(write_csv(tmp_path / "m2.csv", [HEADER, *changed]))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    after = await snapshot()
    li = await Member.get(phone="13800000002")
    assert (li.name, li.education, li.role) == ("李肆", "研究生", Role.COMMITTEE_MEMBER)
    assert after["13800000002"][-1] > before["13800000002"][-1]
    assert after["13800000001"] == before["13800000001"]
    assert after["13800000003"] == before["13800000003"]


async def test_absent_columns_keep_stored_values(db: None, tmp_path: Path) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    before = await snapshot()
    slim = [["姓名", "手机号", "所在组织"], *[[r[0], r[1], r[6]] for r in ROWS]]

    report = await run(write_csv(tmp_path / "slim.csv", slim))

    # No 职务 / 党小组 columns: the secretary stays secretary and keeps her group.
    assert (report.updated, report.unchanged) == (0, 3)
    assert await snapshot() == before


async def test_moving_branch_without_group_column_clears_group(db: None, tmp_path: Path) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    moved = [["姓名", "手机号", "所在组织"], ["张三", "13800000001", OFFICE]]

    report = await run(write_csv(tmp_path / "moved.csv", moved))

    assert report.updated == 1
    zhang = await Member.get(phone="13800000001")
    office = await Organisation.get(path=OFFICE)
    assert (zhang.organisation_id, zhang.group_id, zhang.role) == (office.id, None, Role.SECRETARY)


async def test_xlsx_with_title_row_date_cells_and_numeric_phones(db: None, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["示范街道党员花名册"])  # a title above the header, as rolls often have
    sheet.append([*HEADER, "状态", "流动党员"])
    sheet.append(
        ["赵六", 13800000004, "女", datetime(1985, 6, 7), "本科", date(2010, 7, 1), BRANCH]
    )
    sheet.append(["钱七", 13800000005.0, "男", datetime(1970, 1, 1), None, None, BRANCH,
                  "第二网格党小组", None, "转出", "是"])  # fmt: skip
    # Row 6 left blank; row 7 holds what Excel does to a long number typed into a CSV.
    for column, value in enumerate(["孙八", "1.38E+10", "男", "1970-13-01", None, None, BRANCH]):
        sheet.cell(row=7, column=column + 1, value=value)
    sheet.append(["周九", 13800000008, "男", 1985, None, None, BRANCH])  # a bare year, no date
    book.save(tmp_path / "m.xlsx")

    report = await run(tmp_path / "m.xlsx")

    # Line numbers are the sheet's own rows: title 1, header 2, blank row 6 still counted.
    assert where(report) == {(7, "手机号"), (7, "出生日期"), (8, "出生日期")}
    assert "科学计数法" in next(e.reason for e in report.errors if e.field == "手机号")
    assert await Member.all().count() == 0

    sheet.delete_rows(6, 3)
    book.save(tmp_path / "m.xlsx")
    report = await run(tmp_path / "m.xlsx")

    assert report.errors == [] and report.created == 2
    zhao = await Member.get(phone="13800000004")
    assert (zhao.birth_date, zhao.joined_on, zhao.gender) == (
        date(1985, 6, 7),
        date(2010, 7, 1),
        "女",
    )
    qian = await Member.get(phone="13800000005")
    assert (qian.status, qian.is_mobile) == (MemberStatus.TRANSFERRED, True)
    assert (await Organisation.get(id=qian.group_id)).path == f"{BRANCH}/第二网格党小组"


async def test_gb18030_csv_without_bom(db: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", [HEADER, *ROWS], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the test is only meaningful if UTF-8 fails

    report = await run(path)

    assert report.created == 3
    assert (await Member.get(phone="13800000001")).name == "张三"
    assert await Organisation.filter(path=BRANCH).exists()


async def test_english_headers_with_whitespace(db: None, tmp_path: Path) -> None:
    header = [" Name", "Mobile ", "sex", "Birthday", "EDUCATION", "join_date", "Organization",
              "party_group", "role", "remarks"]  # fmt: skip
    row = [" Li  Lei ", "13800000009", "male", "1990-01-01", "本科", "2012-06-30", BRANCH, "一组",
           "SECRETARY", "ignored"]  # fmt: skip

    report = await run(write_csv(tmp_path / "en.csv", [header, row]))

    assert report.errors == [] and report.created == 1
    assert report.ignored_columns == ["remarks"]
    member = await Member.get(phone="13800000009")
    assert (member.name, member.gender, member.role) == ("Li Lei", "男", Role.SECRETARY)
    assert member.joined_on == date(2012, 6, 30)


# --- bad rows: all reported, nothing written ---------------------------------------------------


async def test_every_bad_row_reported_and_nothing_written(db: None, tmp_path: Path) -> None:
    good = ["好人", "13900000000", "男", "1980-01-01", "", "2000-01-01", BRANCH, "", ""]

    def bad(line_phone: int, **changes: str) -> list[str]:
        row = good[:]
        row[1] = f"139{line_phone:08d}"
        for index, value in changes.items():
            row[int(index[1:])] = value
        return row

    rows = [
        HEADER,
        good,  # 2
        bad(3, c0=""),  # name missing
        bad(4, c1="1380000000"),  # ten digits
        bad(5, c1="23800000000"),  # does not start with 1
        bad(6, c2="男性"),
        bad(7, c3="1980-02-30"),  # not a real date
        bad(8, c3="80/1/1"),  # unrecognised format
        bad(9, c3="2030-01-01", c5=""),  # born in the future
        bad(10, c5="2025-01-01"),  # joined in the future
        bad(11, c3="1990-06-15", c5="2008-06-14"),  # joined the day before turning 18
        bad(12, c8="书记"),  # not a Role value
        bad(13, c6=""),  # organisation missing
        bad(14, c6=f"{BRANCH}/{GROUP}"),  # a group written into the path
        bad(15, c6=f"{STREET}/红星村党总支", c7="一组"),  # group under a general branch
        bad(16, c6=f"{STREET}/党支部/二级党总支"),  # general branch below a branch
        [*bad(17), "extra"],  # an unquoted comma shifted the row
        bad(18, c1=""),  # phone missing
        bad(19, c3="1990-06-15", c5="2008-06-15"),  # joined on the 18th birthday: fine
        ["", "", "", "", "", "", "", "", ""],  # 20: blank rows are skipped
    ]
    report = await run(write_csv(tmp_path / "bad.csv", rows))

    assert where(report) == {
        (3, "姓名"),
        (4, "手机号"),
        (5, "手机号"),
        (6, "性别"),
        (7, "出生日期"),
        (8, "出生日期"),
        (9, "出生日期"),
        (10, "入党日期"),
        (11, "入党日期"),
        (12, "职务"),
        (13, "所在组织"),
        (14, "所在组织"),
        (15, "党小组"),
        (16, "所在组织"),
        (17, importer.ROW_FIELD),
        (18, "手机号"),
    }
    assert report.rows == 18
    assert [e.line for e in report.errors] == sorted(e.line for e in report.errors)
    assert "18" in next(e.reason for e in report.errors if e.line == 11)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert await Member.all().count() == 0
    assert await Organisation.all().count() == 0
    summary = report.summary()
    assert "nothing was written" in summary and "第11行" in summary


async def test_duplicate_phone_names_first_line(db: None, tmp_path: Path) -> None:
    rows = [
        HEADER,
        ROWS[0],
        ROWS[1],
        ["张三丰", "138 0000 0001", "", "", "", "", BRANCH, "", ""],  # same phone, other spelling
        ["李四", "13800000002", "男性", "", "", "", BRANCH, "", ""],  # repeated *and* bad
    ]

    report = await run(write_csv(tmp_path / "dup.csv", rows))

    assert where(report) == {(4, "手机号"), (5, "手机号"), (5, "性别")}
    first = next(e for e in report.errors if e.line == 4)
    assert "第2行" in first.reason and "line 2" in first.reason
    assert "第3行" in next(e.reason for e in report.errors if (e.line, e.field) == (5, "手机号"))
    assert await Member.all().count() == 0


async def test_unknown_committee_rejected_against_existing_tree(db: None, tmp_path: Path) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    typo = ["赵六", "13800000004", "", "", "", "", "示范街到党工委/机关党支部", "", ""]
    new = ["钱七", "13800000005", "", "", "", "", OFFICE, "", ""]

    bad = ["孙八", "13800000006", "男性", "", "", "", OFFICE, "", ""]

    report = await run(write_csv(tmp_path / "typo.csv", [HEADER, new, typo, bad]))

    # Found in two passes (cells, then the tree) but reported in the sheet's order.
    assert [(e.line, e.field) for e in report.errors] == [(3, "所在组织"), (4, "性别")]
    assert STREET in report.errors[0].reason
    assert not await Member.filter(phone="13800000005").exists()  # the good row waits too


async def test_path_clashing_with_stored_kind_is_a_row_error(db: None, tmp_path: Path) -> None:
    # Made elsewhere as a plain branch although its name reads like a general branch.
    committee = await ensure_path(STREET)
    await Organisation.create(name="机关总支", kind=OrgKind.BRANCH, parent=committee,
                              path=f"{STREET}/机关总支")  # fmt: skip
    rows = [
        HEADER,
        ["甲", "13800000007", "", "", "", "", OFFICE, "", ""],
        ["乙", "13800000008", "", "", "", "", f"{STREET}/机关总支/一支部", "", ""],
    ]

    report = await run(write_csv(tmp_path / "clash.csv", rows))

    assert where(report) == {(3, "所在组织")}
    assert "已存在" in report.errors[0].reason
    assert await Member.all().count() == 0
    assert await Organisation.all().count() == 2


async def test_failure_while_writing_rolls_everything_back(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Member, "bulk_create", explode)

    with pytest.raises(RuntimeError):
        await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))

    assert await Organisation.all().count() == 0  # created before the members, rolled back


# --- dry run ------------------------------------------------------------------------------------


async def test_dry_run_reports_but_writes_nothing(db: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [HEADER, *ROWS])

    report = await run(path, dry_run=True)

    assert (report.created, report.organisations_created, report.dry_run) == (3, 5, True)
    assert await Member.all().count() == 0 and await Organisation.all().count() == 0
    assert "dry run" in report.summary()

    await run(path)
    before = await snapshot()
    changed = [HEADER, ROWS[0], [*ROWS[1][:6], OFFICE, "", ""], ROWS[2]]
    report = await run(write_csv(tmp_path / "m2.csv", changed), dry_run=True)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert await snapshot() == before


async def test_progress_bar_goes_to_stderr(
    db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]), progress=True)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "validating" in captured.err and "writing" in captured.err


# --- the file itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["members.txt", "members.xls", "members"])
async def test_unsupported_extension(db: None, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("姓名,手机号,所在组织\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"\.csv 或 \.xlsx"):
        await run(path)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
async def test_empty_csv(db: None, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationFailed, match="empty"):
        await run(path)


async def test_empty_xlsx(db: None, tmp_path: Path) -> None:
    Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(ValidationFailed, match="empty"):
        await run(tmp_path / "empty.xlsx")


async def test_header_only_imports_nothing(db: None, tmp_path: Path) -> None:
    report = await run(write_csv(tmp_path / "h.csv", [HEADER]))
    assert (report.rows, report.created, report.errors) == (0, 0, [])


async def test_missing_required_header_is_named(db: None, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "h.csv", [["姓名", "电话", "所在组织"], ["张三", "13800000001", BRANCH]]
    )
    with pytest.raises(ValidationFailed, match="手机号") as caught:
        await run(path)
    assert "电话" not in str(caught.value) and "所在组织" not in str(caught.value)


async def test_header_marks_and_hints_are_tolerated(db: None, tmp_path: Path) -> None:
    rows = [["*姓名", "手机号（必填）", " 所在组织 (必填) "], ["张三", "13800000001", BRANCH]]
    report = await run(write_csv(tmp_path / "t.csv", rows))
    assert report.created == 1


async def test_duplicate_header_rejected(db: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", [["姓名", "手机号", "phone", "所在组织"]])
    with pytest.raises(ValidationFailed, match="手机号"):
        await run(path)


async def test_not_really_xlsx(db: None, tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("姓名,手机号,所在组织\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="XLSX"):
        await run(tmp_path / "fake.xlsx")


async def test_missing_file(db: None, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="not found"):
        await run(tmp_path / "nope.csv")


# --- the organisation tree ----------------------------------------------------------------------


async def test_ensure_path_infers_kinds_and_reuses_levels(db: None) -> None:
    cache: dict[str, Organisation] = {}
    branch = await ensure_path(f" {STREET} ／ 石门村党总支部 /石门村一支部/", cache=cache)

    assert branch.path == f"{STREET}/石门村党总支部/石门村一支部"
    assert [cache[p].kind for p in sorted(cache, key=len)] == [
        OrgKind.COMMITTEE,
        OrgKind.GENERAL_BRANCH,
        OrgKind.BRANCH,
    ]
    again = await ensure_path(branch.path)
    assert again.id == branch.id and await Organisation.all().count() == 3
    group = await ensure_group(branch, "第一网格党小组", cache=cache)
    assert (group.kind, group.parent_id, group.path) == (
        OrgKind.GROUP,
        branch.id,
        f"{branch.path}/第一网格党小组",
    )

    with pytest.raises(ValidationFailed):
        await ensure_path(f"{group.path}/更下一级")
    with pytest.raises(ValidationFailed):
        await ensure_group(await ensure_path(f"{STREET}/石门村党总支部"), "一组")
    with pytest.raises(ValidationFailed):
        await ensure_group(branch, "a/b")
    with pytest.raises(ValidationFailed):
        await ensure_path(f"{STREET}//一支部")
    with pytest.raises(ValidationFailed, match="directly under the committee"):
        await ensure_path(f"{STREET}/石门村党总支部/二级总支")
    assert await Organisation.all().count() == 4  # nothing half-made by the failures


async def test_a_bad_party_group_name_is_a_row_error_not_a_file_error(
    db: None, tmp_path: Path
) -> None:
    roster = tmp_path / "groups.csv"
    roster.write_text(
        "姓名,手机号,所在组织,党小组\n"
        "张三,13800001234,示范街道党工委/第一党支部,第一党小组\n"
        "李四,13800005678,示范街道党工委/第一党支部,第一/第二党小组\n",
        encoding="utf-8",
    )
    report = await import_members(roster)
    assert [(e.line, e.field) for e in report.errors] == [(3, "党小组")]
    assert report.created == 0


# --- 流动党员: the branch's working record of 流出 ---------------------------------------------

MOBILE_HEADER = ["姓名", "手机号", "所在组织", "流动党员", "流出去向", "流动原因", "外出时间"]
NOW = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


async def _mobile() -> list[tuple[Any, ...]]:
    return sorted(
        await MobileMember.all().values_list(
            "member__phone", "direction", "status", "place", "reason", "since", "created_by_id"
        )
    )


async def test_a_member_marked_mobile_gets_a_working_record_once(db: None, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "mobile.csv",
        [
            MOBILE_HEADER,
            ["王强", "13800000011", BRANCH, "是", "江苏苏州", "务工", "2023年8月"],
            ["刘芳", "13800000012", BRANCH, "是", "", "", ""],  # 是 alone: the branch completes it
            ["孙丽", "13800000013", BRANCH, "否", "", "", ""],
            ["钱七", "13800000014", BRANCH, "是", "广东深圳", "其他", "2024-04-30"],
        ],
    )
    dry = await run(path, dry_run=True, now=NOW)
    assert dry.mobile_created == 3 and await MobileMember.all().count() == 0
    assert "将登记流出 3 人" in dry.summary()

    report = await run(path, now=NOW)

    assert report.errors == [] and report.mobile_created == 3
    assert await _mobile() == [
        ("13800000011", "out", "active", "江苏苏州", FlowReason.WORK, date(2023, 8, 1), None),
        ("13800000012", "out", "active", "未登记", FlowReason.OTHER, TODAY, None),
        ("13800000014", "out", "active", "广东深圳", FlowReason.OTHER, date(2024, 4, 30), None),
    ]
    branch = await Organisation.get(path=BRANCH)
    assert {r.branch_id for r in await MobileMember.all()} == {branch.id}
    assert {m.phone for m in await Member.filter(is_mobile=True)} == {
        "13800000011", "13800000012", "13800000014",
    }  # fmt: skip
    assert "登记流出 3 人" in report.summary() and "未登记" in report.summary()

    # Again: nothing new, nothing changed (the place the branch has since completed stays).
    await MobileMember.filter(member__phone="13800000012").update(place="浙江杭州")
    again = await run(path, now=NOW)
    assert again.errors == [] and (again.created, again.updated, again.mobile_created) == (0, 0, 0)
    assert (await MobileMember.get(member__phone="13800000012")).place == "浙江杭州"
    assert "nothing changed" in again.summary()


async def test_a_member_already_in_the_roll_becomes_mobile_and_a_transferred_one_does_not(
    db: None, tmp_path: Path
) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    rows = [
        ["姓名", "手机号", "所在组织", "流动党员", "状态"],
        ["张三", "13800000001", BRANCH, "是", "在册"],
        ["李四", "13800000002", BRANCH, "是", "转出"],  # not ours to keep in touch with
    ]
    report = await run(write_csv(tmp_path / "m2.csv", rows), now=NOW)
    assert report.errors == [] and report.updated == 2 and report.mobile_created == 1
    assert [r[0] for r in await _mobile()] == ["13800000001"]


async def test_bad_mobile_cells_are_reported_and_nothing_written(db: None, tmp_path: Path) -> None:
    good = ["好人", "13900000000", BRANCH, "是", "江苏苏州", "务工", "2023-08-01"]

    def bad(n: int, **changes: str) -> list[str]:
        row = good[:]
        row[1] = f"139{n:08d}"
        for index, value in changes.items():
            row[int(index[1:])] = value
        return row

    rows = [
        MOBILE_HEADER,
        good,  # 2
        bad(3, c5="旅游"),
        bad(4, c6="2024-05-02"),  # left tomorrow
        bad(5, c6="2023年13月"),
        bad(6, c4="苏" * 101),
        bad(7, c3="否"),  # details for a member not marked 流动党员
        bad(8, c3="", c4="", c5="其他", c6=""),
        bad(9, c6="1949-12-31"),
    ]
    report = await run(write_csv(tmp_path / "bad.csv", rows), now=NOW)

    assert where(report) == {
        (3, "流动原因"),
        (4, "外出时间"),
        (5, "外出时间"),
        (6, "流出去向"),
        (7, "流出去向"),
        (8, "流动原因"),
        (9, "外出时间"),
    }
    assert "外出务工经商" in next(e.reason for e in report.errors if e.line == 3)
    assert await Member.all().count() == 0 and await MobileMember.all().count() == 0


async def test_a_roll_saying_no_does_not_end_the_branchs_record(db: None, tmp_path: Path) -> None:
    await run(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    zhang = await Member.get(phone="13800000001")
    await mark_out(
        None, zhang, Outgoing("江苏苏州", FlowReason.WORK), TODAY, NOW
    )  # the branch recorded it after the last roll
    roll = [["姓名", "手机号", "所在组织", "流动党员"], ["张三", "13800000001", BRANCH, "否"]]

    report = await run(write_csv(tmp_path / "m2.csv", roll), now=NOW)

    assert report.errors == [] and (report.updated, report.unchanged) == (0, 1)
    assert (await Member.get(id=zhang.id)).is_mobile
    assert (await MobileMember.get(member_id=zhang.id)).status == "active"
    assert report.mobile_kept == ["张三（第2行）"] and "结束流动" in report.summary()


async def test_an_incoming_member_is_not_marked_out(db: None, tmp_path: Path) -> None:
    branch = await ensure_path(BRANCH)
    report = incoming.Incoming(
        "陈流入", "13900000011", "安徽省XX村党支部", "", "3栋", FlowReason.WORK
    )
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, branch, report, TODAY, NOW
    )
    await incoming.decide_in(None, record.id, True, "", NOW)
    roll = [["姓名", "手机号", "所在组织", "流动党员"], ["陈流入", "13900000011", BRANCH, "是"]]

    found = await run(write_csv(tmp_path / "m.csv", roll), now=NOW)

    # The whole row is refused: a 流入 member's phone is never the roll's (test_mobility_roster).
    assert where(found) == {(2, "手机号")} and "流入党员" in found.errors[0].reason
    assert await MobileMember.filter(direction="out").count() == 0
    assert not (await Member.get(phone="13900000011")).is_mobile
