"""The last router: whatever nobody else understood gets an answer that helps."""

from __future__ import annotations

from server.dispatch import Router
from server.dispatch.filters import MsgType, unbound
from server.wechat.messages import InboundMessage

router = Router("fallback")

HOW_TO_BIND = (
    "您还没有绑定党员身份。请发送「绑定 姓名 手机号后四位」，例如：绑定 张三 1234。"
    "如有疑问请联系您的支部书记。"
)


@router.handler(MsgType("voice"), lambda ctx: ctx.text is None)
async def unrecognised_voice() -> str:
    return "没能识别这段语音，请再说一遍，或者直接发文字。"


@router.message(unbound)
async def ask_to_bind() -> str:
    return HOW_TO_BIND


@router.handler(
    MsgType("image", "video", "shortvideo", "location", "link", "file", "miniprogrampage")
)
async def unsupported_media(message: InboundMessage) -> str:
    return "目前我只能看懂文字和语音消息。回复 帮助 查看可以做的事。"


@router.event()
async def other_events() -> None:
    # Scans, location reports, template-send results and the like need no reply.
    return None
