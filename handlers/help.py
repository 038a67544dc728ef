"""帮助 / 菜单: what this user can do, built from what the routers registered, by role."""

from __future__ import annotations

from server.dispatch import ChatContext, Router
from server.dispatch.filters import Keyword
from server.dispatch.router import HelpEntry
from server.wechat.replies import MAX_TEXT_BYTES

router = Router("help")
HELP = Keyword("帮助", "菜单", "功能", "help", "menu", "?", "？")

router.help("帮助", "查看可以做的事", visible=lambda ctx: True, order=99)


NUMBER_HINT = "（示例里的 12 换成会议编号，发送 会议 可以查到）"


def render_menu(ctx: ChatContext, entries: list[HelpEntry]) -> str:
    """Each role's own menu: only what this user may do, each with a real example.

    A secretary may do so much that the menu with every explanation passes WeChat's limit for
    one message; then each line is the example alone, so nothing is cut off the end.
    """
    full = _menu(ctx, entries, explained=True)
    return full if len(full.encode()) <= MAX_TEXT_BYTES else _menu(ctx, entries, explained=False)


def _menu(ctx: ChatContext, entries: list[HelpEntry], *, explained: bool) -> str:
    lines = [f"{ctx.member.name}同志，您可以发送：" if ctx.member else "您可以发送："]
    shown = [entry for entry in entries if entry.visible(ctx)]
    for entry in shown:
        lines.append(f"· {entry.usage} —— {entry.summary}" if explained else f"· {entry.usage}")
    if any(" 12" in entry.usage for entry in shown):
        lines.append(NUMBER_HINT)
    if ctx.member is None:
        lines.append("绑定党员身份后可以使用更多功能。")
    return "\n".join(lines)


@router.message(HELP)
async def show_help(ctx: ChatContext, help_entries: list[HelpEntry]) -> str:
    return render_menu(ctx, help_entries)
