"""What staff report upward: 学习人次, 交流体会人次 and distinct members, by subtree and period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.activity import QuizAttempt
from server.db import close_database, open_database
from server.meetings import Attendance, Meeting, MeetingAttendee
from server.models import Member, Organisation, Role
from server.services import submissions
from server.services.points import PointsRules
from server.services.study import record_reading
from server.services.tallies import participation
from study_content.corpus import SHIPPED, Unit, load_corpus
from tests.conftest import make_branch, make_member, migrated

RULES = PointsRules()
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
COMMITTEE = "示范街道党工委"
EAST = f"{COMMITTEE}/东社区党总支"
ONE = f"{EAST}/东社区第一党支部"
TWO = f"{EAST}/东社区第二党支部"
# A sibling whose name begins like ONE's: a prefix of the text, not of the tree.
ONE_LOOKALIKE = f"{EAST}/东社区第一党支部联合支部"
WEST = f"{COMMITTEE}/西社区党总支/西社区第一党支部"

THOUGHTS = (
    "通过学习党章，我更加明白了党员义务和权利是统一的，要在网格里带头为居民办实事、解难题，" * 2
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "tallies.sqlite3"))
    yield
    await close_database()


@pytest.fixture(scope="module")
def corpus() -> list[Unit]:
    return load_corpus(SHIPPED)


async def org(path: str) -> Organisation:
    return await Organisation.get(path=path)


async def read(member: Member, unit: Unit, day: date) -> None:
    await record_reading(member, unit, day, RULES)


async def quiz(member: Member, day: date, *, finished: bool = True) -> None:
    await QuizAttempt.create(
        member_id=member.id,
        organisation_id=member.organisation_id,  # type: ignore[attr-defined]
        day=day,
        questions=[],
        finished_at=NOW if finished else None,
    )


async def hand_in(member: Member, text: str, day: date, corpus: list[Unit]) -> int:
    return (await submissions.submit(member, text, day, corpus)).id


async def test_study_person_times_count_readings_and_finished_quizzes(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    day = date(2026, 11, 20)
    await read(wang, corpus[0], day)
    await read(wang, corpus[0], day)  # the same unit again that day: still one person-time
    await read(wang, corpus[1], day)
    await read(wang, corpus[0], date(2026, 11, 21))  # the next day counts again
    await quiz(wang, day)
    await quiz(wang, day, finished=False)  # abandoned half-way: not a study person-time

    t = await participation(await org(ONE), date(2026, 11, 1), date(2026, 11, 30), ZONE)
    assert (t.readings, t.quizzes, t.study_person_times) == (3, 1, 4)
    assert t.members_studied == 1


async def test_exchanges_count_what_was_handed_in_and_not_returned(
    db: None, corpus: list[Unit]
) -> None:
    branch = await make_branch(ONE)
    wang = await make_member("王芳", "13900000001", org=branch)
    li = await make_member("李书记", "13900000002", org=branch, role=Role.SECRETARY)
    zhang = await make_member("张三", "13900000003", org=branch)
    day = date(2026, 11, 20)
    approved = await hand_in(wang, THOUGHTS + "一", day, corpus)
    returned = await hand_in(zhang, THOUGHTS + "二。我还要多走访。" * 3, day, corpus)
    await hand_in(wang, THOUGHTS + "三。下周我去看望孤寡老人。" * 3, day, corpus)  # pending
    await submissions.approve(li, approved, NOW, day, RULES)
    await submissions.return_for_revision(li, returned, "请再具体一些", NOW)

    t = await participation(await org(ONE), day, day, ZONE)
    assert (t.submitted, t.approved, t.returned, t.pending) == (3, 1, 1, 1)
    assert t.exchange_person_times == 2
    assert t.members_exchanged == 1  # 张三's only one was returned


async def test_a_subtree_includes_its_branches_and_nothing_beside_it(
    db: None, corpus: list[Unit]
) -> None:
    day = date(2026, 11, 20)
    for n, path in enumerate([ONE, TWO, ONE_LOOKALIKE, WEST]):
        member = await make_member(f"党员{n}", f"1390000001{n}", org=await make_branch(path))
        await read(member, corpus[0], day)

    async def studied(path: str) -> int:
        return (await participation(await org(path), day, day, ZONE)).study_person_times

    assert await studied(ONE) == 1  # not its look-alike sibling
    assert await studied(EAST) == 3
    assert await studied(COMMITTEE) == 4


async def test_a_period_includes_both_ends_and_nothing_outside(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    for day in (date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)):
        await read(wang, corpus[0], day)
    t = await participation(await org(ONE), date(2026, 11, 1), date(2026, 11, 30), ZONE)
    assert t.readings == 2


async def test_a_transferred_member_is_counted_where_they_were_at_the_time(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await make_branch(WEST)
    await read(wang, corpus[0], date(2026, 11, 2))
    wang.organisation = await org(WEST)  # 转出 to the west
    await wang.save()
    await read(wang, corpus[1], date(2026, 11, 3))
    month = (date(2026, 11, 1), date(2026, 11, 30))
    assert (await participation(await org(ONE), *month, ZONE)).readings == 1
    assert (await participation(await org(WEST), *month, ZONE)).readings == 1


async def test_the_report_sentence(db: None, corpus: list[Unit]) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await read(wang, corpus[0], date(2026, 3, 5))
    await hand_in(wang, THOUGHTS, date(2026, 3, 6), corpus)
    t = await participation(await org(COMMITTEE), date(2026, 1, 1), date(2026, 11, 25), ZONE)
    assert t.sentence() == "2026年1月1日至2026年11月25日，共组织党员学习1人次，交流体会1人次"
    assert t.check_ins == 0


async def meeting(kind: str, org_path: str, starts: datetime, status: str = "held") -> Meeting:
    return await Meeting.create(
        organisation=await org(org_path),
        kind=kind,
        topic="学习",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        status=status,
    )


async def attended(m: Meeting, member: Member, attendance: Attendance) -> None:
    await MeetingAttendee.create(
        meeting=m,
        member=member,
        organisation_id=member.organisation_id,  # type: ignore[attr-defined]
        attendance=attendance,
    )


async def test_being_present_at_a_party_lecture_or_theme_day_is_study(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    li = await make_member("李四", "13900000002", org=await make_branch(ONE))
    # 23:30 on 30 November in Shanghai is still November there (15:30 UTC).
    late_lecture = await meeting("党课", ONE, datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    theme_day = await meeting("主题党日", ONE, datetime(2026, 11, 5, 1, 0, tzinfo=UTC))
    committee = await meeting("支委会", ONE, datetime(2026, 11, 6, 1, 0, tzinfo=UTC))
    called_off = await meeting("党课", ONE, datetime(2026, 11, 7, 1, 0, tzinfo=UTC), "cancelled")
    await attended(late_lecture, wang, Attendance.PRESENT)
    await attended(late_lecture, li, Attendance.ABSENT)
    await attended(theme_day, wang, Attendance.PRESENT)
    await attended(committee, wang, Attendance.PRESENT)  # a meeting, not organised study
    await attended(called_off, li, Attendance.PRESENT)
    november = await participation(await org(ONE), date(2026, 11, 1), date(2026, 11, 30), ZONE)
    assert (november.lessons, november.study_person_times, november.members_studied) == (2, 2, 1)
    december = await participation(await org(ONE), date(2026, 12, 1), date(2026, 12, 31), ZONE)
    assert december.lessons == 0
