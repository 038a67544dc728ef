"""The branch secretary's mini-program: scheduling, moving and cancelling meetings, the roster.

Everything goes through the real HTTP server with a frozen clock: Wednesday 25 November 2026,
10:00 in Shanghai.  The outbox is run by hand (no scheduler), as in tests/test_notices.py, so
the notices planned by the API can be seen as rows and as messages at the fake WeChat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.meetings import Meeting, MeetingAttendee, MeetingChange
from server.models.notices import Notice
from server.models.people import Member, Organisation, OrgKind, Role, WeChatIdentity
from server.typedefs import OUTBOX
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import APPID, make_branch, make_member
from tests.wechat_peer import openid_for

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TOMORROW_3PM = "2026-11-26T15:00:00+08:00"
OTHER_BRANCH = "示范街道党工委/第一社区党总支/第一社区第二党支部"
WANG_OA = openid_for("wang-fang")


@dataclass
class World:
    """Two branches under one general branch, and a client that signs people in on demand."""

    client: TestClient
    fake: FakeWeChat
    clock: FrozenClock
    people: dict[str, Member]
    branch: Organisation
    group: Organisation
    other_branch: Organisation
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def headers(self, who: str) -> dict[str, str]:
        if who not in self._headers:
            self._headers[who] = await signed_in(self.client, self.fake, self.people[who])
        return self._headers[who]

    async def call(self, method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
        resp = await self.client.request(
            method, "/api/v1" + path, headers=await self.headers(who), **kw
        )
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body

    def travel(self, moment: datetime) -> None:
        """Time passes; sessions last two hours, so everyone signs in again when next asked."""
        self.clock.set(moment)
        self._headers.clear()

    async def deliver(self) -> None:
        await self.client.app[OUTBOX].deliver_due(self.clock.now())


async def world(aiohttp_client: Any, make_settings: Any, fake_wechat: Any) -> World:
    clock = FrozenClock(NOW)
    # No scheduler: the tests run the outbox at the moments they choose.
    settings = make_settings(identity_ttl=0, scheduler=False)
    client = await aiohttp_client(create_app(settings, clock=clock))
    branch = await make_branch()
    group, _ = await Organisation.get_or_create(
        path=branch.path + "/第一网格党小组",
        defaults={"name": "第一网格党小组", "kind": OrgKind.GROUP, "parent": branch},
    )
    other = await make_branch(OTHER_BRANCH)
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member(
            "周委员", "13700000002", role=Role.COMMITTEE_MEMBER, org=branch
        ),
        "wang": await make_member("王芳", "13700000004", org=branch),
        "zheng": await make_member("郑七", "13700000005", org=branch),
        "zhao": await make_member("赵书记", "13700000011", role=Role.SECRETARY, org=other),
        "sun": await make_member("孙九", "13700000012", org=other),
    }
    people["wang"].group = group
    await people["wang"].save()
    # 王芳 also follows the official account, where she chats with the bot (and gets notices).
    await WeChatIdentity.create(
        appid=APPID, openid=WANG_OA, channel=Channel.OFFICIAL_ACCOUNT, member=people["wang"]
    )
    return World(client, fake_wechat[0], clock, people, branch, group, other)


async def schedule(w: World, who: str = "secretary", **body: Any) -> tuple[int, Any]:
    payload = {"kind": "支委会", "starts_at": TOMORROW_3PM, "topic": "研究发展党员"} | body
    return await w.call("POST", "/meetings", who, json=payload)


async def a_meeting(w: World, **body: Any) -> int:
    status, answer = await schedule(w, **body)
    assert status == 200, answer
    return int(answer["id"])


# --- scheduling ----------------------------------------------------------------------------


async def test_a_secretary_schedules_a_committee_meeting_and_the_notices_are_planned(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, meeting = await schedule(w, place="党群服务中心", minutes=60)
    assert status == 200, meeting
    assert meeting["kind"] == "支委会" and meeting["topic"] == "研究发展党员"
    assert meeting["starts_at"] == TOMORROW_3PM
    assert meeting["ends_at"] == "2026-11-26T16:00:00+08:00"
    assert meeting["place"] == "党群服务中心" and meeting["status"] == "planned"
    assert meeting["organisation"]["id"] == w.branch.id
    expected = {w.people["secretary"].id, w.people["committee"].id}
    attendees = MeetingAttendee.filter(meeting_id=meeting["id"])
    assert set(await attendees.values_list("member_id", flat=True)) == expected
    # As in chat: a notice now and a reminder a day and an hour before, for each of them.
    stamp = int(datetime(2026, 11, 26, 7, 0, tzinfo=UTC).timestamp())
    rows = await Notice.filter(meeting_id=meeting["id"])
    assert sorted({n.kind for n in rows}) == [
        f"reminder:1d:{stamp}",
        f"reminder:1h:{stamp}",
        "scheduled",
    ]
    assert {n.member_id for n in rows} == expected  # type: ignore[attr-defined]
    assert [c.action for c in await MeetingChange.filter(meeting_id=meeting["id"])] == ["scheduled"]


async def test_a_time_without_an_offset_is_read_in_shanghai_and_the_default_length_is_90(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, meeting = await schedule(w, kind="党员大会", starts_at="2026-12-01T15:00:00")
    assert status == 200, meeting
    assert meeting["kind"] == "支部党员大会"  # the chat's aliases are understood
    assert meeting["starts_at"] == "2026-12-01T15:00:00+08:00"
    assert meeting["ends_at"] == "2026-12-01T16:30:00+08:00"
    stored = await Meeting.get(id=meeting["id"])
    assert stored.starts_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    # A general meeting expects every active member of the branch.
    assert await MeetingAttendee.filter(meeting_id=meeting["id"]).count() == 4


async def test_a_clash_is_a_409_naming_starts_at_and_nothing_is_written(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    first = await a_meeting(w)
    before = await Notice.all().count()
    status, answer = await schedule(w, kind="党课", starts_at="2026-11-26T16:00:00+08:00")
    assert status == 409 and answer["field"] == "starts_at"
    assert f"编号 {first}" in answer["error"]
    assert await Meeting.all().count() == 1 and await Notice.all().count() == before


async def test_a_meeting_for_the_secretarys_own_group_but_not_another_organisation(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    secretary = w.people["secretary"]
    secretary.group = w.group
    await secretary.save()
    status, meeting = await schedule(w, kind="党小组会", organisation_id=w.group.id)
    assert status == 200, meeting
    assert meeting["organisation"]["id"] == w.group.id
    # Not a 支委会 "held by" the group, and never another branch (that one is simply hidden).
    status, answer = await schedule(
        w, kind="支委会", starts_at="2026-11-27T15:00:00+08:00", organisation_id=w.group.id
    )
    assert status == 400 and answer["field"] == "organisation_id"
    status, answer = await schedule(
        w, starts_at="2026-11-27T15:00:00+08:00", organisation_id=w.other_branch.id
    )
    assert status == 403 and answer == {"error": "无权访问，或该对象不存在。", "code": "FORBIDDEN"}
    assert await Meeting.all().count() == 1


# --- moving and cancelling -----------------------------------------------------------------


async def test_a_secretary_moves_a_meeting_and_those_told_before_are_told_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w, kind="党员大会")
    w.fake.interact(WANG_OA)  # 王芳 wrote to the account today: the notice reaches her
    await w.deliver()
    assert await Notice.get(meeting_id=number, kind="scheduled", member_id=w.people["wang"].id)
    status, moved = await w.call(
        "PATCH",
        f"/meetings/{number}",
        "secretary",
        json={
            "starts_at": "2026-11-27T09:00:00",
            "minutes": 60,
            "place": "社区会议室",
            "reason": "与街道会议冲突",
        },
    )
    assert status == 200, moved
    assert moved["starts_at"] == "2026-11-27T09:00:00+08:00"
    assert moved["ends_at"] == "2026-11-27T10:00:00+08:00" and moved["place"] == "社区会议室"
    change = await MeetingChange.filter(meeting_id=number, action="rescheduled").get()
    assert change.detail["reason"] == "与街道会议冲突"
    changed = await Notice.filter(meeting_id=number, kind=f"changed:{change.id}")
    assert {n.member_id for n in changed} == {w.people["wang"].id}  # type: ignore[attr-defined]
    await w.deliver()
    assert w.fake.messages_to(WANG_OA)[-1].text.startswith("【会议改期】")  # type: ignore[union-attr]


async def test_a_secretary_cancels_a_meeting_with_a_reason_and_the_members_hear_of_it(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w, kind="党员大会")
    w.fake.interact(WANG_OA)
    await w.deliver()
    status, cancelled = await w.call(
        "POST", f"/meetings/{number}/cancel", "secretary", json={"reason": "书记出差"}
    )
    assert status == 200 and cancelled["status"] == "cancelled"
    change = await MeetingChange.get(meeting_id=number, action="cancelled")
    assert change.detail == {"reason": "书记出差"}
    assert await Notice.filter(meeting_id=number, kind=f"cancelled:{change.id}").count() == 1
    assert await Notice.filter(meeting_id=number, status="pending").count() == 1  # that one
    await w.deliver()
    assert w.fake.messages_to(WANG_OA)[-1].text.startswith("【会议取消】")  # type: ignore[union-attr]
    # Twice is a conflict; so is moving a cancelled meeting.
    again = await w.call("POST", f"/meetings/{number}/cancel", "secretary", json={"reason": "再"})
    assert again[0] == 409
    moved = await w.call(
        "PATCH", f"/meetings/{number}", "secretary", json={"starts_at": "2026-12-02T15:00:00"}
    )
    assert moved[0] == 409


async def test_a_meeting_about_to_begin_cannot_be_moved(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w)
    w.travel(datetime(2026, 11, 26, 6, 45, tzinfo=UTC))  # 14:45, sign-in is open
    status, answer = await w.call(
        "PATCH", f"/meetings/{number}", "secretary", json={"starts_at": "2026-12-02T15:00:00"}
    )
    assert status == 409 and answer["field"] == "starts_at" and "不能改期" in answer["error"]


# --- at the meeting and after it ------------------------------------------------------------


async def test_the_secretary_shows_the_code_takes_the_roster_and_corrects_attendance(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w, kind="党员大会")
    wang, zheng = w.people["wang"], w.people["zheng"]
    # 郑七 asks for leave in the mini-program's member pages (the other engineer's endpoint)
    # or in chat; here straight in the table, as the service would.
    await MeetingAttendee.filter(meeting_id=number, member_id=zheng.id).update(
        attendance="leave", reason="在外地出差"
    )
    await w.deliver()  # nobody has written to the account lately: 郑七 has no WeChat at all
    early = await w.call("GET", f"/meetings/{number}/signin-code", "secretary")
    assert early[0] == 409  # the code opens 30 minutes before the start

    w.travel(datetime(2026, 11, 26, 6, 55, tzinfo=UTC))  # 14:55
    status, code = await w.call("GET", f"/meetings/{number}/signin-code", "secretary")
    assert status == 200 and len(code["code"]) == 6 and code["code"].isdigit()
    assert code["valid_until"] > "2026-11-26T14:55:00+08:00"
    assert code["valid_until"].endswith("+08:00")

    w.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # 17:00, over
    status, roster = await w.call("GET", f"/meetings/{number}/roster", "secretary")
    assert status == 200, roster
    by_name = {p["name"]: p for p in roster["people"]}
    assert by_name["郑七"]["attendance"] == "leave" and by_name["郑七"]["reason"] == "在外地出差"
    assert by_name["王芳"]["attendance"] == "absent"  # after the end, undecided is absent
    assert roster["counts"] == {
        "expected": 4,
        "present": 0,
        "leave": 1,
        "requested": 0,
        "absent": 3,
        "unknown": 0,
        "invited": 0,
        "incoming": 0,
    }
    assert roster["quorum"] is False  # a 支部党员大会 needs more than half present
    assert "郑七" in {p["name"] for p in roster["unreachable"]}  # to be told in person

    status, fixed = await w.call(
        "POST",
        f"/meetings/{number}/attendance",
        "secretary",
        json={"member_id": wang.id, "attendance": "present", "reason": "手机没电未能签到"},
    )
    assert status == 200 and fixed["attendance"] == "present"
    change = await MeetingChange.get(meeting_id=number, action="corrected")
    assert change.detail == {
        "member": wang.id,
        "from": "absent",
        "to": "present",
        "reason": "手机没电未能签到",
    }
    assert change.by_id == w.people["secretary"].id  # type: ignore[attr-defined]
    roster = (await w.call("GET", f"/meetings/{number}/roster", "secretary"))[1]
    assert roster["counts"]["present"] == 1


async def test_two_namesakes_on_the_roster_are_corrected_one_by_one(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    twin = await make_member("王芳", "13700000006", org=w.branch)  # the branch has two 王芳
    number = await a_meeting(w, kind="党员大会")
    w.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # over; neither signed in
    status, fixed = await w.call(
        "POST",
        f"/meetings/{number}/attendance",
        "secretary",
        json={"member_id": twin.id, "attendance": "leave", "reason": "事先口头请假"},
    )
    assert status == 200, fixed
    rows = {
        r.member_id: str(r.attendance)  # type: ignore[attr-defined]
        for r in await MeetingAttendee.filter(meeting_id=number, member__name="王芳")
    }
    # The other 王芳 is untouched (still undecided until the roster closes the meeting).
    assert rows == {twin.id: "leave", w.people["wang"].id: "unknown"}


async def test_the_secretary_writes_the_minutes_and_may_rewrite_them(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w)
    text = "会议讨论了发展党员工作，决定确定王芳为发展对象。"
    status, saved = await w.call(
        "PUT", f"/meetings/{number}/minutes", "secretary", json={"text": text}
    )
    assert status == 200 and saved["minutes"] == text and saved["has_minutes"] is True
    await w.call("PUT", f"/meetings/{number}/minutes", "secretary", json={"text": text + "另议。"})
    assert (await Meeting.get(id=number)).minutes == text + "另议。"
    assert await MeetingChange.filter(meeting_id=number, action="minutes").count() == 2


async def test_the_branch_meetings_newest_first_past_ones_included_and_filtered(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    first = await a_meeting(w)
    second = await a_meeting(w, kind="党课", starts_at="2026-12-03T15:00:00+08:00")
    third = await a_meeting(w, kind="主题党日", starts_at="2026-12-10T09:00:00+08:00")
    w.travel(NOW + timedelta(days=30))  # all three are past now
    # Another branch's meeting is never listed.
    zhao_meeting = await schedule(w, "zhao", starts_at="2027-01-05T15:00:00+08:00")
    assert zhao_meeting[0] == 200

    status, page = await w.call("GET", "/branch/meetings", "secretary")
    assert status == 200
    assert [m["id"] for m in page["items"]] == [third, second, first] and page["total"] == 3
    page = (await w.call("GET", "/branch/meetings?per_page=2&page=2", "secretary"))[1]
    assert [m["id"] for m in page["items"]] == [first] and page["total"] == 3
    page = (await w.call("GET", "/branch/meetings?from=2026-12-01&to=2026-12-03", "secretary"))[1]
    assert [m["id"] for m in page["items"]] == [second]
    page = (await w.call("GET", "/branch/meetings?kind=党课", "secretary"))[1]
    assert [m["id"] for m in page["items"]] == [second]
    status, answer = await w.call(
        "GET", "/branch/meetings?from=2026-12-05&to=2026-12-01", "secretary"
    )
    assert status == 400 and answer["field"] == "to"


async def test_a_general_branch_secretary_sees_the_meetings_of_the_branches_below(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    general = await Organisation.get(path="示范街道党工委/第一社区党总支")
    w.people["general"] = await make_member(
        "钱总支", "13700000021", role=Role.GENERAL_SECRETARY, org=general
    )
    mine = await a_meeting(w)
    theirs = (await schedule(w, "zhao", starts_at="2026-11-27T15:00:00+08:00"))[1]["id"]
    page = (await w.call("GET", "/branch/meetings", "general"))[1]
    assert {m["id"] for m in page["items"]} == {mine, theirs}
    assert (await w.call("GET", f"/meetings/{theirs}/roster", "general"))[0] == 200
