"""Eight weeks of synthetic study and meetings for the demo street, so a newcomer's dashboard,
report and ledger show something.  Written once: a street that already has activity gets none.

Every row is what the chat would have written (check-ins, unit readings, finished quizzes,
心得 in each state, meetings with their expected attendees and what became of them), each for
the organisation the member belongs to, so the tallies count it by the usual rules.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.models import Model
from tortoise.transactions import in_transaction

from server.activity import CheckIn, QuizAttempt, Submission, SubmissionStatus, UnitReading
from server.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingStatus
from server.models import BRANCH_LEADERS, Member, MemberStatus, Organisation, OrgKind
from server.services.demo import COMMITTEE, PHONE_BLOCK
from server.services.meetings import COMMITTEE_ROLES
from study_content.corpus import SHIPPED, load_corpus

DAYS = 56
_BATCH = 2000
_THOUGHTS = (
    "通过这次学习，我对党章中党员的义务有了更深的理解。作为社区网格员，我要把学到的理论用到"
    "为群众办实事上，带头参与环境整治和邻里调解，主动联系困难群众，做到平时看得出来、关键时刻"
    "站得出来。"
)


async def seed_activity(today: date, zone: ZoneInfo, *, seed: int = 2023, days: int = DAYS) -> int:
    """The rows written (0 when the demo street has activity already)."""
    if await CheckIn.filter(member__phone__startswith=PHONE_BLOCK).exists():
        return 0
    members = await Member.filter(phone__startswith=PHONE_BLOCK, status=MemberStatus.ACTIVE).values(
        "id", "organisation_id", "group_id", "role"
    )
    if not members:
        return 0
    rng = random.Random(seed)
    units = [unit.id for unit in load_corpus(SHIPPED)]
    first = today - timedelta(days=days)
    rows: dict[type[Model], list[Model]] = {model: [] for model in _MODELS}
    for m in members:
        keen = rng.uniform(0.15, 0.9)  # how often this member studies
        # Counted in the member's 党小组 when they have one, as the chat counts it.
        mine = {"member_id": m["id"], "organisation_id": m["group_id"] or m["organisation_id"]}
        for n in range(days + 1):
            day = first + timedelta(days=n)
            if rng.random() > keen:
                continue
            rows[CheckIn].append(CheckIn(**mine, day=day))
            for unit in rng.sample(units, rng.choice((0, 1, 1, 2))):
                # Most open the whole unit; some only glance at the digest (no study).
                full = rng.random() < 0.7
                rows[UnitReading].append(UnitReading(**mine, unit_id=unit, day=day, read_full=full))
            if rng.random() < 0.12:
                rows[QuizAttempt].append(_quiz(mine, day, zone, rng))
            if rng.random() < 0.015:
                rows[Submission].append(_thought(mine, day, rng))
    written = 0
    async with in_transaction():
        for model, made in rows.items():
            for start in range(0, len(made), _BATCH):
                await model.bulk_create(made[start : start + _BATCH])
            written += len(made)
        written += await _meetings(members, first, today, zone, rng)
    return written


_MODELS: tuple[type[Model], ...] = (CheckIn, UnitReading, QuizAttempt, Submission)


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def _quiz(mine: dict[str, int], day: date, zone: ZoneInfo, rng: random.Random) -> QuizAttempt:
    return QuizAttempt(
        **mine,
        day=day,
        questions=[],
        score=rng.randint(2, 5),
        finished_at=_at(day, 20, zone),
    )


def _thought(mine: dict[str, int], day: date, rng: random.Random) -> Submission:
    text = _THOUGHTS + f"（{day.month}月{day.day}日）"
    status = rng.choice(
        (SubmissionStatus.APPROVED, SubmissionStatus.APPROVED, SubmissionStatus.PENDING)
        + ((SubmissionStatus.RETURNED,) if rng.random() < 0.3 else ())
    )
    return Submission(
        **mine,
        day=day,
        content=text,
        length=len(text),
        digest=hashlib.sha256(f"{mine['member_id']}:{text}".encode()).hexdigest(),
        status=status,
        return_reason="请结合本职工作再谈谈体会" if status is SubmissionStatus.RETURNED else None,
    )


async def _meetings(
    members: list[dict[str, Any]], first: date, today: date, zone: ZoneInfo, rng: random.Random
) -> int:
    """Each branch: a 支委会 and a 党课 a month, a 支部党员大会 once; each held before today."""
    branches = await Organisation.filter(
        kind=OrgKind.BRANCH, path__startswith=COMMITTEE + "/"
    ).values_list("id", flat=True)
    by_branch: dict[int, list[dict[str, Any]]] = {}
    for m in members:
        by_branch.setdefault(m["organisation_id"], []).append(m)
    written = 0
    plan = [("支委会", 10, 14), ("党课", 20, 15), ("支部党员大会", 25, 19)]
    for branch_id in branches:
        people = by_branch.get(branch_id, [])
        if not people:
            continue
        month = date(first.year, first.month, 1)
        while month < today:
            for kind, day_of_month, hour in plan:
                day = month.replace(day=day_of_month)
                if not first <= day < today or (kind == "支部党员大会" and month.month % 3):
                    continue
                written += await _meeting(branch_id, kind, day, hour, people, zone, rng)
            month = (month + timedelta(days=32)).replace(day=1)
    return written


async def _meeting(
    branch_id: int,
    kind: str,
    day: date,
    hour: int,
    people: list[dict[str, Any]],
    zone: ZoneInfo,
    rng: random.Random,
) -> int:
    starts = _at(day, hour, zone)
    meeting = await Meeting.create(
        organisation_id=branch_id,
        kind=kind,
        topic="学习贯彻党的二十届四中全会精神" if kind != "支委会" else "研究本月支部工作",
        place="党群服务中心",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=90),
        status=MeetingStatus.PLANNED,
        study=kind == "党课",
        chair_id=next((p["id"] for p in people if p["role"] in BRANCH_LEADERS), None),
    )
    expected = [p for p in people if kind != "支委会" or p["role"] in COMMITTEE_ROLES]
    await MeetingAttendee.bulk_create(
        [
            MeetingAttendee(
                meeting_id=meeting.id,
                member_id=p["id"],
                organisation_id=p["group_id"] or branch_id,
                role=AttendeeRole.EXPECTED,
                attendance=rng.choices(
                    (Attendance.PRESENT, Attendance.LEAVE, Attendance.ABSENT), (85, 10, 5)
                )[0],
            )
            for p in expected
        ]
    )
    return 1 + len(expected)
