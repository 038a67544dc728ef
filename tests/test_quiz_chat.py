"""答题: a member answers five questions one by one, with full-width letters if they like."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.models.study import PointsEntry, QuizAnswer, QuizAttempt
from server.typedefs import CORPUS
from study_content.corpus import Unit
from tests.test_checkin_chat import WANG, bound_member, frozen_app
from tests.wechat_peer import WeChatPeer


def right_answer(reply: str, corpus: list[Unit]) -> str:
    """The correct letter for the question shown in `reply`, looked up in the corpus."""
    for unit in corpus:
        for question in unit.questions:
            if question.question in reply:
                return question.answer
    raise AssertionError(f"no such question in the corpus: {reply}")


async def test_five_right_answers_score_five(client: TestClient, peer: WeChatPeer) -> None:
    member = await bound_member()
    corpus = client.app[CORPUS]
    reply = (await peer.say(client, WANG, "答题")).text or ""
    assert "第 1/5 题" in reply and "A. " in reply
    for n in range(5):
        letter = right_answer(reply, corpus)
        # Full-width letters, as a phone keyboard in Chinese mode types them.
        typed = chr(ord(letter) + 0xFEE0) if n % 2 else letter.lower()
        reply = (await peer.say(client, WANG, typed)).text or ""
        assert reply.startswith("回答正确")
    assert "答对 5/5 题" in reply and "积分 +5" in reply
    attempt = await QuizAttempt.get(member_id=member.id)
    assert attempt.score == 5 and attempt.finished_at is not None
    assert await PointsEntry.filter(member_id=member.id, reason="quiz").count() == 1


async def test_a_wrong_answer_is_explained(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    corpus = client.app[CORPUS]
    reply = (await peer.say(client, WANG, "答题")).text or ""
    right = right_answer(reply, corpus)
    wrong = next(letter for letter in "ABCD" if letter != right)
    answer = (await peer.say(client, WANG, wrong)).text or ""
    assert f"答错了，正确答案是 {right}" in answer and "第 2/5 题" in answer


async def test_anything_but_a_letter_mid_quiz_gets_a_reminder(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "答题")
    for hostile in ("E", "AB", "<script>alert(1)</script>", "'; DROP TABLE quiz_answer; --", "😀"):
        reply = (await peer.say(client, WANG, hostile)).text or ""
        assert "请回复 A、B、C 或 D" in reply, hostile
    assert await QuizAnswer.all().count() == 0
    # A command still works mid-quiz, and the quiz is still there afterwards.
    assert "打卡成功" in ((await peer.say(client, WANG, "打卡")).text or "")
    assert "请回复 A、B、C 或 D" in ((await peer.say(client, WANG, "嗯")).text or "")


async def test_cancel_leaves_the_quiz(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    await peer.say(client, WANG, "答题")
    assert "已取消" in ((await peer.say(client, WANG, "取消")).text or "")
    assert "没有进行中的答题" in ((await peer.say(client, WANG, "A")).text or "")


async def test_an_unfinished_quiz_expires(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, clock = await frozen_app(
        aiohttp_client, make_settings, datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    )
    await bound_member()
    await peer.say(client, WANG, "答题")
    clock.advance(601)  # DANGJIAN_CONVERSATION_TIMEOUT
    assert "没有进行中的答题" in ((await peer.say(client, WANG, "B")).text or "")


async def test_the_weakest_topic_comes_first(client: TestClient, peer: WeChatPeer) -> None:
    member = await bound_member()
    corpus = client.app[CORPUS]
    topics = sorted({u.tags[0] for u in corpus})
    weak = "党史"
    attempt = await QuizAttempt.create(
        member=member,
        organisation_id=member.organisation_id,
        day=datetime.now(UTC).date(),
        questions=[],
    )
    for n, tag in enumerate(topics):
        for k in range(4):
            await QuizAnswer.create(
                attempt=attempt,
                member=member,
                position=n * 10 + k,
                unit_id="x",
                tag=tag,
                correct=(tag != weak),
            )
    reply = (await peer.say(client, WANG, "答题")).text or ""
    assert re.search(r"第 1/5 题（党史）", reply), reply
