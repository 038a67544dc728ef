"""审核 in chat, as a secretary with many 心得 waiting uses it: 继续 pages through the list."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient

from server.activity import Submission
from server.models import Member
from tests.conftest import make_member
from tests.test_submissions_chat import LI, REFLECTION, secretary
from tests.wechat_peer import WeChatPeer


async def many_waiting(count: int) -> list[Submission]:
    branch_secretary = await secretary()
    org = await branch_secretary.organisation
    made = []
    for i in range(count):
        author: Member = await make_member(f"党员{i:02d}", f"1390000{i:04d}", org=org)
        made.append(
            await Submission.create(
                member_id=author.id,
                organisation_id=org.id,
                day=date(2026, 11, 1 + i % 20),
                content=f"第{i}篇。" + REFLECTION,
                length=len(REFLECTION),
                digest=f"d{i}",
            )
        )
    return made


async def test_continue_after_the_list_shows_the_next_ones_not_todays_study(
    client: TestClient, peer: WeChatPeer
) -> None:
    waiting = await many_waiting(14)
    first = (await peer.say(client, LI, "审核")).text or ""
    assert "待审核的心得共 14 篇" in first and f"【{waiting[0].id}】党员00" in first
    assert "回复 继续 查看" in first and "今日学习" not in first
    shown = first.count("【")
    more = (await peer.say(client, LI, "继续")).text or ""
    assert "待审核的心得（续）" in more and "今日学习" not in more
    assert f"【{waiting[shown].id}】" in more and f"【{waiting[0].id}】" not in more
    # Paging on to the end, and past it.
    while "回复 继续 查看" in more:
        more = (await peer.say(client, LI, "继续")).text or ""
    assert f"【{waiting[-1].id}】" in more
    end = (await peer.say(client, LI, "继续")).text or ""
    assert "已经全部列出" in end


async def test_continue_after_a_short_list_says_it_was_all(
    client: TestClient, peer: WeChatPeer
) -> None:
    await many_waiting(2)
    listing = (await peer.say(client, LI, "审核")).text or ""
    assert "共 2 篇" in listing and "继续" not in listing
    assert "已经全部列出" in ((await peer.say(client, LI, "继续")).text or "")
