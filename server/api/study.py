"""A member studies in the mini-program: today's unit, any unit, search with citations, 答题.

Another member's quiz is refused exactly like one that does not exist (`Hidden`).
"""

from __future__ import annotations

import asyncio
from datetime import tzinfo
from typing import Any, Literal

from pydantic import Field

from server.api import replies
from server.api.corpus_refs import UNIT_ID, points_rules, unit_ref, units_of
from server.api.spec import Call, Input, Routes, iso, not_found
from server.errors import Conflict, ValidationFailed
from server.models.study import (
    QuizAnswer,
    QuizAttempt,
)
from server.services.people.access import Hidden
from server.services.study import quiz, reading
from study_content.corpus import LETTERS, Question, Unit
from study_content.retrieval import MAX_QUESTION

routes = Routes("党员：学习与答题")


# --- 学习 and 问答 ------------------------------------------------------------------------


async def _read(call: Call[Any], unit: Unit) -> dict[str, Any]:
    counted = await reading.record_reading(
        call.member, unit, call.deps.clock.today(), points_rules(call)
    )
    return {
        "unit": {**unit_ref(unit), "tags": list(unit.tags), "text": unit.body},
        "counted": counted,
    }


@routes.get(
    "/study/today", response=replies.Reading, summary="今日学习：今天的学习内容（记一次学习）"
)
async def todays_unit(call: Call[Any]) -> dict[str, Any]:
    """与聊天中的「今日学习」同一篇；`text` 为 Markdown 全文；`counted` 表示这次新记了学习。"""
    unit = await reading.todays_unit(call.member, call.deps.corpus, call.deps.clock.today())
    return await _read(call, unit)


@routes.get(
    "/study/units/{unit_id}",
    response=replies.Reading,
    summary="阅读一篇学习内容（记一次学习）",
    text_params=("unit_id",),
)
async def read_unit(call: Call[Any]) -> dict[str, Any]:
    """学习内容是公开资料：编号格式不对回答 400，不存在回答 404。"""
    unit_id = call.request.match_info["unit_id"]
    if not UNIT_ID.fullmatch(unit_id):
        raise ValidationFailed("unit_id 应为小写字母、数字和 -（2–64 位）", field="unit_id")
    unit = units_of(call).get(unit_id)
    if unit is None:
        raise not_found("学习内容")
    return await _read(call, unit)


class SearchQuery(Input):
    q: str = Field(min_length=1, max_length=MAX_QUESTION, description="问题，1–200 字")
    limit: int = Field(3, ge=1, le=10, description="最多返回几段，1–10")


@routes.get(
    "/study/search",
    response=replies.SearchResult,
    summary="从学习资料中找答案（摘录原文并注明出处）",
    query=SearchQuery,
)
async def search(call: Call[Any]) -> dict[str, Any]:
    """只摘录原文，从不编写答案；没有足够相关的内容时 `items` 为空，并给出可以问的主题。

    `answer` 是问次数、数量、年份、比例等时的简短答案：摘自该段原文的一个分句，或该篇
    自带的答题解析；问定义、清单、能不能等时为 null，请直接看 `text`。"""
    index = call.deps.corpus_index
    # Off the event loop: reading a question by meaning takes tens of milliseconds.
    found = await asyncio.to_thread(index.search, call.query.q, call.query.limit)
    return {
        "q": call.query.q,
        "items": [
            {
                "unit": unit_ref(p.unit),
                "answer": p.answer,
                "text": p.text,
                "score": round(p.score, 3),
            }
            for p in found
        ],
        "topics": [] if found else index.topics(),
    }


# --- 答题 ----------------------------------------------------------------------------------


def _question(attempt: QuizAttempt, position: int, units: dict[str, Unit]) -> tuple[Unit, Question]:
    unit_id, _ = attempt.questions[position]
    if unit_id not in units:
        raise Conflict("这次答题的题目已经更新，请重新开始答题。")
    return quiz.question_at(attempt, position, list(units.values()))


async def _attempt_json(
    attempt: QuizAttempt, units: dict[str, Unit], zone: tzinfo
) -> dict[str, Any]:
    answers = {
        a.position: a.correct
        for a in await QuizAnswer.filter(attempt_id=attempt.id).order_by("position")
    }
    questions = []
    for position in range(len(attempt.questions)):
        unit, question = _question(attempt, position, units)
        item: dict[str, Any] = {
            "position": position,
            "topic": quiz.topic(unit),
            "unit": unit_ref(unit),
            "question": question.question,
            "choices": [{"letter": LETTERS[i], "text": c} for i, c in enumerate(question.choices)],
        }
        if position in answers:  # answered: the right answer and why, as the chat tells it
            item.update(
                correct=answers[position], answer=question.answer, explanation=question.explanation
            )
        questions.append(item)
    return {
        "id": attempt.id,
        "day": attempt.day.isoformat(),
        "total": len(attempt.questions),
        "answered": len(answers),
        "score": sum(answers.values()),
        "finished": attempt.finished_at is not None,
        "finished_at": iso(attempt.finished_at, zone),
        "questions": questions,
    }


async def _own_attempt(call: Call[Any]) -> QuizAttempt:
    attempt = await QuizAttempt.get_or_none(id=call.number("id"), member_id=call.member.id)
    if attempt is None:
        raise Hidden()
    return attempt


@routes.post("/quiz", response=replies.Quiz, summary="开始答题：五道题，薄弱主题优先（不含答案）")
async def start_quiz(call: Call[Any]) -> dict[str, Any]:
    attempt = await quiz.start_quiz(call.member, call.deps.corpus, call.deps.clock.today())
    return await _attempt_json(attempt, units_of(call), call.zone)


@routes.get("/quiz/{id}", response=replies.Quiz, summary="我的一次答题：进度与得分")
async def show_quiz(call: Call[Any]) -> dict[str, Any]:
    return await _attempt_json(await _own_attempt(call), units_of(call), call.zone)


class Answer(Input):
    position: int = Field(
        strict=True, ge=0, le=quiz.QUESTIONS_PER_QUIZ - 1, description="第几题，从 0 开始"
    )
    choice: Literal["A", "B", "C", "D"] = Field(description="所选答案 A–D")


@routes.post(
    "/quiz/{id}/answers", response=replies.Answered, summary="回答一道题（按顺序作答）", body=Answer
)
async def answer_question(call: Call[Any]) -> dict[str, Any]:
    """按顺序作答，每题一次；答完最后一题时计分并发放积分（`points`）。"""
    attempt = await _own_attempt(call)
    units = units_of(call)
    position, choice = call.body.position, call.body.choice
    if attempt.finished_at is not None:
        raise Conflict("这次答题已经结束，可以重新开始一轮。")
    if position >= len(attempt.questions):
        raise ValidationFailed(f"这次答题只有 {len(attempt.questions)} 题", field="position")
    answered = await QuizAnswer.filter(attempt_id=attempt.id).count()
    if position < answered:
        raise Conflict("这道题已经作答过了。")
    if position > answered:
        raise ValidationFailed(f"请按顺序作答，下一题是第 {answered} 题", field="position")
    _, question = _question(attempt, position, units)
    if choice not in LETTERS[: len(question.choices)]:
        raise ValidationFailed(f"这道题只有 A–{LETTERS[len(question.choices) - 1]}", field="choice")
    clock = call.deps.clock
    result = await quiz.answer(
        attempt,
        position,
        choice,
        list(units.values()),
        clock.now(),
        clock.today(),
        points_rules(call),
    )
    return {
        "position": position,
        "correct": result.correct,
        "answer": result.right_letter,
        "explanation": result.explanation,
        "score": await QuizAnswer.filter(attempt_id=attempt.id, correct=True).count(),
        "answered": position + 1,
        "total": len(attempt.questions),
        "finished": result.finished,
        "points": result.points,
    }
