"""心得: a member hands in a 心得体会, the branch secretary reviews it, the member hears back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.people import Member, Role, WeChatIdentity
from server.models.study import PointsEntry, Submission, SubmissionStatus
from server.typedefs import CORPUS
from server.wechat.fake import FakeWeChat
from tests.conftest import APPID, make_branch, make_member
from tests.test_checkin_chat import WANG, bound_member
from tests.wechat_peer import WeChatPeer, openid_for

LI = openid_for("li-secretary")
ZHAO = openid_for("zhao-other-branch")

# 120 characters of the member's own thoughts, Chinese punctuation as typed.
REFLECTION = (
    "学习了“三会一课”制度，我体会到，组织生活不是走过场。作为网格党小组的一员，我要按时参加党小组会，"
    "把居民反映的问题带到会上；在党课上认真听、认真记，把学到的道理用到为群众办实事上。"
    "下一步，我打算每周走访楼栋里的两户老人，了解他们的困难，及时向支部报告，争取做到小事不出网格。"
)


async def secretary(openid: str = LI, branch_path: str | None = None) -> Member:
    org = await make_branch(branch_path) if branch_path else await make_branch()
    phone = "13700000001" if openid == LI else "13700000002"
    member = await make_member("李书记", phone, role=Role.SECRETARY, org=org)
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )
    return member


def xml_voice(openid: str, recognition: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>voice</MsgType>"
        f"<MediaId>m</MediaId><Format>amr</Format><Recognition>{recognition}</Recognition>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


# --- handing in ---------------------------------------------------------------------------


async def test_a_member_hands_in_a_reflection_in_one_message(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    reply = (await peer.say(client, WANG, "心得：" + REFLECTION)).text or ""
    saved = await Submission.get(member_id=member.id)
    assert f"编号 {saved.id}" in reply and "等待支部审核" in reply
    assert saved.content == REFLECTION  # the member's punctuation kept exactly as typed
    assert saved.status == SubmissionStatus.PENDING and saved.resembles is None
    assert saved.organisation_id == member.organisation_id  # type: ignore[attr-defined]


async def test_writing_then_sending_the_text_ties_it_to_the_unit_being_read(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    studied = (await peer.say(client, WANG, "今日学习")).text or ""
    prompt = (await peer.say(client, WANG, "写心得")).text or ""
    assert "50–5000 字" in prompt and "关于《" in prompt and "取消" in prompt
    first_title = studied.split("：", 1)[1].split("\n", 1)[0]
    assert first_title in prompt
    reply = (await peer.say(client, WANG, REFLECTION)).text or ""
    assert "心得已提交" in reply
    saved = await Submission.get(member_id=member.id)
    assert saved.unit_id == client.app[CORPUS][0].id


async def test_too_short_is_explained_nothing_is_stored_and_the_draft_stays_open(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "写心得")
    reply = (await peer.say(client, WANG, "学习了，很有收获！👍👍👍")).text or ""
    assert "至少需要 50 个字" in reply and "只有 7 个字" in reply
    assert await Submission.all().count() == 0
    reply = (await peer.say(client, WANG, REFLECTION)).text or ""
    assert "心得已提交" in reply and await Submission.all().count() == 1


async def test_emoji_and_punctuation_do_not_make_up_the_length(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    padded = "很好" + "！😀。" * 100
    reply = (await peer.say(client, WANG, f"心得 {padded}")).text or ""
    assert "只有 2 个字" in reply and await Submission.all().count() == 0


async def test_too_long_is_refused_with_the_count(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "心得 " + "学" * 5001)).text or ""
    assert "最多 5000 字" in reply and "5001" in reply
    assert await Submission.all().count() == 0


async def test_html_and_sql_looking_text_is_kept_verbatim_and_harms_nothing(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    hostile = "<script>alert(1)</script>'; DROP TABLE submission; -- " + REFLECTION
    reply = (await peer.say(client, WANG, "心得 " + hostile)).text or ""
    assert "心得已提交" in reply
    saved = await Submission.get(member_id=member.id)
    assert saved.content == hostile
    assert await Member.filter(id=member.id).exists()


async def test_a_voice_reflection_is_taken_from_wechats_recognition(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    await peer.say(client, WANG, "写心得")
    reply = await peer.post(client, xml_voice(WANG, REFLECTION, 99887766), peer.signed_query())
    assert "心得已提交" in (reply.text or "")
    saved = await Submission.get(member_id=member.id)
    assert saved.via == "voice" and saved.content == REFLECTION


async def test_cancel_leaves_the_draft_without_storing_anything(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "写心得")
    assert "已取消" in ((await peer.say(client, WANG, "取消")).text or "")
    reply = (await peer.say(client, WANG, REFLECTION)).text or ""
    assert "心得已提交" not in reply and await Submission.all().count() == 0


async def test_a_command_mid_draft_still_works_and_the_draft_waits(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "写心得")
    assert "打卡成功" in ((await peer.say(client, WANG, "打卡")).text or "")
    assert "心得已提交" in ((await peer.say(client, WANG, REFLECTION)).text or "")


async def test_a_retry_of_the_push_gives_the_same_answer_and_one_row(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    plain, _ = peer.text_xml(WANG, "心得 " + REFLECTION)
    first = await peer.post(client, *peer.envelope(plain, "plain"))
    again = await peer.post(client, *peer.envelope(plain, "plain"))
    assert first.text == again.text and "心得已提交" in (first.text or "")
    assert await Submission.all().count() == 1


async def test_a_double_tap_is_told_it_was_already_handed_in(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    replies = await asyncio.gather(
        *(peer.say(client, WANG, "心得 " + REFLECTION) for _ in range(5))
    )
    assert await Submission.all().count() == 1
    number = (await Submission.get()).id
    texts = [r.text or "" for r in replies]
    assert sum("心得已提交" in t for t in texts) == 1
    assert sum(f"已经提交过了（编号 {number}）" in t for t in texts) == 4


async def test_a_near_copy_of_a_neighbours_reflection_is_flagged_not_refused(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    neighbour = await make_member("赵六", "13900000006")
    zhao = openid_for("zhao-six")
    await WeChatIdentity.create(
        appid=APPID, openid=zhao, channel=Channel.OFFICIAL_ACCOUNT, member=neighbour
    )
    await peer.say(client, WANG, "心得 " + REFLECTION)
    original = await Submission.get()
    copied = "我的体会：" + REFLECTION.replace("两户", "三户")
    reply = (await peer.say(client, zhao, "心得 " + copied)).text or ""
    assert "心得已提交" in reply  # flagged for the secretary, not refused
    flagged = await Submission.get(member_id=neighbour.id)
    assert flagged.resembles == f"submission:{original.id}" and (flagged.similarity or 0) > 0.9
    assert original.resembles is None


async def test_copying_a_study_unit_is_flagged_with_the_unit(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    unit = client.app[CORPUS][0]
    await peer.say(client, WANG, "心得 " + unit.body[:300])
    saved = await Submission.get(member_id=member.id)
    assert saved.resembles == f"unit:{unit.id}"


# --- review by the secretary --------------------------------------------------------------


async def test_the_secretary_reviews_approves_and_the_member_is_told(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    member = await bound_member()
    await secretary()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    listing = (await peer.say(client, LI, "审核")).text or ""
    assert "待审核的心得共 1 篇" in listing and f"【{number}】王芳" in listing
    full = (await peer.say(client, LI, f"审核 {number}")).text or ""
    assert REFLECTION in full and f"通过 {number}" in full
    fake.interact(WANG)  # the member wrote to the account recently: the window is open
    reply = (await peer.say(client, LI, f"通过 {number}")).text or ""
    assert "已通过" in reply and "已通知本人" in reply
    assert "积分" not in reply  # the author's points are the author's: she is told, he is not
    saved = await Submission.get(id=number)
    assert saved.status == SubmissionStatus.APPROVED and saved.notified_at is not None
    assert [m.text for m in fake.messages_to(WANG)] == [
        f"您 {saved.day.month}月{saved.day.day}日 提交的心得（编号 {number}）已通过支部审核，"
        "您获得积分 +5。感谢您的分享！"
    ]
    assert await PointsEntry.filter(member_id=member.id, deed=f"submission:{number}").count() == 1
    assert "目前没有待审核" in ((await peer.say(client, LI, "审核")).text or "")


async def test_returning_needs_a_reason_and_the_member_sees_it(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    await bound_member()
    await secretary()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    asked = (await peer.say(client, LI, f"退回 {number}")).text or ""
    assert "请写明退回的原因" in asked
    assert (await Submission.get(id=number)).status == SubmissionStatus.PENDING
    # The member has not written for two days: no window, so the secretary is told so.
    reply = (await peer.say(client, LI, f"退回 {number} 请结合本网格的实际，再具体谈谈。")).text
    assert "已退回" in (reply or "") and "暂时无法推送" in (reply or "")
    saved = await Submission.get(id=number)
    assert saved.status == SubmissionStatus.RETURNED
    assert saved.return_reason == "请结合本网格的实际，再具体谈谈。" and saved.notified_at is None
    assert fake.messages_to(WANG) == []
    mine = (await peer.say(client, WANG, "我的心得")).text or ""
    assert "已退回 1 篇" in mine and "请结合本网格的实际" in mine
    # Revising the returned text is not a copy of it.
    await peer.say(client, WANG, "心得 " + REFLECTION + "我会在下周的党小组会上汇报走访情况。")
    revised = await Submission.filter(status=SubmissionStatus.PENDING).get()
    assert revised.resembles is None


async def test_a_long_reflection_is_read_page_by_page(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    await secretary()
    long_text = "".join(f"第{i}点体会：{REFLECTION}" for i in range(6))  # about 770 characters
    await peer.say(client, WANG, "心得 " + long_text)
    number = (await Submission.get()).id
    first = (await peer.say(client, LI, f"审核 {number}")).text or ""
    assert "回复 继续" in first and len(first.encode()) < 2048
    rest = (await peer.say(client, LI, "继续")).text or ""
    assert "全文完" in rest
    body_seen = first.split("\n", 1)[1].rsplit("\n", 1)[0] + rest.rsplit("\n", 1)[0]
    assert body_seen == long_text


async def test_another_branchs_secretary_learns_nothing(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await secretary(ZHAO, "示范街道党工委/第二社区党总支/第二社区第一党支部")
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    assert "目前没有待审核" in ((await peer.say(client, ZHAO, "审核")).text or "")
    there = (await peer.say(client, ZHAO, f"通过 {number}")).text or ""
    nowhere = (await peer.say(client, ZHAO, "通过 999999")).text or ""
    assert there == nowhere.replace("999999", str(number))
    assert (await Submission.get(id=number)).status == SubmissionStatus.PENDING


async def test_an_ordinary_member_cannot_review(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    reply = (await peer.say(client, WANG, f"通过 {number}")).text or ""
    assert "需要支部书记或副书记的权限" in reply
    assert (await Submission.get(id=number)).status == SubmissionStatus.PENDING


async def test_a_secretary_does_not_review_their_own(client: TestClient, peer: WeChatPeer) -> None:
    await secretary()
    await peer.say(client, LI, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    assert "目前没有待审核" in ((await peer.say(client, LI, "审核")).text or "")
    assert "不能审核自己" in ((await peer.say(client, LI, f"通过 {number}")).text or "")


async def test_two_decisions_on_one_reflection_one_wins(
    aiohttp_client: Any, client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    await secretary()
    await peer.say(client, WANG, "心得 " + REFLECTION)
    number = (await Submission.get()).id
    replies = await asyncio.gather(
        peer.say(client, LI, f"通过 {number}"), peer.say(client, LI, f"退回 {number} 再想想")
    )
    texts = sorted(r.text or "" for r in replies)
    assert sum("已经审核过了" in t for t in texts) == 1
    assert await PointsEntry.filter(member_id=member.id, reason="submission").count() <= 1
    again = (await peer.say(client, LI, f"通过 {number}")).text or ""
    assert "已经审核过了" in again


async def test_a_retry_of_the_draft_text_is_not_taken_as_a_second_message(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "写心得")
    plain, _ = peer.text_xml(WANG, REFLECTION)
    first = await peer.post(client, *peer.envelope(plain, "plain"))
    # The draft is closed by now; WeChat's retry must get the same answer, not a new question.
    again = await peer.post(client, *peer.envelope(plain, "plain"))
    assert "心得已提交" in (first.text or "") and again.text == first.text
    assert await Submission.all().count() == 1
