"""预备党员: a branch's roll says who is still 预备; a 支部党员大会 counts them in 应到 and 出勤率
like every member, but its quorum for a vote is taken on those with a vote (正式党员) alone —
有表决权的到会人数超过应到会有表决权人数的半数 (chat's 会议 N and the API's roster both take it
from `Roster.voting_counts`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingType
from server.models.people import Member
from server.services.meetings import attendance, scheduling
from tests.conftest import make_branch, make_member, migrated
from tests.test_import_members import BRANCH, HEADER, run, where, write_csv

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "p.sqlite3"))
    yield
    await close_database()


async def test_the_roll_says_who_is_probationary_and_a_wrong_word_is_named(
    db: None, tmp_path: Path
) -> None:
    rows = [
        [*HEADER, "党员类别"],
        ["张三", "13800000001", "男", "1980-01-02", "", "2005-07-01", BRANCH, "", "", "正式党员"],
        ["李四", "13800000002", "女", "1999-01-02", "", "2023-07-01", BRANCH, "", "", "预备党员"],
        ["王五", "13800000003", "男", "1990-01-02", "", "2010-07-01", BRANCH, "", "", ""],
    ]
    report = await run(write_csv(tmp_path / "roll.csv", rows))
    assert not report.errors, report.errors
    flags = {m.name: m.probationary for m in await Member.all()}
    assert flags == {"张三": False, "李四": True, "王五": False}

    # 转正: the next roll says 正式党员, and only that changes.
    rows[2][-1] = "正式"
    await run(write_csv(tmp_path / "roll2.csv", rows))
    assert not (await Member.get(name="李四")).probationary

    rows[3][-1] = "积极分子"  # not a 党员类别: the row is refused, nothing written
    bad = await run(write_csv(tmp_path / "roll3.csv", rows))
    assert where(bad) == {(4, "党员类别")}
    assert not (await Member.get(name="王五")).probationary


async def test_a_quorum_for_a_vote_counts_those_with_a_vote(db: None) -> None:
    branch = await make_branch()
    full = [await make_member(f"正式{i}", f"1380000001{i}", org=branch) for i in range(4)]
    probation = [await make_member(f"预备{i}", f"1380000002{i}", org=branch) for i in range(2)]
    for m in probation:
        m.probationary = True
        await m.save()
    meeting = await Meeting.create(
        organisation_id=branch.id,
        kind=MeetingType.BRANCH_MEETING,
        topic="讨论接收预备党员",
        starts_at=NOW - timedelta(hours=3),
        ends_at=NOW - timedelta(hours=1),
    )
    here = [*full[:2], *probation]  # 4 of 6 came, but only 2 of the 4 with a vote
    for m in [*full, *probation]:
        await MeetingAttendee.create(
            meeting=meeting,
            member=m,
            organisation_id=branch.id,
            role=AttendeeRole.EXPECTED,
            attendance=Attendance.PRESENT if m in here else Attendance.ABSENT,
        )
    roster = await scheduling.roster(meeting, NOW)
    assert roster.counts["present"] == 4 and len(roster.expected) == 6  # 应到 6, 实到 4
    assert [r.member.name for r in roster.probationary] == ["预备0", "预备1"]
    assert attendance.quorum(meeting, roster.voting_counts) is False
    assert attendance.quorum(meeting, roster.counts) is True  # what counting everyone would say

    # One more 正式党员 arrives late and is put right by 补录: 3 of 4, the quorum is met.
    await MeetingAttendee.filter(meeting=meeting, member=full[2]).update(
        attendance=Attendance.PRESENT
    )
    roster = await scheduling.roster(meeting, NOW)
    assert attendance.quorum(meeting, roster.voting_counts) is True
    # Another kind of meeting has no quorum at all.
    meeting.kind = MeetingType.PARTY_LECTURE
    assert attendance.quorum(meeting, roster.voting_counts) is None
