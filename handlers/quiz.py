"""答题: one question at a time, A-D (full-width letters too), an explanation after each."""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import InState, Keyword, bound
from server.dispatch.state import Conversation
from server.models.people import Member
from server.models.study import QuizAttempt
from server.services.study import quiz
from server.services.study.points import PointsRules
from study_content.corpus import LETTERS, Unit

router = Router("quiz")
QUIZ = "quiz"
router.help("答题", "五道题，先练薄弱的主题", visible=bound, order=30)


def letter(ctx: ChatContext) -> dict[str, str] | bool:
    text = (ctx.text or "").upper()
    return {"choice": text} if len(text) == 1 and text in LETTERS else False


@router.message(Keyword("答题", "测试", "做题", "quiz"), bound)
async def start(
    member: Member, clock: Clock, corpus: list[Unit], conversation: Conversation
) -> str:
    attempt = await quiz.start_quiz(member, corpus, clock.today())
    conversation.set(QUIZ, attempt=attempt.id, position=0)
    return "开始答题，共 5 题。\n" + quiz.render(attempt, 0, corpus)


@router.message(letter, InState(QUIZ), bound)
async def answer(
    choice: str,
    member: Member,
    clock: Clock,
    corpus: list[Unit],
    conversation: Conversation,
    points_rules: PointsRules,
) -> str:
    attempt = await QuizAttempt.get_or_none(
        id=conversation.data.get("attempt"), member_id=member.id
    )
    if attempt is None:
        conversation.clear()
        return "这次答题已经结束，回复 答题 重新开始。"
    position = int(conversation.data.get("position", 0))
    result = await quiz.answer(
        attempt, position, choice, corpus, clock.now(), clock.today(), points_rules
    )
    verdict = "回答正确！" if result.correct else f"答错了，正确答案是 {result.right_letter}。"
    text = f"{verdict}{result.explanation}"
    if result.finished:
        conversation.clear()
        earned = f"，积分 +{result.points}。回复 我的 查看积分" if points_rules.enabled else ""
        return f"{text}\n\n答题结束：答对 {result.score}/{len(attempt.questions)} 题{earned}。"
    conversation.set(QUIZ, attempt=attempt.id, position=position + 1)
    return f"{text}\n\n{quiz.render(attempt, position + 1, corpus)}"


@router.message(InState(QUIZ), bound)
async def remind() -> str:
    return "正在答题：请回复 A、B、C 或 D（回复 取消 退出答题）。"


@router.message(letter, bound)
async def no_quiz_open() -> str:
    return "现在没有进行中的答题（可能已超时），回复 答题 开始新的一轮。"
