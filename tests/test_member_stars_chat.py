"""星级党员 in chat, through the real pipeline.

王芳 asks `我的星级`: 尚未评定, and her own year — meetings, 心得, services, duties — with the
suggestion, and that points play no part.  Asking for 李明's star gets her a polite no, naming
nothing of his; `星级台账` is not hers to read.  李书记 asks `星级台账`: her branch's members by
党小组 and name with each one's status (待评定), never by stars.  Once she has set the stars
and confirmed the year, 王芳's `我的星级` and `我的` show the branch's decision; the list shows
已评定 ★★★★ / 免评 in the same order as before.  帮助 lists each command to who may use it.
"""

from __future__ import annotations

from typing import Any

from server.channels import Channel
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.services.member_stars import ledger
from tests.conftest import APPID, make_member
from tests.test_checkin_chat import frozen_app
from tests.test_member_stars import LATER, NOW, ZONE, build, settings
from tests.wechat_peer import openid_for

WANG = openid_for("wang-fang-stars")
SECRETARY = openid_for("li-shuji-stars")


async def bind(member: Member, openid: str) -> None:
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )


async def test_a_member_sees_her_own_star_and_records_and_nobody_elses(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    b = await build()
    await bind(b.wang, WANG)
    await bind(b.secretary, SECRETARY)

    reply = (await peer.say(client, WANG, "我的星级")).text or ""
    assert reply.startswith("王芳同志，您的星级：尚未评定。")
    assert "2026年您的记录" in reply
    assert "组织生活：应到 4 次，出席 3 次，请假 1 次，缺席 0 次" in reply
    assert "心得：交流 2 篇，通过 1 篇" in reply
    assert "双报到服务：完成 1 次，共 1.5 小时" in reply
    assert "担任职务：无" in reply and "建议：4 星" in reply.replace("按这些记录的", "")
    assert "不按积分、学习时长或点击计算" in reply
    assert "李明" not in reply and "赵大爷" not in reply

    for asking in ("我的星级 李明", "我的星级李明"):
        other = (await peer.say(client, WANG, asking)).text or ""
        assert "星级只能查看本人的" in other and "★" not in other and "出席" not in other
    refused = (await peer.say(client, WANG, "星级台账")).text or ""
    assert "支部书记" in refused and "李明" not in refused

    menu = (await peer.say(client, WANG, "帮助")).text or ""
    assert "我的星级" in menu and "星级台账" not in menu
    menu = (await peer.say(client, SECRETARY, "帮助")).text or ""
    assert "星级台账" in menu

    # The branch decides and confirms at its 民主评议; the member sees the decision.
    await ledger.ledger(b.one, 2026, NOW, settings())
    for who, star in ((b.wang, 4), (b.secretary, 4), (b.li, 2)):
        await ledger.decide(
            b.secretary, b.one, who.id, 2026, star=star, exempt=False, reason="", now=NOW
        )
    await ledger.decide(
        b.secretary, b.one, b.zhao.id, 2026, star=None, exempt=True, reason="长期卧床", now=NOW
    )
    clock.set(LATER)
    await ledger.confirm(b.secretary, b.one, 2026, b.appraisal.id, LATER, ZONE)
    reply = (await peer.say(client, WANG, "我的星级")).text or ""
    assert reply.startswith("王芳同志，您的星级：2026年度 ★★★★（四星），民主评议党员")
    assert f"编号 {b.appraisal.id}" in reply
    mine = (await peer.say(client, WANG, "我的")).text or ""
    assert "星级：2026年度 ★★★★（四星）" in mine and "☆" not in mine


async def test_the_secretary_reads_the_branch_list_by_group_and_name(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _clock = await frozen_app(aiohttp_client, make_settings, NOW)
    b = await build()
    await bind(b.secretary, SECRETARY)

    reply = (await peer.say(client, SECRETARY, "星级台账")).text or ""
    assert reply.startswith(
        "第一社区第一党支部2026年度星级党员台账：4 人，已评定 0，免评 0，待评定 4。"
    )
    listed = [line for line in reply.splitlines() if line.startswith(("【", "·"))]
    assert listed == [
        "【第一党小组】",
        "· 王芳：待评定",
        "【未编入党小组】",
        "· 李书记：待评定",
        "· 李明：待评定",
        "· 赵大爷：待评定",
    ]
    assert "孙强" not in reply  # the other branch's

    await ledger.decide(
        b.secretary, b.one, b.li.id, 2026, star=5, exempt=False, reason="带头抗洪", now=NOW
    )
    await ledger.decide(
        b.secretary, b.one, b.zhao.id, 2026, star=None, exempt=True, reason="长期卧床", now=NOW
    )
    await ledger.decide(
        b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=NOW
    )
    reply = (await peer.say(client, SECRETARY, "星级台账 2026")).text or ""
    listed = [line for line in reply.splitlines() if line.startswith("·")]
    # The same order: the list is not sorted by stars.
    assert listed == [
        "· 王芳：已评定 ★★★★",
        "· 李书记：待评定",
        "· 李明：已评定 ★★★★★",
        "· 赵大爷：免评",
    ]
    assert "已评定 2，免评 1，待评定 1" in reply

    for bad in ("星级台账 明年", "星级台账 2030", "星级台账 1999"):
        said = (await peer.say(client, SECRETARY, bad)).text or ""
        assert "年" in said and "★" not in said, said


async def test_above_a_branch_the_list_is_counts_only(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _clock = await frozen_app(aiohttp_client, make_settings, NOW)
    b = await build()
    street = await Organisation.get(path="示范街道党工委")
    staff = await make_member("白辉", "13900000099", role=Role.STAFF, org=street)
    staff_openid = openid_for("bai-hui-stars")
    await bind(staff, staff_openid)
    await ledger.ledger(b.one, 2026, NOW, settings())
    await ledger.decide(
        b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=NOW
    )
    assert "星级台账" in ((await peer.say(client, staff_openid, "帮助")).text or "")
    reply = (await peer.say(client, staff_openid, "星级台账")).text or ""
    assert "2026年度星级党员评定进度（只计人数）" in reply
    assert "· 第一社区第一党支部：4 人，已评定 1，免评 0，待评定 3" in reply
    assert "· 第一社区第二党支部：2 人，已评定 0，免评 0，待评定 2" in reply
    assert "王芳" not in reply and "★" not in reply
