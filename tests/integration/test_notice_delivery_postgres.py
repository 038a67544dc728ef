"""Notices exactly once on the real PostgreSQL and Redis: a fan-out cut short by a shutdown,
and a sender killed holding claims, leave nothing stranded and nothing sent twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.models.notices import Notice, NoticeStatus
from server.services.delivery.outbox_claims import LEASE
from server.wechat.fake import FakeWeChat
from tests.test_meetings_chat import LEADER, MEMBER, SECRETARY
from tests.test_notice_delivery import outbox_one_at_a_time, status_of, until
from tests.test_notices import CUSTOM, meeting_with_notices, outbox

pytestmark = pytest.mark.integration


@pytest.fixture
def on_postgres_and_redis(
    make_settings: Any, pg_url: str, redis_url: str, redis_prefix: str, redis_cleanup: None
) -> Any:
    def make(**overrides: Any) -> Any:
        return make_settings(
            db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix, **overrides
        )

    return make


async def test_a_shutdown_mid_fan_out_on_postgres_strands_nothing_and_repeats_nothing(
    aiohttp_client: Any, on_postgres_and_redis: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, _ = await meeting_with_notices(aiohttp_client, on_postgres_and_redis)
    for openid in (SECRETARY, LEADER, MEMBER):
        fake.interact(openid)
    fake.fail_next(CUSTOM, delay=1.0, after=1)  # 吴组长's send hangs
    sender = asyncio.create_task(outbox_one_at_a_time(client).deliver_due(clock.now()))

    async def leaders_send_began() -> bool:
        # Marked sending, and the hanging call has reached WeChat: the shutdown comes mid-call.
        in_flight = not fake.failure_waiting(CUSTOM)
        return in_flight and await status_of("吴组长") == NoticeStatus.SENDING

    await until(leaders_send_began)
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert await status_of("李书记") == NoticeStatus.SENT
    assert await status_of("吴组长") == NoticeStatus.UNCERTAIN
    assert await status_of("王芳") == NoticeStatus.PENDING
    await asyncio.sleep(1.2)
    await outbox(client).deliver_due(clock.now())
    assert await status_of("王芳") == NoticeStatus.SENT
    for openid in (SECRETARY, LEADER, MEMBER):
        assert len(fake.messages_to(openid)) == 1


async def test_a_killed_senders_untouched_claims_go_out_once_on_postgres(
    aiohttp_client: Any, on_postgres_and_redis: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, on_postgres_and_redis)
    fake.interact(MEMBER)
    await Notice.filter(meeting=meeting, kind="scheduled", member__name="王芳").update(
        status="claimed", claim="dead-process", claimed_at=clock.now()
    )
    clock.advance(seconds=LEASE.total_seconds() + 1)
    # Two live senders pick the claim up at once: one of them sends it.
    second = outbox_one_at_a_time(client)
    await asyncio.gather(outbox(client).deliver_due(clock.now()), second.deliver_due(clock.now()))
    assert len(fake.messages_to(MEMBER)) == 1 and await status_of("王芳") == NoticeStatus.SENT
