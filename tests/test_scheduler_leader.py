"""Timed jobs survive the leader: a check due while it died, or while no process was up, runs once.

Two "processes" here are two Leadership/PeriodicRuns pairs sharing one cache and one database,
as two servers share Redis and PostgreSQL; the clock is moved, never slept on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from scheduler.leadership import KEY, Leadership, LeaseLost
from scheduler.periodic import PeriodicRuns, leader_check, monthly, weekly
from scheduler.runner import timed_jobs
from server.app import create_app
from server.cache import Cache, MemoryCache
from server.clock import FrozenClock
from server.models.jobs import JobRun
from server.models.people import Role
from server.typedefs import SETTINGS, WECHAT_CLIENTS
from server.wechat.fake import FakeWeChat
from tests.conftest import make_branch, make_member
from tests.test_meetings_chat import NOW, SECRETARY, bind, branch_with_people

OTHER_SECRETARY = "o_other_branch_secretary_0001"
TTL = 30.0


def local(*parts: int) -> datetime:
    """A moment in the organisation's zone (Asia/Shanghai, as the app's clock)."""
    return datetime(*parts, tzinfo=FrozenClock(NOW).zone)  # type: ignore[misc]


class Process:
    """One server process's scheduler side: its lease and its record of periodic runs."""

    def __init__(self, app: Any, cache: Cache, clock: FrozenClock) -> None:
        self.leader = Leadership(cache, ttl=TTL)
        self.runs = PeriodicRuns(clock, self.leader.me)
        self.jobs = timed_jobs(app[SETTINGS], clock, app[WECHAT_CLIENTS], self.leader.fence)

    async def check(self) -> list[str]:
        return await leader_check(self.leader, self.runs, self.jobs)


async def two_branches(fake: FakeWeChat) -> None:
    """Two branches whose secretaries can be told (each owes this month's committee meeting)."""
    await branch_with_people()
    fake.interact(SECRETARY)
    second = await make_branch("示范街道党工委/第一社区党总支/第二党支部")
    await bind(
        await make_member("赵书记", "13700000009", role=Role.SECRETARY, org=second), OTHER_SECRETARY
    )
    fake.interact(OTHER_SECRETARY)


def reminders(fake: FakeWeChat, openid: str) -> list[str]:
    return [m.text or "" for m in fake.messages_to(openid) if "三会一课提醒" in (m.text or "")]


async def setup(
    aiohttp_client: Any, make_settings: Any, fake: FakeWeChat, start: datetime
) -> tuple[Any, MemoryCache, FrozenClock]:
    clock = FrozenClock(start)
    # The app's own scheduler off: the two processes below are the ones under test.
    client = await aiohttp_client(create_app(make_settings(scheduler=False), clock=clock))
    await two_branches(fake)
    cache = MemoryCache(clock)  # the shared cache (Redis, for several processes)
    return client.app, cache, clock


async def test_a_leader_dying_just_before_the_monthly_check_hands_it_to_the_other_process(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    app, cache, clock = await setup(aiohttp_client, make_settings, fake, local(2026, 11, 20, 8, 59))
    a, b = Process(app, cache, clock), Process(app, cache, clock)
    assert await a.check() == []  # A leads; October's check is long past, this one not due
    assert await b.check() == []  # B follows
    # A dies at 08:59:50, ten seconds before the check is due; its lease runs out at 09:00:20.
    clock.advance(50)
    assert await a.check() == []
    clock.advance(15)  # 09:00:05: the check is due, but A's lease still stands
    assert await b.check() == []
    assert reminders(fake, SECRETARY) == []
    clock.advance(20)  # 09:00:25: the lease is free, B takes it and runs the missed check
    assert await b.check() == ["compliance"]
    assert len(reminders(fake, SECRETARY)) == 1 and len(reminders(fake, OTHER_SECRETARY)) == 1
    clock.advance(60)
    assert await b.check() == []  # once per period
    run = await JobRun.get(job="compliance", period_key="2026-11-20")
    assert run.owner == b.leader.me and run.finished_at is not None


async def test_a_check_due_while_no_process_was_up_runs_once_on_start(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    app, cache, clock = await setup(aiohttp_client, make_settings, fake, local(2026, 11, 22, 10, 0))
    first = Process(app, cache, clock)  # up two days after the 20th's check was due
    assert "compliance" in await first.check()
    await first.leader.release()  # restarted
    clock.advance(120)
    second = Process(app, cache, clock)
    assert await second.check() == []
    assert len(reminders(fake, SECRETARY)) == 1 and len(reminders(fake, OTHER_SECRETARY)) == 1


async def test_a_paused_leader_whose_lease_was_taken_sends_no_further_batch(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    app, cache, clock = await setup(aiohttp_client, make_settings, fake, local(2026, 11, 20, 9, 0))
    a, b = Process(app, cache, clock), Process(app, cache, clock)
    fences = 0

    async def paused_after_the_first_branch() -> None:
        nonlocal fences
        fences += 1
        if fences == 2:  # A stalls (GC, swap, a stopped VM) past its lease; B takes over
            clock.advance(TTL + 1)
            assert await b.leader.hold()
        await a.leader.fence()

    a.jobs = timed_jobs(app[SETTINGS], clock, app[WECHAT_CLIENTS], paused_after_the_first_branch)
    assert "compliance" not in await a.check()  # A woke up, found the lease gone, stopped
    assert len(reminders(fake, SECRETARY)) == 1 and reminders(fake, OTHER_SECRETARY) == []
    # B's check takes over the run A left unfinished: only the branch not yet told is told.
    assert "compliance" in await b.check()
    assert len(reminders(fake, SECRETARY)) == 1 and len(reminders(fake, OTHER_SECRETARY)) == 1
    assert await b.check() == []


async def test_a_run_that_raised_is_retried_and_tells_nobody_twice(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    app, cache, clock = await setup(aiohttp_client, make_settings, fake, local(2026, 11, 20, 9, 0))
    a = Process(app, cache, clock)
    fences = 0

    async def fails_on_the_second_branch() -> None:
        nonlocal fences
        fences += 1
        if fences == 2:
            raise ConnectionError("the database went away mid-run")

    a.jobs = timed_jobs(app[SETTINGS], clock, app[WECHAT_CLIENTS], fails_on_the_second_branch)
    assert "compliance" not in await a.check()
    clock.advance(30)
    assert "compliance" in await a.check()
    assert len(reminders(fake, SECRETARY)) == 1 and len(reminders(fake, OTHER_SECRETARY)) == 1


async def test_an_expired_lease_taken_by_another_cannot_be_renewed_or_released() -> None:
    clock = FrozenClock(NOW)
    cache = MemoryCache(clock)
    a, b = Leadership(cache, ttl=TTL), Leadership(cache, ttl=TTL)
    assert await a.hold() and not await b.hold()
    clock.advance(TTL + 1)
    assert await b.hold()
    assert not await a.hold() and not await a.still_leader()
    await a.release()  # compare-and-delete: B's lease stays
    assert await cache.get(KEY) == b.me
    with pytest.raises(LeaseLost):
        await a.fence()


def test_the_most_recent_due_time_of_each_period() -> None:
    assert monthly(20, 9, 0)(local(2026, 11, 20, 8, 59)) == local(2026, 10, 20, 9, 0)
    assert monthly(20, 9, 0)(local(2026, 11, 20, 9, 0)) == local(2026, 11, 20, 9, 0)
    assert monthly(20, 9, 0)(local(2026, 1, 5, 9, 0)) == local(2025, 12, 20, 9, 0)
    assert weekly(0, 9, 0)(local(2026, 11, 25, 10, 0)) == local(2026, 11, 23, 9, 0)
    assert weekly(0, 9, 0)(local(2026, 11, 23, 8, 0)) == local(2026, 11, 16, 9, 0)
