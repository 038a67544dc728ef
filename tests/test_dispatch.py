"""The chat router: filters, aliases, full-width input, injected arguments, help by role."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.help import render_menu
from server.cache import MemoryCache
from server.channels import Channel
from server.dispatch import ChatContext, Router, normalise
from server.dispatch.filters import Command, HasRole, Keyword
from server.dispatch.state import Conversation
from server.models.people import Member, Role
from server.wechat.messages import InboundMessage


def ctx_for(text: str | None, member: Member | None = None, msg_type: str = "text") -> ChatContext:
    message = InboundMessage(
        to_user="gh",
        from_user="o" + "x" * 27,
        create_time=1,
        msg_type=msg_type,
        channel=Channel.OFFICIAL_ACCOUNT,
        msg_id="1",
        content=text,
    )
    conv = Conversation(MemoryCache(), "k", 60)
    return ChatContext(message=message, appid="wx", member=member, identity=None, conversation=conv)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  帮助。 ", "帮助"),
        ("ＨＥＬＰ！", "HELP"),
        ("绑定　张三　１２３４", "绑定 张三 1234"),
        ("【菜单】", "菜单"),
    ],
)
def test_normalise_folds_full_width_and_trims_punctuation(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_keyword_matches_aliases_whole_message_only() -> None:
    help_ = Keyword("帮助", "菜单", "help")
    assert help_(ctx_for("菜单"))
    assert help_(ctx_for("HELP"))
    assert not help_(ctx_for("帮助我学习"))


def test_command_passes_its_arguments() -> None:
    bind = Command("绑定", "bind")
    assert bind(ctx_for("绑定张三 1234")) == {"args": "张三 1234", "command": "绑定"}
    assert bind(ctx_for("bind 张三 1234")) == {"args": "张三 1234", "command": "bind"}
    assert not bind(ctx_for("binding 张三"))  # an ASCII word must end where the command does
    assert not bind(ctx_for(None, msg_type="image"))


async def test_first_match_wins_and_handlers_get_only_what_they_declare() -> None:
    root, calls = Router("root"), []
    first, second = Router("first"), Router("second")

    @first.message(Command("问"))
    async def ask(args: str) -> str:
        calls.append("ask")
        return f"Q:{args}"

    @second.message()
    async def anything(text: str, **_: Any) -> str:
        calls.append("any")
        return text

    root.include(first, second)
    ctx = ctx_for("问 党的宗旨")
    handler, found = await root.resolve(ctx) or (None, {})
    assert handler is not None
    assert await handler.call(ctx, found) == "Q:党的宗旨"
    assert calls == ["ask"]


async def test_help_menu_shows_only_what_the_role_may_do() -> None:
    router = Router("r")
    router.help("帮助", "查看可以做的事", visible=lambda c: True, order=99)
    router.help("审核", "审核本支部的心得", visible=HasRole({Role.SECRETARY}), order=10)
    secretary = Member(name="张书记", phone="13800000000", role=Role.SECRETARY)
    member = Member(name="李党员", phone="13800000001", role=Role.MEMBER)
    assert "审核" in render_menu(ctx_for("帮助", secretary), router.all_help())
    assert "审核" not in render_menu(ctx_for("帮助", member), router.all_help())
    assert "绑定党员身份后" in render_menu(ctx_for("帮助"), router.all_help())


async def test_conversation_state_survives_between_messages_and_expires() -> None:
    from datetime import UTC, datetime

    from server.clock import FrozenClock

    clock = FrozenClock(datetime(2026, 11, 25, tzinfo=UTC))
    cache = MemoryCache(clock)
    conv = await Conversation.load(cache, "wx", "o1", ttl=600)
    conv.set("bind:full_phone", name="李明", candidates=[1, 2])
    await conv.save()
    again = await Conversation.load(cache, "wx", "o1", ttl=600)
    assert again.name == "bind:full_phone" and again.data["name"] == "李明"
    clock.advance(601)
    assert (await Conversation.load(cache, "wx", "o1", ttl=600)).name is None


async def test_unreadable_state_is_dropped() -> None:
    cache = MemoryCache()
    await cache.set("conv:wx:o1", "{not json")
    conv = await Conversation.load(cache, "wx", "o1", ttl=600)
    assert conv.name is None
    await conv.save()
    assert await cache.get("conv:wx:o1") is None


async def test_async_filters_are_awaited() -> None:
    router = Router("r")

    async def is_member_in_db(ctx: ChatContext) -> dict[str, Any]:
        return {"checked": True}

    @router.message(is_member_in_db)
    async def handler(checked: bool) -> str:
        return f"checked={checked}"

    ctx = ctx_for("anything")
    resolved = await router.resolve(ctx)
    assert resolved is not None
    assert await resolved[0].call(ctx, resolved[1]) == "checked=True"
