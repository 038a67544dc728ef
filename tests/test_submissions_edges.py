"""心得 at the edges: look-alike commands, long lists, lost drafts, mistakes undone, failures."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.people import Member, WeChatIdentity
from server.models.study import PointsEntry, Submission, SubmissionStatus
from server.services.study import submissions
from server.typedefs import CORPUS
from tests.conftest import APPID, make_branch, make_member
from tests.test_checkin_chat import WANG, bound_member
from tests.test_submissions_chat import LI, REFLECTION, secretary
from tests.wechat_peer import WeChatPeer, openid_for

LIMIT = 2048  # bytes in a passive text reply


async def members(n: int, branch_path: str | None = None, phones: str = "1360000") -> list[str]:
    org = await make_branch(branch_path) if branch_path else await make_branch()
    openids = []
    for i in range(n):
        member = await make_member(f"党员{phones[-2:]}{i}", f"{phones}{i:04d}", org=org)
        openid = openid_for(f"member-{phones}-{i}")
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
        )
        openids.append(openid)
    return openids


async def test_my_record_alias_and_a_question_about_xinde_are_not_hand_ins(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    assert "您的心得：待审核 1 篇" in ((await peer.say(client, WANG, "心得记录")).text or "")
    reply = (await peer.say(client, WANG, "心得体会怎么写？")).text or ""
    assert "至少需要" not in reply and await Submission.all().count() == 1


async def test_a_quiz_can_start_mid_draft_and_a_hand_in_mid_quiz_keeps_the_quiz(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "写心得")
    assert "第 1/5 题" in ((await peer.say(client, WANG, "答题")).text or "")
    assert "心得已提交" in ((await peer.say(client, WANG, "心得 " + REFLECTION)).text or "")
    reply = (await peer.say(client, WANG, "A")).text or ""
    assert reply.startswith(("回答正确", "答错了"))  # still in the quiz


async def test_a_long_text_after_the_draft_timed_out_is_not_answered_as_a_question(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, REFLECTION)).text or ""
    assert "看起来像是心得体会，还没有提交" in reply and "——摘自" not in reply
    assert await Submission.all().count() == 0


async def test_a_returned_reflection_sent_again_unchanged_goes_back_to_the_queue(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await secretary()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    await peer.say(client, LI, f"退回 {number} 编号弄错了")
    reply = (await peer.say(client, WANG, "心得 " + REFLECTION)).text or ""
    assert f"编号 {number}" in reply and "心得已提交" in reply
    again = await Submission.get(id=number)
    assert again.status == SubmissionStatus.PENDING and again.return_reason is None


async def test_an_approval_that_cannot_pay_its_points_is_not_half_made(
    client: TestClient, peer: WeChatPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await bound_member()
    await secretary()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the points table is unavailable")

    monkeypatch.setattr(submissions, "award", broken)
    reply = (await peer.say(client, LI, f"通过 {number}")).text or ""
    assert "抱歉" in reply
    assert (await Submission.get(id=number)).status == SubmissionStatus.PENDING
    monkeypatch.undo()
    assert "已通过" in ((await peer.say(client, LI, f"通过 {number}")).text or "")
    assert await PointsEntry.filter(member_id=member.id, reason="submission").count() == 1


async def test_the_pending_list_fits_a_reply_however_long_the_flags(
    client: TestClient, peer: WeChatPeer
) -> None:
    await secretary()
    unit = max(client.app[CORPUS], key=lambda u: len(u.title))
    for i, openid in enumerate(await members(12)):
        text = f"第{i}次。" + "🙂" * 30 + unit.body[i * 10 : i * 10 + 300]
        assert "心得已提交" in ((await peer.say(client, openid, "心得 " + text)).text or "")
    listing = (await peer.say(client, LI, "审核")).text or ""
    assert len(listing.encode()) <= LIMIT and "雷同" in listing
    assert "待审核的心得共 12 篇" in listing and "……还有" in listing


async def test_my_list_fits_a_reply_however_long_the_reasons(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await secretary()
    reason = "请结合本网格党小组的实际工作具体谈谈体会，" * 9  # close to the 200-character limit
    for i in range(10):
        await peer.say(client, WANG, f"心得 第{i}篇。" + REFLECTION)
        pending = await Submission.filter(status=SubmissionStatus.PENDING).first()
        assert pending is not None
        assert "已退回" in ((await peer.say(client, LI, f"退回 {pending.id} {reason}")).text or "")
    mine = (await peer.say(client, WANG, "我的心得")).text or ""
    assert len(mine.encode()) <= LIMIT and "已退回 10 篇" in mine


async def test_a_reflection_full_of_emoji_is_paged_by_bytes(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await secretary()
    text = "😀" * 480 + REFLECTION
    await peer.say(client, WANG, "心得 " + text)
    number = (await Submission.get()).id
    pages = [(await peer.say(client, LI, f"审核 {number}")).text or ""]
    while "回复 继续" in pages[-1]:
        pages.append((await peer.say(client, LI, "继续")).text or "")
    assert all(len(p.encode()) <= LIMIT for p in pages) and len(pages) > 1
    assert "全文完" in pages[-1]


async def test_a_flag_pointing_into_another_branch_shows_no_number(
    client: TestClient, peer: WeChatPeer
) -> None:
    await secretary()
    [there] = await members(1, "示范街道党工委/第二社区党总支/第二社区第一党支部", "1350000")
    [here] = await members(1)
    # Both write while today's (the same) unit is open: 心得 on one unit are compared
    # across branches.
    for openid, words in ((there, REFLECTION), (here, "我也这么想：" + REFLECTION)):
        await peer.say(client, openid, "今日学习")
        assert "心得已提交" in ((await peer.say(client, openid, "心得 " + words)).text or "")
    theirs, ours = await Submission.all().order_by("id")
    assert ours.resembles == f"submission:{theirs.id}"
    listing = (await peer.say(client, LI, "审核")).text or ""
    assert "与其他组织的一篇心得雷同" in listing and f"与编号 {theirs.id}" not in listing


async def test_ordinary_members_list_is_their_own(client: TestClient, peer: WeChatPeer) -> None:
    member = await bound_member()
    other = await make_member("赵六", "13900000006")
    await Submission.create(
        member=other,
        organisation_id=other.organisation_id,  # type: ignore[attr-defined]
        day=(await Member.get(id=member.id)).created_at.date(),
        content=REFLECTION,
        length=100,
        digest="x",
    )
    assert "还没有提交过心得" in ((await peer.say(client, WANG, "我的心得")).text or "")
