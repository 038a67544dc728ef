"""A NUL character on PostgreSQL, which cannot store or compare it: a 400 naming the field.

SQLite takes a NUL silently, so only here does the hostile value reach a database that refuses
it.  Every entry point (the API body and query, the dashboard, the chat) refuses it first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.models.meetings import Meeting
from server.models.people import Organisation, Role, WeChatIdentity
from server.services.study import submissions
from server.typedefs import CLOCK, CORPUS, PROCESSOR
from server.wechat.fake_state import FakeWeChat
from server.wechat.messages import InboundMessage
from tests.api_helpers import login, signed_in
from tests.conftest import make_branch, make_member
from tests.test_admin_pages import sign_in

pytestmark = pytest.mark.integration

ONE = "示范街道党工委/东社区党总支/东社区第一党支部"
THOUGHTS = "学习了党章关于党员义务的规定，我要在网格工作中带头服务群众，主动走访困难家庭，" * 2


async def test_a_nul_anywhere_is_a_400_naming_the_field_on_postgres(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    fake_wechat: tuple[FakeWeChat, str],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    fake = fake_wechat[0]
    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    client: TestClient = await aiohttp_client(create_app(settings))
    one = await make_branch(ONE)
    committee = await Organisation.get(path="示范街道党工委")
    secretary = await make_member("李书记", "13900000001", role=Role.SECRETARY, org=one)
    wang = await make_member("王芳", "13900000002", org=one)
    staff = await make_member("赵敏", "13900000009", role=Role.STAFF, org=committee)

    async def refused(resp: Any, field: str) -> None:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["field"] == field

    # Binding in the mini-program with a NUL in the name.
    stranger = await login(client, fake, "o-stranger")
    bearer = {"Authorization": f"Bearer {stranger['token']}"}
    await refused(
        await client.post(
            "/api/v1/auth/bind", json={"name": "王\x00芳", "phone": "0002"}, headers=bearer
        ),
        "name",
    )

    # A meeting's topic, a return reason, a search.
    sec = await signed_in(client, fake, secretary)
    starts = (client.app[CLOCK].now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    meeting = {"kind": "党课", "starts_at": starts, "topic": "学习\x00党章"}
    await refused(await client.post("/api/v1/meetings", json=meeting, headers=sec), "topic")
    assert await Meeting.all().count() == 0
    thought = await submissions.submit(
        wang, THOUGHTS, client.app[CLOCK].today(), client.app[CORPUS]
    )
    await refused(
        await client.post(
            f"/api/v1/review/submissions/{thought.id}/return",
            json={"reason": "再\x00想想"},
            headers=sec,
        ),
        "reason",
    )
    await refused(await client.get("/api/v1/members", params={"q": "王\x00"}, headers=sec), "q")

    # The dashboard's search names the field on its page.
    await sign_in(client, staff)
    page = await client.get("/admin/orgs", params={"q": "社区\x00"})
    assert page.status == 400 and 'data-field="q"' in await page.text()

    # And the chat answers politely.
    message = InboundMessage(
        to_user="gh_test",
        from_user="o-chat",
        create_time=1764000000,
        msg_type="text",
        channel=Channel.OFFICIAL_ACCOUNT,
        msg_id="42",
        content="绑定 王\x00芳 0002",
    )
    reply = await client.app[PROCESSOR].dispatcher.feed(message, settings.appid)
    assert reply is not None and "空字符" in reply
    assert not await WeChatIdentity.filter(openid="o-chat").exists()
