"""绑定 姓名 手机号后四位 ties this WeChat user to a member; 我的身份 shows who that is."""

from __future__ import annotations

import re

from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, InState, Keyword, bound, unbound
from server.dispatch.state import Conversation
from server.models import Member, OrgKind, mask_phone
from server.services.binding import Binder, BindOutcome, BindRequest, parse_bind_args

router = Router("binding")
ASK_FULL_PHONE = "bind:full_phone"

router.help("绑定 姓名 手机号后四位", "绑定党员身份", visible=unbound, order=1)
router.help("我的身份", "查看绑定的党员信息", visible=bound, order=80)

USAGE = "请按格式发送：绑定 姓名 手机号后四位，例如：绑定 张三 1234。"


async def describe(member: Member) -> str:
    await member.fetch_related("organisation", "group")
    org = member.organisation
    where = org.path.split("/", 1)[-1] if org.kind is not OrgKind.COMMITTEE else org.name
    group = f" · {member.group.name}" if member.group else ""
    return f"{member.name}（{member.role.value}）\n{where}{group}\n手机 {mask_phone(member.phone)}"


def _request(ctx: ChatContext, name: str, digits: str) -> BindRequest:
    unionid = ctx.message.raw.get("UnionId")
    return BindRequest(
        appid=ctx.appid,
        openid=ctx.message.from_user,
        channel=ctx.message.channel,
        name=name,
        digits=digits,
        unionid=unionid if isinstance(unionid, str) else None,
    )


async def _answer(result_member: Member, outcome: BindOutcome) -> str:
    info = await describe(result_member)
    if outcome is BindOutcome.ALREADY:
        return f"您已经绑定过了，无需重复绑定：\n{info}"
    return f"绑定成功！欢迎您，{result_member.name}同志。\n{info}\n回复 帮助 查看可以做的事。"


@router.message(InState(ASK_FULL_PHONE))
async def full_phone(
    text: str, ctx: ChatContext, conversation: Conversation, binder: Binder
) -> str:
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"1\d{10}", digits):
        return "请发送您完整的 11 位手机号（回复 取消 放弃绑定）。"
    name = str(conversation.data.get("name", ""))
    among = tuple(int(i) for i in conversation.data.get("candidates", []))
    conversation.clear()
    result = await binder.bind(_request(ctx, name, digits), among=among)
    assert result.member is not None  # a full number cannot be ambiguous
    return await _answer(result.member, result.outcome)


@router.message(Command("绑定", "bind"))
async def bind(args: str, ctx: ChatContext, conversation: Conversation, binder: Binder) -> str:
    if not args:
        return USAGE
    name, digits = parse_bind_args(args)
    result = await binder.bind(_request(ctx, name, digits))
    if result.outcome is BindOutcome.AMBIGUOUS:
        conversation.set(ASK_FULL_PHONE, name=name, candidates=list(result.candidates))
        return (
            f"有不止一位名叫{name}、手机号后四位相同的党员。"
            "请发送您完整的 11 位手机号以确认身份（回复 取消 放弃）。"
        )
    assert result.member is not None
    return await _answer(result.member, result.outcome)


@router.message(Keyword("我的身份", "身份", "我是谁", "whoami"), bound)
async def whoami(member: Member) -> str:
    return "您绑定的党员信息：\n" + await describe(member)
