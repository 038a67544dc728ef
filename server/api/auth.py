"""Signing in from the mini-program: code2session, an opaque token, binding, signing out."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api.spec import Auth, Call, Input, Routes
from server.errors import Conflict, Unauthorized, WeChatAPIError
from server.models import Channel, Member, Organisation, mask_phone
from server.services.binding import BindOutcome, BindRequest
from server.sessions import resolve
from server.typedefs import API_SESSIONS, BINDER, IDENTITIES, SETTINGS, WECHAT_CLIENTS

routes = Routes("登录与绑定")

# WeChat's answers to a bad, used or expired login code.
_BAD_CODE = frozenset({40029, 40163, 40226, 41008})


class Login(Input):
    code: str = Field(min_length=1, max_length=128, description="wx.login() 返回的 code")


class Bind(Input):
    name: str = Field(min_length=1, max_length=50, description="姓名，与党员名册一致")
    phone: str = Field(
        pattern=r"^(\d{4}|1\d{10})$", description="手机号后四位，或完整 11 位（重名时需要）"
    )


def member_json(member: Member) -> dict[str, Any]:
    """A member as they themselves and their leaders see them (the phone masked)."""
    org = member.organisation
    return {
        "id": member.id,
        "name": member.name,
        "phone": mask_phone(member.phone),
        "role": member.role.value,
        "status": member.status.value,
        "organisation": {"id": org.id, "name": org.name, "path": org.path}
        if isinstance(org, Organisation)
        else None,
    }


@routes.post(
    "/auth/login", summary="用 wx.login 的 code 登录，换取访问令牌", auth=Auth.PUBLIC, body=Login
)
async def login(call: Call[Any]) -> dict[str, Any]:
    """code2session 在服务器完成；session_key 不离开服务器。未绑定时 member 为 null。"""
    settings = call.app[SETTINGS]
    client = call.app[WECHAT_CLIENTS][Channel.MINIPROGRAM]
    try:
        answer = await client.code2session(call.body.code)
    except WeChatAPIError as exc:
        if exc.errcode in _BAD_CODE:
            raise Unauthorized("登录凭证无效或已使用，请重新调用 wx.login", field="code") from None
        raise
    openid = answer.get("openid")
    if not isinstance(openid, str) or not openid:
        raise WeChatAPIError(-1, "code2session answered without an openid", api="code2session")
    token = await call.app[API_SESSIONS].open(
        appid=settings.mp_appid,
        openid=openid,
        unionid=answer.get("unionid"),
        session_key=str(answer.get("session_key", "")),
    )
    session = await resolve(call.app[API_SESSIONS], call.app[IDENTITIES], token)
    member = session.member if session else None
    return {
        "token": token,
        "expires_in": call.app[API_SESSIONS].ttl,
        "member": member_json(member) if member else None,
    }


@routes.get("/auth/me", summary="当前登录的用户与绑定状态", auth=Auth.SESSION)
async def me(call: Call[Any]) -> dict[str, Any]:
    assert call.session is not None
    member = call.session.member
    return {
        "bound": member is not None,
        "member": member_json(member) if member else None,
        "expires_at": int(call.session.expires_at),
    }


@routes.post("/auth/bind", summary="绑定党员身份（姓名 + 手机号）", auth=Auth.SESSION, body=Bind)
async def bind(call: Call[Any]) -> dict[str, Any]:
    """与聊天中的「绑定 姓名 手机号后四位」相同的规则与错误次数限制。"""
    session = call.session
    assert session is not None
    result = await call.app[BINDER].bind(
        BindRequest(
            appid=session.appid,
            openid=session.openid,
            channel=Channel.MINIPROGRAM,
            name=call.body.name,
            digits=call.body.phone,
            unionid=session.unionid,
        )
    )
    if result.outcome is BindOutcome.AMBIGUOUS:
        raise Conflict("名册中有同名党员，请填写完整的 11 位手机号", field="phone")
    assert result.member is not None
    member = await Member.get(id=result.member.id).prefetch_related("organisation")
    return {
        "bound": True,
        "already": result.outcome is BindOutcome.ALREADY,
        "member": member_json(member),
    }


@routes.post("/auth/logout", summary="注销当前令牌", auth=Auth.SESSION)
async def logout(call: Call[Any]) -> dict[str, Any]:
    assert call.session is not None
    await call.app[API_SESSIONS].revoke(call.session.token_hash)
    return {"ok": True}
