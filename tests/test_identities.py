"""The per-message identity lookup returns real model instances, typed as the ORM types them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from server.channels import Channel
from server.db import close_database, open_database
from server.models.people import MemberStatus, Role, WeChatIdentity
from server.services.people.identities import find_identity
from tests.conftest import make_member, migrated


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "ids.sqlite3"))
    yield
    await close_database()


async def test_unbound_user_has_no_identity(db: None) -> None:
    assert await find_identity("wx1", "o-nobody") is None


async def test_bound_user_comes_with_the_member_as_the_orm_would_load_it(db: None) -> None:
    member = await make_member("王芳", "13912345678", role=Role.SECRETARY)
    member.birth_date = date(1985, 3, 4)
    await member.save()
    await WeChatIdentity.create(
        appid="wx1", openid="o-wang", channel=Channel.OFFICIAL_ACCOUNT, member=member
    )
    await WeChatIdentity.create(
        appid="wx2",
        openid="o-wang",
        channel=Channel.MINIPROGRAM,
        member=await make_member("李明", "13800001111"),
    )
    found = await find_identity("wx1", "o-wang")
    assert found is not None
    via_orm = await WeChatIdentity.get(appid="wx1", openid="o-wang").prefetch_related("member")
    assert found.channel is Channel.OFFICIAL_ACCOUNT and found.id == via_orm.id
    assert found.member.role is Role.SECRETARY and found.member.status is MemberStatus.ACTIVE
    assert found.member.birth_date == date(1985, 3, 4)
    for field in (
        "id",
        "name",
        "phone",
        "role",
        "status",
        "birth_date",
        "organisation_id",
        "is_mobile",
        "created_at",
    ):
        assert getattr(found.member, field) == getattr(via_orm.member, field), field


async def _bind(openid: str, phone: str, name: str) -> None:
    member = await make_member(name, phone)
    await WeChatIdentity.create(
        appid="wx1", openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )


async def test_directory_remembers_for_its_ttl_then_asks_again(db: None) -> None:
    from datetime import UTC, datetime

    from server.cache import MemoryCache
    from server.clock import FrozenClock
    from server.services.people.identities import IdentityDirectory

    clock = FrozenClock(datetime(2026, 11, 25, tzinfo=UTC))
    directory = IdentityDirectory(MemoryCache(clock), clock, ttl=30)
    assert await directory.find("wx1", "o-new") is None
    await _bind("o-new", "13912345678", "王芳")  # behind the directory's back (an import)
    assert await directory.find("wx1", "o-new") is None  # still remembered as unbound
    clock.advance(31)
    found = await directory.find("wx1", "o-new")
    assert found is not None and found.member.name == "王芳"


async def test_forget_reaches_every_directory_sharing_the_cache(db: None) -> None:
    import asyncio

    from server.cache import MemoryCache
    from server.clock import Clock
    from server.services.people.identities import IdentityDirectory

    cache, clock = MemoryCache(), Clock()
    here, there = (IdentityDirectory(cache, clock, ttl=300) for _ in range(2))
    listener = asyncio.create_task(there.listen())
    await asyncio.sleep(0)  # let it subscribe
    assert await there.find("wx1", "o-new") is None
    await _bind("o-new", "13912345678", "王芳")
    await here.forget("wx1", "o-new")
    await asyncio.sleep(0)
    found = await there.find("wx1", "o-new")
    listener.cancel()
    assert found is not None and found.member.name == "王芳"


async def test_cached_members_are_fresh_objects(db: None) -> None:
    from server.cache import MemoryCache
    from server.clock import Clock
    from server.services.people.identities import IdentityDirectory

    directory = IdentityDirectory(MemoryCache(), Clock(), ttl=300)
    await _bind("o-wang", "13912345678", "王芳")
    first = await directory.find("wx1", "o-wang")
    assert first is not None
    first.member.name = "改掉"
    second = await directory.find("wx1", "o-wang")
    assert second is not None and second.member.name == "王芳"
