"""三会一课 compliance: what a branch still owes, told to its secretary; the weekly digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.jobs import compliance_check, weekly_digest
from server.meetings import Meeting
from server.models import Organisation
from server.services.compliance import digest, missing, period
from server.typedefs import WECHAT_CLIENTS
from server.wechat.fake import FakeWeChat
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
