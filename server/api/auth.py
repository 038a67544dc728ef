"""Signing in from the mini-program: code2session, an opaque token, binding, signing out."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from server.api import replies
from server.api.spec import Auth, Call, Input, Routes
from server.channels import Channel
from server.errors import Conflict, Unauthorized, ValidationFailed, WeChatAPIError
from server.models.people import Member, Organisation, own_phone
from server.services.people.binding import BindOutcome, BindRequest, BindResult
from server.services.people.union_link import link_by_unionid
from server.sessions import resolve
from server.typedefs import API_SESSIONS

routes = Routes("登录与绑定")

# WeChat's answers to a bad, used or expired login code.
_BAD_CODE = frozenset({40029, 40163, 40226, 41008})


class Login(Input):
    code: str = Field(min_length=1, max_length=128, description="wx.login() 返回的 code")


class Bind(Input):
    """Exactly one way: `code`, `phone_code`, or `name` with `phone` (where allowed)."""

    code: str | None = Field(
        None, min_length=4, max_length=20, description="支部书记发给本人的一次性绑定码"
    )
    phone_code: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="手机号快捷验证（getPhoneNumber）返回的 code，由服务器向微信换取手机号",
    )
    name: str | None = Field(
        None, min_length=1, max_length=50, description="姓名（仅限组织允许时的普通党员）"
    )
    phone: str | None = Field(
        None,
        pattern=r"^(\d{4}|1\d{10})$",
        description="与 name 同用：手机号后四位，或完整 11 位（重名时需要）",
        validate_default=True,
    )

    @field_validator("phone")
    @classmethod
    def _with_name(cls, v: str | None, info: ValidationInfo) -> str | None:
        # Named here, not in the model check, so the error points at the missing field.
        if (v is None) != (info.data.get("name") is None):
            raise ValueError("name and phone go together")
        return v

    @model_validator(mode="after")
    def _one_way(self) -> Bind:
        ways = [self.code is not None, self.phone_code is not None, self.name is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of code, phone_code, or name with phone")
        return self


def member_json(member: Member) -> dict[str, Any]:
    """A member as they themselves see themselves (others see the roster's masking)."""
    org = member.organisation
    return {
        "id": member.id,
        "name": member.name,
        "phone": own_phone(member.phone),
        "role": member.role.value,
        "status": member.status.value,
        "organisation": {"id": org.id, "name": org.name, "path": org.path}
        if isinstance(org, Organisation)
        else None,
    }


@routes.post(
    "/auth/login",
    response=replies.LoggedIn,
    summary="用 wx.login 的 code 登录，换取访问令牌",
    auth=Auth.PUBLIC,
    body=Login,
)
async def login(call: Call[Any]) -> dict[str, Any]:
    """code2session 在服务器完成；session_key 不离开服务器。未绑定时 member 为 null。"""
    settings = call.deps.settings
    client = call.deps.wechat_clients[Channel.MINIPROGRAM]
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
    session = await resolve(call.app[API_SESSIONS], call.deps.identities, token)
    member = session.member if session else None
    if member is None and await link_by_unionid(
        settings.mp_appid, openid, answer.get("unionid"), Channel.MINIPROGRAM, call.deps.identities
    ):
        # Bound in the 公众号 by the same WeChat user: bound here too.
        session = await resolve(call.app[API_SESSIONS], call.deps.identities, token)
        member = session.member if session else None
    return {
        "token": token,
        "expires_in": call.app[API_SESSIONS].ttl,
        "member": member_json(member) if member else None,
    }


@routes.get(
    "/auth/me", response=replies.Session, summary="当前登录的用户与绑定状态", auth=Auth.SESSION
)
async def me(call: Call[Any]) -> dict[str, Any]:
    assert call.session is not None
    member = call.session.member
    return {
        "bound": member is not None,
        "member": member_json(member) if member else None,
        "expires_at": int(call.session.expires_at),
    }


async def _verified_phone(call: Call[Any], phone_code: str) -> str:
    client = call.deps.wechat_clients[Channel.MINIPROGRAM]
    try:
        return await client.phone_number(phone_code)
    except WeChatAPIError as exc:
        if exc.errcode in _BAD_CODE:
            # The session is fine; only this code is spent: a 400, not a 401.
            raise ValidationFailed(
                "手机号验证凭证无效或已使用，请重新验证", field="phone_code"
            ) from None
        raise


@routes.post(
    "/auth/bind",
    response=replies.Bound,
    summary="绑定党员身份（绑定码、手机号快捷验证，或组织允许时的姓名 + 手机号后四位）",
    auth=Auth.SESSION,
    body=Bind,
)
async def bind(call: Call[Any]) -> dict[str, Any]:
    """与聊天中的「绑定」相同的规则与错误次数限制。支委、党小组长等只能用绑定码或手机号验证。"""
    session = call.session
    assert session is not None
    body: Bind = call.body
    binder = call.deps.binder
    req = BindRequest(
        appid=session.appid,
        openid=session.openid,
        channel=Channel.MINIPROGRAM,
        name=body.name or "",
        digits=body.phone or "",
        unionid=session.unionid,
    )
    result: BindResult
    if body.code is not None:
        result = await binder.bind_with_code(req, body.code)
    elif body.phone_code is not None:
        result = await binder.bind_verified_phone(req, await _verified_phone(call, body.phone_code))
    else:
        result = await binder.bind(req)
    if result.outcome is BindOutcome.AMBIGUOUS:
        raise Conflict("名册中有同名党员，请填写完整的 11 位手机号", field="phone")
    assert result.member is not None
    member = await Member.get(id=result.member.id).prefetch_related("organisation")
    return {
        "bound": True,
        "already": result.outcome is BindOutcome.ALREADY,
        "member": member_json(member),
    }


@routes.post("/auth/logout", response=replies.Ok, summary="注销当前令牌", auth=Auth.SESSION)
async def logout(call: Call[Any]) -> dict[str, Any]:
    assert call.session is not None
    await call.app[API_SESSIONS].revoke(call.session.token_hash)
    return {"ok": True}
