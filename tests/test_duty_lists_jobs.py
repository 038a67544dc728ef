"""The 责任人's reminders, on the moved clock (nobody sleeps): seven days before the deadline,
one day before, and once when it has passed — each to whoever answers for the item (the member
named; the organisation's secretary), through the outbox, sent outside the quiet hours.  A
second run of the day, a retried period after a crash, tells nobody twice; an item done is
told nothing more; a deadline moved is told again in its turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.duty_lists import JOB, duty_reminders, morning
from scheduler.leadership import Leadership
from scheduler.periodic import PeriodicRuns, leader_check
from scheduler.runner import timed_jobs
from server.cache import MemoryCache
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.community import CommunityMessage
from server.models.duty_lists import DutyItem
from server.services.community.outbox import CommunitySender
from server.services.duty_lists import items
from server.services.duty_lists.reminders import KIND
from server.settings import Settings
from server.typedefs import SETTINGS, WECHAT_CLIENTS
from server.wechat.fake_state import FakeWeChat
from tests.conftest import migrated
from tests.duty_lists_helpers import NOW, TODAY, bind, make_item, street
from tests.test_checkin_chat import frozen_app
from tests.test_leave_chat import texts_to
from tests.wechat_peer import openid_for

ZONE = ZoneInfo("Asia/Shanghai")
OWNER = openid_for("duty-owner")


def at(day: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "duty-jobs.sqlite3"))
    yield
    await close_database()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(scheduler=False)  # quiet hours 22:00–07:00


async def letters() -> list[CommunityMessage]:
    return [m for m in await CommunityMessage.all().order_by("id") if m.kind == KIND]


async def test_owners_are_reminded_a_week_and_a_day_before_and_once_when_late(
    db: None, settings: Settings
) -> None:
    s = await street()
    await bind(s.owner, "o-owner")
    await bind(s.east_secretary, "o-east")
    deadline = date(2026, 12, 10)
    ledger = await make_item(s, owner_id=s.owner.id, deadline=deadline)
    study = await make_item(s, owner_org_id=s.east.id, deadline=deadline, task="丰富学习形式")
    await make_item(s, owner_id=s.plain.id, deadline=deadline)  # never bound: nobody to tell

    clock = FrozenClock(at(date(2026, 12, 2)))  # eight days before: nothing yet
    assert await duty_reminders(clock, settings) == 0
    clock.set(at(date(2026, 12, 3)))  # seven days before
    assert await duty_reminders(clock, settings) == 2
    week = await letters()
    assert {m.openid for m in week} == {"o-owner", "o-east"}
    to_owner = next(m for m in week if m.openid == "o-owner")
    assert "【清单到期提醒】陈委员同志" in to_owner.text
    assert f"第 {ledger.id} 项将于2026年12月10日到期（还有 7 天）" in to_owner.text
    assert f"清单进展 {ledger.id}" in to_owner.text and "丰富学习形式" not in to_owner.text
    # The same day again, and the days between: nothing more.
    assert await duty_reminders(clock, settings) == 2
    for day in (4, 5, 8):
        clock.set(at(date(2026, 12, day)))
        await duty_reminders(clock, settings)
    assert len(await letters()) == 2

    # The day before; the owner's item is then done — the 总支 is told it is late, once.
    clock.set(at(date(2026, 12, 9)))
    await duty_reminders(clock, settings)
    day_before = (await letters())[2:]
    assert len(day_before) == 2 and all("（明天）" in m.text for m in day_before)
    await items.complete(s.staff, ledger, "台账已规范", clock.now(), clock.today())
    for day in (11, 12, 20):
        clock.set(at(date(2026, 12, day)))
        await duty_reminders(clock, settings)
    late = (await letters())[4:]
    assert [m.openid for m in late] == ["o-east"]
    assert (
        "【清单逾期】" in late[0].text and f"第 {study.id} 项时限2026年12月10日已过" in late[0].text
    )

    # The deadline moved: the new deadline is told in its turn.
    await DutyItem.filter(id=study.id).update(deadline=date(2026, 12, 25))
    clock.set(at(date(2026, 12, 21)))
    await duty_reminders(clock, settings)
    assert "还有 4 天" in (await letters())[-1].text and len(await letters()) == 6


async def test_a_retried_period_tells_nobody_twice_and_waits_for_the_quiet_hours(
    db: None, settings: Settings
) -> None:
    s = await street()
    await bind(s.owner, "o-owner")
    await make_item(s, owner_id=s.owner.id, deadline=TODAY + timedelta(days=1))
    # The periodic job as the runner registers it, an hour after DANGJIAN_REPORT_TIME.
    clock = FrozenClock(at(TODAY, *morning(settings.report_time)))
    jobs = [j for j in timed_jobs(settings, clock, {}, _no_fence) if j.name == JOB]
    assert len(jobs) == 1
    leader = Leadership(MemoryCache(), ttl=60)
    runs = PeriodicRuns(clock, leader.me)
    assert await leader_check(leader, runs, jobs) == [JOB]
    assert await leader_check(leader, runs, jobs) == []  # the period is done
    assert len(await letters()) == 1
    # A crash after writing, before the run was marked finished: the retry writes nothing new.
    clock.advance(minutes=5)
    assert await duty_reminders(clock, settings, period=TODAY.isoformat()) == 1
    assert len(await letters()) == 1

    # Written late in the evening, a reminder waits for the quiet hours to end.
    await make_item(s, owner_id=s.owner.id, deadline=TODAY + timedelta(days=3))
    clock.set(at(TODAY, 23, 0))
    await duty_reminders(clock, settings)
    evening = (await letters())[-1]
    assert "还有 3 天" in evening.text
    assert evening.not_before.astimezone(ZONE) == at(TODAY + timedelta(days=1), 7, 0)
    assert NOW < evening.not_before


async def _no_fence() -> None:
    return None


async def test_the_owner_receives_one_message_however_often_the_job_and_sender_run(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """Through the running app: the reminder reaches the 责任人's WeChat once."""
    fake, _ = fake_wechat
    client, _peer, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **kw), at(TODAY, 10)
    )
    s = await street()
    await bind(s.owner, OWNER)
    fake.interact(OWNER)
    item = await make_item(s, owner_id=s.owner.id, deadline=TODAY + timedelta(days=7))
    app = client.app
    sender = CommunitySender.of(app[WECHAT_CLIENTS], app[SETTINGS])
    for _ in range(3):  # the job retried, the sender woken again
        await duty_reminders(clock, app[SETTINGS], period=TODAY.isoformat())
        await sender.deliver_due(clock.now())
    told = texts_to(fake, OWNER)
    assert len(told) == 1 and f"第 {item.id} 项将于2026年12月2日到期（还有 7 天）" in told[0]
