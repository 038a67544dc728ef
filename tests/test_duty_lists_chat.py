"""五张清单 in chat, for the 责任人: 陈委员 asks 我的清单 and sees her item with its state and
deadline; she records progress with 清单进展 and the dashboard's state follows (未开始 →
推进中).  The 总支书记 answers for the item named to his 总支.  Every message through the real
endpoint, signed as WeChat sends them.

Next to it, the hostile: a member who owns nothing is told so politely; another's item number,
a made-up number, no content, content too long, a note on an item already done — each answered
politely, and nothing written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from server.models.duty_lists import DutyNote, NoteKind
from server.services.duty_lists import items, reading
from server.services.duty_lists.status import State
from tests.duty_lists_helpers import NOW, TODAY, bind, make_item, street
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import say
from tests.wechat_peer import openid_for

OWNER, EAST, PLAIN, WEST = (openid_for(n) for n in ("d-owner", "d-east", "d-plain", "d-west"))


async def test_an_owner_reads_her_items_and_records_progress(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _ = await frozen_app(aiohttp_client, make_settings, NOW)
    s = await street()
    for member, openid in ((s.owner, OWNER), (s.east_secretary, EAST), (s.plain, PLAIN)):
        await bind(member, openid)
    ledger = await make_item(s, owner_id=s.owner.id, deadline=date(2026, 11, 30))
    study = await make_item(s, owner_org_id=s.east.id, task="丰富组织学习形式")

    mine = await say(client, peer, OWNER, "我的清单")
    assert f"第 {ledger.id} 项【未开始，临期】规范“三会一课”台账" in mine
    assert "时限 2026年11月30日（还有 5 天）" in mine
    assert f"清单进展 {ledger.id}" in mine and "丰富组织学习形式" not in mine
    east = await say(client, peer, EAST, "我的清单")
    assert f"第 {study.id} 项【未开始】丰富组织学习形式" in east and "规范" not in east

    done = await say(
        client, peer, OWNER, f"清单进展 {ledger.id} 已检查3个支部的台账，发现问题5处。"
    )
    assert f"已记录第 {ledger.id} 项的进展" in done
    note = await DutyNote.get(item_id=ledger.id)
    assert (note.kind, note.by_id, note.text) == (
        NoteKind.PROGRESS, s.owner.id, "已检查3个支部的台账，发现问题5处。",
    )  # fmt: skip
    line = (await reading.lines(s.staff, TODAY))[0]
    assert line.item.id == ledger.id and line.state is State.UNDER_WAY
    assert "最近进展 11月25日：已检查3个支部的台账" in await say(client, peer, OWNER, "我的清单")

    # Full-width digits and no space are read the same.
    wide = str(study.id).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert "已记录" in await say(client, peer, EAST, f"清单进展{wide}：开展现场教学一次")
    assert (await DutyNote.get(item_id=study.id)).text == "开展现场教学一次"


async def test_hostile_messages_are_answered_politely_and_change_nothing(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _ = await frozen_app(aiohttp_client, make_settings, NOW)
    s = await street()
    for member, openid in ((s.owner, OWNER), (s.plain, PLAIN), (s.west_secretary, WEST)):
        await bind(member, openid)
    theirs = await make_item(s, owner_id=s.owner.id)
    west = await make_item(s, owner_org_id=s.west.id)

    assert "您目前没有负责的五张清单事项" in await say(client, peer, PLAIN, "我的清单")
    for text in (f"清单进展 {theirs.id} 我也来写", "清单进展 99999 内容", "清单进展 12345678901 x"):
        reply = await say(client, peer, PLAIN, text)
        assert "没有找到您负责的" in reply, (text, reply)
    assert "没有找到您负责的" in await say(client, peer, WEST, f"清单进展 {theirs.id} 写错了")
    assert "请写上进展内容" in await say(client, peer, OWNER, f"清单进展 {theirs.id}")
    assert "例如" in await say(client, peer, OWNER, "清单进展 第一项 已完成")
    assert "最多 1000 字" in await say(client, peer, OWNER, f"清单进展 {theirs.id} " + "长" * 1001)
    await items.complete(s.staff, west, "已完成", NOW, TODAY)
    assert "已由街道党工委确认完成" in await say(client, peer, WEST, f"清单进展 {west.id} 补充")
    assert await DutyNote.filter(kind__in=[NoteKind.PROGRESS, NoteKind.EVIDENCE]).count() == 0
    assert "您目前没有负责的" in await say(client, peer, WEST, "我的清单")  # done: not listed
