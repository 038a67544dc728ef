"""The last router: whatever nobody else understood gets an answer that helps."""

from __future__ import annotations

from server.dispatch import Router
from server.dispatch.filters import MsgType, unbound
from server.wechat.messages import InboundMessage

router = Router("fallback")

# Whoever writes without a binding: a member of the street, a resident, or an in-service member
# of a unit reporting to the community where they live.  Each is told their own way in.
HOW_TO_BIND = (
    "您还没有绑定党员身份。党员请发送「绑定 绑定码」（绑定码向支部书记索取）。\n"
    "居民反映需求，请先发送「居民登记 姓名 手机号 社区 住址」，再发送「点单 内容」。\n"
    "在职党员到社区报到，请发送「报到 报到码 姓名 手机号」（报到码向所在单位党组织索取）。\n"
    "外地党组织的党员在本街道居住或工作，请发送「流入报到」。"
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
