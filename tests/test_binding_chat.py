"""A member binds their WeChat to the roster, in chat, and the bot knows them from then on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.people import MemberStatus, Role, WeChatIdentity
from server.typedefs import PROCESSOR
from server.wechat.messages import InboundMessage
from tests.conftest import make_member
from tests.wechat_peer import WeChatPeer, openid_for

WANG = openid_for("wang-fang")
OTHER = openid_for("someone-else")


async def test_a_new_follower_is_welcomed_and_told_how_to_bind(
    client: TestClient, peer: WeChatPeer
) -> None:
    reply = await peer.event(client, WANG, "subscribe")
    assert "绑定 姓名 手机号后四位" in (reply.text or "")


async def test_an_unbound_user_asking_anything_is_told_how_to_bind(
    client: TestClient, peer: WeChatPeer
) -> None:
    reply = await peer.say(client, WANG, "今天学什么")
    assert "还没有绑定" in (reply.text or "")


async def test_a_nul_character_in_a_message_gets_a_polite_reply(
    client: TestClient, peer: WeChatPeer
) -> None:
    """PostgreSQL cannot take a NUL: the dispatcher answers it before any handler looks it up."""
    await make_member("王芳", "13912345678")
    # XML cannot carry a NUL (a 400), but a JSON push can, as \\u0000; and so can the chat CLI.
    message = InboundMessage(
        to_user=peer.to_user,
        from_user=WANG,
        create_time=1764000000,
        msg_type="text",
        channel=Channel.OFFICIAL_ACCOUNT,
        msg_id="42",
        content="绑定 王\x00芳 5678",
    )
    reply = await client.app[PROCESSOR].dispatcher.feed(message, peer.appid)
    assert reply is not None and "空字符" in reply
    assert not await WeChatIdentity.filter(openid=WANG).exists()


async def test_member_binds_with_name_and_last_four_digits(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await make_member("王芳", "13912345678")
    reply = await peer.say(client, WANG, "绑定 王芳 5678")
    assert "绑定成功" in (reply.text or "")
    assert "139****5678" in (reply.text or "")  # never the full number
    assert "13912345678" not in reply.body
    identity = await WeChatIdentity.get(openid=WANG)
    assert identity.member_id == member.id  # type: ignore[attr-defined]

    menu = await peer.say(client, WANG, "帮助")
    assert "王芳同志" in (menu.text or "")
    assert "我的身份" in (menu.text or "") and "绑定 姓名" not in (menu.text or "")
    who = await peer.say(client, WANG, "我的身份")
    assert "第一社区第一党支部" in (who.text or "")


@pytest.mark.parametrize(
    "line", ["绑定　王芳　５６７８。", "绑定王芳5678", "【绑定】王芳 5678", "bind 王芳 13912345678"]
)
async def test_binding_tolerates_full_width_and_missing_spaces(
    client: TestClient, peer: WeChatPeer, line: str
) -> None:
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, WANG, line)
    assert "绑定成功" in (reply.text or ""), reply.text


async def test_wrong_digits_are_refused_without_saying_which_part_was_wrong(
    client: TestClient, peer: WeChatPeer
) -> None:
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, WANG, "绑定 王芳 0000")
    assert "没有找到" in (reply.text or "")
    assert not await WeChatIdentity.exists(openid=WANG)


@pytest.mark.parametrize(
    "line", ["绑定 5678", "绑定 王芳", "绑定 王芳 12", "绑定 王芳 23912345678"]
)
async def test_malformed_bind_lines_get_the_format(
    client: TestClient, peer: WeChatPeer, line: str
) -> None:
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, WANG, line)
    assert "绑定 张三 1234" in (reply.text or ""), reply.text
    assert not await WeChatIdentity.exists(openid=WANG)


async def test_a_bare_bind_command_explains_the_format(
    client: TestClient, peer: WeChatPeer
) -> None:
    reply = await peer.say(client, WANG, "绑定")
    assert "绑定 张三 1234" in (reply.text or "")


async def test_failed_tries_are_limited_per_hour(aiohttp_client, make_settings) -> None:
    clock = FrozenClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    settings = make_settings(bind_max_failures=3)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    await make_member("王芳", "13912345678")
    for digits in ("0001", "0002", "0003"):
        assert "没有找到" in ((await peer.say(client, WANG, f"绑定 王芳 {digits}")).text or "")
    # The right digits no longer help: enumeration is cut off ...
    blocked = await peer.say(client, WANG, "绑定 王芳 5678")
    assert "次数过多" in (blocked.text or "")
    assert not await WeChatIdentity.exists(openid=WANG)
    # ... until the hour has passed.
    clock.advance(3601)
    assert "绑定成功" in ((await peer.say(client, WANG, "绑定 王芳 5678")).text or "")


async def test_same_name_and_digits_ask_for_the_full_number(
    client: TestClient, peer: WeChatPeer
) -> None:
    await make_member("李明", "13800001111")
    second = await make_member("李明", "13900001111")
    ask = await peer.say(client, WANG, "绑定 李明 1111")
    assert "完整的 11 位手机号" in (ask.text or "")
    assert not await WeChatIdentity.exists(openid=WANG)
    wrong = await peer.say(client, WANG, "13700001111")
    assert "没有找到" in (wrong.text or "")
    again = await peer.say(client, WANG, "绑定 李明 1111")
    assert "完整" in (again.text or "")
    done = await peer.say(client, WANG, "139-0000-1111")
    assert "绑定成功" in (done.text or "")
    assert (await WeChatIdentity.get(openid=WANG)).member_id == second.id  # type: ignore[attr-defined]


async def test_the_full_number_flow_can_be_cancelled(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("李明", "13800001111")
    await make_member("李明", "13900001111")
    await peer.say(client, WANG, "绑定 李明 1111")
    assert "已取消" in ((await peer.say(client, WANG, "取消")).text or "")
    # Out of the flow: a number is no longer taken as the answer.
    reply = await peer.say(client, WANG, "13900001111")
    assert "还没有绑定" in (reply.text or "")


async def test_a_member_bound_to_another_wechat_is_refused_as_if_not_found(
    client: TestClient, peer: WeChatPeer
) -> None:
    await make_member("王芳", "13912345678")
    assert "绑定成功" in ((await peer.say(client, OTHER, "绑定 王芳 5678")).text or "")
    taken = await peer.say(client, WANG, "绑定 王芳 5678")
    # Word for word what a wrong guess gets: the answer says nothing of who is bound.
    wrong = await peer.say(client, openid_for("a-third-user"), "绑定 王芳 0000")
    assert "没有找到" in (taken.text or "")
    assert taken.text == wrong.text
    assert not await WeChatIdentity.exists(openid=WANG)


async def test_binding_twice_says_already_bound(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("王芳", "13912345678")
    await make_member("赵强", "13700002222")
    await peer.say(client, WANG, "绑定 王芳 5678")
    assert "已经绑定过了" in ((await peer.say(client, WANG, "绑定 王芳 5678")).text or "")
    other = await peer.say(client, WANG, "绑定 赵强 2222")
    assert "已绑定为 王芳" in (other.text or "")
    assert await WeChatIdentity.filter(openid=WANG).count() == 1


async def test_a_transferred_member_cannot_bind(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("王芳", "13912345678", status=MemberStatus.TRANSFERRED)
    reply = await peer.say(client, WANG, "绑定 王芳 5678")
    assert "没有找到" in (reply.text or "")


async def test_binding_works_in_safe_mode_too(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("王芳", "13912345678", role=Role.SECRETARY)
    reply = await peer.say(client, WANG, "绑定 王芳 5678", mode="safe")
    assert "支部书记" in (reply.text or "")


async def test_reply_text_cannot_break_out_of_cdata(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("王芳", "13912345678")
    await peer.say(client, WANG, "绑定 王芳 5678")
    reply = await peer.say(client, WANG, "a]]><MsgType>news</MsgType>")
    assert reply.fields["MsgType"] == "text"
    assert "a]]><MsgType>news" in (reply.text or "")


async def test_menu_click_runs_the_command_in_its_key(client: TestClient, peer: WeChatPeer) -> None:
    reply = await peer.event(client, WANG, "CLICK", key="帮助")
    assert "您可以发送" in (reply.text or "")


async def test_voice_message_is_understood_through_recognition(
    client: TestClient, peer: WeChatPeer
) -> None:
    import time

    xml = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{WANG}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>voice</MsgType>"
        "<MediaId>m</MediaId><Format>amr</Format><Recognition>帮助。</Recognition>"
        "<MsgId>5566778899</MsgId></xml>"
    )
    reply = await peer.post(client, xml, peer.signed_query())
    assert "您可以发送" in (reply.text or "")


@pytest.mark.parametrize("line", ["绑定 Li Lei 4321", "绑定 王 芳 5678"])
async def test_names_with_spaces_bind(client: TestClient, peer: WeChatPeer, line: str) -> None:
    await make_member("Li Lei", "13812344321")
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, WANG, line)
    assert "绑定成功" in (reply.text or ""), reply.text


async def test_guesses_sent_all_at_once_are_each_counted(aiohttp_client, make_settings) -> None:
    """Seventy simultaneous guesses: only the allowed few are even looked at."""
    import asyncio

    settings = make_settings(bind_max_failures=5)
    client = await aiohttp_client(create_app(settings))
    peer = WeChatPeer(token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid)
    await make_member("王芳", "13912345678")
    replies = await asyncio.gather(
        *(peer.say(client, WANG, f"绑定 王芳 {n}") for n in range(5630, 5700))
    )
    looked_at = [r.text for r in replies if "次数过多" not in (r.text or "")]
    assert len(looked_at) <= 5, looked_at
    if not any("绑定成功" in (t or "") for t in looked_at):
        assert not await WeChatIdentity.exists(openid=WANG)


async def test_a_successful_bind_clears_the_count(aiohttp_client, make_settings) -> None:
    settings = make_settings(bind_max_failures=2)
    client = await aiohttp_client(create_app(settings))
    peer = WeChatPeer(token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid)
    await make_member("王芳", "13912345678")
    assert "没有找到" in ((await peer.say(client, WANG, "绑定 王芳 0000")).text or "")
    assert "绑定成功" in ((await peer.say(client, WANG, "绑定 王芳 5678")).text or "")
    for _ in range(3):
        assert "已经绑定过了" in ((await peer.say(client, WANG, "绑定 王芳 5678")).text or "")
