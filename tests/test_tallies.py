"""What staff report upward — 组织党员学习, 自学, 交流体会 and meetings — by subtree and period.

These pin the rules in `server/services/tallies.py`, the independent spelling the report and the
snapshot are checked against: organised study is attendance at study the organisation held,
self-study is a member's day of real reading, and a meeting counts only once it is over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.db import close_database, open_database
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.people import Member, Organisation, Role, counted_in
from server.models.study import QuizAttempt
from server.services.study import submissions
from server.services.study.points import PointsRules
from server.services.study.reading import record_opened, record_reading
from study_content.corpus import SHIPPED, Unit, load_corpus
from tests.conftest import make_branch, make_group, make_member, migrated
from tests.tally_oracle import participation

RULES = PointsRules()
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LATER = datetime(2027, 1, 5, tzinfo=UTC)  # every meeting of 2026 is over
COMMITTEE = "示范街道党工委"
EAST = f"{COMMITTEE}/东社区党总支"
ONE = f"{EAST}/东社区第一党支部"
TWO = f"{EAST}/东社区第二党支部"
# A sibling whose name begins like ONE's: a prefix of the text, not of the tree.
ONE_LOOKALIKE = f"{EAST}/东社区第一党支部联合支部"
WEST = f"{COMMITTEE}/西社区党总支/西社区第一党支部"
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))

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


async def tally(path: str, first: date, last: date, now: datetime = LATER):  # type: ignore[no-untyped-def]
    return await participation(await org(path), first, last, ZONE, now)


async def read(member: Member, unit: Unit, day: date) -> None:
    await record_reading(member, unit, day, RULES)


async def quiz(member: Member, day: date, *, finished: bool = True) -> None:
    await QuizAttempt.create(
        member_id=member.id,
        organisation_id=counted_in(member),
        day=day,
        questions=[],
        finished_at=NOW if finished else None,
    )


async def hand_in(member: Member, text: str, day: date, corpus: list[Unit]) -> int:
    return (await submissions.submit(member, text, day, corpus)).id


async def test_tapping_through_units_is_one_self_study_and_no_organised_study(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    day = date(2026, 11, 20)
    for unit in corpus[:10]:  # ten 下一篇 in a second: digests skimmed past
        await record_opened(wang, unit, day)
    assert (await tally(ONE, day, day)).self_study == 0

    await read(wang, corpus[0], day)  # one unit opened in full (全文)
    await read(wang, corpus[1], day)
    await quiz(wang, day)
    t = await tally(ONE, day, day)
    assert t.self_study == 1  # once a member and day, however much was read
    assert t.members_self_studied == 1
    assert t.organised_study == 0  # reading in the app is not study the organisation organised

    await read(wang, corpus[0], date(2026, 11, 21))  # the next day is another
    await quiz(wang, date(2026, 11, 22), finished=False)  # abandoned half-way: nothing
    assert (await tally(ONE, *NOVEMBER)).self_study == 2


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

    t = await tally(ONE, day, day)
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
        return (await tally(path, day, day)).self_study

    assert await studied(ONE) == 1  # not its look-alike sibling
    assert await studied(EAST) == 3
    assert await studied(COMMITTEE) == 4


async def test_a_period_includes_both_ends_and_nothing_outside(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    for day in (date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)):
        await read(wang, corpus[0], day)
    assert (await tally(ONE, *NOVEMBER)).self_study == 2


async def test_a_transferred_member_is_counted_where_they_were_at_the_time(
    db: None, corpus: list[Unit]
) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await make_branch(WEST)
    await read(wang, corpus[0], date(2026, 11, 2))
    wang.organisation = await org(WEST)  # 转出 to the west
    await wang.save()
    await read(wang, corpus[1], date(2026, 11, 3))
    assert (await tally(ONE, *NOVEMBER)).self_study == 1
    assert (await tally(WEST, *NOVEMBER)).self_study == 1


async def test_a_party_group_counts_its_own_members_deeds_and_its_branch_counts_them_too(
    db: None, corpus: list[Unit]
) -> None:
    branch = await make_branch(ONE)
    first = await make_group(branch, "第一党小组")
    second = await make_group(branch, "第二党小组")
    wang = await make_member("王芳", "13900000001", org=branch, group=first)
    li = await make_member("李四", "13900000002", org=branch, group=second)
    zhao = await make_member("赵六", "13900000003", org=branch)  # in no group yet
    day = date(2026, 11, 20)
    for member in (wang, li, zhao):
        await read(member, corpus[0], day)
    await hand_in(wang, THOUGHTS, day, corpus)

    in_first = await tally(first.path, day, day)
    assert (in_first.self_study, in_first.submitted) == (1, 1)
    assert (await tally(second.path, day, day)).self_study == 1
    assert (await tally(ONE, day, day)).self_study == 3  # the branch: its groups and itself

    wang.group = second  # moves to the second group: what she did stays with the first
    await wang.save()
    assert (await tally(first.path, day, day)).self_study == 1


async def test_the_report_sentence_says_which_study_is_which(db: None, corpus: list[Unit]) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    await read(wang, corpus[0], date(2026, 3, 5))
    await hand_in(wang, THOUGHTS, date(2026, 3, 6), corpus)
    lecture = await meeting("党课", ONE, datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
    await attended(lecture, wang, Attendance.PRESENT)
    t = await tally(COMMITTEE, date(2026, 1, 1), date(2026, 11, 25))
    assert t.sentence() == (
        "2026年1月1日至2026年11月25日，共组织党员学习1人次，交流体会1人次（另有党员线上自学1人次）"
    )
    assert t.check_ins == 0


async def meeting(
    kind: str, org_path: str, starts: datetime, status: str = "planned", *, study: bool = True
) -> Meeting:
    return await Meeting.create(
        organisation=await org(org_path),
        kind=kind,
        topic="学习",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        status=status,
        study=study,
    )


async def attended(m: Meeting, member: Member, attendance: Attendance) -> None:
    await MeetingAttendee.create(
        meeting=m, member=member, organisation_id=counted_in(member), attendance=attendance
    )


async def test_being_present_at_held_organised_study_is_organised_study(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    li = await make_member("李四", "13900000002", org=await make_branch(ONE))
    # 23:30 on 30 November in Shanghai is still November there (15:30 UTC).
    late_lecture = await meeting("党课", ONE, datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    theme_day = await meeting("主题党日", ONE, datetime(2026, 11, 5, 1, 0, tzinfo=UTC))
    committee = await meeting("支委会", ONE, datetime(2026, 11, 6, 1, 0, tzinfo=UTC), study=False)
    called_off = await meeting("党课", ONE, datetime(2026, 11, 7, 1, 0, tzinfo=UTC), "cancelled")
    await attended(late_lecture, wang, Attendance.PRESENT)
    await attended(late_lecture, li, Attendance.ABSENT)
    await attended(theme_day, wang, Attendance.PRESENT)
    await attended(committee, wang, Attendance.PRESENT)  # a meeting, not organised study
    await attended(called_off, li, Attendance.PRESENT)
    november = await tally(ONE, *NOVEMBER)
    assert (november.organised_study, november.members_studied) == (2, 1)
    assert november.meetings_held == 3
    assert (await tally(ONE, date(2026, 12, 1), date(2026, 12, 31))).organised_study == 0


async def test_a_meeting_counts_as_held_only_once_it_is_over(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    # A 支委会 at 11:50 Shanghai time on 20 November, an hour long.
    at = datetime(2026, 11, 20, 3, 50, tzinfo=UTC)
    m = await meeting("支委会", ONE, at, study=False)
    await attended(m, wang, Attendance.UNKNOWN)

    before = await tally(ONE, *NOVEMBER, now=at - timedelta(minutes=20))  # viewed at 11:30
    assert (before.meetings_held, before.meetings_scheduled) == (0, 1)
    assert (before.expected, before.absent) == (0, 0)  # nobody can be absent yet

    during = await tally(ONE, *NOVEMBER, now=at + timedelta(minutes=30))
    assert (during.meetings_held, during.meetings_scheduled, during.expected) == (0, 1, 0)

    after = await tally(ONE, *NOVEMBER, now=at + timedelta(hours=2))
    assert (after.meetings_held, after.meetings_scheduled) == (1, 0)
    assert (after.expected, after.absent) == (1, 1)  # never signed in: absent


async def test_a_leave_asked_for_and_never_granted_is_an_absence(db: None) -> None:
    wang = await make_member("王芳", "13900000001", org=await make_branch(ONE))
    li = await make_member("李四", "13900000002", org=await make_branch(ONE))
    m = await meeting("支委会", ONE, datetime(2026, 11, 6, 1, 0, tzinfo=UTC), study=False)
    await attended(m, wang, Attendance.REQUESTED)
    await attended(m, li, Attendance.LEAVE)
    t = await tally(ONE, *NOVEMBER)
    assert (t.expected, t.leave, t.absent) == (2, 1, 1)
