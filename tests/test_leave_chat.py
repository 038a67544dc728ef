"""请假 is a request: the secretary is told at once, decides in chat, and the member is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.clock import FrozenClock
from server.models.meetings import Attendance, Meeting, MeetingAttendee, MeetingChange
from server.models.people import Member, Role
from server.wechat.fake_state import FakeWeChat
from tests.conftest import make_member
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import (
    LEADER,
    MEMBER,
    NOW,
    OTHER,
    SECRETARY,
    bind,
    branch_with_people,
    say,
)
from tests.wechat_peer import WeChatPeer, openid_for

STARTS = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # tomorrow 15:00 in Shanghai


async def general_meeting(
    aiohttp_client: Any, make_settings: Any
) -> tuple[TestClient, WeChatPeer, FrozenClock, dict[str, Member], Meeting]:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    people = await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    return client, peer, clock, people, await Meeting.get()


def texts_to(fake: FakeWeChat, openid: str) -> list[str]:
    return [m.text or "" for m in fake.messages_to(openid) if m.kind == "custom"]


async def row_of(meeting: Meeting, name: str) -> MeetingAttendee:
    return await MeetingAttendee.get(meeting=meeting, member__name=name)


async def test_a_member_asks_the_secretary_is_told_and_approves_and_she_hears_of_it(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, people, meeting = await general_meeting(aiohttp_client, make_settings)
    n = meeting.id
    fake.interact(SECRETARY)  # both wrote to the account today: the 48-hour window is open
    fake.interact(MEMBER)
    asked = await say(client, peer, MEMBER, f"请假 {n} 在外地出差，周五回来")
    assert "已提交请假申请" in asked and "待批" in asked and "已通知李书记" in asked
    assert f"撤销请假 {n}" in asked
    (told,) = [t for t in texts_to(fake, SECRETARY) if "请假申请" in t]
    assert f"【请假申请】王芳申请不参加编号 {n} 的支部党员大会（11月26日（周四）15:00）" in told
    assert "原因：在外地出差，周五回来" in told and f"准假 {n} 王芳" in told
    assert (await row_of(meeting, "王芳")).attendance == Attendance.REQUESTED
    # Until decided it is 待批 everywhere.
    detail = await say(client, peer, SECRETARY, f"会议 {n}")
    assert "应到 5 人：实到 0，请假 0，待批 1，未签到 4" in detail
    assert "待批 1 人：王芳（在外地出差，周五回来）" in detail
    assert "未签到 4 人：李书记、周委员、吴组长、郑七" in detail
    assert "您：请假待批（在外地出差，周五回来）" in await say(client, peer, MEMBER, f"会议 {n}")
    todo = await say(client, peer, SECRETARY, "待办")
    assert "待批的请假 1 条" in todo and "王芳：在外地出差，周五回来" in todo
    assert "您的请假申请待批" in await say(client, peer, MEMBER, "待办")
    # The secretary approves in chat; she is told.
    done = await say(client, peer, SECRETARY, f"准假 {n} 王芳")
    assert "已准假：王芳（在外地出差，周五回来）" in done and "已通知本人" in done
    assert any("申请已获批准" in t for t in texts_to(fake, MEMBER))
    row = await row_of(meeting, "王芳")
    assert (row.attendance, row.reason) == (Attendance.LEAVE, "在外地出差，周五回来")
    change = await MeetingChange.get(meeting=meeting, action="leave_granted")
    assert change.by_id == people["secretary"].id  # type: ignore[attr-defined]
    assert change.detail == {"member": people["member"].id, "reason": "在外地出差，周五回来"}
    detail = await say(client, peer, SECRETARY, f"会议 {n}")
    assert "请假 1 人：王芳（在外地出差，周五回来）" in detail and "待批" not in detail
    assert "目前没有待办事项" in await say(client, peer, SECRETARY, "待办")
    # Deciding twice is refused, either way.
    assert "已经批准过了" in await say(client, peer, SECRETARY, f"准假 {n} 王芳")
    assert "已经批准过了" in await say(client, peer, SECRETARY, f"不准假 {n} 王芳 要表决")
    assert await MeetingChange.filter(action__startswith="leave_").count() == 1


async def test_a_secretary_who_cannot_be_reached_finds_the_request_in_todo(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, _, meeting = await general_meeting(aiohttp_client, make_settings)
    asked = await say(client, peer, MEMBER, f"请假 {meeting.id} 孩子生病")
    assert "李书记暂时收不到推送，会在「待办」中看到您的申请" in asked
    assert not [t for t in texts_to(fake, SECRETARY) if "请假申请" in t]
    assert "王芳：孩子生病" in await say(client, peer, SECRETARY, "待办")
    # A second message replaces the reason and tells nobody twice.
    fake.interact(SECRETARY)
    again = await say(client, peer, MEMBER, f"请假 {meeting.id} 孩子发烧，需要陪护")
    assert "已更新请假原因" in again
    assert not [t for t in texts_to(fake, SECRETARY) if "请假申请" in t]
    assert "王芳：孩子发烧，需要陪护" in await say(client, peer, SECRETARY, "待办")


async def test_a_refusal_says_why_and_she_is_expected_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, people, meeting = await general_meeting(aiohttp_client, make_settings)
    n = meeting.id
    await say(client, peer, MEMBER, f"请假 {n} 想休息")
    assert "请写明不准假的原因" in await say(client, peer, SECRETARY, f"不准假 {n} 王芳")
    refused = await say(client, peer, SECRETARY, f"不准假 {n} 王芳 这次要表决，请尽量参加。")
    assert "已不准假：王芳" in refused and "本人回复 会议" in refused  # her window is shut
    row = await row_of(meeting, "王芳")
    assert (row.attendance, row.reason) == (Attendance.UNKNOWN, None)
    change = await MeetingChange.get(meeting=meeting, action="leave_refused")
    assert change.detail == {
        "member": people["member"].id,
        "reason": "这次要表决，请尽量参加。",
        "asked": "想休息",
    }
    assert "您：未签到" in await say(client, peer, MEMBER, f"会议 {n}")
    # A request never decided is an absence once the meeting is over.
    await say(client, peer, MEMBER, f"请假 {n} 确实来不了")
    clock.set(STARTS + timedelta(hours=2))
    mine = await say(client, peer, MEMBER, f"会议 {n}")
    assert "您：缺席（请假未获批准）（确实来不了）" in mine
    detail = await say(client, peer, SECRETARY, f"会议 {n}")
    assert "待批" not in detail and "缺席 5 人：" in detail and "王芳（确实来不了）" in detail
    late = await say(client, peer, SECRETARY, f"准假 {n} 王芳")
    assert "已经结束，不能再审批请假" in late and "补录" in late
    assert not [t for t in texts_to(fake, MEMBER) if "申请" in t]


async def test_a_plain_member_an_unknown_name_and_namesakes(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, peer, _, people, meeting = await general_meeting(aiohttp_client, make_settings)
    n = meeting.id
    await say(client, peer, MEMBER, f"请假 {n} 出差")
    # A plain member may not decide, even her own.
    assert "请假由支部书记" in await say(client, peer, MEMBER, f"准假 {n} 王芳")
    assert (await row_of(meeting, "王芳")).attendance == Attendance.REQUESTED
    assert "没有「赵大」" in await say(client, peer, SECRETARY, f"准假 {n} 赵大")
    assert "郑七没有待批的请假申请" in await say(client, peer, SECRETARY, f"准假 {n} 郑七")
    # The domain's words, then chat's hint for that refusal (MEETING_NOT_FOUND).
    assert await say(client, peer, SECRETARY, "准假 999999 王芳") == (
        "没有找到编号为 999999 的会议。回复 会议 查看近期会议。"
    )
    # A second 王芳 joins the branch and the meeting; she asks too.
    namesake = await make_member("王芳", "13700000077", org=await people["member"].organisation)
    await MeetingAttendee.create(
        meeting=meeting,
        member=namesake,
        organisation_id=namesake.organisation_id,  # type: ignore[attr-defined]
    )
    second = openid_for("wang-two")
    await bind(namesake, second)
    await say(client, peer, second, f"请假 {n} 值班")
    which = await say(client, peer, SECRETARY, f"准假 {n} 王芳")
    assert "名单里有 2 位「王芳」" in which and f"准假 {n} 王芳 0004" in which
    assert "王芳 0077" in await say(client, peer, SECRETARY, "待办")
    done = await say(client, peer, SECRETARY, f"准假 {n} 王芳 0077")
    assert "已准假：王芳（值班）" in done
    assert (await MeetingAttendee.get(meeting=meeting, member=namesake)).attendance == "leave"
    assert (await row_of_member(meeting, people["member"])).attendance == "requested"
    # With only one of them still waiting, the name alone is enough.
    assert "已准假：王芳（出差）" in await say(client, peer, SECRETARY, f"准假 {n} 王芳")


async def row_of_member(meeting: Meeting, member: Member) -> MeetingAttendee:
    return await MeetingAttendee.get(meeting=meeting, member=member)


async def test_a_group_meeting_the_leader_and_the_secretary_both_hear_and_either_decides(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _ = await frozen_app(aiohttp_client, make_settings, NOW)
    await branch_with_people()
    await say(client, peer, LEADER, "安排 党小组会 明天下午3点 学习党章 地点 活动室")
    await say(client, peer, LEADER, "确认")
    meeting = await Meeting.get()
    fake.interact(SECRETARY)
    fake.interact(LEADER)
    asked = await say(client, peer, MEMBER, f"请假 {meeting.id} 加班")
    assert "已通知李书记、吴组长" in asked
    for openid in (SECRETARY, LEADER):
        assert [t for t in texts_to(fake, openid) if "【请假申请】王芳" in t]
    assert "王芳：加班" in await say(client, peer, LEADER, "待办")
    assert "已准假" in await say(client, peer, LEADER, f"准假 {meeting.id} 王芳")


async def test_withdrawing_before_the_start_but_not_after(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, _, meeting = await general_meeting(aiohttp_client, make_settings)
    n = meeting.id
    assert "没有编号" in await say(client, peer, MEMBER, f"撤销请假 {n}")
    await say(client, peer, MEMBER, f"请假 {n} 出差")
    await say(client, peer, SECRETARY, f"准假 {n} 王芳")
    assert "请假已经批准了" in await say(client, peer, MEMBER, f"请假 {n} 又有事")
    assert "已撤销请假" in await say(client, peer, MEMBER, f"撤销请假 {n}")
    assert (await row_of(meeting, "王芳")).attendance == Attendance.UNKNOWN
    await say(client, peer, MEMBER, f"请假 {n} 还是去不了")
    clock.set(STARTS)
    assert "会议已经开始" in await say(client, peer, MEMBER, f"取消请假 {n}")
    assert (await row_of(meeting, "王芳")).attendance == Attendance.REQUESTED


async def test_someone_from_another_branch_cannot_decide(
    aiohttp_client: Any, make_settings: Any
) -> None:
    from tests.conftest import make_branch

    client, peer, _, _, meeting = await general_meeting(aiohttp_client, make_settings)
    await say(client, peer, MEMBER, f"请假 {meeting.id} 出差")
    stranger = await make_member(
        "赵书记",
        "13800000009",
        role=Role.SECRETARY,
        org=await make_branch("示范街道党工委/第二社区党总支/第二社区第一党支部"),
    )
    await bind(stranger, OTHER)
    assert "没有找到" in await say(client, peer, OTHER, f"准假 {meeting.id} 王芳")
    assert (await row_of(meeting, "王芳")).attendance == Attendance.REQUESTED
