"""The 流动党员 forms as the upper levels ask for them, and a 流入 member's record for their home
organisation: what each sheet says, that typed text stays text, and that every sheet prints.

A street of two branches on 10 March 2026: 王强 works in Suzhou and is kept in touch with, 刘芳
is searched for, 赵军's 党籍 was stopped by the 支部党员大会, 孙丽 was found in January, and 陈流入
from Anhui takes part in the first branch's life.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from server.channels import Channel
from server.db import close_database, open_database
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    MeetingType,
)
from server.models.mobility import FlowReason, LostCase
from server.models.people import Member, Organisation, Role
from server.models.study import Submission
from server.services.mobility import contacts, counts, incoming, lost, outgoing
from server.services.mobility.counts import COLUMNS
from server.services.mobility.export import incoming_record_workbook, mobility_workbook
from server.services.mobility.outgoing import Outgoing
from server.services.people.access import Scope
from server.services.tallies.workbook import display_width
from tests.conftest import make_branch, make_member, migrated
from tests.mobility_helpers import quorate

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
FIRST = "示范街道党工委/第一社区党总支/第一社区第一党支部"
SECOND = "示范街道党工委/第一社区党总支/第一社区第二党支部"


def moment(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


NOW = moment(TODAY)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "export.sqlite3"))
    yield
    await close_database()


@dataclass
class Street:
    first: Organisation
    second: Organisation
    people: dict[str, Member]
    incoming: Member


async def meeting(branch: Organisation, day: date, kind: str, topic: str, **kw: Any) -> Meeting:
    return await Meeting.create(
        organisation_id=branch.id,
        kind=kind,
        topic=topic,
        starts_at=moment(day, 9).astimezone(UTC),
        ends_at=moment(day, 11).astimezone(UTC),
        **kw,
    )


async def street() -> Street:
    first, second = await make_branch(FIRST), await make_branch(SECOND)
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=first)
    people = {
        "secretary": secretary,
        "keeper": await make_member("周委员", "13800000002", role=Role.COMMITTEE_MEMBER, org=first),
        "wang": await make_member("王强", "13800000003", org=first),
        "liu": await make_member("刘芳", "13800000004", org=first),
        "zhao": await make_member("赵军", "13800000005", org=first),
        "sun": await make_member("孙丽", "13800000006", org=second),
    }
    long_ago = date(2025, 3, 1)
    # 王强: in Suzhou since August, kept in touch, 党费 to March, his yearly report sent.
    await outgoing.mark_out(
        None,
        people["wang"],
        Outgoing(
            "江苏苏州",
            FlowReason.WORK,
            since=date(2025, 8, 1),
            reach="微信同号",
            other_org="苏州工业园区XX公司党支部",
            certificate="LD2025001",
            keeper_id=people["keeper"].id,
        ),
        date(2025, 8, 5),
        moment(date(2025, 8, 5)),
    )
    await contacts.log_contact(None, people["wang"], "电话 了解近况", TODAY, NOW)
    await contacts.record_dues(None, people["wang"], date(2026, 3, 1), TODAY, NOW, Decimal(20))
    await contacts.yearly_report(people["wang"], 2025, "在苏州XX公司党支部参加组织生活", "已交清",
                                 "原支部", NOW)  # fmt: skip
    # 刘芳 and 赵军: out a year, silent; 刘芳 is being searched for, 赵军's 党籍 was stopped.
    for who, place in (("liu", '=HYPERLINK("x")'), ("zhao", "广东深圳")):
        await outgoing.mark_out(
            None, people[who], Outgoing(place, FlowReason.OTHER, since=long_ago),
            long_ago, moment(long_ago),
        )  # fmt: skip
    await lost.search(None, people["liu"], "电话 拨打两次无人接听", date(2026, 2, 1), NOW)
    await lost.search(None, people["liu"], "亲属 联系其母亲，不知去向", date(2026, 2, 8), NOW)
    await lost.search(None, people["zhao"], "原单位 已离职", date(2026, 1, 5), NOW)
    decided = await meeting(first, date(2026, 3, 2), MeetingType.BRANCH_MEETING, "研究失联党员处置")
    await quorate(decided, away=[people["zhao"], people["liu"]])
    await lost.stop(None, people["zhao"], decided.id, "经支部党员大会讨论，停止其党籍",
                    date(2026, 3, 3), NOW, ZONE)  # fmt: skip
    # 孙丽 (the second branch): searched for in December, found in January.
    await lost.search(None, people["sun"], "组织部门 请原单位党组织协助", date(2025, 12, 20), NOW)
    await lost.restore(None, people["sun"], "已取得联系，进行了批评教育", date(2026, 1, 15), NOW)
    # 陈流入 reports in and is confirmed; takes part in two meetings, one of them online.
    report = incoming.Incoming(
        "陈流入", "13900000011", "安徽省XX县XX镇XX村党支部", "0550-1234567", "第一社区3栋",
        FlowReason.WORK, since=date(2026, 1, 2),
    )  # fmt: skip
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, first, report, date(2026, 1, 2), NOW
    )
    record = await incoming.decide_in(None, record.id, True, "", NOW)
    came = await Member.get(id=record.member_id)
    return Street(first, second, people, came)


def table(sheet: Worksheet, header_row: int = 3) -> list[dict[str, Any]]:
    header = [c.value for c in sheet[header_row]]
    rows = []
    for values in sheet.iter_rows(min_row=header_row + 1, values_only=True):
        if values[0] is None or not isinstance(values[0], int):
            continue
        rows.append(dict(zip(header, values, strict=True)))
    return rows


async def book(s: Street) -> Workbook:
    data = await mobility_workbook([s.first, s.second], TODAY, NOW, ZONE, 30)
    return load_workbook(io.BytesIO(data))


async def test_the_counts_form_has_a_row_per_branch_a_total_and_its_definitions(db: None) -> None:
    s = await street()
    sheet = (await book(s))["流动党员情况统计表"]
    assert sheet["A1"].value == "第一社区党总支流动党员情况统计表"
    assert "填报单位：第一社区党总支" in sheet["A2"].value
    assert [c.value for c in sheet[3]] == ["序号", "党支部", *(label for _, label in COLUMNS)]
    rows = table(sheet)
    assert [r["党支部"] for r in rows] == ["第一社区第一党支部", "第一社区第二党支部"]
    first = rows[0]
    # 赵军's 党籍 stopped: the case is the branch's business now, no longer his 流出 record.
    assert (first["流出"], first["流入"], first["本季度已联系"]) == (2, 1, 1)
    assert (first["可能失联"], first["查找中"], first["停止党籍"]) == (0, 1, 1)
    assert rows[1]["流出"] == 0  # 孙丽 was searched for, never recorded as mobile
    total = next(r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0] == "合计")
    assert list(total[2:]) == [2, 1, 1, 0, 1, 1, 0]
    text = "".join(str(c.value or "") for row in sheet.iter_rows() for c in row)
    assert "数据口径" in text and "2026年1月1日以来" in text and "全国党员管理信息系统" in text


async def test_the_rosters_list_what_the_forms_ask_for(db: None) -> None:
    s = await street()
    out = (await book(s))["流出党员名册"]
    assert [c.value for c in out[3]] == [
        "序号", "姓名", "性别", "所在支部", "外出时间", "流向地", "流动原因", "联系方式",
        "流入地党组织", "活动证号", "联系人", "最近联系", "最近组织生活", "党费交至", "年度报告",
    ]  # fmt: skip
    rows = {r["姓名"]: r for r in table(out)}
    assert set(rows) == {"王强", "刘芳"}
    wang = rows["王强"]
    assert wang["外出时间"] == datetime(2025, 8, 1) and wang["流向地"] == "江苏苏州"
    assert (wang["联系方式"], wang["流入地党组织"], wang["活动证号"]) == (
        "微信同号", "苏州工业园区XX公司党支部", "LD2025001",
    )  # fmt: skip
    assert (wang["联系人"], wang["最近联系"], wang["党费交至"]) == ("周委员", datetime(2026, 3, 10),
                                                                   "2026年3月")  # fmt: skip
    assert wang["年度报告"] == (
        "2025年报告。参加组织生活：在苏州XX公司党支部参加组织生活；党费：已交清（在原支部交纳）"
    )
    assert rows["刘芳"]["联系方式"] == "13800000004" and rows["刘芳"]["年度报告"] == "未报告"

    came = table((await book(s))["流入党员名册"])
    assert [(r["姓名"], r["原组织关系所在党组织"], r["联系电话"]) for r in came] == [
        ("陈流入", "安徽省XX县XX镇XX村党支部（0550-1234567）", "13900000011")
    ]
    assert came[0]["参加组织生活情况"] == "2026年尚未参加本支部组织生活"


async def test_the_search_form_shows_each_dated_attempt_the_outcome_and_the_meeting(
    db: None,
) -> None:
    s = await street()
    rows = {r["姓名"]: r for r in table((await book(s))["失联党员查找情况"])}
    # By branch, and in each branch in the order the searches began.
    assert list(rows) == ["赵军", "刘芳", "孙丽"]
    assert rows["刘芳"]["查找经过"] == (
        "2026年2月1日 电话：拨打两次无人接听\n2026年2月8日 亲属：联系其母亲，不知去向"
    )
    assert rows["刘芳"]["处置结果"] == "查找中（2026年2月1日开始）"
    assert rows["赵军"]["支部党员大会"] == "2026年3月2日\n研究失联党员处置"
    assert rows["赵军"]["决定"] == "经支部党员大会讨论，停止其党籍"
    assert "2028年3月3日起" in rows["赵军"]["处置结果"] and "除名" in rows["赵军"]["处置结果"]
    assert rows["孙丽"]["处置结果"] == "2026年1月15日恢复联系：已取得联系，进行了批评教育"
    # A case settled last year is history, not this year's form.
    await LostCase.filter(member_id=s.people["sun"].id).update(restored_on=date(2025, 12, 30))
    names = [r["姓名"] for r in table((await book(s))["失联党员查找情况"])]
    assert names == ["赵军", "刘芳"]


async def test_the_yearly_report_reads_as_said_leaving_out_what_was_not(db: None) -> None:
    s = await street()
    wang = s.people["wang"]
    for where, reads in (
        ("无", "2026年报告。参加组织生活：没参加；党费：已交清"),
        ("江苏苏州", "2026年报告。参加组织生活：没参加；党费：已交清（在江苏苏州交纳）"),
        ("向本支部交纳（微信转账）",
         "2026年报告。参加组织生活：没参加；党费：已交清，向本支部交纳（微信转账）"),
    ):  # fmt: skip
        await contacts.yearly_report(wang, 2026, "没参加", "已交清", where, NOW)
        rows = {r["姓名"]: r for r in table((await book(s))["流出党员名册"])}
        assert rows["王强"]["年度报告"] == reads


async def test_the_lists_follow_the_branches_order(db: None) -> None:
    s = await street()
    # A third branch, named and created after the second: 第三 sorts before 第二 as text.
    third = await make_branch("示范街道党工委/第一社区党总支/第一社区第三党支部")
    sun_li = await make_member("孙立", "13800000031", org=third)
    await outgoing.mark_out(None, sun_li, Outgoing("上海", FlowReason.WORK), TODAY, NOW)
    await outgoing.mark_out(
        None, s.people["sun"], Outgoing("北京", FlowReason.WORK), TODAY, NOW
    )  # the second branch's 孙丽, recorded after 孙立
    branches = await counts.branches_of(Scope(0, None, everything=True))
    assert [b.name for b in branches] == ["第一社区第一党支部", "第一社区第二党支部",
                                          "第一社区第三党支部"]  # fmt: skip
    workbook = load_workbook(io.BytesIO(await mobility_workbook(branches, TODAY, NOW, ZONE, 30)))
    assert [r["党支部"] for r in table(workbook["流动党员情况统计表"])] == [
        b.name for b in branches
    ]
    out = [(r["姓名"], r["所在支部"]) for r in table(workbook["流出党员名册"])]
    assert [branch for _, branch in out] == ["第一社区第一党支部"] * 2 + [
        "第一社区第二党支部",
        "第一社区第三党支部",
    ]
    assert out[2:] == [("孙丽", "第一社区第二党支部"), ("孙立", "第一社区第三党支部")]


# What LibreOffice prints 10-point text in when 宋体 is not installed (Noto Sans CJK) takes
# 1.45 times the size a line; a row lower than its lines of text cuts the last one off.
PRINTED_LINE = 14.5


def _printed_lines(text: str, width: float) -> int:
    """Lines as a printer fits them at the least: a Chinese character two units wide."""
    return sum(max(1, -(-(display_width(line)) // int(width - 1))) for line in text.split("\n"))


async def test_every_row_is_tall_enough_to_print_its_text(db: None) -> None:
    s = await street()
    # 刘芳's search goes on: five long attempts, each too long for one line of the column.
    for n, day in enumerate((12, 14, 16, 18, 20), start=1):
        note = f"第{n}次：" + "走访其在本村居住的父母和亲属，了解其外出务工后的去向和联系方式，未果"
        await lost.search(None, s.people["liu"], f"亲属 {note}", date(2026, 2, day), NOW)
    workbook = await book(s)
    sheet = workbook["失联党员查找情况"]
    row = next(r for r in table(sheet) if r["姓名"] == "刘芳")
    at = next(c.row for c in sheet["B"] if c.value == "刘芳")
    lines = _printed_lines(row["查找经过"], 40)
    assert lines >= 15  # seven attempts, the five long ones over two lines or more
    assert (sheet.row_dimensions[at].height or 0) >= lines * PRINTED_LINE
    record = load_workbook(io.BytesIO(await incoming_record_workbook(s.incoming, 2026, ZONE, NOW)))
    for each in (*workbook.worksheets, *record.worksheets):
        for cells in each.iter_rows():
            for cell in cells:
                if not isinstance(cell.value, str) or "\n" not in cell.value:
                    continue
                height = each.row_dimensions[cell.row].height or 0
                assert height >= (cell.value.count("\n") + 1) * PRINTED_LINE, (each.title, cell)


async def test_typed_text_stays_text_and_every_sheet_prints(db: None) -> None:
    s = await street()
    workbook = await book(s)
    out = workbook["流出党员名册"]
    cell = next(c for row in out.iter_rows() for c in row if c.value == '=HYPERLINK("x")')
    assert cell.data_type == "s"  # written as a string, never as a formula
    for sheet in workbook.worksheets:
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
        assert sheet.print_title_rows == "$3:$3", sheet.title  # the header on every page
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    orientation = {s.title: s.page_setup.orientation for s in workbook.worksheets}
    assert orientation == {
        "流动党员情况统计表": "portrait",
        "流出党员名册": "landscape",
        "流入党员名册": "landscape",
        "失联党员查找情况": "landscape",
    }


async def test_a_street_with_nobody_mobile_still_has_its_forms(db: None) -> None:
    branch = await make_branch(FIRST)
    workbook = load_workbook(io.BytesIO(await mobility_workbook([branch], TODAY, NOW, ZONE, 30)))
    assert workbook["流出党员名册"]["A4"].value == "没有在册的流出党员"
    assert workbook["失联党员查找情况"]["A4"].value == "没有失联党员查找记录"
    assert workbook["流动党员情况统计表"]["A1"].value == "第一社区第一党支部流动党员情况统计表"


# --- a 流入 member's record, for their home organisation ----------------------------------------


async def test_a_incoming_members_year_as_their_home_organisation_reads_it(db: None) -> None:
    s = await street()
    came = s.incoming
    ways = [
        (date(2026, 1, 20), MeetingType.THEME_DAY, "学习党章", Attendance.PRESENT, None),
        (date(2026, 2, 10), MeetingType.PARTY_LECTURE, "党的二十届四中全会精神",
         Attendance.PRESENT, "online"),
        (date(2026, 2, 25), MeetingType.GROUP_STUDY, "条例学习", Attendance.PRESENT, "writing"),
        (date(2026, 3, 5), MeetingType.THEME_DAY, "植树", Attendance.LEAVE, None),
    ]  # fmt: skip
    held: list[Meeting] = []
    for day, kind, topic, attendance, mode in ways:
        m = await meeting(s.first, day, kind, topic, status=MeetingStatus.HELD)
        held.append(m)
        await MeetingAttendee.create(
            meeting_id=m.id, member_id=came.id, organisation_id=s.first.id,
            role=AttendeeRole.INCOMING, attendance=attendance, mode=mode,
        )  # fmt: skip
    later = await meeting(s.first, TODAY + timedelta(days=3), MeetingType.THEME_DAY, "还没开")
    await MeetingAttendee.create(
        meeting_id=later.id, member_id=came.id, organisation_id=s.first.id,
        role=AttendeeRole.INCOMING,
    )  # fmt: skip
    await Submission.create(
        member_id=came.id, organisation_id=s.first.id, day=date(2026, 2, 25),
        content="学习条例，体会到党员要主动与组织保持联系。", length=20, digest="d1",
        meeting_id=held[2].id,
    )  # fmt: skip

    data = await incoming_record_workbook(came, 2026, ZONE, NOW)
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["参加组织生活情况", "学习心得", "年度报告"]
    life = workbook["参加组织生活情况"]
    assert life["A1"].value == "流入党员陈流入参加组织生活情况（2026年）"
    info = {r[0]: r[2] for r in life.iter_rows(min_row=3, max_row=11, values_only=True)}
    assert info["原组织关系所在党组织"] == "安徽省XX县XX镇XX村党支部"
    assert info["流入时间"] == "2026年1月2日" and info["流入报到支部"] == "第一社区第一党支部"
    assert (
        info["2026年参加组织生活"] == "本支部召开、通知其参加的会议 4 次，参加 3 次；提交心得 1 篇"
    )
    rows = table(life, header_row=13)
    assert [(r["议题"], r["参加情况"]) for r in rows] == [
        ("学习党章", "到会"),
        ("党的二十届四中全会精神", "线上参加"),
        ("条例学习", "以心得参加"),
        ("植树", "请假"),
    ]  # the meeting still to come is not there
    assert life.print_title_rows == "$13:$13"
    [wrote] = table(workbook["学习心得"])
    assert wrote["关于"] == "会议：条例学习" and wrote["心得内容"].startswith("学习条例")
    assert workbook["年度报告"]["A4"].value.startswith("2026年没有年度报告")
