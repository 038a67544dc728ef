"""The daily snapshot agrees with the live tallies, and re-running a day replaces it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scheduler.jobs import daily_snapshot
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.meetings import Attendance
from server.models.people import Organisation, Role
from server.models.tallies import TallySnapshot
from server.services.study import submissions
from server.services.tallies.snapshot import catch_up, snapshot_day, touched
from study_content.corpus import SHIPPED, Unit, load_corpus
from tests.conftest import make_branch, make_member, migrated
from tests.tally_oracle import participation
from tests.test_tallies import (
    COMMITTEE,
    ONE,
    RULES,
    THOUGHTS,
    TWO,
    ZONE,
    attended,
    meeting,
    org,
    quiz,
    read,
)

DAY = date(2026, 11, 20)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "snapshot.sqlite3"))
    yield
    await close_database()


@pytest.fixture(scope="module")
def corpus() -> list[Unit]:
    return load_corpus(SHIPPED)


AT_NINE = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def a_busy_day(corpus: list[Unit]) -> None:
    one, two = await make_branch(ONE), await make_branch(TWO)
    wang = await make_member("王芳", "13900000001", org=one)
    li = await make_member("李书记", "13900000002", org=one, role=Role.SECRETARY)
    zhao = await make_member("赵六", "13900000003", org=two)
    await read(wang, corpus[0], DAY)
    await read(wang, corpus[1], DAY)
    await read(zhao, corpus[0], DAY)
    await quiz(zhao, DAY)
    handed = await submissions.submit(wang, THOUGHTS, DAY, corpus)
    await submissions.submit(zhao, THOUGHTS + "我还要多走访。", DAY, corpus)
    await submissions.approve(li, handed.id, AT_NINE, DAY, RULES)
    lecture = await meeting("党课", ONE, AT_NINE)
    await attended(lecture, wang, Attendance.PRESENT)
    await attended(lecture, li, Attendance.LEAVE)


async def summed(path: str) -> dict[str, int]:
    root = await Organisation.get(path=path)
    rows = await TallySnapshot.filter(day=DAY).prefetch_related("organisation")
    mine = [
        r
        for r in rows
        if r.organisation.path == root.path or r.organisation.path.startswith(root.path + "/")
    ]
    fields = ("self_study", "lessons", "members_studied", "submitted", "returned")
    return {f: sum(getattr(r, f) for r in mine) for f in fields}


async def test_the_snapshot_of_a_day_agrees_with_the_live_count(
    db: None,
    corpus: list[Unit],
) -> None:
    await a_busy_day(corpus)
    clock = FrozenClock(datetime(2026, 11, 20, 16, 5, tzinfo=UTC))  # 00:05 on the 21st
    assert await daily_snapshot(clock) == 60  # yesterday and the 59 days before, all untaken
    for path in (ONE, TWO, COMMITTEE):
        live = await participation(await org(path), DAY, DAY, ZONE, clock.now())
        snap = await summed(path)
        assert snap["lessons"] == live.organised_study
        assert snap["self_study"] == live.self_study
        assert snap["submitted"] - snap["returned"] == live.exchange_person_times
        assert snap["members_studied"] == live.members_studied
    branch = await TallySnapshot.get(day=DAY, organisation__path=ONE)
    assert branch.meetings == {"党课": 1}
    assert (branch.expected, branch.present, branch.leave, branch.absent) == (2, 1, 1, 0)
    assert branch.approved == 1


async def test_running_a_day_again_replaces_it(db: None, corpus: list[Unit]) -> None:
    await a_busy_day(corpus)
    clock = FrozenClock(datetime(2026, 11, 20, 16, 5, tzinfo=UTC))
    await daily_snapshot(clock)
    wang = await make_member("孙九", "13900000009", org=await make_branch(ONE))
    await read(wang, corpus[2], DAY)  # a late-arriving event for that day
    await snapshot_day(DAY, ZONE)  # `dangjian snapshot --day`
    assert await TallySnapshot.filter(day=DAY).count() == 2
    assert (await summed(ONE))["self_study"] == 2


async def test_days_missed_while_down_are_taken_at_the_next_start(
    db: None, corpus: list[Unit]
) -> None:
    await a_busy_day(corpus)
    # Nothing ran for a week; the process starts on the 27th at 09:00.
    clock = FrozenClock(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    await daily_snapshot(clock)
    assert (await summed(ONE))["self_study"] == 1
    # The next night: yesterday, and older untaken days; never the days already current.
    clock.advance(days=1)
    taken = await catch_up(clock.today(), ZONE)
    assert taken[-1] == date(2026, 11, 27)
    assert DAY not in taken


async def test_a_day_changed_after_its_snapshot_is_taken_again(
    db: None, corpus: list[Unit]
) -> None:
    await a_busy_day(corpus)
    await snapshot_day(DAY, ZONE)
    await touched(DAY)  # e.g. a 心得 of that day was approved this morning
    taken = await catch_up(date(2026, 11, 25), ZONE)
    assert DAY in taken
