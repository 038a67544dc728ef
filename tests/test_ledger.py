"""The 三会一课 台账: a branch secretary's year, as the inspector reads it in the printed workbook.

李书记 runs 第一社区第一党支部 (two 党小组) through 2026: a 支部党员大会 with leave granted, a leave
request never decided, a 补录, a guest and minutes; a 支委会 moved with a reason, one cancelled;
each group's 党小组会; a 党课 with its speaker; a 主题党日 held and one still to come; and a
组织生活会.  The ledger drawn up on 25 November is read back with openpyxl, cell by cell.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from server.cache import MemoryCache
from server.db import close_database, open_database
from server.models.meetings import Attendance, Meeting, MeetingChange
from server.models.people import Member, Organisation, Role
from server.services.meetings import attendance, scheduling
from server.services.meetings.ledger import Ledger, ledger_at, ledger_xlsx
from server.services.study.points import PointsRules
from server.services.tallies.report import tally_report
from tests.conftest import make_branch, make_group, make_member, migrated

ZONE = ZoneInfo("Asia/Shanghai")
BRANCH = "示范街道党工委/第一社区党总支/第一社区第一党支部"
NEIGHBOUR = "示范街道党工委/第一社区党总支/第一社区第二党支部"
ROTATION = 300
THE_FIVE = ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


DRAWN_UP = at(11, 25, 10)  # when the secretary downloads the ledger


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "ledger.sqlite3"))
    yield
    await close_database()


@dataclass
class Branch:
    org: Organisation
    people: dict[str, Member]
    cache: MemoryCache

    async def schedule(
        self, who: str, kind: str, starts: datetime, topic: str, place: str | None = None,
        *, speaker: str | None = None, booked: datetime | None = None,
    ) -> Meeting:  # fmt: skip
        now = booked or starts - timedelta(days=5)
        draft = await scheduling.prepare(
            self.people[who], kind, starts, topic, place, now, 90, speaker=speaker
        )
        return await scheduling.schedule(self.people[who], draft, now)

    async def sign_in(self, meeting: Meeting, *who: str) -> None:
        now = meeting.starts_at.astimezone(ZONE) + timedelta(minutes=5)
        chair = await meeting.chair  # type: ignore[attr-defined]
        code = (await attendance.signin_code(chair, meeting.id, now, ROTATION)).code
        for name in who:
            await attendance.sign_in(
                self.people[name], code, now, now.date(), ROTATION, self.cache, PointsRules()
            )

    async def leave(self, meeting: Meeting, who: str, reason: str, *, granted: bool) -> None:
        """请假 a day before, and then 准假 when the secretary grants it (a request stays 待批)."""
        member, now = self.people[who], meeting.starts_at - timedelta(days=1)
        await attendance.ask_leave(member, meeting.id, reason, now)
        if granted:
            await attendance.decide_leave(
                self.people["secretary"], meeting.id, member.name, None, True, "", now
            )


async def a_branch() -> Branch:
    branch = await make_branch(BRANCH)
    first, second = (
        await make_group(branch, "第一网格党小组"),
        await make_group(branch, "第二网格党小组"),
    )
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member("周委员", "13700000002", role=Role.COMMITTEE_MEMBER,
                                       org=branch),
        "wu": await make_member("吴组长", "13700000003", role=Role.GROUP_LEADER, org=branch,
                                group=first),
        "wang": await make_member("王芳", "13700000004", org=branch, group=first),
        "sun": await make_member("孙九", "13700000005", role=Role.GROUP_LEADER, org=branch,
                                 group=second),
        "zheng": await make_member("郑七", "13700000006", org=branch, group=second),
        "qian": await make_member("钱十", "13700000007", org=branch),
    }  # fmt: skip
    await make_member("赵六", "13700000008", org=await make_branch(NEIGHBOUR))
    return Branch(branch, people, MemoryCache())


async def a_year(b: Branch) -> dict[str, Meeting]:
    """李书记's 2026, up to 25 November."""
    sec = b.people["secretary"]
    general = await b.schedule("secretary", "支部党员大会", at(1, 10, 15), "学习全会精神",
                               "党群服务中心")  # fmt: skip
    await scheduling.invite(sec, general.id, "赵六", None, at(1, 6, 9))
    await attendance.appoint_recorder(sec, general.id, "周委员")
    await b.leave(general, "wang", "外出学习", granted=True)
    await b.leave(general, "zheng", "家中有事", granted=False)  # never decided
    await b.sign_in(general, "secretary", "committee", "wu")
    sun = await attendance.attendee_named(sec, general.id, "孙九")
    await attendance.correct(
        sec, general.id, sun, Attendance.PRESENT, "手机没电未能签到", at(1, 10, 17)
    )
    await attendance.record_minutes(sec, general.id, "传达学习全会精神。决议：下月走访困难群众。")

    moved = await b.schedule("secretary", "支委会", at(2, 3, 9), "研究发展党员")
    await scheduling.reschedule(sec, moved.id, at(2, 4, 14), at(2, 1, 10), place="二楼会议室",
                          reason="书记参加街道会议")  # fmt: skip
    await b.sign_in(await Meeting.get(id=moved.id), "secretary", "committee")
    off = await b.schedule("secretary", "支委会", at(3, 3, 9), "研究党费收缴")
    await scheduling.cancel(sec, off.id, "与街道会议冲突", at(3, 1, 9))
    nobody = await b.schedule("secretary", "支委会", at(3, 10, 9), "研究组织生活会安排")

    first_group = await b.schedule("wu", "党小组会", at(4, 8, 19), "学习党章")
    await b.sign_in(first_group, "wu", "wang")
    second_group = await b.schedule("sun", "党小组会", at(4, 9, 19), "讨论网格服务")
    await b.sign_in(second_group, "sun")
    again = await b.schedule("wu", "党小组会", at(5, 6, 19), "学习准则条例")
    await b.sign_in(again, "wu", "wang")

    lecture = await b.schedule("secretary", "党课", at(5, 20, 15), "践行初心使命", "党群服务中心",
                               speaker="张明（街道党工委书记）")  # fmt: skip
    await b.sign_in(lecture, "secretary", "committee", "wu", "wang", "sun", "zheng", "qian")
    theme = await b.schedule("secretary", "主题党日", at(7, 1, 9), "重温入党誓词")
    await b.sign_in(theme, "secretary", "wang")
    review = await b.schedule("secretary", "组织生活会", at(11, 20, 14), "年度组织生活会")
    await b.sign_in(review, "secretary", "committee", "wu", "wang", "sun", "zheng", "qian")
    coming = await b.schedule(
        "secretary", "主题党日", at(12, 1, 9), "走访慰问", booked=at(11, 24, 9)
    )
    return {"general": general, "moved": moved, "off": off, "nobody": nobody,
            "coming": coming}  # fmt: skip


def table(sheet: Worksheet) -> list[dict[str, Any]]:
    """The rows under a two-row header (row 3: 实到 over 人数 and 人员; row 4 the sub-headers),
    as dicts by the column's name: 实到 (the count), 实到人员, 请假人员及原因, …"""
    tops: list[str] = []
    for cell in sheet[3]:
        tops.append(cell.value if cell.value is not None else tops[-1])
    names = [
        top if sub in (None, "人数") else top + sub
        for top, sub in zip(tops, [c.value for c in sheet[4]], strict=True)
    ]
    return [
        dict(zip(names, row, strict=True)) for row in sheet.iter_rows(min_row=5, values_only=True)
    ]


def book_of(ledger: Ledger) -> Workbook:
    return load_workbook(io.BytesIO(ledger.data))


async def test_the_secretarys_year_reads_as_the_inspector_expects(db: None) -> None:
    b = await a_branch()
    await a_year(b)
    ledger = await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP)
    book = book_of(ledger)
    assert book.sheetnames == [*THE_FIVE, "组织生活会", "变更记录"]
    assert ledger.counts == {"支部党员大会": 1, "支委会": 2, "党小组会": 3, "党课": 1,
                             "主题党日": 1, "组织生活会": 1}  # fmt: skip
    assert ledger.cancelled["支委会"] == 1 and ledger.scheduled["主题党日"] == 1
    assert ledger.readable == "台账-第一社区第一党支部-2026.xlsx"

    sheet = book["支部党员大会"]
    assert sheet["A1"].value == "第一社区第一党支部 2026年支部党员大会台账"
    assert "A1:Q1" in {str(r) for r in sheet.merged_cells.ranges}  # the title across the table
    assert "所属：示范街道党工委 / 第一社区党总支" in sheet["A2"].value
    [general] = table(sheet)
    assert general["次序"] == "第1次"
    assert general["日期"] == datetime(2026, 1, 10) and sheet["B5"].is_date
    assert sheet["B5"].number_format == 'yyyy"年"m"月"d"日"'
    assert general["时间"] == "15:00–16:30" and general["地点"] == "党群服务中心"
    assert (general["主持人"], general["记录人"]) == ("李书记", "周委员")
    assert general["议题"] == "学习全会精神"
    assert (general["应到"], general["实到"], general["请假"], general["缺席"]) == (7, 4, 1, 2)
    assert general["实到人员"] == "李书记、周委员、吴组长、孙九（补录）"
    assert general["请假人员及原因"] == "王芳（外出学习）"
    assert general["缺席人员及原因"] == "郑七（请假未获批准，所请事由：家中有事）；钱十"
    assert general["列席人员"] == "赵六"  # a guest: listed, not one of the 7 expected
    assert general["纪要及决议"] == "传达学习全会精神。决议：下月走访困难群众。"
    assert general["状态"] == "已召开"

    committee = table(book["支委会"])
    assert [r["次序"] for r in committee] == ["第1次", "—", "第2次"]  # the cancelled one: no number
    moved, off, nobody = committee
    assert moved["日期"] == datetime(2026, 2, 4) and moved["时间"] == "14:00–15:30"
    assert moved["地点"] == "二楼会议室" and moved["缺席人员及原因"] == "无"
    assert off["状态"] == "已取消\n（与街道会议冲突）" and off["应到"] is None
    assert (nobody["应到"], nobody["实到"], nobody["缺席"]) == (2, 0, 2)
    assert nobody["实到人员"] == "无"

    groups = table(book["党小组会"])
    assert [(r["党小组"], r["次序"], r["议题"]) for r in groups] == [
        ("第一网格党小组", "第1次", "学习党章"),
        ("第一网格党小组", "第2次", "学习准则条例"),
        ("第二网格党小组", "第1次", "讨论网格服务"),
    ]
    assert (groups[2]["应到"], groups[2]["实到"], groups[2]["缺席人员及原因"]) == (2, 1, "郑七")
    assert "主讲人" not in groups[0]

    [lecture] = table(book["党课"])
    assert lecture["主讲人"] == "张明（街道党工委书记）" and lecture["实到"] == 7
    held, coming = table(book["主题党日"])
    assert held["状态"] == "已召开" and coming["状态"] == "已安排"
    assert coming["次序"] == "第2次" and coming["应到"] is None and coming["实到"] is None
    assert not coming["缺席人员及原因"] and not coming["实到人员"]  # nobody is absent yet


async def test_the_change_log_says_what_changed_why_who_and_when(db: None) -> None:
    b = await a_branch()
    year = await a_year(b)
    book = book_of(await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP))
    sheet = book["变更记录"]
    assert sheet["A1"].value == "第一社区第一党支部 2026年三会一课变更记录"
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[0] == ("会议", "变更时间", "变更事项", "变更内容", "原因", "操作人")
    log = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    by_what = {(r["会议"].split("\n")[0], r["变更事项"]): r for r in log}

    moved = by_what[("支委会 第1次（2月4日）", "改期")]
    assert moved["变更内容"] == (
        "原定 2月3日 09:00–10:30（地点未定） → 改为 2月4日 14:00–15:30（地点：二楼会议室）"
    )
    assert moved["原因"] == "书记参加街道会议" and moved["操作人"] == "李书记"
    assert isinstance(moved["变更时间"], datetime)  # a real date-time, for the inspector
    off = by_what[("支委会 已取消（3月3日）", "取消会议")]
    assert off["原因"] == "与街道会议冲突" and off["操作人"] == "李书记"
    general = "支部党员大会 第1次（1月10日）"
    assert by_what[(general, "补录")]["变更内容"] == "孙九：未签到 → 出席"
    assert by_what[(general, "补录")]["原因"] == "手机没电未能签到"
    assert by_what[(general, "准假")]["变更内容"] == "王芳请假，准假"
    assert by_what[(general, "准假")]["原因"] == "外出学习"
    assert by_what[(general, "增加列席")]["变更内容"] == "赵六列席"
    assert by_what[(general, "指定记录人")]["变更内容"] == "周委员任记录人"
    assert by_what[(general, "填写纪要")]["变更内容"] == "纪要 21 字"
    # In the order of the sheets: the 支部党员大会's changes, then the 支委会's.
    assert [r["会议"].split()[0] for r in log] == ["支部党员大会"] * 5 + ["支委会"] * 2
    # Booking a meeting is no change: the row's date says when it is, a move where it was first.
    assert "安排会议" not in {r["变更事项"] for r in log}
    assert year["coming"].id and not any(r["会议"].startswith("主题党日 第2次") for r in log)


async def test_a_leave_refused_and_a_change_not_known_yet_are_still_readable(db: None) -> None:
    b = await a_branch()
    meeting = await b.schedule("secretary", "支委会", at(6, 2, 9), "研究七一活动")
    committee = b.people["committee"]
    await b.leave(meeting, "committee", "出差", granted=False)
    await attendance.decide_leave(
        b.people["secretary"], meeting.id, "周委员", None, False, "会议研究事项需本人参加",
        meeting.starts_at - timedelta(hours=2),
    )  # fmt: skip
    unknown = {"member": committee.id, "to": "absent", "count": 3}  # a kind of change to come
    await MeetingChange.create(meeting=meeting, by=None, action="notice_sent", detail=unknown)
    book = book_of(await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP))
    [row] = table(book["支委会"])
    assert row["缺席人员及原因"] == "李书记；周委员（请假未获批准，所请事由：出差）"
    log = {r[2]: r for r in book["变更记录"].iter_rows(min_row=4, values_only=True)}
    assert log["不准假"][3] == "周委员请假，不准假" and log["不准假"][4] == "会议研究事项需本人参加"
    assert log["其他变更"][3] == "党员：周委员；改为：缺席；3" and log["其他变更"][5] == "—"


async def test_every_sheet_prints_on_a4_landscape_with_its_header_on_each_page(db: None) -> None:
    b = await a_branch()
    await a_year(b)
    book = book_of(await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP))
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9)  # A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        header = "$3:$3" if sheet.title == "变更记录" else "$3:$4"  # one header row, or two
        assert sheet.print_title_rows == header, sheet.title
        assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"
        assert sheet.column_dimensions["A"].width >= 7
        assert sheet["A5"].border.left.style == "thin"  # the grid printed as borders
    general = book["支部党员大会"]
    assert general["A5"].alignment.wrap_text
    assert general.row_dimensions[5].height >= 18  # tall enough for its wrapped names


async def test_an_empty_year_still_has_the_five_sheets_saying_so(db: None) -> None:
    b = await a_branch()
    await a_year(b)
    ledger = await ledger_xlsx(b.org, 2025, ZONE, DRAWN_UP)
    book = book_of(ledger)
    assert book.sheetnames == [*THE_FIVE, "变更记录"]
    assert ledger.counts == dict.fromkeys(THE_FIVE, 0)
    for kind in THE_FIVE:
        assert book[kind]["A5"].value == "本年度未召开"
        assert "本年度召开 0 次" in book[kind]["A2"].value
    assert book["变更记录"]["A4"].value == "本年度无变更记录"


async def test_the_ledger_and_the_tallies_agree_on_every_figure(db: None) -> None:
    b = await a_branch()
    await a_year(b)
    book = book_of(await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP))
    rows = [r for kind in book.sheetnames[:-1] for r in table(book[kind])]
    held = [r for r in rows if r["状态"] == "已召开"]
    report = await tally_report(
        b.org, date(2026, 1, 1), date(2026, 12, 31), by=None, today=DRAWN_UP.date(), zone=ZONE,
        now=DRAWN_UP, use_snapshots=False,
    )  # fmt: skip
    t = report.total
    assert sum(r["应到"] for r in held) == t.expected
    assert sum(r["实到"] for r in held) == t.present
    assert sum(r["请假"] for r in held) == t.leave
    assert sum(r["缺席"] for r in held) == t.absent
    assert len(held) == t.meetings_held
    assert sum(r["状态"] == "已安排" for r in rows) == t.meetings_scheduled


async def test_long_minutes_are_cut_in_the_row_and_printed_whole_on_their_own_sheet(
    db: None,
) -> None:
    b = await a_branch()
    meeting = await b.schedule("secretary", "支委会", at(6, 2, 9), "研究七一活动")
    text = "\n".join(f"第{n}项：" + "研究部署七一系列活动的具体安排和分工。" * 5 for n in range(20))
    await attendance.record_minutes(b.people["secretary"], meeting.id, text)
    book = book_of(await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP))
    [row] = table(book["支委会"])
    assert row["纪要及决议"].endswith("……（全文见“纪要全文”表）")
    assert len(row["纪要及决议"]) < 450
    assert book.sheetnames[-1] == "纪要全文"
    pieces = [r[1] for r in book["纪要全文"].iter_rows(min_row=4, values_only=True)]
    assert "\n".join(pieces) == text and all(len(p) <= 600 for p in pieces)


# --- hostile input ----------------------------------------------------------------------------

HOSTILE_TOPIC = '=HYPERLINK("http://evil","x")'


async def test_formula_looking_text_is_written_as_text_everywhere(db: None) -> None:
    branch = await make_branch("示范街道党工委/第一社区党总支/=1+1党支部")
    sec = await make_member("@李书记", "13700000011", role=Role.SECRETARY, org=branch)
    await make_member("-王芳", "13700000012", org=branch)
    b = Branch(branch, {"secretary": sec}, MemoryCache())
    meeting = await b.schedule("secretary", "支委会", at(6, 2, 9), HOSTILE_TOPIC, "=1+1")
    await scheduling.cancel(sec, meeting.id, "+cmd|' /C calc'!A0", at(6, 1, 9))
    other = await b.schedule("secretary", "党课", at(6, 3, 9), "学习\x07材料 #N/A", "\t@SUM(A1)",
                             speaker="=1+1")  # fmt: skip
    await attendance.record_minutes(sec, other.id, "=2+2 决议")
    ledger = await ledger_xlsx(branch, 2026, ZONE, DRAWN_UP)
    assert ledger.readable == "台账-=1+1党支部-2026.xlsx"
    book = book_of(ledger)
    sheet = book["支委会"]
    assert sheet["A1"].value == "=1+1党支部 2026年支委会台账" and sheet["A1"].data_type == "s"
    [row] = table(sheet)
    assert row["议题"] == HOSTILE_TOPIC and row["地点"] == "=1+1"
    for cell in (*sheet[5], *book["党课"][5], *book["变更记录"]["A"], *book["变更记录"]["E"]):
        if isinstance(cell.value, str):
            assert cell.data_type == "s", (cell.coordinate, cell.value)
    [lecture] = table(book["党课"])
    assert lecture["议题"] == "学习材料 #N/A"  # the control character dropped, the rest kept
    assert lecture["主讲人"] == "=1+1" and lecture["纪要及决议"] == "=2+2 决议"
    assert book["党课"]["D5"].value == "@SUM(A1)" and book["党课"]["D5"].quotePrefix
    reasons = [c.value for c in book["变更记录"]["E"]]
    assert "+cmd|' /C calc'!A0" in reasons


async def test_a_branch_named_with_path_marks_gets_a_safe_file_name(db: None) -> None:
    branch = await make_branch("示范街道党工委/第一社区党总支/第一支部")
    await Organisation.filter(id=branch.id).update(name="../第一:支部")
    await branch.refresh_from_db()
    ledger = await ledger_xlsx(branch, 2026, ZONE, DRAWN_UP)
    assert ledger.readable == "台账-_第一_支部-2026.xlsx"
    assert ledger.filename == f"ledger-{branch.id}-2026.xlsx"


# --- naming the branch ------------------------------------------------------------------------


async def test_the_branch_is_found_by_id_path_or_unique_name(db: None) -> None:
    b = await a_branch()
    for given in (str(b.org.id), BRANCH, "第一社区第一党支部", f"/{BRANCH}/"):
        found = await ledger_at(given, 2026, ZONE, DRAWN_UP)
        assert found.filename == f"ledger-{b.org.id}-2026.xlsx", given


async def test_a_name_two_organisations_share_or_none_has_is_refused_naming_branch(
    db: None,
) -> None:
    await make_branch("示范街道党工委/东社区党总支/第一党支部")
    await make_branch("示范街道党工委/西社区党总支/第一党支部")
    from server.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as twice:
        await ledger_at("第一党支部", 2026, ZONE, DRAWN_UP)
    assert twice.value.field == "branch"
    assert "东社区党总支/第一党支部" in twice.value.user_message
    assert "西社区党总支/第一党支部" in twice.value.user_message
    for given in ("无此支部", "99999", "", "1; DROP TABLE organisation"):
        with pytest.raises(ValidationFailed) as none:
            await ledger_at(given, 2026, ZONE, DRAWN_UP)
        assert none.value.field == "branch", given
