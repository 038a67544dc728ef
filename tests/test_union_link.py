"""One WeChat user, one member: bound in the 公众号, known in the 小程序 (and back), by unionid."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.models.people import MemberChange, MemberChangeKind, WeChatIdentity
from server.settings import Settings
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.conftest import make_member
from tests.wechat_peer import WeChatPeer, openid_for

MP_APPID = "wx-mini-program"
_codes = itertools.count(1)


async def two_apps(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(wechat_mp_appid=MP_APPID)))


async def mini_login(client: TestClient, fake: FakeWeChat, openid: str, unionid: str | None):
    code = f"u-code-{next(_codes)}"
    fake.add_code(code, openid, unionid)
    resp = await client.post("/api/v1/auth/login", json={"code": code})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def wang_bound_in(
    appid: str, openid: str, channel: Channel, unionid: str | None = "union-wang"
) -> Any:
    """王芳, a member bound in one of the apps (with her unionid there)."""
    wang = await make_member("王芳", "13800001234")
    await WeChatIdentity.create(
        appid=appid, openid=openid, unionid=unionid, channel=channel, member=wang
    )
    return wang


async def test_a_member_bound_in_the_official_account_is_known_at_mini_program_login(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client = await two_apps(aiohttp_client, make_settings)
    wang = await wang_bound_in(client.app[SETTINGS].appid, "o-oa-wang", Channel.OFFICIAL_ACCOUNT)

    answer = await mini_login(client, fake_wechat[0], "o-mp-wang", "union-wang")

    assert answer["member"]["id"] == wang.id
    linked = await WeChatIdentity.get(appid=MP_APPID, openid="o-mp-wang")
    assert linked.member_id == wang.id and linked.channel is Channel.MINIPROGRAM  # type: ignore[attr-defined]
    record = await MemberChange.get(member_id=wang.id)
    assert record.kind is MemberChangeKind.LINK and record.actor_id is None


async def test_a_different_unionid_or_none_binds_nobody(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client = await two_apps(aiohttp_client, make_settings)
    await wang_bound_in(client.app[SETTINGS].appid, "o-oa-wang", Channel.OFFICIAL_ACCOUNT)

    stranger = await mini_login(client, fake_wechat[0], "o-mp-stranger", "union-stranger")
    no_union = await mini_login(client, fake_wechat[0], "o-mp-plain", None)
    empty = await mini_login(client, fake_wechat[0], "o-mp-empty", "")

    assert stranger["member"] is None and no_union["member"] is None and empty["member"] is None
    assert not await WeChatIdentity.filter(appid=MP_APPID).exists()


async def test_a_member_already_bound_in_the_mini_program_is_not_bound_twice(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client = await two_apps(aiohttp_client, make_settings)
    wang = await wang_bound_in(client.app[SETTINGS].appid, "o-oa-wang", Channel.OFFICIAL_ACCOUNT)
    await WeChatIdentity.create(
        appid=MP_APPID, openid="o-mp-wang-old", channel=Channel.MINIPROGRAM, member=wang
    )

    # Someone else's phone presenting the same unionid cannot take over the member's slot.
    answer = await mini_login(client, fake_wechat[0], "o-mp-new-phone", "union-wang")

    assert answer["member"] is None
    assert not await MemberChange.exists()


async def test_a_member_bound_in_the_mini_program_is_known_in_the_official_account_chat(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_wechat: tuple[FakeWeChat, str],
    peer: WeChatPeer,
) -> None:
    client = await two_apps(aiohttp_client, make_settings)
    wang = await wang_bound_in(MP_APPID, "o-mp-wang", Channel.MINIPROGRAM)
    oa_wang = openid_for("wang-oa")
    plain, _ = peer.text_xml(oa_wang, "我的身份")
    body, query = peer.envelope(
        plain.replace("</xml>", "<UnionId><![CDATA[union-wang]]></UnionId></xml>"), "plain"
    )

    reply = await peer.post(client, body, query)

    assert "王芳" in (reply.text or ""), reply.text
    linked = await WeChatIdentity.get(openid=oa_wang)
    assert linked.member_id == wang.id  # type: ignore[attr-defined]


async def test_with_an_open_platform_the_account_asks_wechat_who_a_new_follower_is(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_wechat: tuple[FakeWeChat, str],
    peer: WeChatPeer,
) -> None:
    """公众号 messages carry no unionid: with DANGJIAN_WECHAT_UNIONID the server asks user/info."""
    fake = fake_wechat[0]
    client = await aiohttp_client(
        create_app(make_settings(wechat_mp_appid=MP_APPID, wechat_unionid=True))
    )
    wang = await make_member("王芳", "13800001234")
    await WeChatIdentity.create(
        appid=MP_APPID, openid="o-mp-wang", unionid="union-wang",
        channel=Channel.MINIPROGRAM, member=wang,
    )  # fmt: skip
    oa_wang, stranger = openid_for("wang-oa-2"), openid_for("stranger-oa")
    fake.follow(oa_wang, "union-wang")
    fake.follow(stranger)  # follows, but WeChat gives no unionid for them

    reply = await peer.post(client, *peer.envelope(peer.text_xml(oa_wang, "我的身份")[0], "plain"))
    assert "王芳" in (reply.text or ""), reply.text
    assert (await WeChatIdentity.get(openid=oa_wang)).member_id == wang.id  # type: ignore[attr-defined]

    for _ in range(3):  # a follower without one is asked once, not on every message
        answer = await peer.post(
            client, *peer.envelope(peer.text_xml(stranger, "我的身份")[0], "plain")
        )
        assert "绑定" in (answer.text or "")
    asked = [c for c in fake.calls if c.path == "/cgi-bin/user/info"]
    assert [c.query.get("openid") for c in asked] == [oa_wang, stranger]
    assert not await WeChatIdentity.filter(openid=stranger).exists()


async def test_without_an_open_platform_nobody_is_asked_and_nothing_breaks_when_wechat_fails(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_wechat: tuple[FakeWeChat, str],
    peer: WeChatPeer,
) -> None:
    fake = fake_wechat[0]
    off = await aiohttp_client(create_app(make_settings(wechat_mp_appid=MP_APPID)))
    someone = openid_for("someone-oa")
    fake.follow(someone, "union-someone")
    answer = await peer.post(off, *peer.envelope(peer.text_xml(someone, "帮助")[0], "plain"))
    assert answer.text
    assert not [c for c in fake.calls if c.path == "/cgi-bin/user/info"]

    on = await aiohttp_client(
        create_app(make_settings(wechat_mp_appid=MP_APPID, wechat_unionid=True))
    )
    fake.fail_next("/cgi-bin/user/info", errcode=-1, times=None)
    other = openid_for("other-oa")
    fake.follow(other, "union-other")
    answer = await peer.post(on, *peer.envelope(peer.text_xml(other, "帮助")[0], "plain"))
    assert answer.text  # answered as an unbound user: the lookup is a convenience
