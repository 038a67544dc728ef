"""帮助: each role sees real examples of what it may do, and nothing it may not."""

from __future__ import annotations

import re
from typing import Any

from server.wechat.replies import MAX_TEXT_BYTES
from tests.test_meetings_chat import LEADER, MEMBER, SECRETARY, app, branch_with_people, say
from tests.wechat_peer import openid_for

STRANGER = openid_for("not-bound-yet")


def usages(menu: str) -> str:
    """What the menu offers to send (the part before ——), one per line."""
    return "\n".join(line[2:].split(" —— ")[0] for line in menu.splitlines() if line[:2] == "· ")


async def test_each_role_sees_only_what_it_may_do(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    menus = [await say(client, peer, who, "帮助") for who in (MEMBER, LEADER, SECRETARY)]
    member, leader, secretary = (usages(menu) for menu in menus)
    # A plain member: studying, her meetings, signing in, asking for leave.
    for usage in ("打卡", "签到 123456", "请假 12 在外地出差", "撤销请假 12", "会议"):
        assert usage in member, usage
    for never in ("安排", "准假", "签到码", "补录", "审核", "纪要", "列席", "后台", "待办"):
        assert never not in member, never
    # A group leader: the group's meetings, not the branch's business.
    assert "安排 党小组会 下周三下午3点 学习党章" in leader and "安排 支委会" not in leader
    for usage in ("准假 12 王芳", "签到码 12", "补录 12 王芳 出席", "纪要 12", "待办"):
        assert usage in leader, usage
    assert "审核" not in leader and "后台" not in leader
    # A secretary: scheduling, attendance and review.
    assert "安排 支委会 明天下午3点 研究发展党员" in secretary and "安排 党小组会" not in secretary
    for usage in ("准假 12 王芳", "改期 12", "取消会议 12", "签到码 12", "审核", "后台"):
        assert usage in secretary, usage
    # Real examples, never a placeholder in angle or square brackets; each menu fits a reply.
    for menu in (*menus, await say(client, peer, STRANGER, "帮助")):
        assert not re.search(r"[<>\[\]＜＞【】]", menu), menu
        assert len(menu.encode()) <= MAX_TEXT_BYTES, len(menu.encode())
        # Whole: a secretary's long menu is made shorter, never cut off at the end.
        assert "· 帮助" in menu and not menu.endswith("…"), menu[-80:]
    assert "12 换成会议编号" in menus[0] and "12 换成会议编号" not in await say(
        client, peer, STRANGER, "帮助"
    )
