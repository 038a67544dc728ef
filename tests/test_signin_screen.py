"""The sign-in screen: the secretary opens it from chat, it refreshes itself, members scan it.

A meeting tomorrow 15:00–16:30; the clock is frozen at 14:50, when sign-in is open.  The
screen's page and its JSON are read through the real HTTP server, the QR code is read back by
a barcode reader, and a member scanning it in WeChat signs in through the fake WeChat's web
authorisation, as WeChat's browser would.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp.test_utils import TestClient

from server.admin.screen import parse_signin_url
from server.app import create_app
from server.clock import FrozenClock
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.people import Member, Role
from server.typedefs import SETTINGS
from server.wechat.fake import USER_HEADER
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_member
from tests.qr_reading import read_qr
from tests.test_attendance_chat import STARTS, code_in
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
from tests.wechat_peer import WeChatPeer

WECHAT_BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone) AppleWebKit MicroMessenger/8.0.50"}
LINK = re.compile(r"http://[^\s]+/admin/meetings/(\d+)/screen/open\?t=[A-Za-z0-9_-]+")


async def open_meeting(
    aiohttp_client: Any, make_settings: Any, fake_url: str, kind: str = "党员大会"
) -> tuple[TestClient, WeChatPeer, FrozenClock, dict[str, Member], Meeting]:
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, wechat_oauth_base=fake_url)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    people = await branch_with_people()
    await say(client, peer, SECRETARY, f"安排 {kind} 明天下午3点 学习二十大精神 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    clock.set(STARTS - timedelta(minutes=10))  # 14:50: sign-in is open
    return client, peer, clock, people, await Meeting.get()


def local(client: TestClient, url: str) -> str:
    """An absolute link the server printed, as a path on the test server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def open_screen_from_chat(
    client: TestClient, peer: WeChatPeer, who: str, meeting: Meeting
) -> tuple[str, str]:
    """`签到码 N` in chat, then the link it offers: the code it said, and the screen's HTML."""
    reply = await say(client, peer, who, f"签到码 {meeting.id}")
    code = code_in(reply)
    link = LINK.search(reply)
    assert link and int(link.group(1)) == meeting.id, reply
    path = local(client, link.group(0))
    # WeChat's link preview fetches the page first: it shows a button and uses nothing up.
    for _ in range(2):
        page = await client.get(path)
        assert page.status == 200 and "打开签到屏幕" in await page.text()
    token = parse_qs(urlsplit(path).query)["t"][0]
    opened = await client.post(
        f"/admin/meetings/{meeting.id}/screen/open", data={"t": token}, allow_redirects=False
    )
    assert opened.status == 303, await opened.text()
    assert opened.headers["Location"] == f"/admin/meetings/{meeting.id}/screen"
    again = await client.post(
        f"/admin/meetings/{meeting.id}/screen/open", data={"t": token}, allow_redirects=False
    )
    assert again.status == 403  # once only
    screen = await client.get(f"/admin/meetings/{meeting.id}/screen")
    assert screen.status == 200
    return code, await screen.text()


async def now_json(client: TestClient, meeting: Meeting) -> dict[str, Any]:
    resp = await client.get(f"/admin/meetings/{meeting.id}/screen/now")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_the_secretary_opens_the_screen_from_chat_and_it_shows_the_code_and_count(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, peer, _, _, meeting = await open_meeting(aiohttp_client, make_settings, fake_wechat[1])
    code, html = await open_screen_from_chat(client, peer, SECRETARY, meeting)
    assert "支部党员大会签到" in html and "学习二十大精神" in html and "会议室" in html
    assert f'id="code" class="digits" aria-live="polite">{code}<' in html
    assert 'src="data:image/svg+xml' in html
    assert re.search(r'id="present">0</strong> / 应到 <strong id="expected">5<', html)
    # Under the dashboard's CSP: no inline script or style, nothing from elsewhere.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/admin/static/screen.js" defer>']
    assert "style=" not in html and "<style" not in html and "http" not in html.split("<body")[0]
    resp = await client.get(f"/admin/meetings/{meeting.id}/screen")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "img-src 'self' data:" in csp
    assert resp.headers["Cache-Control"] == "no-store"
    for static in ("screen.js", "screen.css"):
        assert (await client.get(f"/admin/static/{static}")).status == 200
    state = await now_json(client, meeting)
    assert state["code"] == code and state["present"] == 0 and state["expected"] == 5
    assert state["note"] == "" and 0 < state["seconds_left"] <= 300


async def test_the_code_and_qr_turn_over_by_themselves_and_the_previous_code_still_works(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, peer, clock, _, meeting = await open_meeting(
        aiohttp_client, make_settings, fake_wechat[1]
    )
    await open_screen_from_chat(client, peer, SECRETARY, meeting)
    first = await now_json(client, meeting)
    assert (await now_json(client, meeting))["code"] == first["code"]  # the same until it turns
    clock.advance(seconds=client.app[SETTINGS].signin_rotation)
    second = await now_json(client, meeting)
    assert second["code"] != first["code"] and second["qr"] != first["qr"]
    assert read_qr(second["qr"]).endswith(f"/admin/meetings/{meeting.id}/signin?c={second['code']}")
    # A member who read the code just before it turned is not refused.
    assert "签到成功" in await say(client, peer, MEMBER, f"签到 {first['code']}")
    assert (await now_json(client, meeting))["present"] == 1


async def test_the_qr_read_by_the_mini_program_signs_a_member_in_through_the_api(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, fake_url = fake_wechat
    client, peer, _, people, meeting = await open_meeting(aiohttp_client, make_settings, fake_url)
    await open_screen_from_chat(client, peer, SECRETARY, meeting)
    state = await now_json(client, meeting)
    scanned = read_qr(state["qr"])  # what the phone's scanner reads off the screen
    base = client.app[SETTINGS].base_url
    assert scanned == f"{base}/admin/meetings/{meeting.id}/signin?c={state['code']}"
    assert parse_signin_url(scanned) == (meeting.id, state["code"])
    headers = await signed_in(client, fake, people["other"])
    number, code = parse_signin_url(scanned) or (0, "")
    resp = await client.post(
        f"/api/v1/meetings/{number}/signin", json={"code": code}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    assert (await now_json(client, meeting))["present"] == 1
    # Anything else is not a sign-in QR.
    for other in (
        "https://example.com/",
        f"{base}/admin/meetings/{meeting.id}/signin?c=12345",
        f"{base}/admin/meetings/{meeting.id}/signin?c=123456&x=1",
        f"{base}/admin/meetings/0/signin?c=123456",
    ):
        assert parse_signin_url(other) is None, other


async def test_a_member_scans_in_wechat_and_is_signed_in_by_web_authorisation(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, fake_url = fake_wechat
    client, peer, _, _, meeting = await open_meeting(aiohttp_client, make_settings, fake_url)
    await open_screen_from_chat(client, peer, SECRETARY, meeting)
    scanned = read_qr((await now_json(client, meeting))["qr"])
    # WeChat's browser opens the URL: off to WeChat's authorize page, silently (snsapi_base).
    first = await client.get(local(client, scanned), headers=WECHAT_BROWSER, allow_redirects=False)
    assert first.status == 302
    authorize = first.headers["Location"]
    assert authorize.startswith(f"{fake_url}/connect/oauth2/authorize?")
    assert authorize.endswith("#wechat_redirect")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["scope"] == ["snsapi_base"] and asked["response_type"] == ["code"]
    assert asked["appid"] == [client.app[SETTINGS].appid]
    assert asked["redirect_uri"][0].endswith(f"/admin/meetings/{meeting.id}/signin/back")
    async with aiohttp.ClientSession() as wechat_browser:
        at_wechat = await wechat_browser.get(
            authorize.split("#")[0], headers={USER_HEADER: MEMBER}, allow_redirects=False
        )
        assert at_wechat.status == 302
        back = at_wechat.headers["Location"]
    done = await client.get(local(client, back), headers=WECHAT_BROWSER)
    text = await done.text()
    assert done.status == 200 and "签到成功" in text and "王芳同志" in text, text
    row = await MeetingAttendee.get(meeting=meeting, member__name="王芳")
    assert row.attendance == Attendance.PRESENT
    # The same return a second time: the state and WeChat's code are both used up.
    replay = await client.get(local(client, back), headers=WECHAT_BROWSER)
    assert replay.status == 400 and "已经用过或已过期" in await replay.text()
    calls = fake.calls_to("/sns/oauth2/access_token")
    assert len(calls) == 1 and calls[0].query["grant_type"] == "authorization_code"
    assert calls[0].query["secret"] == "***"  # sent, and never shown


async def test_scanning_goes_wrong_in_the_ways_people_make_it(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, fake_url = fake_wechat
    client, peer, _, people, meeting = await open_meeting(aiohttp_client, make_settings, fake_url)
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {meeting.id}"))
    path = f"/admin/meetings/{meeting.id}/signin?c={code}"
    # A phone's own camera, outside WeChat: told to scan in WeChat or send the code.
    outside = await client.get(path)
    assert outside.status == 200 and f"签到 {code}" in await outside.text()
    bad = await client.get(f"/admin/meetings/{meeting.id}/signin?c=12ab56", headers=WECHAT_BROWSER)
    assert bad.status == 400
    # A made-up return, and a real state with a code WeChat never issued (40029).
    forged = await client.get(
        f"/admin/meetings/{meeting.id}/signin/back?code=x&state={'0' * 32}", headers=WECHAT_BROWSER
    )
    assert forged.status == 400
    start = await client.get(path, headers=WECHAT_BROWSER, allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    wrong = await client.get(
        f"/admin/meetings/{meeting.id}/signin/back?code=never-issued&state={state}",
        headers=WECHAT_BROWSER,
    )
    assert wrong.status == 400 and "微信授权已失效" in await wrong.text()
    assert fake.calls_to("/sns/oauth2/access_token")[-1].errcode == 40029

    async def scan_as(openid: str) -> str:
        start = await client.get(path, headers=WECHAT_BROWSER, allow_redirects=False)
        async with aiohttp.ClientSession() as browser:
            at = await browser.get(
                start.headers["Location"].split("#")[0],
                headers={USER_HEADER: openid},
                allow_redirects=False,
            )
            back = at.headers["Location"]
        return await (await client.get(local(client, back), headers=WECHAT_BROWSER)).text()

    # Someone who never bound is asked to; a member not on this meeting's list is told so.
    assert "请先绑定党员身份" in await scan_as("o-never-bound-anyone")
    stranger = await make_member(
        "赵六",
        "13800000010",
        org=await make_branch("示范街道党工委/第二社区党总支/第二社区第一党支部"),
    )
    await bind(stranger, OTHER)
    assert "没有找到编号" in await scan_as(OTHER)
    assert await MeetingAttendee.filter(attendance=Attendance.PRESENT).count() == 0
    assert people["member"].id  # 王芳 herself was never signed in by any of this


async def test_only_those_who_run_the_meeting_see_its_screen(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, peer, clock, _, meeting = await open_meeting(
        aiohttp_client, make_settings, fake_wechat[1]
    )
    # Nobody signed in: told how to open it, no code shown.
    page = await client.get(f"/admin/meetings/{meeting.id}/screen")
    assert page.status == 401 and f"签到码 {meeting.id}" in await page.text()
    assert (await client.get(f"/admin/meetings/{meeting.id}/screen/now")).status == 401
    # A plain member gets no link; another branch's secretary gets what a made-up number gets.
    assert "签到屏幕" not in await say(client, peer, MEMBER, f"签到码 {meeting.id}")
    stranger = await make_member(
        "赵书记",
        "13800000009",
        role=Role.SECRETARY,
        org=await make_branch("示范街道党工委/第二社区党总支/第二社区第一党支部"),
    )
    await bind(stranger, OTHER)
    assert "没有找到" in await say(client, peer, OTHER, f"签到码 {meeting.id}")
    # A forged cookie is no session.
    client.session.cookie_jar.update_cookies({"dj_screen": "A" * 43})
    assert (await client.get(f"/admin/meetings/{meeting.id}/screen/now")).status == 401
    # The screen's session is for its own meeting only.
    await open_screen_from_chat(client, peer, SECRETARY, meeting)
    assert (await client.get(f"/admin/meetings/{meeting.id + 1}/screen/now")).status == 401
    # After the end the screen says so, and shows no code.
    clock.set(STARTS + timedelta(hours=2))
    over = await now_json(client, meeting)
    assert over["code"] is None and over["qr"] is None and "已经结束" in over["note"]


async def test_a_group_leader_runs_the_screen_of_the_group_meeting(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    clock = FrozenClock(NOW)
    client = await aiohttp_client(
        create_app(make_settings(identity_ttl=0, wechat_oauth_base=fake_wechat[1]), clock=clock)
    )
    settings = client.app[SETTINGS]
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    await branch_with_people()
    await say(client, peer, LEADER, "安排 党小组会 明天下午3点 学习党章 地点 活动室")
    await say(client, peer, LEADER, "确认")
    meeting = await Meeting.get()
    before = await say(client, peer, LEADER, f"签到码 {meeting.id}")
    assert "开始前 30 分钟开放" in before
    clock.set(STARTS - timedelta(minutes=5))
    code, html = await open_screen_from_chat(client, peer, LEADER, meeting)
    assert "党小组会签到" in html and code in html
    assert re.search(r'id="expected">2<', html)
