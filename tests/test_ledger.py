"""The ledger (台账): a branch's year of meetings in the customary layout, read back from XLSX."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from server.meetings import Meeting
from server.services.ledger import COLUMNS, ledger_at
from tests.test_attendance_chat import STARTS, code_in
from tests.test_checkin_chat import frozen_app
from tests.test_cli_startup import run_cli
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, branch_with_people, say

ZONE = ZoneInfo("Asia/Shanghai")


async def test_the_years_ledger_has_a_row_per_meeting_with_each_absentee_and_reason(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    await say(client, peer, SECRETARY, "安排 支委会 12月2日上午9点 研究发展党员")
    await say(client, peer, SECRETARY, "确认")
    general, committee = await Meeting.all().order_by("id")
    await say(client, peer, SECRETARY, f"取消会议 {committee.id} 书记出差")
    await say(client, peer, MEMBER, f"请假 {general.id} 在外地出差")
    await say(client, peer, SECRETARY, f"准假 {general.id} 王芳")  # a request until granted
    clock.set(STARTS)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {general.id}"))
    await say(client, peer, SECRETARY, f"签到 {code}")
    await say(
        client, peer, SECRETARY, f"纪要 {general.id} 传达学习二十大精神。决议：下月走访困难群众。"
    )
    clock.advance(hours=2)
    # Nobody looks at the meeting after its end: the ledger records the absences itself.
    branch = (await general.organisation).path

    ledger = await ledger_at(branch, 2026, ZONE, clock.now())
    assert ledger.counts == {"支部党员大会": 1, "支委会": 1}
    book = load_workbook(io.BytesIO(ledger.data))
    sheet = book["支部党员大会"]
    assert [c.value for c in sheet[2]] == list(COLUMNS)
    row = dict(zip(COLUMNS, [c.value for c in sheet[3]], strict=True))
    assert row["日期"] == "2026-11-26" and row["时间"] == "15:00–16:30"
    assert (row["地点"], row["主持人"], row["主题"]) == ("会议室", "李书记", "学习二十大精神")
    assert (row["应到"], row["实到"], row["请假"], row["缺席"]) == (5, 1, 1, 3)
    assert row["请假人员及原因"] == "王芳（在外地出差）"
    assert "郑七" in row["缺席人员及原因"] and row["状态"] == "已召开"
    assert row["纪要及决议"].startswith("传达学习二十大精神")
    cancelled = dict(zip(COLUMNS, [c.value for c in book["支委会"][3]], strict=True))
    assert cancelled["状态"] == "已取消" and "取消" in cancelled["变更记录"]


def test_the_ledger_command_names_a_branch_it_cannot_find(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ledger", "--branch", "无此支部", "--year", "2026")
    assert done.returncode == 1 and "无此支部" in done.stderr + done.stdout
