"""A member studies: today's unit, the full text page by page, the next one; readings counted."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.models.study import PointsEntry, UnitReading
from server.typedefs import CORPUS
from tests.test_checkin_chat import WANG, bound_member
from tests.wechat_peer import WeChatPeer


async def test_todays_unit_is_the_first_unseen_one_and_counts_once_read_in_full(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    corpus = client.app[CORPUS]
    first = await peer.say(client, WANG, "今日学习")
    assert f"今日学习：{corpus[0].title}" in (first.text or "")
    assert "出处" in (first.text or "") and "回复 全文" in (first.text or "")
    # The digest alone is no study: nothing counted, no points.
    assert not await UnitReading.exists(member_id=member.id, read_full=True)
    assert not await PointsEntry.exists(member_id=member.id, reason="reading")
    again = await peer.say(client, WANG, "学习")  # same day: the same unit
    assert corpus[0].title in (again.text or "")
    await peer.say(client, WANG, "全文")
    await peer.say(client, WANG, "学习")
    await peer.say(client, WANG, "全文")  # read again the same day: counted once
    assert await UnitReading.filter(member_id=member.id).count() == 1
    assert await UnitReading.filter(member_id=member.id, read_full=True).count() == 1
    assert await PointsEntry.filter(member_id=member.id, reason="reading").count() == 1


async def test_tapping_next_ten_times_counts_nothing(client: TestClient, peer: WeChatPeer) -> None:
    member = await bound_member()
    corpus = client.app[CORPUS]
    await peer.say(client, WANG, "今日学习")
    second = await peer.say(client, WANG, "下一篇")
    assert corpus[1].title in (second.text or "")
    third = await peer.say(client, WANG, "换一篇")
    assert corpus[2].title in (third.text or "")
    for _ in range(8):
        await peer.say(client, WANG, "下一篇")
    assert not await UnitReading.exists(member_id=member.id, read_full=True)
    assert not await PointsEntry.exists(member_id=member.id)
    await peer.say(client, WANG, "全文")  # then one is read in full
    assert await UnitReading.filter(member_id=member.id, read_full=True).count() == 1
    await peer.say(client, WANG, "下一篇")
    await peer.say(client, WANG, "全文")  # a second unit: read, but the day pays once
    assert await UnitReading.filter(member_id=member.id, read_full=True).count() == 2
    assert await PointsEntry.filter(member_id=member.id, reason="reading").count() == 1


async def test_full_text_comes_in_pages_that_fit_a_wechat_reply(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    unit = client.app[CORPUS][0]
    await peer.say(client, WANG, "今日学习")
    pages = [await peer.say(client, WANG, "全文")]
    while "回复 继续" in (pages[-1].text or ""):
        pages.append(await peer.say(client, WANG, "继续"))
        assert len(pages) < 5
    assert "全文完" in (pages[-1].text or "")
    for reply in pages:
        assert len((reply.text or "").encode()) < 2048
    joined = "".join((r.text or "") for r in pages)
    assert unit.body.strip()[:30] in joined and unit.body.strip()[-20:] in joined


async def test_full_text_without_an_open_unit_says_how(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = await peer.say(client, WANG, "全文")
    assert "今日学习" in (reply.text or "")


async def test_after_reading_everything_the_least_recent_comes_back(
    client: TestClient, peer: WeChatPeer
) -> None:
    from datetime import date, timedelta

    member = await bound_member()
    corpus = client.app[CORPUS]
    today = date.today()
    for n, unit in enumerate(corpus):
        await UnitReading.create(
            member=member,
            organisation_id=member.organisation_id,
            unit_id=unit.id,
            day=today - timedelta(days=len(corpus) - n),
        )
    reply = await peer.say(client, WANG, "今日学习")
    assert corpus[0].title in (reply.text or "")  # the oldest reading
