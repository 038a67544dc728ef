"""绑定 绑定码 (or 绑定 姓名 后四位, where allowed) ties this WeChat user to a member;
绑定码 姓名 lets a secretary issue a code; 我的身份 shows who this user is."""

from __future__ import annotations

import re

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, HasRole, InState, Keyword, bound, unbound
from server.dispatch.state import Conversation
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, OrgKind, Role, own_phone
from server.services.people.bind_codes import issue_code, normalise
from server.services.people.binding import Binder, BindOutcome, BindRequest, parse_bind_args
from server.settings import Settings

router = Router("binding")
ASK_FULL_PHONE = "bind:full_phone"
issuers = HasRole(BRANCH_LEADERS | {Role.STAFF, Role.ADMIN})

router.help("绑定 绑定码", "用支部书记发给您的绑定码绑定党员身份", visible=unbound, order=1)
router.help("我的身份", "查看绑定的党员信息", visible=bound, order=80)
router.help("绑定码 姓名", "为本组织的党员生成一次性绑定码", visible=issuers, order=85)

USAGE = (
    "请发送：绑定 绑定码（绑定码向支部书记索取，一天内有效，只能用一次）。"
    "如本组织允许，普通党员也可以发送：绑定 姓名 手机号后四位，例如：绑定 张三 1234。"
)


async def describe(member: Member) -> str:
    """The member as they see themselves: their own number's tail is theirs to see."""
    await member.fetch_related("organisation", "group")
    org = member.organisation
    where = org.path.split("/", 1)[-1] if org.kind is not OrgKind.COMMITTEE else org.name
    group = f" · {member.group.name}" if member.group else ""
    return f"{member.name}（{member.role.value}）\n{where}{group}\n手机 {own_phone(member.phone)}"


def _request(ctx: ChatContext, name: str = "", digits: str = "") -> BindRequest:
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


# Before 绑定: "绑定码 王芳" starts with 绑定 too.
@router.message(Command("绑定码", "bindcode"), issuers)
async def issue(args: str, member: Member, clock: Clock, settings: Settings) -> str:
    if not args:
        return "请发送：绑定码 姓名（重名时：绑定码 手机号）。"
    digits = re.sub(r"[\s-]", "", args)
    query = Member.filter(status=MemberStatus.ACTIVE)
    query = (
        query.filter(phone=digits)
        if re.fullmatch(r"1\d{10}", digits)
        else query.filter(name=args.strip())
    )
    found = await query.prefetch_related("organisation", "group")
    if len(found) > 1:
        return f"有不止一位名叫{args.strip()}的党员，请发送：绑定码 手机号。"
    if not found:
        return "没有找到这位在册党员。请核对姓名（或发送：绑定码 手机号）。"
    code = await issue_code(found[0], clock.now(), settings.bind_code_ttl, member)
    return (
        f"{found[0].name}的绑定码：{code}\n"
        f"请当面或电话交给本人，由本人发送：绑定 {code}\n"
        "一天内有效，只能用一次；再次生成后旧的作废。"
    )


@router.message(Command("绑定", "bind"))
async def bind(args: str, ctx: ChatContext, conversation: Conversation, binder: Binder) -> str:
    if not args:
        return USAGE
    if normalise(args) is not None:
        result = await binder.bind_with_code(_request(ctx), args)
        assert result.member is not None
        return await _answer(result.member, result.outcome)
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
