"""The sign-in screen of a meeting, and signing in from its QR code in WeChat's browser.

The secretary (or the group leader of a 党小组会) opens `/admin/meetings/{id}/screen` on the
room's screen or a phone: the current six-digit code in large digits and a QR code, both
refreshed by the page itself from a small JSON (`…/screen/now`) every few seconds, with the
count of 已签到 / 应到.  The QR is never fixed: it carries the meeting and the current code,
`{base_url}/admin/meetings/{id}/signin?c=123456`, so a photo of it is useless minutes later.

- The mini-program's scanner reads the URL (`parse_signin_url`) and calls the existing
  `POST /api/v1/meetings/{id}/signin` with the code.
- Opened in WeChat's own browser, the URL signs the member in through WeChat's web
  authorisation (网页授权, scope snsapi_base): a redirect to WeChat's authorize page, back
  here with a single-use code, traded for the member's openid by the one WeChat client.

The screen is behind the dashboard's session, or a session of its own opened by a one-time
link sent in chat with `签到码 N` (so a group leader, who has no dashboard, can open it too);
either way only those who run the meeting see it.  Nothing here names who has signed in:
the screen shows counts only.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import segno
from aiohttp import web

from server.admin import links
from server.admin.views import render
from server.channels import Channel
from server.clock import when_text
from server.errors import Conflict, DangjianError, WeChatAPIError
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee
from server.models.people import Member, MemberStatus, WeChatIdentity
from server.services.meetings import attendance, scheduling
from server.services.people import admin_links
from server.settings import Settings
from server.tokens import TokenStore, token_hash
from server.typedefs import CACHE, CLOCK, POINTS_RULES, SETTINGS, WECHAT_CLIENTS

log = logging.getLogger("dangjian.admin.screen")

SESSION = "admin:screen:"
COOKIE = "dj_screen"
STATE = "signin-oauth:"
STATE_TTL = 600  # seconds a member has to come back from WeChat's authorize page
POLL_SECONDS = 5  # how often the page asks for the code (it also asks when the code turns)
_CODE = re.compile(r"[0-9]{6}")
_STATE = re.compile(r"[0-9a-f]{32}")
_SIGNIN_URL = re.compile(r"/admin/meetings/([1-9][0-9]{0,9})/signin\?c=([0-9]{6})")


def add_routes(admin: web.Application) -> None:
    admin.router.add_get(r"/meetings/{id:\d+}/screen", screen, name="screen")
    admin.router.add_get(r"/meetings/{id:\d+}/screen/now", screen_now)
    admin.router.add_get(r"/meetings/{id:\d+}/screen/open", open_page)
    admin.router.add_post(r"/meetings/{id:\d+}/screen/open", open_screen)
    admin.router.add_get(r"/meetings/{id:\d+}/signin", scanned)
    admin.router.add_get(r"/meetings/{id:\d+}/signin/back", back_from_wechat)


# ---- the URL in the QR ---------------------------------------------------------------------


def signin_url(settings: Settings, meeting_id: int, code: str) -> str:
    return f"{settings.base_url}/admin/meetings/{meeting_id}/signin?c={code}"


def parse_signin_url(url: str) -> tuple[int, str] | None:
    """(meeting id, code) from a scanned QR, as the mini-program reads it; None if not ours."""
    found = _SIGNIN_URL.search(url.strip())
    if found is None or not url.strip().endswith(found.group(0)):
        return None
    return int(found.group(1)), found.group(2)


def qr_data_uri(text: str) -> str:
    """The QR code as an SVG data: URI (the dashboard's CSP allows images from data:)."""
    return segno.make(text, error="m").svg_data_uri(scale=10, border=4)


# ---- who may see the screen ----------------------------------------------------------------


def _sessions(request: web.Request, ttl: int = 3600) -> TokenStore:
    return TokenStore(request.config_dict[CACHE], SESSION, ttl)


def _number(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not 0 < int(raw) <= 2_147_483_647:
        raise web.HTTPNotFound()
    return int(raw)


async def _viewer(request: web.Request, number: int) -> Member | None:
    """The member behind this screen: its own session for this meeting, or the dashboard's."""
    found = await _sessions(request).read(request.cookies.get(COOKIE))
    if found is not None and found[1].get("meeting_id") == number:
        member = await Member.get_or_none(id=int(found[1]["member_id"]))
        if member is not None and member.status == MemberStatus.ACTIVE:
            return member
    settings, cache = request.config_dict[SETTINGS], request.config_dict[CACHE]
    return await links.session_member(cache, settings, request.cookies.get(links.COOKIE))


def _note(request: web.Request, title: str, text: str, status: int = 200) -> web.Response:
    return render(request, "screen_note.html", {"title": title, "text": text}, status=status)


NO_SESSION = (
    "请在微信中向公众号发送「签到码 {n}」，点开回复中的签到屏幕链接；"
    "支部书记也可以从党建工作后台进入。"
)


# ---- the screen and its JSON ---------------------------------------------------------------


@dataclass(frozen=True)
class ScreenState:
    meeting: Meeting
    code: str | None
    changes_at: datetime | None
    note: str  # why there is no code (not open yet, over, cancelled); "" when there is one
    present: int
    expected: int
    url: str | None

    def as_json(self, now: datetime) -> dict[str, Any]:
        left = (self.changes_at - now).total_seconds() if self.changes_at else None
        return {
            "meeting_id": self.meeting.id,
            "code": self.code,
            "seconds_left": max(0, math.ceil(left)) if left is not None else None,
            "url": self.url,
            "qr": qr_data_uri(self.url) if self.url else None,
            "note": self.note,
            "present": self.present,
            "expected": self.expected,
            "poll": POLL_SECONDS,
        }


async def _state(request: web.Request, member: Member, number: int) -> ScreenState:
    """The screen's state now; refusals (not theirs, not there) raise and become pages."""
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    code: str | None = None
    changes_at: datetime | None = None
    note = ""
    try:
        got = await attendance.signin_code(member, number, now, settings.signin_rotation)
        meeting, code, changes_at = got.meeting, got.code, got.changes_at
    except Conflict as exc:  # cancelled, not open yet or over: the screen says so and waits
        meeting = await scheduling.visible(member, number)
        note = exc.user_message
    expected = MeetingAttendee.filter(meeting_id=meeting.id, role=AttendeeRole.EXPECTED)
    return ScreenState(
        meeting=meeting,
        code=code,
        changes_at=changes_at,
        note=note,
        present=await expected.filter(attendance=Attendance.PRESENT).count(),
        expected=await expected.count(),
        url=signin_url(settings, meeting.id, code) if code else None,
    )


async def screen(request: web.Request) -> web.Response:
    number = _number(request)
    member = await _viewer(request, number)
    if member is None:
        return _note(request, "请先登录", NO_SESSION.format(n=number), status=401)
    state = await _state(request, member, number)
    clock = request.config_dict[CLOCK]
    m = state.meeting
    return render(
        request,
        "screen.html",
        {
            "title": f"{m.kind}签到",
            "meeting": m,
            "when": when_text(m.starts_at, clock.zone),
            "state": state.as_json(clock.now()),
            "poll_url": f"/admin/meetings/{m.id}/screen/now",
        },
    )


async def screen_now(request: web.Request) -> web.Response:
    number = _number(request)
    member = await _viewer(request, number)
    if member is None:
        return web.json_response({"error": "请重新打开签到屏幕链接"}, status=401)
    state = await _state(request, member, number)
    return web.json_response(state.as_json(request.config_dict[CLOCK].now()))


# ---- the one-time link from chat -----------------------------------------------------------


async def open_page(request: web.Request) -> web.Response:
    # A page with a button only: WeChat's link preview fetches the URL and must not use it up.
    number = _number(request)
    token = request.query.get("t")
    if not await admin_links.link_is_live(token, request.config_dict[CLOCK].now()):
        return _note(request, "链接无效", SPENT.format(n=number), status=403)
    return render(
        request,
        "screen_note.html",
        {
            "title": "打开签到屏幕",
            "text": "点击下面的按钮打开签到屏幕。这个链接只能使用一次，请不要转发。",
            "form": {"action": f"/admin/meetings/{number}/screen/open", "token": token},
        },
    )


SPENT = "这个链接已经用过、已经过期或无效。请在微信中重新发送「签到码 {n}」获取新的链接。"


async def open_screen(request: web.Request) -> web.Response:
    number = _number(request)
    _same_origin(request)
    clock, settings = request.config_dict[CLOCK], request.config_dict[SETTINGS]
    form = await request.post()
    token = form.get("t")
    member_id = await admin_links.consume_link(
        token if isinstance(token, str) else None, clock.now()
    )
    member = await Member.get_or_none(id=member_id) if member_id is not None else None
    if member is None or member.status != MemberStatus.ACTIVE:
        return _note(request, "链接无效", SPENT.format(n=number), status=403)
    meeting = await scheduling.manageable(member, number)  # refusals become the error page
    # Until an hour after the end, at least five minutes, at most a dashboard session.
    ttl = int((meeting.ends_at + timedelta(hours=1) - clock.now()).total_seconds())
    ttl = max(300, min(ttl, settings.admin_session_ttl))
    session = await _sessions(request, ttl).issue({"member_id": member.id, "meeting_id": number})
    response = web.Response(status=303, headers={"Location": f"/admin/meetings/{number}/screen"})
    response.set_cookie(
        COOKIE,
        session,
        max_age=ttl,
        path=f"/admin/meetings/{number}/screen",
        httponly=True,
        samesite="Lax",
        secure=settings.base_url.startswith("https://"),
    )
    log.info("sign-in screen opened", extra={"member_id": member.id, "meeting_id": number})
    return response


def _same_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return
    ours = {request.host, urlsplit(request.config_dict[SETTINGS].base_url).netloc}
    if urlsplit(origin).netloc not in ours:
        raise web.HTTPForbidden(text="请求来源不正确")


# ---- a member scans the QR in WeChat -------------------------------------------------------


def _in_wechat(request: web.Request) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


async def scanned(request: web.Request) -> web.Response:
    """The QR opened in a browser: in WeChat, off to its authorize page; elsewhere, how to
    sign in instead."""
    number = _number(request)
    code = request.query.get("c", "")
    if not _CODE.fullmatch(code):
        return _note(request, "二维码无效", "请扫描会场屏幕上最新的签到二维码。", status=400)
    if not _in_wechat(request):
        return _note(
            request,
            "请用微信扫码",
            f"请用微信「扫一扫」扫描会场屏幕上的二维码，或在公众号中发送：签到 {code}",
        )
    settings, cache = request.config_dict[SETTINGS], request.config_dict[CACHE]
    state = secrets.token_hex(16)  # WeChat allows [a-zA-Z0-9] up to 128 bytes
    await cache.set(
        STATE + token_hash(state), json.dumps({"meeting": number, "code": code}), ttl=STATE_TTL
    )
    back = f"{settings.base_url}/admin/meetings/{number}/signin/back"
    query = urlencode(
        {
            "appid": settings.appid,
            "redirect_uri": back,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        },
        quote_via=quote,
    )
    location = f"{settings.oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"
    return web.Response(status=302, headers={"Location": location})


async def _taken_state(request: web.Request, number: int) -> dict[str, Any] | None:
    """The scan this return belongs to, used once."""
    state = request.query.get("state", "")
    if not _STATE.fullmatch(state):
        return None
    cache = request.config_dict[CACHE]
    key = STATE + token_hash(state)
    raw = await cache.get(key)
    if raw is None:
        return None
    await cache.delete(key)
    found = json.loads(raw)
    return found if found.get("meeting") == number else None


AGAIN = "请重新扫描会场屏幕上最新的二维码。"


async def back_from_wechat(request: web.Request) -> web.Response:
    number = _number(request)
    scan = await _taken_state(request, number)
    code = request.query.get("code", "")
    if scan is None or not code or len(code) > 128:
        return _note(request, "签到没有完成", "这个签到链接已经用过或已过期。" + AGAIN, status=400)
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    client = request.config_dict[WECHAT_CLIENTS][Channel.OFFICIAL_ACCOUNT]
    try:
        answer = await client.oauth_access_token(code)
    except WeChatAPIError as exc:
        log.info("web authorisation refused: %s", exc.errcode)
        return _note(request, "签到没有完成", "微信授权已失效。" + AGAIN, status=400)
    openid = str(answer.get("openid") or "")
    identity = await WeChatIdentity.get_or_none(
        appid=settings.appid, openid=openid
    ).prefetch_related("member")
    member = identity.member if identity is not None else None
    if member is None or member.status != MemberStatus.ACTIVE:
        return _note(
            request,
            "请先绑定党员身份",
            "请在公众号中发送：绑定 姓名 手机号后四位，例如 绑定 张三 1234；绑定后重新扫码签到。",
            status=403,
        )
    try:
        meeting = await scheduling.visible(member, number)
        done = await attendance.sign_in(
            member,
            str(scan["code"]),
            clock.local_now(),
            clock.today(),
            settings.signin_rotation,
            request.config_dict[CACHE],
            request.config_dict[POINTS_RULES],
            meeting,
        )
    except DangjianError as exc:
        return _note(request, "签到没有完成", exc.user_message, status=exc.http_status)
    m = done.meeting
    earned = f"，积分 +{done.points}" if done.points else ""
    return _note(
        request,
        "签到成功",
        f"{member.name}同志，您已签到：{m.kind}（{when_text(m.starts_at, clock.zone)}，{m.topic}）"
        f"{earned}。",
    )
