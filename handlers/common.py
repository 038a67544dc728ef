"""取消: leave whatever multi-turn flow the member is in."""

from __future__ import annotations

from server.dispatch import Router
from server.dispatch.filters import Keyword, in_any_state
from server.dispatch.state import Conversation

router = Router("common")
CANCEL = Keyword("取消", "退出", "cancel")

router.help("取消", "放弃正在进行的操作", visible=in_any_state, order=90)


@router.message(CANCEL, in_any_state)
async def cancel(conversation: Conversation) -> str:
    conversation.clear()
    return "好的，已取消。回复 帮助 查看可以做的事。"


@router.message(CANCEL)
async def nothing_to_cancel() -> str:
    return "当前没有进行中的操作。回复 帮助 查看可以做的事。"
