"""问 and 算党费 on the real PostgreSQL and Redis, through signed and encrypted WeChat messages.

The answers are the same as on SQLite; the reply that repeats a member's income lives in Redis
for WeChat's retries only (30 s), every other reply for the usual five minutes; and hostile text
gets the honest refusal, never a quotation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.app import create_app
from server.processing import PRIVATE_RESULT_TTL, RESULT_TTL
from tests.test_checkin_chat import WANG, bound_member
from tests.wechat_peer import WeChatPeer

pytestmark = pytest.mark.integration


async def test_questions_and_dues_on_postgres_and_redis_in_safe_mode(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    peer: WeChatPeer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    client = await aiohttp_client(create_app(settings))
    await bound_member()

    async def say(text: str) -> str:
        return (await peer.say(client, WANG, text, mode="safe")).text or ""

    often = await say("问 支委会多久开一次")
    assert often.startswith("关于「支委会多久开一次」：支委会会议一般每月召开1次")
    assert "——摘自《支部委员会会议" in often
    oath = await say("入党誓词是什么")
    assert "我志愿加入中国共产党，拥护党的纲领" in oath and "永不叛党" in oath
    for hostile in ("'; DROP TABLE member; --", "{{7*7}}${7*7}", "入党以后能分房子吗"):
        refused = await say(hostile)
        assert "——摘自" not in refused, hostile

    assert "请回复数字选择您的情况" in await say("问 我该交多少党费")
    assert "每月工资收入（税后）" in await say("1")
    answer = await say("6500")
    assert "在职党员每月应交党费 97.50 元" in answer and "不会保存" in answer
    assert "这个数额超出了" in await say("算党费 在职 1000000000000")

    # What Redis holds: the income's reply for WeChat's retries only, the rest as usual.
    store = aioredis.from_url(redis_url, decode_responses=True)
    try:
        ttls: dict[str, int] = {}  # each settled reply -> its seconds to live
        async for key in store.scan_iter(f"{redis_prefix}*"):
            value = await store.get(key)
            settled = json.loads(value) if value and value.startswith("{") else {}
            if isinstance(settled, dict) and settled.get("r"):
                ttls[settled["r"]] = await store.ttl(key)
    finally:
        await store.aclose()
    with_income = [ttl for value, ttl in ttls.items() if "6500.00" in value]
    assert with_income and all(0 < ttl <= PRIVATE_RESULT_TTL for ttl in with_income)
    others = [ttl for value, ttl in ttls.items() if "支委会会议" in value]
    assert others and all(PRIVATE_RESULT_TTL < ttl <= RESULT_TTL for ttl in others)
