"""订阅消息: what wx.requestSubscribeMessage accepted becomes grants, and a notice spends one."""

from __future__ import annotations

import asyncio
from typing import Any

from server.models.notices import Notice, NoticeStatus, SubscribeGrant
from server.typedefs import OUTBOX
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import openid_of
from tests.test_api_member import NOW, people, start
from tests.test_api_member_meetings import meeting_of

TEMPLATE = "tmpl-meeting_01"


async def test_accepted_templates_become_grants_and_the_rest_are_reported(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat, subscribe_template=TEMPLATE)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    # The result object exactly as the mini-program receives it, errMsg included.
    results = {
        "errMsg": "requestSubscribeMessage:ok",
        TEMPLATE: "accept",
        "tmpl-news": "reject",
        "tmpl-ads": "ban",
    }
    status, first = await world.call("POST", "/subscriptions", headers, json={"results": results})
    assert status == 200 and first["accepted"] == [TEMPLATE]
    assert first["ignored"] == {"tmpl-ads": "ban", "tmpl-news": "reject"}
    assert first["grants"] == [{"template_id": TEMPLATE, "remaining": 1}]
    assert first["meeting_template"] == TEMPLATE
    # Two taps at once both count: the grant is added in the database, not read and rewritten.
    await asyncio.gather(
        *(
            world.call("POST", "/subscriptions", headers, json={"results": {TEMPLATE: "accept"}})
            for _ in range(2)
        )
    )
    status, listed = await world.call("GET", "/subscriptions", headers)
    assert status == 200 and listed["grants"] == [{"template_id": TEMPLATE, "remaining": 3}]
    assert await SubscribeGrant.filter(member_id=wang.id).count() == 1


async def test_hostile_results_are_400_naming_the_field_and_grant_nothing(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    headers = await world.headers(folk["wang"])
    many = {f"tmpl-{n}": "accept" for n in range(21)}
    cases = [
        ({"results": {TEMPLATE: "accept", "tmpl-b": "yes"}}, "results.tmpl-b"),
        ({"results": {TEMPLATE: "accept", "tmpl-b": 1}}, "results.tmpl-b"),
        # Found by schemathesis: a value that is no string (a dict cannot be looked up in a set).
        ({"results": {TEMPLATE: "accept", "tmpl-b": {"x": 1}}}, "results.tmpl-b"),
        ({"results": {TEMPLATE: "accept", "tmpl-b": ["accept"]}}, "results.tmpl-b"),
        ({"results": {TEMPLATE: "accept", "1 OR 1=1": "accept"}}, "results"),
        ({"results": {"';DROP TABLE member;--": "accept"}}, "results"),
        ({"results": {"t" * 65: "accept"}}, "results"),
        ({"results": {"": "accept"}}, "results"),
        ({"results": many}, "results"),
        ({"results": [TEMPLATE]}, "results"),
        ({"results": TEMPLATE}, "results"),
        ({}, "results"),
        ({"results": {TEMPLATE: "accept"}, "member_id": folk["zheng"].id}, "member_id"),
    ]
    for body, field in cases:
        status, answer = await world.call("POST", "/subscriptions", headers, json=body)
        assert status == 400 and answer["field"] == field, (body, answer)
    assert await SubscribeGrant.all().count() == 0  # nothing half-written


async def test_an_accepted_grant_carries_a_meeting_notice_and_is_spent(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat, subscribe_template=TEMPLATE)
    folk = await people()
    wang = folk["wang"]
    headers = await world.headers(wang)  # signed in: her mini-program identity exists
    openid = openid_of(wang)
    world.fake.add_template(TEMPLATE, ["thing1", "time2", "thing3", "thing4"])
    world.fake.grant(openid, TEMPLATE, 1)  # WeChat's side of the tap she made
    body = {"results": {TEMPLATE: "accept"}}
    assert (await world.call("POST", "/subscriptions", headers, json=body))[0] == 200
    meeting = await meeting_of(folk["secretary"])  # its notice goes out now
    await world.client.app[OUTBOX].deliver_due(world.clock.now())
    [message] = world.fake.messages_to(openid)
    assert message.kind == "subscribe" and message.body["template_id"] == TEMPLATE
    assert message.body["data"]["thing1"]["value"] == "学习二十大精神"
    notice = await Notice.get(meeting_id=meeting.id, member_id=wang.id, kind="scheduled")
    assert notice.status == NoticeStatus.SENT and notice.channel == "subscribe"
    assert (await SubscribeGrant.get(member_id=wang.id)).remaining == 0
    status, listed = await world.call("GET", "/subscriptions", headers)
    assert status == 200 and listed["grants"] == []
    assert world.clock.now() == NOW
