"""The 四单制's outbox on the real PostgreSQL: two senders at once over 200 messages send each
exactly once, and a second enqueue of the same keys writes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.models.community import CommunityMessage, MessageStatus
from server.services.community.outbox import CommunitySender, enqueue
from server.wechat.fake import FakeWeChat
from tests.test_community_outbox import NOON, app_at, letter, quiet, sender

pytestmark = pytest.mark.integration
PEOPLE = [f"resident-pg-{n}" for n in range(200)]


async def test_two_senders_at_once_send_each_of_200_messages_once(
    aiohttp_client: Any, make_settings: Any, pg_url: str, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    for openid in PEOPLE:
        fake.interact(openid)
    client, clock = await app_at(
        aiohttp_client, lambda **kw: make_settings(db_url=pg_url, **kw), NOON
    )
    letters = [letter(1, openid) for openid in PEOPLE]
    assert await enqueue(letters, clock.now(), quiet(client)) == 200
    assert await enqueue(letters[:50], clock.now(), quiet(client)) == 50  # a retry: no new rows
    assert await CommunityMessage.all().count() == 200
    # Small batches, so the two take turns claiming and race for the same rows.
    first, second = sender(client), sender(client)
    first.batch = second.batch = 40

    async def drain(one: CommunitySender) -> int:
        """Run after run until a run finds nothing left to send."""
        sent = 0
        while (report := await one.deliver_due(clock.now())).sent:
            sent += report.sent
        return sent

    counts = await asyncio.gather(drain(first), drain(second))
    assert sum(counts) == 200
    assert await CommunityMessage.filter(status=MessageStatus.SENT).count() == 200
    assert all(len(fake.messages_to(openid)) == 1 for openid in PEOPLE)
    assert len(fake.calls_to("/cgi-bin/message/custom/send")) == 200
