"""The member's own API: signing in, 我的, 打卡, 学习 and 问答, through the real HTTP server.

The helpers at the top (`World`, `start`, `people`, `hidden_alike`) are shared by the other
tests/test_api_member_*.py files.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.notices import SubscribeGrant
from server.models.people import Member, MemberStatus, Role
from server.models.study import CheckIn, PointsEntry, QuizAttempt, Submission, UnitReading
from server.services.people.access import Hidden
from server.typedefs import CORPUS, SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import login, signed_in
from tests.conftest import drain, make_branch, make_member
from tests.wechat_peer import WeChatPeer, openid_for

# Wednesday 25 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
OTHER_BRANCH = "示范街道党工委/第二社区党总支/第二社区第一党支部"
HIDDEN = {"error": Hidden.user_message, "code": "FORBIDDEN"}


@dataclass
class World:
    client: TestClient
    fake: FakeWeChat
    clock: FrozenClock

    async def headers(self, member: Member) -> dict[str, str]:
        return await signed_in(self.client, self.fake, member)

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        resp = await self.client.request(method, "/api/v1" + path, headers=headers, **kw)
        return resp.status, await resp.json()


async def start(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    when: datetime = NOW,
    **settings: Any,
) -> World:
    """The app with a frozen clock and no scheduler: tests move time and run the outbox."""
    clock = FrozenClock(when)
    app = create_app(make_settings(scheduler=False, **settings), clock=clock)
    return World(await aiohttp_client(app), fake_wechat[0], clock)


async def people() -> dict[str, Member]:
    """A branch with its secretary and two members, and a member of another branch."""
    branch = await make_branch()
    other = await make_branch(OTHER_BRANCH)
    return {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "wang": await make_member("王芳", "13800005678", org=branch),
        "zheng": await make_member("郑七", "13700000005", org=branch),
        "chen": await make_member("陈明", "13900000009", org=other),
    }


async def hidden_alike(
    world: World, method: str, theirs: str, missing: str, headers: dict[str, str], **kw: Any
) -> None:
    """Someone else's object and one that does not exist get the same 403, word for word."""
    one = await world.call(method, theirs, headers, **kw)
    two = await world.call(method, missing, headers, **kw)
    assert one == two == (403, HIDDEN), (one, two)


# --- signing in ----------------------------------------------------------------------------


async def test_no_token_a_forged_one_or_an_expired_one_is_401(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    good = await world.headers(wang)
    assert (await world.call("GET", "/profile", good))[0] == 200
    for headers in (
        None,
        {"Authorization": "Bearer " + secrets.token_urlsafe(32)},
        {"Authorization": "Bearer 1 OR 1=1"},
        {"Authorization": "Bearer ';DROP TABLE member;--"},
        {"Authorization": good["Authorization"].replace("Bearer", "Basic")},
    ):
        status, body = await world.call("GET", "/profile", headers)
        assert status == 401 and body["field"] == "Authorization", (headers, body)
    ttl = world.client.app[SETTINGS].api_session_ttl
    world.clock.advance(seconds=ttl + 1)
    status, body = await world.call("POST", "/checkin", good)
    assert status == 401 and body["field"] == "Authorization"
    assert await CheckIn.all().count() == 0


async def test_signed_in_but_not_bound_is_403_on_a_members_page(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    await people()
    answer = await login(world.client, world.fake, openid_for("just-looking"))
    headers = {"Authorization": f"Bearer {answer['token']}"}
    for method, path in (("GET", "/profile"), ("POST", "/checkin"), ("GET", "/meetings")):
        status, body = await world.call(method, path, headers)
        assert status == 403 and "绑定" in body["error"], (path, body)
    assert await CheckIn.all().count() == 0


def member_endpoints() -> list[tuple[str, str]]:
    """Every endpoint of the member's own modules, with ids filled in."""
    from server.api import attending, member, study, writing

    fill = {"{id}": "1", "{unit_id}": "constitution-nature"}
    found = []
    for module in (member, study, writing, attending):
        for endpoint in module.routes.endpoints:
            path = endpoint.path
            for name, value in fill.items():
                path = path.replace(name, value)
            found.append((endpoint.method, path))
    return found


async def test_every_members_page_wants_a_bound_active_member(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    await people()
    moved = await make_member(
        "钱八", "13700000006", org=await make_branch(), status=MemberStatus.TRANSFERRED
    )
    moved_headers = await world.headers(moved)
    answer = await login(world.client, world.fake, openid_for("just-looking"))
    unbound = {"Authorization": f"Bearer {answer['token']}"}
    endpoints = member_endpoints()
    assert len(endpoints) == 18  # DELETE /meetings/{id}/leave (撤销请假) among them
    for method, path in endpoints:
        status, body = await world.call(method, path, None, json={})
        assert status == 401 and body["field"] == "Authorization", (method, path, body)
        status, body = await world.call(method, path, unbound, json={})
        assert status == 403 and "绑定" in body["error"], (method, path, body)
        status, body = await world.call(method, path, moved_headers, json={})
        assert status == 403 and "转出" in body["error"], (method, path, body)
    for table in (CheckIn, UnitReading, PointsEntry, QuizAttempt, Submission, SubscribeGrant):
        assert await table.all().count() == 0, table


async def test_binding_in_the_mini_programs_chat_binds_the_signed_in_session(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    openid = openid_for("wang-in-the-mini-program")
    answer = await login(world.client, world.fake, openid)
    assert answer["member"] is None
    headers = {"Authorization": f"Bearer {answer['token']}"}
    assert (await world.call("GET", "/auth/me", headers))[1]["bound"] is False
    # She types 绑定 in the mini-program's customer-service chat: the same appid, pushed to us.
    settings = world.client.app[SETTINGS]
    peer = WeChatPeer(settings.token, settings.aes_keys[0], settings.appid, clock=world.clock)
    world.fake.interact(openid)  # her message opens the window for our reply
    plain, _ = peer.text_xml(openid, "绑定 王芳 5678")
    assert (
        await peer.post(world.client, plain, peer.signed_query(), "/wechat/miniprogram")
    ).is_success
    await drain(world.client)
    assert "绑定成功" in (world.fake.messages_to(openid)[0].text or "")
    status, me = await world.call("GET", "/auth/me", headers)  # the same token, no new login
    assert status == 200 and me["bound"] is True and me["member"]["id"] == wang.id
    assert me["member"]["phone"] == "138****5678"
    assert (await world.call("GET", "/profile", headers))[0] == 200


# --- 我的 and 打卡 -------------------------------------------------------------------------


async def test_a_member_checks_in_once_a_day_and_a_second_tap_says_already(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    world.clock.advance(days=-1)
    status, yesterday = await world.call("POST", "/checkin", headers)
    assert status == 200 and yesterday["day"] == "2026-11-24" and yesterday["already"] is False
    world.clock.advance(days=1)
    status, first = await world.call("POST", "/checkin", headers)
    assert status == 200
    assert first == {
        "day": "2026-11-25",
        "already": False,
        "streak": 2,
        "month_days": 2,
        "points_awarded": 1,
        "points_today": 1,
    }
    status, again = await world.call("POST", "/checkin", headers)
    assert status == 200 and again["already"] is True and again["day"] == "2026-11-25"
    assert again["points_awarded"] == 0 and again["streak"] == 2
    assert await CheckIn.filter(member_id=wang.id).count() == 2
    assert await PointsEntry.filter(member_id=wang.id).count() == 2


async def test_two_taps_at_once_check_in_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    answers = await asyncio.gather(*(world.call("POST", "/checkin", headers) for _ in range(3)))
    assert [status for status, _ in answers] == [200, 200, 200]
    assert sorted(body["already"] for _, body in answers) == [False, True, True]
    assert await CheckIn.filter(member_id=wang.id).count() == 1
    assert sum(await PointsEntry.filter(member_id=wang.id).values_list("points", flat=True)) == 1


async def test_my_profile_shows_my_record_with_the_phone_masked(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    await world.call("POST", "/checkin", headers)
    await world.call("GET", "/study/today", headers)
    status, me = await world.call("GET", "/profile", headers)
    assert status == 200
    assert me["member"]["name"] == "王芳" and me["member"]["phone"] == "138****5678"
    assert me["member"]["role"] == "党员"
    assert me["member"]["organisation"]["name"] == "第一社区第一党支部"
    assert me["today"] == "2026-11-25"
    assert me["check_in"] == {"today": True, "month_days": 1, "streak": 1}
    assert me["self_study_days_this_month"] == 1  # the mini-program shows the full text
    assert me["points"] == {"this_month": 3, "last_12_months": 3}  # the member's own, no star
    # The star is the branch's decision at its 民主评议; none has been made yet.
    assert me["star"] == {"year": None, "status": "none", "star": None, "text": "尚未评定"}
    assert me["submissions"] == {"pending": 0, "approved": 0, "returned": 0}
    assert me["meetings_this_year"] == {"present": 0, "leave": 0, "absent": 0}
    assert "13800005678" not in str(me)


# --- 学习 ----------------------------------------------------------------------------------


async def test_todays_unit_is_read_in_full_and_counted_once_a_day(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    corpus = {u.id: u for u in world.client.app[CORPUS]}
    status, first = await world.call("GET", "/study/today", headers)
    assert status == 200 and first["counted"] is True
    unit = corpus[first["unit"]["id"]]
    assert first["unit"]["title"] == unit.title and first["unit"]["source"] == unit.source
    assert first["unit"]["text"] == unit.body  # the whole Markdown text, not a digest
    status, again = await world.call("GET", "/study/today", headers)
    assert again["unit"]["id"] == unit.id and again["counted"] is False  # stays put today
    other = next(u for u in corpus.values() if u.id != unit.id)
    status, read = await world.call("GET", f"/study/units/{other.id}", headers)
    assert status == 200 and read["unit"]["id"] == other.id and read["counted"] is True
    assert await UnitReading.filter(member_id=wang.id).count() == 2
    reading_points = await PointsEntry.filter(member_id=wang.id, reason="reading").count()
    assert reading_points == 1  # reading pays once a day, however many units


async def test_a_junk_unit_id_is_400_and_an_unknown_one_404(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    for junk in ("1 OR 1=1", "';DROP TABLE member;--", "Constitution", "x" * 65, "a"):
        status, body = await world.call("GET", f"/study/units/{junk}", headers)
        assert status == 400 and body["field"] == "unit_id", (junk, body)
    status, _ = await world.call("GET", "/study/units/no-such-unit", headers)
    assert status == 404
    assert await UnitReading.all().count() == 0


async def test_a_question_is_answered_with_quoted_passages_and_their_source(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    status, found = await world.call(
        "GET", "/study/search", headers, params={"q": "党费怎么交", "limit": "2"}
    )
    assert status == 200 and 1 <= len(found["items"]) <= 2 and found["topics"] == []
    best = found["items"][0]
    assert "党费" in best["text"] and best["score"] > 0
    assert set(best["unit"]) == {"id", "title", "source"} and best["unit"]["source"]
    status, nothing = await world.call(
        "GET", "/study/search", headers, params={"q": "明天天气怎么样"}
    )
    assert status == 200 and nothing["items"] == [] and nothing["topics"]  # never made up
    status, how_often = await world.call(
        "GET", "/study/search", headers, params={"q": "支委会多久开一次", "limit": "1"}
    )
    [item] = how_often["items"]
    assert item["answer"] == "支委会会议一般每月召开1次，根据需要可以随时召开。"  # the fact first
    assert item["answer"].rstrip("。") in item["text"]  # the body's own words, quoted below it


async def test_hostile_searches_are_400_naming_the_parameter(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    cases = [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "党" * 201}, "q"),
        ({"q": "党费", "limit": "0"}, "limit"),
        ({"q": "党费", "limit": "11"}, "limit"),
        ({"q": "党费", "limit": "1 OR 1=1"}, "limit"),
        ({"q": "党费", "sort": "score"}, "sort"),
    ]
    for params, field in cases:
        status, body = await world.call("GET", "/study/search", headers, params=params)
        assert status == 400 and body["field"] == field, (params, body)
    status, body = await world.call(
        "GET", "/study/search", headers, params={"q": "';DROP TABLE member;--"}
    )
    assert status == 200 and body["items"] == []
    assert await Member.all().count() == 4


async def test_the_clock_is_the_apps_clock(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """Just before midnight in Shanghai it is still the 25th; a minute later the 26th."""
    world = await start(
        aiohttp_client, make_settings, fake_wechat, datetime(2026, 11, 25, 15, 59, tzinfo=UTC)
    )
    headers = await world.headers((await people())["wang"])
    assert (await world.call("POST", "/checkin", headers))[1]["day"] == "2026-11-25"
    world.clock.advance(timedelta(minutes=2).total_seconds())
    after = (await world.call("POST", "/checkin", headers))[1]
    assert after["day"] == "2026-11-26" and after["already"] is False and after["streak"] == 2
