"""答题: five questions, the member's weakest topics first, scored and paid by the server."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.exceptions import IntegrityError

from server.errors import Conflict
from server.models.people import Member, counted_in
from server.models.study import PointsReason, QuizAnswer, QuizAttempt
from server.services.study.points import PointsRules, award
from server.services.tallies.snapshot import touched
from study_content.corpus import LETTERS, Question, Unit

QUESTIONS_PER_QUIZ = 5


def topic(unit: Unit) -> str:
    return unit.tags[0]


async def start_quiz(
    member: Member, corpus: list[Unit], today: date, rng: random.Random | None = None
) -> QuizAttempt:
    rng = rng or random.Random()
    right: dict[str, int] = defaultdict(int)
    asked: dict[str, int] = defaultdict(int)
    for tag, correct in await QuizAnswer.filter(member_id=member.id).values_list("tag", "correct"):
        asked[tag] += 1
        right[tag] += int(correct)
    by_topic: dict[str, list[Unit]] = defaultdict(list)
    for unit in corpus:
        by_topic[topic(unit)].append(unit)
    # Weakest first: untried topics, then the lowest share of right answers.
    order = sorted(by_topic, key=lambda t: (asked[t] > 0, right[t] / max(asked[t], 1), t))
    for units in by_topic.values():
        rng.shuffle(units)
    picked: list[list[object]] = []
    while len(picked) < min(QUESTIONS_PER_QUIZ, len(corpus)):
        for tag in order:
            if by_topic[tag] and len(picked) < QUESTIONS_PER_QUIZ:
                unit = by_topic[tag].pop()
                picked.append([unit.id, rng.randrange(len(unit.questions))])
    return await QuizAttempt.create(
        member_id=member.id,
        organisation_id=counted_in(member),
        day=today,
        questions=picked,
    )


def question_at(attempt: QuizAttempt, position: int, corpus: list[Unit]) -> tuple[Unit, Question]:
    unit_id, index = attempt.questions[position]
    unit = next(u for u in corpus if u.id == unit_id)
    return unit, unit.questions[int(index)]


def render(attempt: QuizAttempt, position: int, corpus: list[Unit]) -> str:
    unit, question = question_at(attempt, position, corpus)
    choices = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(question.choices))
    return (
        f"第 {position + 1}/{len(attempt.questions)} 题（{topic(unit)}）\n{question.question}\n"
        f"{choices}\n回复 A–{LETTERS[len(question.choices) - 1]} 作答（回复 取消 退出答题）"
    )


@dataclass(frozen=True)
class Answered:
    correct: bool
    right_letter: str
    explanation: str
    finished: bool
    score: int
    points: int


async def answer(
    attempt: QuizAttempt,
    position: int,
    letter: str,
    corpus: list[Unit],
    now: datetime,
    today: date,
    rules: PointsRules,
) -> Answered:
    unit, question = question_at(attempt, position, corpus)
    correct = letter == question.answer
    try:
        await QuizAnswer.create(
            attempt_id=attempt.id,
            member_id=attempt.member_id,
            position=position,
            unit_id=unit.id,
            tag=topic(unit),
            correct=correct,
        )
    except IntegrityError:
        raise Conflict("这道题已经作答过了。") from None
    finished = position + 1 >= len(attempt.questions)
    points = 0
    if finished:
        score = await QuizAnswer.filter(attempt_id=attempt.id, correct=True).count()
        attempt.score, attempt.finished_at = score, now
        await attempt.save(update_fields=["score", "finished_at"])
        if attempt.day < today:  # finished after midnight: its start day's count changed
            await touched(attempt.day)
        member = await attempt.member
        points = await award(
            member,
            PointsReason.QUIZ,
            f"quiz:{attempt.id}",
            score * rules.quiz_correct,
            today,
            rules,
        )
    return Answered(correct, question.answer, question.explanation, finished, attempt.score, points)
