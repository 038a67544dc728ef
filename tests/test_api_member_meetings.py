"""三会一课 from the member's side of the mini-program: what is coming, signing in, leave."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from server.channels import Channel
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.models.study import PointsEntry
from server.services.meetings import attendance, scheduling
from server.services.study.points import PointsRules
from server.typedefs import CACHE, SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.conftest import make_member
from tests.test_api_member import NOW, OTHER_BRANCH, World, hidden_alike, people, start

STARTS = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # tomorrow 15:00 in Shanghai


async def meeting_of(
    secretary: Member, starts: datetime = STARTS, topic: str = "学习二十大精神"
) -> Meeting:
    """The secretary schedules a 支部党员大会, as 安排 … 确认 does in chat."""
    draft = await scheduling.prepare(secretary, "支部党员大会", starts, topic, "会议室", NOW, 90)
    return await scheduling.schedule(secretary, draft, NOW)


async def code_for(world: World, secretary: Member, meeting: Meeting) -> str:
    rotation = world.client.app[SETTINGS].signin_rotation
    return (await attendance.signin_code(secretary, meeting.id, world.clock.now(), rotation)).code


async def two_branches(world: World) -> tuple[dict[str, Member], Meeting, Meeting]:
    folk = await people()
    ours = await meeting_of(folk["secretary"])
    other_branch = await Organisation.get(path=OTHER_BRANCH)
    other_secretary = await make_member(
        "赵书记", "13900000001", role=Role.SECRETARY, org=other_branch
    )
    theirs = await meeting_of(other_secretary, topic="学习党章")
    folk["other_secretary"] = other_secretary
    return folk, ours, theirs


async def test_a_member_sees_the_meetings_she_is_expected_at(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk, ours, theirs = await two_branches(world)
    headers = await world.headers(folk["wang"])
    status, listed = await world.call("GET", "/meetings", headers)
    assert status == 200 and [m["id"] for m in listed["items"]] == [ours.id]  # not theirs.id
    assert theirs.id not in {m["id"] for m in listed["items"]}
    status, shown = await world.call("GET", f"/meetings/{ours.id}", headers)
    assert status == 200
    assert shown["kind"] == "支部党员大会" and shown["topic"] == "学习二十大精神"
    assert shown["place"] == "会议室" and shown["status"] == "planned"
    # In the deployment's zone, with its offset, as every time the API gives.
    assert shown["starts_at"] == "2026-11-26T15:00:00+08:00"
    assert shown["ends_at"] == "2026-11-26T16:30:00+08:00"
    assert shown["organisation"]["name"] == "第一社区第一党支部"
    assert shown["mine"] == {
        "role": "expected",
        "attendance": "unknown",
        "label": "未签到",
        "reason": None,
        "signed_at": None,
        "mode": None,
    }
    assert shown["online"] is None and shown["may_write"] is False  # not a 流动党员
    assert shown["signin_open"] is False and shown["may_ask_leave"] is True
    assert shown["may_withdraw_leave"] is False
    assert listed["items"][0] == shown
    status, body = await world.call("GET", "/meetings", headers, params={"limit": "1000"})
    assert status == 400 and body["field"] == "limit"


async def test_another_branchs_meeting_is_hidden_like_one_that_does_not_exist(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk, _, theirs = await two_branches(world)
    headers = await world.headers(folk["wang"])
    missing = theirs.id + 100
    await hidden_alike(world, "GET", f"/meetings/{theirs.id}", f"/meetings/{missing}", headers)
    world.clock.set(STARTS - timedelta(minutes=10))  # sign-in is open for both meetings
    headers = await world.headers(folk["wang"])
    code = await code_for(world, folk["other_secretary"], theirs)
    await hidden_alike(
        world,
        "POST",
        f"/meetings/{theirs.id}/signin",
        f"/meetings/{missing}/signin",
        headers,
        json={"code": code},
    )
    world.clock.set(NOW)
    headers = await world.headers(folk["wang"])
    await hidden_alike(
        world,
        "POST",
        f"/meetings/{theirs.id}/leave",
        f"/meetings/{missing}/leave",
        headers,
        json={"reason": "出差"},
    )
    rows = await MeetingAttendee.filter(meeting_id=theirs.id).values_list("attendance", flat=True)
    assert set(rows) == {Attendance.UNKNOWN}
    for junk in ("1 OR 1=1", "';DROP TABLE member;--", "0"):
        status, body = await world.call("GET", f"/meetings/{junk}", headers)
        assert status == 400 and body["field"] == "id", (junk, body)


async def test_a_member_signs_in_with_the_code_on_the_screen(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    meeting = await meeting_of(folk["secretary"])
    world.clock.set(STARTS - timedelta(minutes=10))
    headers = await world.headers(folk["wang"])
    code = await code_for(world, folk["secretary"], meeting)
    path = f"/meetings/{meeting.id}/signin"
    status, done = await world.call("POST", path, headers, json={"code": code})
    assert status == 200 and done["points"] == 3
    assert done["meeting"]["mine"]["attendance"] == "present"
    assert done["meeting"]["mine"]["signed_at"] == "2026-11-26T14:50:00+08:00"
    status, again = await world.call("POST", path, headers, json={"code": code})
    assert status == 409 and "已经签到" in again["error"]
    assert await PointsEntry.filter(member_id=folk["wang"].id, reason="meeting").count() == 1
    # After the meeting her year shows it attended.
    world.clock.set(STARTS + timedelta(hours=2))
    headers = await world.headers(folk["wang"])
    status, me = await world.call("GET", "/profile", headers)
    assert me["meetings_this_year"] == {"present": 1, "leave": 0, "absent": 0}
    status, later = await world.call("GET", f"/meetings/{meeting.id}", headers)
    assert later["signin_open"] is False and later["may_ask_leave"] is False


async def test_wrong_codes_are_400_until_the_lock_out(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk, ours, theirs = await two_branches(world)
    world.clock.set(STARTS - timedelta(minutes=10))
    headers = await world.headers(folk["wang"])
    path = f"/meetings/{ours.id}/signin"
    for code in ("12345", "1234567", "12345a", "1 OR 1=1", 123456, None):
        status, body = await world.call("POST", path, headers, json={"code": code})
        assert status == 400 and body["field"] == "code", (code, body)
    status, body = await world.call("POST", path, headers, json={"code": "000000", "at": 1})
    assert status == 400 and body["field"] == "at"
    # Another meeting's code (open at the same time) does not sign her in to either.
    other_code = await code_for(world, folk["other_secretary"], theirs)
    right = await code_for(world, folk["secretary"], ours)
    wrong = [c for c in (other_code, "000000", "111111", "222222", "333333") if c != right][:5]
    for code in wrong:
        status, body = await world.call("POST", path, headers, json={"code": code})
        assert status == 400 and body["field"] == "code"
        # The domain's words and its code; chat's "签到 六位数字" hint is not an API answer.
        assert body["code"] == "SIGNIN_WRONG_CODE" and body["error"] == "签到码不对或已过期。"
    status, _ = await world.call("POST", path, headers, json={"code": right})
    assert status == 429  # five wrong codes in this window: even the right one waits
    rows = await MeetingAttendee.filter(member_id=folk["wang"].id).values_list(
        "attendance", flat=True
    )
    assert set(rows) == {Attendance.UNKNOWN}


async def test_eight_guesses_at_once_still_meet_the_lock_out_after_five(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """The five tries are taken before a code is looked at: guesses sent together cannot
    slip past the count while each is being checked."""
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk, ours, _ = await two_branches(world)
    world.clock.set(STARTS - timedelta(minutes=10))
    headers = await world.headers(folk["wang"])
    right = await code_for(world, folk["secretary"], ours)
    guesses = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, 9)]
    answers = await asyncio.gather(
        *(
            world.call("POST", f"/meetings/{ours.id}/signin", headers, json={"code": code})
            for code in guesses
        )
    )
    assert sorted(status for status, _ in answers) == [400] * 5 + [429] * 3
    # The chat's 签到 (any open meeting) shares the count, and the same rule at once.
    settings, cache = world.client.app[SETTINGS], world.client.app[CACHE]
    tried = await asyncio.gather(
        *(
            attendance.sign_in(
                folk["zheng"],
                code,
                world.clock.now(),
                world.clock.today(),
                settings.signin_rotation,
                cache,
                PointsRules.from_settings(settings),
            )
            for code in guesses
        ),
        return_exceptions=True,
    )
    assert sorted(type(t).__name__ for t in tried) == ["RateLimited"] * 3 + ["ValidationFailed"] * 5
    status, _ = await world.call(
        "POST", f"/meetings/{ours.id}/signin", headers, json={"code": right}
    )
    assert status == 429


async def test_signing_in_before_it_opens_is_refused(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    meeting = await meeting_of(folk["secretary"])
    headers = await world.headers(folk["wang"])
    status, body = await world.call(
        "POST", f"/meetings/{meeting.id}/signin", headers, json={"code": "123456"}
    )
    assert status == 409 and "30 分钟" in body["error"]


async def test_a_member_asks_for_leave_before_the_meeting(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    meeting = await meeting_of(folk["secretary"])
    headers = await world.headers(folk["wang"])
    path = f"/meetings/{meeting.id}/leave"
    for body, field in (
        ({"reason": "   "}, "reason"),
        ({"reason": "出" * 201}, "reason"),
        ({"reason": "出" * 5000}, "reason"),
        ({"reason": 42}, "reason"),
        ({}, "reason"),
        ({"reason": "出差", "attendance": "present"}, "attendance"),
    ):
        status, answer = await world.call("POST", path, headers, json=body)
        assert status == 400 and answer["field"] == field, (body, answer)
    row = await MeetingAttendee.get(meeting_id=meeting.id, member_id=folk["wang"].id)
    assert row.attendance == Attendance.UNKNOWN and row.reason is None
    # A request, not a leave: 待批 until the secretary decides; the secretary hears of it.
    secretary_oa = "o-oa-secretary"
    await WeChatIdentity.create(
        appid=world.client.app[SETTINGS].appid,
        openid=secretary_oa,
        channel=Channel.OFFICIAL_ACCOUNT,
        member=folk["secretary"],
    )
    world.fake.interact(secretary_oa)
    status, shown = await world.call("POST", path, headers, json={"reason": "在外地出差"})
    assert status == 200 and shown["mine"]["attendance"] == "requested"
    assert shown["mine"]["label"] == "待批" and shown["mine"]["reason"] == "在外地出差"
    assert shown["told"] == ["李书记"] and shown["may_withdraw_leave"] is True
    (sent,) = world.fake.messages_to(secretary_oa)
    assert "【请假申请】王芳" in (sent.text or "") and f"准假 {meeting.id} 王芳" in (
        sent.text or ""
    )
    status, again = await world.call("POST", path, headers, json={"reason": "在外地出差，周五回"})
    assert status == 200 and again["told"] == [] and again["mine"]["reason"] == "在外地出差，周五回"
    assert len(world.fake.messages_to(secretary_oa)) == 1  # told once, not for each edit
    # She may take it back before the start, and ask again.
    status, back = await world.call("DELETE", path, headers)
    assert status == 200 and back["mine"]["attendance"] == "unknown"
    assert back["mine"]["reason"] is None
    status, body = await world.call("DELETE", path, headers)
    assert status == 409 and "没有" in body["error"]
    world.clock.set(STARTS + timedelta(minutes=5))
    headers = await world.headers(folk["zheng"])
    status, late = await world.call("POST", path, headers, json={"reason": "临时有事"})
    assert status == 409 and "已经开始" in late["error"]
