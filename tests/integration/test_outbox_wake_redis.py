"""A meeting confirmed on a web process goes out at once from the scheduler's process.

In the deployed topology the web processes run no jobs (DANGJIAN_SCHEDULER=false) and one
process runs the scheduler.  Its outbox tick here is an hour apart, so only the wake the web
process publishes through Redis can make the notices go out while the test waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.jobs import deliver_notices
from scheduler.runner import JOB
from scheduler.wake import Waker
from server.cache import RedisCache
from server.models.notices import Notice, NoticeStatus
from server.wechat.fake import FakeWeChat
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, branch_with_people, say
from tests.test_notice_delivery import until
from tests.test_notices import outbox

pytestmark = pytest.mark.integration


async def test_a_meeting_confirmed_on_a_web_process_is_sent_by_the_scheduler_process_at_once(
    aiohttp_client: Any,
    make_settings: Any,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    web, peer, clock = await frozen_app(
        aiohttp_client,
        lambda **kw: make_settings(
            db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix, scheduler=False, **kw
        ),
        NOW,
    )
    await branch_with_people()
    fake.interact(MEMBER)

    # The scheduler's process: its own Redis connection, its tick an hour away.
    cache = RedisCache(redis_url, redis_prefix)
    jobs = AsyncIOScheduler(timezone=clock.zone)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        await deliver_notices(outbox(web), clock)

    jobs.add_job(tick, "interval", seconds=3600, id=JOB)
    waker = Waker(jobs, cache, (JOB,))
    jobs.start()
    listening = asyncio.create_task(waker.listen())
    try:
        await asyncio.sleep(0.2)  # subscribed before the web process publishes
        await say(web, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神 地点 会议室")
        assert ticks == 0 and await Notice.filter(status=NoticeStatus.SENT).count() == 0
        await say(web, peer, SECRETARY, "确认")

        async def the_member_has_the_notice() -> bool:
            return any("党员大会" in (m.text or "") for m in fake.messages_to(MEMBER))

        await until(the_member_has_the_notice)
        assert ticks >= 1
        notices = [m for m in fake.messages_to(MEMBER) if "党员大会" in (m.text or "")]
        assert len(notices) == 1
    finally:
        listening.cancel()
        jobs.shutdown(wait=False)
        await cache.close()
