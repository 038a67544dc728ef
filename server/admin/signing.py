"""Signing in and out: the page that says how, the link's button, the session cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from server.admin import links
from server.admin.pages import message_page, render
from server.errors import PermissionDenied
from server.models.people import Member
from server.services.people import admin_links
from server.typedefs import CACHE, CLOCK, SETTINGS

LINK_SPENT = "这个登录链接已经用过、已经过期或无效。请在微信中重新发送「后台」获取新的链接。"


async def signed_in(request: web.Request) -> Member:
    """The member behind the session cookie; without one, off to the page that says how."""
    member = await links.session_member(
        request.config_dict[CACHE], request.config_dict[SETTINGS], request.cookies.get(links.COOKIE)
    )
    if member is None:
        raise web.HTTPSeeOther(location="/admin/signin")
    return member


def same_origin(request: web.Request) -> None:
    """A form posted from another site is refused (the cookie is SameSite=Lax as well)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    ours = {request.host, urlsplit(request.config_dict[SETTINGS].base_url).netloc}
    if urlsplit(origin).netloc not in ours:
        raise PermissionDenied("请求来源不正确，请从后台页面操作。")


async def sign_in_hint(request: web.Request) -> web.Response:
    signed_out = request.query.get("out") == "1"
    return render(request, "signin.html", {"title": "党建工作后台", "signed_out": signed_out})


async def login_page(request: web.Request) -> web.Response:
    # Only a page with a button: WeChat's link preview fetches the URL and must not use it up.
    token = request.query.get("t")
    if not await admin_links.link_is_live(token, request.config_dict[CLOCK].now()):
        return message_page(request, "登录链接无效", LINK_SPENT, status=403)
    return render(request, "login.html", {"title": "进入后台", "token": token})


async def login(request: web.Request) -> web.Response:
    same_origin(request)
    settings, cache = request.config_dict[SETTINGS], request.config_dict[CACHE]
    form = await request.post()
    token = form.get("t")
    member_id = await admin_links.consume_link(
        token if isinstance(token, str) else None, request.config_dict[CLOCK].now()
    )
    member = await links.session_member_by_id(member_id) if member_id is not None else None
    if member is None:
        return message_page(request, "登录链接无效", LINK_SPENT, status=403)
    session = await links.open_session(cache, settings, member.id)
    response = web.Response(status=303, headers={"Location": "/admin"})
    response.set_cookie(
        links.COOKIE,
        session,
        max_age=settings.admin_session_ttl,
        path="/admin",
        httponly=True,
        samesite="Lax",
        secure=settings.base_url.startswith("https://"),
    )
    return response


async def logout(request: web.Request) -> web.Response:
    same_origin(request)
    await links.close_session(
        request.config_dict[CACHE], request.config_dict[SETTINGS], request.cookies.get(links.COOKIE)
    )
    response = web.Response(status=303, headers={"Location": "/admin/signin?out=1"})
    response.del_cookie(links.COOKIE, path="/admin")
    return response
