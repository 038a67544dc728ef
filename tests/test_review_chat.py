"""审核 in chat, as a secretary with many 心得 waiting uses it: 继续 pages through the list,
and several are approved at once after a preview."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient

from server.models.people import Member
from server.models.study import PointsEntry, Submission, SubmissionStatus
from server.wechat.fake_state import FakeWeChat
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


async def test_several_approved_at_once_after_a_preview_and_each_author_told(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    a, b, c, d = await many_waiting(4)
    assert await Submission.filter(status=SubmissionStatus.PENDING).count() == 4
    preview = (await peer.say(client, LI, f"通过 {a.id}，{b.id} {c.id} 999999")).text or ""
    assert "将通过以下 3 篇心得" in preview and "编号 999999（没有找到）" in preview
    assert f"【{a.id}】党员00" in preview and f"【{d.id}】" not in preview
    assert await Submission.filter(status=SubmissionStatus.PENDING).count() == 4  # not yet
    done = (await peer.say(client, LI, "确认")).text or ""
    assert f"已通过 3 篇心得（编号 {a.id}、{b.id}、{c.id}）" in done
    assert "3 人 48 小时内没有和公众号互动" in done
    assert await Submission.filter(status=SubmissionStatus.APPROVED).count() == 3
    assert await PointsEntry.filter(deed__startswith="submission:").count() == 3
    # 确认 again does nothing more; a second batch with one already approved skips it.
    assert "现在没有待确认" in ((await peer.say(client, LI, "确认")).text or "")
    again = (await peer.say(client, LI, f"通过 {a.id} {d.id}")).text or ""
    assert f"编号 {a.id}（已审核）" in again and "将通过以下 1 篇" in again
    await peer.say(client, LI, "取消")
    assert await Submission.filter(status=SubmissionStatus.PENDING).count() == 1
    assert fake.messages_to(LI) == []


async def test_approve_all_leaves_near_copies_to_be_read_first(
    client: TestClient, peer: WeChatPeer
) -> None:
    waiting = await many_waiting(3)
    await Submission.filter(id=waiting[1].id).update(
        resembles=f"submission:{waiting[0].id}", similarity=0.91
    )
    preview = (await peer.say(client, LI, "全部通过")).text or ""
    assert "将通过以下 2 篇" in preview and f"编号 {waiting[1].id}）请先回复 审核 N" in preview
    assert "已通过 2 篇" in ((await peer.say(client, LI, "确认")).text or "")
    left = await Submission.get(id=waiting[1].id)
    assert left.status == SubmissionStatus.PENDING


async def test_a_plain_member_cannot_approve_in_bulk(client: TestClient, peer: WeChatPeer) -> None:
    from tests.test_checkin_chat import WANG, bound_member

    waiting = await many_waiting(2)
    await bound_member()
    reply = (await peer.say(client, WANG, f"通过 {waiting[0].id} {waiting[1].id}")).text or ""
    assert "需要支部书记或副书记的权限" in reply
    assert "需要支部书记" in ((await peer.say(client, WANG, "全部通过")).text or "")
    assert await Submission.filter(status=SubmissionStatus.PENDING).count() == 2
