"""Following the account: a welcome that tells a newcomer the one thing to do first."""

from __future__ import annotations

from server.dispatch import Router
from server.dispatch.filters import EventType
from server.models.people import Member

router = Router("start")

WELCOME_UNBOUND = (
    "欢迎关注党建助手！\n"
    "请先绑定党员身份：发送「绑定 姓名 手机号后四位」，例如：绑定 张三 1234。\n"
    "绑定后可以每日打卡、学习、参加会议签到。回复 帮助 查看全部功能。"
)


@router.event(EventType("subscribe"))
async def welcome(member: Member | None) -> str:
    if member is None:
        return WELCOME_UNBOUND
    return f"欢迎回来，{member.name}同志！回复 帮助 查看可以做的事。"


@router.event(EventType("unsubscribe"))
async def goodbye() -> None:
    # WeChat delivers nothing to a user who just left; there is no one to answer.
    return None
