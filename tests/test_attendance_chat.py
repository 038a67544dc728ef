"""Attendance: a rotating code on screen, members sign in or ask for leave; absence, 补录, 纪要."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.clock import FrozenClock
from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
)
from server.models.study import PointsEntry
from tests.conftest import make_member
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, bind, branch_with_people, say
from tests.wechat_peer import WeChatPeer, openid_for

# The branch's general meeting: tomorrow (Thursday 26 November) 15:00–16:30 Shanghai time.
STARTS = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


async def scheduled(
    aiohttp_client: Any, make_settings: Any, kind: str = "党员大会"
) -> tuple[TestClient, WeChatPeer, FrozenClock, Meeting]:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    await branch_with_people()
    await say(client, peer, SECRETARY, f"安排 {kind} 明天下午3点 学习二十大精神 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    return client, peer, clock, await Meeting.get()


def code_in(reply: str) -> str:
    found = re.search(r"签到码：(\d{6})", reply)
    assert found, reply
    return found.group(1)


async def test_members_sign_in_with_the_code_once_each(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    too_early = await say(client, peer, SECRETARY, f"签到码 {meeting.id}")
    assert "开始前 30 分钟开放" in too_early
    clock.set(STARTS)
    clock.advance(minutes=-10)  # 14:50, ten minutes before the start
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    done = await say(client, peer, MEMBER, f"签到 {code}")
    assert "签到成功" in done and "积分 +3" in done
    assert "已经签到过了（14:50）" in await say(client, peer, MEMBER, f"签到 {code}")
    row = await MeetingAttendee.get(meeting=meeting, member__name="王芳")
    assert row.attendance == Attendance.PRESENT
    assert (
        await PointsEntry.filter(member_id=row.member_id, deed=f"meeting:{meeting.id}").count() == 1
    )  # type: ignore[attr-defined]


async def test_the_code_turns_over_and_a_stale_one_is_refused(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    first = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    clock.advance(minutes=5)
    second = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    assert second != first
    # The code read just before it turned over still works...
    assert "签到成功" in await say(client, peer, MEMBER, f"签到 {first}")
    # ...but not ten minutes later.
    clock.advance(minutes=6)
    latecomer = openid_for("latecomer")
    await bind(await make_member("孙九", "13700000099"), latecomer)
    reply = await say(client, peer, latecomer, f"签到 {first}")
    assert "签到码不对或已过期" in reply


async def test_a_wrong_code_is_explained_and_guessing_is_stopped(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    real = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    # The domain says what is wrong; chat adds how to send it again (the API adds its status).
    assert await say(client, peer, MEMBER, f"签到 {wrong}") == (
        "签到码不对或已过期。请看现场最新的签到码再发一次：签到 六位数字。"
    )
    for _ in range(4):
        assert "签到码不对或已过期" in await say(client, peer, MEMBER, f"签到 {wrong}")
    assert "错误次数太多" in await say(client, peer, MEMBER, f"签到 {wrong}")
    assert "六位数字" in await say(client, peer, MEMBER, "签到 12ab")


async def test_someone_not_expected_is_told_so(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings, "支委会")
    clock.set(STARTS)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    assert "不在编号" in await say(client, peer, MEMBER, f"签到 {code}")


async def test_leave_before_the_start_with_a_reason(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    assert "请写明请假原因" in await say(client, peer, MEMBER, f"请假 {meeting.id}")
    asked = await say(client, peer, MEMBER, f"请假 {meeting.id} 在外地出差，周五回来")
    assert "已提交请假申请" in asked and "待批" in asked
    row = await MeetingAttendee.get(meeting=meeting, member__name="王芳")
    assert (row.attendance, row.reason) == (Attendance.REQUESTED, "在外地出差，周五回来")
    clock.set(STARTS)
    assert "会议已经开始" in await say(client, peer, MEMBER, f"请假 {meeting.id} 堵车")


async def test_after_the_end_the_rest_are_absent_and_quorum_is_checked(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    await say(client, peer, MEMBER, f"请假 {meeting.id} 在外地出差")
    await say(client, peer, SECRETARY, f"准假 {meeting.id} 王芳")
    clock.set(STARTS)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    await say(client, peer, SECRETARY, f"签到 {code}")
    clock.advance(hours=2)  # after 16:30
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert "应到 5 人：实到 1，请假 1，缺席 3" in detail
    assert "不足法定人数" in detail
    assert "实到 1 人：李书记" in detail and "请假 1 人：王芳（在外地出差）" in detail
    assert "缺席 3 人：周委员、吴组长、郑七" in detail
    await meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    assert "已经结束" in await say(client, peer, SECRETARY, f"签到码 {meeting.id}")


async def test_a_correction_needs_a_reason_and_is_kept(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    clock.advance(hours=2)
    await say(client, peer, SECRETARY, f"会议 {meeting.id}")  # closes it: everyone absent
    assert "请写明补录原因" in await say(client, peer, SECRETARY, f"补录 {meeting.id} 郑七 出席")
    assert "没有「赵大」" in await say(client, peer, SECRETARY, f"补录 {meeting.id} 赵大 出席 来了")
    done = await say(client, peer, SECRETARY, f"补录 {meeting.id} 郑七 出席 手机没电未能签到")
    assert "郑七 记为出席" in done
    row = await MeetingAttendee.get(meeting=meeting, member__name="郑七")
    assert row.attendance == Attendance.PRESENT
    change = await MeetingChange.get(meeting=meeting, action="corrected")
    assert change.detail["from"] == "absent" and change.detail["to"] == "present"
    assert "改动这个会议" in await say(client, peer, MEMBER, f"补录 {meeting.id} 王芳 出席 我来了")


async def test_minutes_are_the_secretarys_own_words(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, meeting = await scheduled(aiohttp_client, make_settings)
    text = "会议传达学习了二十大精神；决议：下月开展主题党日，走访辖区困难群众。"
    assert "已记下" in await say(client, peer, SECRETARY, f"纪要 {meeting.id} {text}")
    await meeting.refresh_from_db()
    assert meeting.minutes == text
    assert f"纪要：{text}" in await say(client, peer, SECRETARY, f"会议 {meeting.id}")


async def test_my_record_counts_this_years_meetings(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    await say(client, peer, MEMBER, f"签到 {code}")
    mine = await say(client, peer, MEMBER, "我的")
    assert "今年会议：出席 0 次" in mine  # not over yet
    clock.advance(hours=2)
    assert "今年会议：出席 1 次，请假 0 次，缺席 0 次" in await say(client, peer, MEMBER, "我的")
    # The secretary signed in nowhere and nobody has looked at the meeting since: still absent.
    assert "缺席 1 次" in await say(client, peer, SECRETARY, "我的")


async def test_after_too_many_wrong_codes_even_the_right_one_waits(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    real = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    for _ in range(5):
        await say(client, peer, MEMBER, f"签到 {wrong}")
    assert "错误次数太多" in await say(client, peer, MEMBER, f"签到 {real}")
    assert "六位数字" in await say(client, peer, MEMBER, "签到 ١٢٣٤٥٦")  # not ASCII digits


async def test_no_leave_after_signing_in_and_no_move_once_sign_in_opened(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, meeting = await scheduled(aiohttp_client, make_settings)
    clock.set(STARTS)
    clock.advance(minutes=-20)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    await say(client, peer, MEMBER, f"签到 {code}")
    assert "已经签到了" in await say(client, peer, MEMBER, f"请假 {meeting.id} 有事")
    assert "不能改期" in await say(client, peer, SECRETARY, f"改期 {meeting.id} 12月3日下午3点")


async def test_a_full_width_meeting_number_does_not_end_up_in_the_reason(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, meeting = await scheduled(aiohttp_client, make_settings)
    number = chr(ord("0") + meeting.id + 0xFEE0) if meeting.id < 10 else str(meeting.id)
    await say(client, peer, MEMBER, f"请假　{number}　在外地出差")
    row = await MeetingAttendee.get(meeting=meeting, member__name="王芳")
    assert row.reason == "在外地出差"


async def test_the_recorder_keeps_the_minutes(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, _, meeting = await scheduled(aiohttp_client, make_settings)
    assert "改动这个会议" in await say(client, peer, MEMBER, f"纪要 {meeting.id} 我来记")
    assert "没有「赵大」" in await say(client, peer, SECRETARY, f"记录人 {meeting.id} 赵大")
    assert "已指定王芳" in await say(client, peer, SECRETARY, f"记录人 {meeting.id} 王芳")
    assert "已记下" in await say(client, peer, MEMBER, f"纪要 {meeting.id} 会议学习了党章。")
    await meeting.refresh_from_db()
    assert meeting.minutes == "会议学习了党章。" and meeting.recorder_id is not None  # type: ignore[attr-defined]
