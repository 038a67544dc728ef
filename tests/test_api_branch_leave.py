"""The secretary in the mini-program: decides leave requests as in chat (the member is told),
and schedules a 党课 with its speaker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.models.meetings import Attendance, MeetingAttendee, MeetingChange
from server.services.meetings import attendance
from tests.test_api_branch import NOW, WANG_OA, World, a_meeting, world


async def asked(w: World, reason: str = "在外地出差") -> int:
    """She asks in chat (her mini-program side is tests/test_api_member_meetings.py)."""
    meeting = await a_meeting(w, kind="党员大会")
    await attendance.ask_leave(w.people["wang"], meeting, reason, w.clock.now())
    return meeting


async def test_the_secretary_sees_the_request_grants_it_and_she_is_told(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    meeting = await asked(w)
    wang = w.people["wang"].id
    status, waiting = await w.call("GET", "/branch/leave-requests", "secretary")
    assert status == 200
    assert [(i["meeting"]["id"], i["member"]["name"], i["reason"]) for i in waiting["items"]] == [
        (meeting, "王芳", "在外地出差")
    ]
    status, roster = await w.call("GET", f"/meetings/{meeting}/roster", "secretary")
    assert roster["counts"]["requested"] == 1 and roster["counts"]["leave"] == 0
    w.fake.interact(WANG_OA)
    path = f"/meetings/{meeting}/leave-decisions"
    status, done = await w.call(
        "POST", path, "secretary", json={"member_id": wang, "decision": "grant"}
    )
    assert status == 200 and done["attendance"] == "leave" and done["told"] is True
    assert any("已获批准" in (m.text or "") for m in w.fake.messages_to(WANG_OA))
    change = await MeetingChange.get(meeting_id=meeting, action="leave_granted")
    assert change.detail == {"member": wang, "reason": "在外地出差"}
    status, twice = await w.call(
        "POST", path, "secretary", json={"member_id": wang, "decision": "refuse", "reason": "x"}
    )
    assert status == 409 and "已经批准过了" in twice["error"]
    status, waiting = await w.call("GET", "/branch/leave-requests", "secretary")
    assert waiting["items"] == []


async def test_a_refusal_needs_a_reason_and_strangers_get_what_a_made_up_id_gets(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    meeting = await asked(w)
    wang = w.people["wang"].id
    path = f"/meetings/{meeting}/leave-decisions"
    for body, field in (
        ({"member_id": wang, "decision": "refuse"}, "reason"),
        ({"member_id": wang, "decision": "maybe"}, "decision"),
        ({"member_id": 0, "decision": "grant"}, "member_id"),
        ({"member_id": w.people["sun"].id, "decision": "grant"}, "member_id"),
        ({"decision": "grant"}, "member_id"),
    ):
        status, answer = await w.call("POST", path, "secretary", json=body)
        assert status == 400 and answer["field"] == field, (body, answer)
    status, other = await w.call(
        "POST", path, "zhao", json={"member_id": wang, "decision": "grant"}
    )
    status2, made_up = await w.call(
        "POST",
        "/meetings/999999/leave-decisions",
        "zhao",
        json={"member_id": wang, "decision": "grant"},
    )
    assert status == status2 == 403 and other == made_up
    status, _ = await w.call("POST", path, "zheng", json={"member_id": wang, "decision": "grant"})
    assert status == 403  # a plain member
    row = await MeetingAttendee.get(meeting_id=meeting, member_id=wang)
    assert row.attendance == Attendance.REQUESTED
    status, no = await w.call(
        "POST",
        path,
        "secretary",
        json={"member_id": wang, "decision": "refuse", "reason": "要表决"},
    )
    assert status == 200 and no["attendance"] == "unknown" and no["told"] is False
    # After the meeting nothing is decided any more: 补录 corrects attendance.
    await attendance.ask_leave(w.people["wang"], meeting, "真有事", w.clock.now())
    w.travel(NOW + timedelta(days=2))
    status, late = await w.call(
        "POST", path, "secretary", json={"member_id": wang, "decision": "grant"}
    )
    assert status == 409 and "补录" in late["error"]
    status, roster = await w.call("GET", f"/meetings/{meeting}/roster", "secretary")
    assert roster["counts"]["requested"] == 0 and roster["counts"]["absent"] == 4
    assert {p["name"]: p["attendance"] for p in roster["people"]}["王芳"] == "absent"


async def test_a_lecture_with_its_speaker_and_study_said_explicitly(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    from server.models.meetings import Meeting
    from tests.test_api_branch import schedule

    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, lecture = await schedule(w, kind="党课", topic="党章学习", speaker="张教授")
    assert status == 200 and lecture["speaker"] == "张教授" and lecture["study"] is True
    status, talk = await schedule(
        w, kind="党课", topic="形势报告", starts_at="2026-11-27T15:00:00+08:00", study=False
    )
    assert status == 200 and talk["study"] is False
    status, bad = await schedule(w, kind="党课", topic="x", speaker="长" * 51)
    assert status == 400 and bad["field"] == "speaker"
    assert await Meeting.all().count() == 2
