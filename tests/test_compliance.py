"""三会一课 compliance: what a branch still owes, told to its secretary; the weekly digest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.jobs import compliance_check, weekly_digest
from server.db import close_database, open_database
from server.models.meetings import Meeting
from server.models.people import Organisation
from server.services.meetings.compliance import digest, missing, period
from server.services.meetings.compliance_status import (
    AMBER,
    DUE,
    GREEN,
    RED,
    BranchLights,
    branch_lights,
    short_label,
)
from server.typedefs import WECHAT_CLIENTS
from server.wechat.fake import FakeWeChat
from tests.conftest import make_branch, make_group, migrated
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, branch_with_people, say
from tests.test_submissions_chat import REFLECTION

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)


def test_periods_are_calendar_months_quarters_halves_and_years() -> None:
    assert period(TODAY, 1) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period(TODAY, 3) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period(date(2026, 2, 10), 6) == (date(2026, 1, 1), date(2026, 6, 30))
    assert period(date(2026, 12, 31), 12) == (date(2026, 1, 1), date(2026, 12, 31))


async def meeting_at(
    branch: Organisation, kind: str, when: datetime, status: str = "planned"
) -> None:
    await Meeting.create(
        organisation=branch, kind=kind, topic="议题", starts_at=when,
        ends_at=when + timedelta(hours=1), status=status,
    )  # fmt: skip


async def test_a_branch_owes_what_it_has_not_scheduled_in_the_period(
    aiohttp_client: Any, make_settings: Any
) -> None:
    await frozen_app(aiohttp_client, make_settings, NOW)
    people = await branch_with_people()
    branch = await Organisation.get(id=people["secretary"].organisation_id)  # type: ignore[attr-defined]
    assert await missing(branch, TODAY, ZONE, "quarter") == [
        "本月支委会",
        "第一网格党小组本月党小组会",
        "本季度支部党员大会",
        "本季度党课",
    ]
    await meeting_at(branch, "支委会", datetime(2026, 11, 3, 1, 0, tzinfo=UTC), "held")
    await meeting_at(branch, "支部党员大会", datetime(2026, 10, 15, 1, 0, tzinfo=UTC), "held")
    await meeting_at(branch, "党课", datetime(2026, 11, 28, 1, 0, tzinfo=UTC), "cancelled")
    await meeting_at(branch, "党课", datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # still this quarter
    group = await Organisation.get(parent_id=branch.id, kind="group")
    await meeting_at(group, "党小组会", datetime(2026, 10, 30, 1, 0, tzinfo=UTC))  # last month
    assert await missing(branch, TODAY, ZONE, "quarter") == ["第一网格党小组本月党小组会"]
    assert "本月党课" in await missing(branch, TODAY, ZONE, "month")


async def test_the_check_tells_the_secretary_and_the_digest_sums_up_the_week(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    await branch_with_people()
    await say(client, peer, MEMBER, "打卡")
    await say(client, peer, MEMBER, "心得 " + REFLECTION)
    fake.interact(SECRETARY)
    clients = client.app[WECHAT_CLIENTS]
    assert await compliance_check(clock, clients, "quarter") == 1
    [warning] = fake.messages_to(SECRETARY)
    assert warning.text and warning.text.startswith(
        "【三会一课提醒】第一社区第一党支部还没有安排：本月支委会"
    )
    assert await weekly_digest(clock, clients) == 1
    summary = fake.messages_to(SECRETARY)[-1].text or ""
    # Nobody is listed by their check-ins or study (the 2026 rules): only what the branch did.
    assert "打卡" not in summary and "王芳" not in summary
    assert "待审核心得 1 篇" in summary and "未来七天已安排会议 0 个" in summary
    branch = await Organisation.get(path__endswith="第一社区第一党支部")
    assert "上次会议" not in await digest(branch, TODAY, clock.now())  # none held yet


# ---- the lights month by month, as the clock moves ------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "lights.sqlite3"))
    yield
    await close_database()


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE).astimezone(UTC)  # type: ignore[misc]


async def book(org: Organisation, kind: str, starts: datetime, status: str = "planned") -> None:
    await Meeting.create(
        organisation=org, kind=kind, topic="议题", starts_at=starts,
        ends_at=starts + timedelta(hours=1), status=status,
    )  # fmt: skip


def states(lights: BranchLights) -> dict[str, list[tuple[str, str]]]:
    """Each calendar period's lights, as (name, word)."""
    return {p.label: [(x.name, x.word) for x in p.lights] for p in lights.periods}


async def test_early_in_the_month_a_committee_not_yet_held_is_due_not_missed(db: None) -> None:
    branch = await make_branch()
    group = await make_group(branch, "第一网格党小组")
    await book(branch, "支委会", local(2026, 11, 5, 9), "held")
    await book(group, "党小组会", local(2026, 11, 30, 20, 30))  # over at 21:30 on the 30th
    await book(branch, "支委会", local(2026, 12, 12, 9))  # booked for later this month
    await book(group, "党小组会", local(2026, 12, 3, 9), "cancelled")  # cancelled: no meeting
    await book(branch, "支部党员大会", local(2026, 10, 20, 9))
    now = local(2026, 12, 2, 10)  # Wednesday 2 December, 10:00
    [lights] = await branch_lights(
        [branch], date(2026, 12, 2), ZONE, "quarter", now=now,
        start=date(2026, 11, 1), end=date(2026, 12, 2),
    )  # fmt: skip
    assert states(lights) == {
        "2026年11月": [("支委会", "已开"), ("第一网格党小组党小组会", "已开")],
        "2026年12月": [("支委会", "已安排"), ("第一网格党小组党小组会", "待开")],
        "2026年第四季度": [("支部党员大会", "已开"), ("党课", "待开")],
    }
    assert lights.column("committee") == AMBER and lights.column("group") == DUE
    [committee] = [x for x in lights.lights if x.item == "committee"]
    assert committee.label == "本月支委会" and committee.next_at == local(2026, 12, 12, 9)
    assert lights.overall == DUE  # nothing is past its time
    # The reminder lists exactly what is owed: nothing held or booked.
    assert await missing(branch, date(2026, 12, 2), ZONE, "quarter", now=now) == [
        "第一网格党小组本月党小组会",
        "本季度党课",
    ]


async def test_after_the_month_ended_what_was_not_held_is_missed(db: None) -> None:
    branch = await make_branch()
    group = await make_group(branch, "第一网格党小组")
    await book(branch, "支委会", local(2026, 12, 12, 9))  # it happens: held once over
    await book(group, "党小组会", local(2026, 12, 31, 23, 30))  # starts in December, ends 0:30
    new_year = local(2027, 1, 1, 0, 15)  # the group meeting is still going on
    [lights] = await branch_lights(
        [branch], date(2027, 1, 1), ZONE, "quarter", now=new_year,
        start=date(2026, 12, 1), end=date(2026, 12, 31),
    )  # fmt: skip
    assert states(lights) == {
        "2026年12月": [("支委会", "已开"), ("第一网格党小组党小组会", "已安排")],
        "2026年第四季度": [("支部党员大会", "未开"), ("党课", "未开")],
    }
    assert lights.overall == RED
    # The selection ended before today: its last periods are its "current" lights.
    assert lights.lights[0].label == "2026年12月支委会"
    [later] = await branch_lights(
        [branch], date(2027, 1, 1), ZONE, "quarter", now=local(2027, 1, 1, 1),
        start=date(2026, 12, 1), end=date(2026, 12, 31),
    )  # fmt: skip
    assert states(later)["2026年12月"] == [("支委会", "已开"), ("第一网格党小组党小组会", "已开")]
    # In January nothing of the new month is owed yet but everything is still to do.
    assert await missing(branch, date(2027, 1, 1), ZONE, "quarter") == [
        "本月支委会",
        "第一网格党小组本月党小组会",
        "本季度支部党员大会",
        "本季度党课",
    ]


async def test_a_meeting_under_way_is_booked_and_counts_once_it_is_over(db: None) -> None:
    branch = await make_branch()
    await book(branch, "支委会", local(2026, 11, 25, 9))  # 9:00 to 10:00
    for now, word in ((local(2026, 11, 25, 9, 30), "已安排"), (local(2026, 11, 25, 10), "已开")):
        [lights] = await branch_lights([branch], date(2026, 11, 25), ZONE, "year", now=now)
        assert [(x.label, x.word) for x in lights.lights] == [
            ("本月支委会", word), ("本季度支部党员大会", "待开"), ("今年党课", "待开"),
        ]  # fmt: skip


async def test_a_year_has_twelve_months_four_quarters_and_the_lecture_periods(db: None) -> None:
    branch = await make_branch()
    await book(branch, "党课", local(2026, 3, 3, 9))
    [lights] = await branch_lights(
        [branch], date(2026, 11, 25), ZONE, "half", now=local(2026, 11, 25, 10),
        start=date(2026, 1, 1), end=date(2026, 11, 25),
    )  # fmt: skip
    # Records begin with the 党课 of 3 March: nothing is owed in January or February.
    # December is after the selection; its quarter and its half overlap it.
    assert [short_label(p.start, p.end) for p in lights.periods] == [
        "3月", "第一季度", "4月", "5月", "6月", "第二季度", "上半年",
        "7月", "8月", "9月", "第三季度", "10月", "11月", "第四季度", "下半年",
    ]  # fmt: skip
    first_half = lights.cell(date(2026, 1, 1), date(2026, 6, 30))
    assert first_half is not None and first_half.state == GREEN
    assert [x.label for x in first_half.lights] == ["2026年上半年党课"]
    assert lights.cell(date(2026, 10, 1), date(2026, 10, 31)).state == RED  # type: ignore[union-attr]
    assert lights.cell(date(2026, 11, 1), date(2026, 11, 30)).state == DUE  # type: ignore[union-attr]


async def test_nothing_is_owed_before_records_began(db: None) -> None:
    """A committee that starts in November does not see January to October as missed."""
    branch = await make_branch()
    year = {"start": date(2026, 1, 1), "end": date(2026, 11, 25)}
    now = local(2026, 11, 25, 10)
    # Nothing recorded yet: only the periods that contain today are owed.
    [fresh] = await branch_lights([branch], date(2026, 11, 25), ZONE, "quarter", now=now, **year)
    assert [p.label for p in fresh.periods] == ["2026年11月", "2026年第四季度"]
    assert fresh.overall == DUE

    # The first meeting anyone recorded was on 20 October: October is owed, September is not.
    await book(branch, "主题党日", local(2026, 10, 20, 9))
    [lights] = await branch_lights([branch], date(2026, 11, 25), ZONE, "quarter", now=now, **year)
    assert [p.label for p in lights.periods] == ["2026年10月", "2026年11月", "2026年第四季度"]
    october = lights.cell(date(2026, 10, 1), date(2026, 10, 31))
    assert october is not None and october.state == RED  # no 支委会 in October: missed

    # A selection wholly before records began owes nothing.
    [before] = await branch_lights(
        [branch], date(2026, 11, 25), ZONE, "quarter", now=now,
        start=date(2026, 1, 1), end=date(2026, 3, 31),
    )  # fmt: skip
    assert (before.periods, before.lights) == ([], [])
