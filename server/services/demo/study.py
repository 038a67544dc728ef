"""The demo's study in the app: check-ins, units opened or read in full, quizzes.

Day by day, each member who uses the app opens it with their own likelihood (less at the
weekend), at about their usual time; on today only what happened before `now` is there, and
nothing for the members printed for newcomers.  A digest opened but not read is written too:
it is no study, as the counting rules say.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.models.study import CheckIn, PointsReason, QuizAnswer, QuizAttempt, UnitReading
from server.services.demo.calendar import holiday
from server.services.demo.people import Person
from server.services.demo.points import Deed
from server.services.demo.rows import at, insert, insert_with_ids
from server.services.study.points import PointsRules
from study_content.corpus import Unit

WEEKEND = 0.55  # Saturdays, Sundays and holidays are quieter
QUESTIONS = 5


@dataclass
class Study:
    check_ins: list[CheckIn] = field(default_factory=list)
    readings: list[UnitReading] = field(default_factory=list)
    quizzes: list[QuizAttempt] = field(default_factory=list)
    answers: list[list[tuple[Unit, bool]]] = field(default_factory=list)  # per quiz
    deeds: list[Deed] = field(default_factory=list)


def _day(
    person: Person,
    day: date,
    now: datetime,
    zone: ZoneInfo,
    units: list[Unit],
    rules: PointsRules,
    rng: random.Random,
    out: Study,
) -> None:
    chance = person.keenness * (WEEKEND if day.weekday() >= 5 or holiday(day) else 1.0)
    opens = rng.random() < chance
    reads_only = not opens and rng.random() < chance * 0.08  # studied without 打卡: allowed
    if not (opens or reads_only):
        return
    start = at(day, person.habit, zone, rng.randint(-25, 25))
    if start > now:  # today, later than now: not yet
        return
    who, where = person.id, person.counted_in
    if opens:
        out.check_ins.append(
            CheckIn(member_id=who, organisation_id=where, day=day, created_at=start)
        )
        out.deeds.append(
            Deed(who, where, start, PointsReason.CHECK_IN, f"check_in:{day}", rules.check_in)
        )
    moment, paid_reading = start, False
    for unit in rng.sample(units, 2 if rng.random() < 0.15 else 1):
        if opens and rng.random() > 0.6:
            continue  # checked in, did not open this unit
        moment += timedelta(minutes=rng.randint(1, 8))
        if moment > now:
            break
        full = reads_only or rng.random() < person.reader
        out.readings.append(
            UnitReading(
                member_id=who,
                organisation_id=where,
                unit_id=unit.id,
                day=day,
                read_full=full,
                created_at=moment,
            )
        )
        if full and not paid_reading:  # reading pays once a day, however many units
            paid_reading = True
            out.deeds.append(
                Deed(who, where, moment, PointsReason.READING, f"reading:{day}", rules.reading)
            )
    if opens and rng.random() < person.quizzer:
        _quiz(person, day, moment, now, units, rng, out)


def _quiz(
    person: Person,
    day: date,
    after: datetime,
    now: datetime,
    units: list[Unit],
    rng: random.Random,
    out: Study,
) -> None:
    begun = after + timedelta(minutes=rng.randint(2, 40))
    done = begun + timedelta(minutes=rng.randint(2, 6))
    finished = rng.random() < 0.9
    if done > now:  # today, not finished by now: left out (an open quiz confuses a first try)
        return
    picked = rng.sample(units, QUESTIONS)
    answers = [(unit, rng.random() < 0.78) for unit in picked]
    if not finished:
        answers = answers[: rng.randint(0, QUESTIONS - 1)]
    score = sum(correct for _, correct in answers)
    out.quizzes.append(
        QuizAttempt(
            member_id=person.id,
            organisation_id=person.counted_in,
            day=day,
            questions=[[u.id, rng.randrange(len(u.questions))] for u in picked],
            score=score if finished else 0,
            finished_at=done if finished else None,
            created_at=begun,
        )
    )
    out.answers.append(answers)


def plan_study(
    people: list[Person],
    first: date,
    now: datetime,
    zone: ZoneInfo,
    units: list[Unit],
    rules: PointsRules,
    rng: random.Random,
) -> Study:
    """Every member's days from `first` to now's day; quiz deeds are added once ids exist."""
    out = Study()
    today = now.astimezone(zone).date()
    usable = [u for u in units if u.questions]
    for person in people:
        if not person.uses_app:
            continue
        day = first
        while day <= today:
            if not (day == today and person.quiet_today):
                _day(person, day, now, zone, usable, rules, rng, out)
            day += timedelta(days=1)
    return out


async def write_study(study: Study, rules: PointsRules) -> int:
    written = await insert(CheckIn, study.check_ins)
    written += await insert(UnitReading, study.readings)
    written += await insert_with_ids(QuizAttempt, study.quizzes)
    answers: list[QuizAnswer] = []
    for attempt, given in zip(study.quizzes, study.answers, strict=True):
        for position, (unit, correct) in enumerate(given):
            answers.append(
                QuizAnswer(
                    attempt_id=attempt.id,
                    member_id=attempt.member_id,
                    position=position,
                    unit_id=unit.id,
                    tag=unit.tags[0],
                    correct=correct,
                    created_at=attempt.created_at,
                )
            )
        if attempt.finished_at is not None:
            study.deeds.append(
                Deed(
                    attempt.member_id,
                    attempt.organisation_id,
                    attempt.finished_at,
                    PointsReason.QUIZ,
                    f"quiz:{attempt.id}",
                    attempt.score * rules.quiz_correct,
                )
            )
    return written + await insert(QuizAnswer, answers)
